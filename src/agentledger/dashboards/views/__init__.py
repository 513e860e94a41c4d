"""Dashboard pages: each module renders one page when Streamlit runs it as a script."""
