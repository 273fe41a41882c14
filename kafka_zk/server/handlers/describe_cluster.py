"""DescribeCluster (60) v0 (KIP-700, Kafka 2.8): the live brokers, the controller and the cluster id.

The same facts as Metadata's, from the same controller-fed cache, so an admin client sees one consistent
view; brokers are listed with their endpoint on the listener the request arrived on. No authorizer runs,
so ``cluster_authorized_operations`` is Kafka's "not requested" marker even when they were asked for.
"""

from __future__ import annotations

from kafka_zk.protocol.messages.cluster import DescribeClusterResponse
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.DESCRIBE_CLUSTER
VERSIONS = (0, 0)

R = DescribeClusterResponse


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
    cache = broker.metadata_cache
    brokers = []
    for node in cache.alive_brokers():
        ep = node.endpoints.get(ctx.listener)
        if ep is not None:
            brokers.append(R.DescribeClusterBroker(broker_id=node.id, host=ep[0], port=ep[1], rack=node.rack))
    return R(
        throttle_time_ms=0,
        error_code=0,
        cluster_id=broker.cluster_id or "",
        controller_id=cache.controller_id if cache.controller_id in cache.brokers else -1,
        brokers=brokers,
    )
