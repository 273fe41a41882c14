"""One module per Kafka API: ``API_KEY``, ``VERSIONS`` (what we advertise) and ``async handle(broker, ctx, req)``.

``kafka_zk.server.dispatch`` collects them into the dispatch table; ApiVersions and
``docs/protocol-coverage.md`` are derived from that table.
"""
