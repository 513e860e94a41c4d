"""Who is looking: optional OIDC login (Streamlit's ``st.login``) and the tenant of each viewer.

Login is on when Streamlit's secrets have an ``[auth]`` section (see Streamlit's authentication
docs). Each viewer is then confined to one tenant, looked up by e-mail in the ``[tenants]``
secrets table (``"alice@acme.com" = "acme"``, or a whole domain: ``"*@acme.com" = "acme"``); a
viewer with no tenant sees nothing. Without ``[auth]`` the dashboards are single-user (the
operator's) and every tenant is visible, as for the CLI.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

__all__ = ["login_enabled", "tenant_for", "viewer_tenant"]


def login_enabled() -> bool:
    """Whether Streamlit's secrets configure an OIDC provider."""
    try:
        return "auth" in st.secrets
    except FileNotFoundError:
        return False


def tenant_for(email: str, tenants: Mapping[str, str]) -> str | None:
    """The tenant of ``email``: an exact entry first, then its domain's ``*@domain`` entry."""
    email = email.strip().lower()
    lowered = {key.strip().lower(): value for key, value in tenants.items()}
    if email in lowered:
        return lowered[email]
    domain = email.rpartition("@")[2]
    return lowered.get(f"*@{domain}") if domain else None


def viewer_tenant() -> str | None:
    """None when login is off (all tenants); else the logged-in viewer's tenant.

    Renders the login button, or the reason access is refused, and stops the page run when the
    viewer may not see anything.
    """
    if not login_enabled():
        return None
    if not st.user.is_logged_in:
        st.title("AgentLedger")
        st.info("Log in to see your organisation's agents.")
        st.button("Log in", on_click=st.login, type="primary")
        st.stop()
    email = str(st.user.get("email") or "")
    tenant = tenant_for(email, dict(st.secrets.get("tenants", {})))
    with st.sidebar:
        st.caption(f"Signed in as {email or 'unknown'}")
        st.button("Log out", on_click=st.logout)
    if not tenant:
        st.error(
            f"{email or 'This account'} is not assigned to a tenant. Ask an administrator to "
            "add it to the `[tenants]` table of the dashboards' secrets."
        )
        st.stop()
    return tenant
