# One image for every netobs stage; compose.yaml picks the command.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY netobs netobs
COPY schemas schemas
COPY common common
COPY ingest ingest
COPY processors processors
COPY executor executor
COPY query_mcp query_mcp
RUN pip install --no-cache-dir .
USER nobody
ENTRYPOINT ["netobs"]
