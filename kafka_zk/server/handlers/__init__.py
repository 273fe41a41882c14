"""One module per Kafka API: ``API_KEY`` (an ``ApiKey``), ``VERSIONS`` (what we advertise) and
``async handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response`` (see
:mod:`kafka_zk.server.handler_api`).

``kafka_zk.server.dispatch`` discovers the modules of this package and routes by their ``API_KEY``, so a new
module here is served without another list to edit; ApiVersions and ``docs/protocol-coverage.md`` are derived
from that table. Every module not starting with ``_`` must be a handler (the dispatch table refuses one
that is not, at import); put helpers shared by handlers in a ``_``-prefixed module or outside this package.
"""
