"""FindCoordinator (10) v0–3: which broker coordinates a group.

The coordinator of group *g* is the leader of ``__consumer_offsets`` partition ``partition_for(g)``. The answer
comes from the metadata cache (the controller's view), with the leader's endpoint on the listener the request
arrived on. The first FindCoordinator creates ``__consumer_offsets`` (see ``group_wiring.ensure_offsets_topic``)
and, like every request made before that partition has a live leader, gets COORDINATOR_NOT_AVAILABLE; clients
retry. Transaction coordinators (key type 1) do not exist in this broker: the answer is
TRANSACTIONAL_ID_AUTHORIZATION_FAILED with a message saying so, which transactional producers report as a
fatal error instead of retrying. v1 adds ``key_type``, ``throttle_time_ms`` and ``error_message``; v2 is v1;
v3 is flexible.
"""

from __future__ import annotations

from kafka_zk.common.errors import ErrorCode
from kafka_zk.common.tp import TopicPartition
from kafka_zk.coordinator import GROUP_METADATA_TOPIC_NAME
from kafka_zk.protocol.messages.group_membership import COORDINATOR_GROUP, COORDINATOR_TRANSACTION, FindCoordinatorResponse
from kafka_zk.server.group_wiring import coordinator_of, ensure_offsets_topic
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.FIND_COORDINATOR
VERSIONS = (0, 3)

R = FindCoordinatorResponse


def _error(code: ErrorCode, message: str) -> Response:
    return R(throttle_time_ms=0, error_code=int(code), error_message=message, node_id=-1, host="", port=-1)


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
    key_type = req.key_type if ctx.api_version >= 1 else COORDINATOR_GROUP
    if key_type == COORDINATOR_TRANSACTION:
        # not COORDINATOR_NOT_AVAILABLE, which clients retry until they time out (docs/differences.md)
        return _error(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
                      "transactions are not supported by this broker")
    if key_type != COORDINATOR_GROUP:
        return _error(ErrorCode.INVALID_REQUEST, f"unknown coordinator key type {key_type}")
    coordinator = coordinator_of(broker)
    if coordinator is None:
        return _error(ErrorCode.COORDINATOR_NOT_AVAILABLE, "the group coordinator is not running")
    code = await ensure_offsets_topic(broker, coordinator)
    if code is not ErrorCode.NONE:
        return _error(code, f"{GROUP_METADATA_TOPIC_NAME} is being created")
    partition = coordinator.partition_for(req.key)
    found = broker.metadata_cache.leader_endpoint(TopicPartition(GROUP_METADATA_TOPIC_NAME, partition), ctx.listener)
    if found is None:
        return _error(ErrorCode.COORDINATOR_NOT_AVAILABLE, f"{GROUP_METADATA_TOPIC_NAME}-{partition} has no leader")
    node_id, (host, port) = found
    return R(throttle_time_ms=0, error_code=0, error_message=None, node_id=node_id, host=host, port=port)
