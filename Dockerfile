# One image for every netobs stage; compose.yaml picks the command. Scale-out stages need no Java (the broker
# is Apache Kafka's own image) and no raw sockets (ICMP goes through ping sockets: compose sets the sysctl).
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
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 --home-dir /var/lib/netobs --create-home netobs \
    && chmod 0700 /var/lib/netobs
USER 10001
ENTRYPOINT ["netobs"]
