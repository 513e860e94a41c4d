# The AgentLedger application image: collector (`serve`), scheduler (`jobs run all`), CLI and
# dashboards (`streamlit run`). One image, the command picks the role (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    AGENTLEDGER_DATA_DIR=/var/lib/agentledger/data

WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY src ./src
RUN pip install -c constraints.txt ".[server]" \
    && useradd --system --uid 10001 --home-dir /var/lib/agentledger agentledger \
    && mkdir -p /var/lib/agentledger \
    && chown agentledger /var/lib/agentledger

USER agentledger
WORKDIR /var/lib/agentledger
# OTLP/gRPC, OTLP/HTTP, ClickHouse-compatible SQL (embedded mode only), dashboards.
EXPOSE 4317 4318 8123 8501
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=5 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:4318/healthz', timeout=2)"
ENTRYPOINT ["agentledger"]
CMD ["serve", "--host", "0.0.0.0"]
