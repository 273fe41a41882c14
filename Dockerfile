# The kafka_zk broker image: `docker compose up` (compose.yaml) builds it from this repository.
# Configuration: /etc/kafka-zk/server.properties (deploy/server.properties) plus `--override key=value`
# arguments, which compose.yaml uses for what differs per broker (id, listeners, advertised addresses).
FROM python:3.11-slim

WORKDIR /opt/kafka-zk
COPY setup.cfg pyproject.toml README.md ./
COPY kafka_zk ./kafka_zk
COPY zk_layout ./zk_layout
RUN pip install --no-cache-dir '.[compression]' \
    && useradd --system --home-dir /var/lib/kafka-zk --create-home kafka \
    && mkdir -p /etc/kafka-zk
COPY deploy/server.properties /etc/kafka-zk/server.properties

USER kafka
VOLUME /var/lib/kafka-zk
# 9092 clients (EXTERNAL), 19092 other brokers (INTERNAL), 9093 the controller's channel, 8080 HTTP admin
EXPOSE 9092 19092 9093 8080
ENTRYPOINT ["kafka-zk"]
CMD ["broker", "--config", "/etc/kafka-zk/server.properties"]
