"""Metadata (3) v0-11: brokers, controller and partition leadership, from the controller-fed metadata cache.

v0: an empty topic list means all topics; v1+: null means all, empty means none. Unknown topics are
auto-created when ``auto.create.topics.enable`` and (v4+) the request's ``allow_auto_topic_creation`` allow it
(answering LEADER_NOT_AVAILABLE until the controller has elected leaders, as Kafka does). Brokers are listed
with their endpoint on the listener the request arrived on.

v10/v11 (Kafka 2.8) report topic ids — the id in the topic's znode, the zero UUID for topics created without
one — but, like Kafka 2.8, do not accept a topic *asked for* by id: a request naming a topic by id or with a
null name is answered INVALID_REQUEST for every topic it lists. The authorized-operations fields (v8+) carry
Kafka's "not requested" marker: this broker has no authorizer, so there is nothing to report.
"""

from __future__ import annotations

from typing import Any

from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.common.logging import get_logger
from kafka_zk.common.topic_names import is_internal, validate_topic_name
from kafka_zk.protocol.messages.metadata import MetadataResponse
from kafka_zk.protocol.schema import ZERO_UUID
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

log = get_logger(__name__)

API_KEY = ApiKey.METADATA
VERSIONS = (0, 11)

R = MetadataResponse


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
    cache = broker.metadata_cache
    all_topics = req.topics is None or (ctx.api_version == 0 and not req.topics)
    if not all_topics and any(t.name is None or t.topic_id != ZERO_UUID for t in req.topics):
        return _invalid_request(req)
    names = cache.topic_names() if all_topics else [t.name for t in req.topics]
    allow_create = broker.config["auto.create.topics.enable"] and (
        ctx.api_version < 4 or req.allow_auto_topic_creation
    )
    topics = []
    for name in names:
        if cache.contains_topic(name):
            topics.append(_topic(broker, name, ctx.listener))
            continue
        code = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        try:
            validate_topic_name(name)
            if allow_create and not is_internal(name):
                code = await broker.auto_create_topic(name)
        except KafkaError as e:
            code = e.code if e.code != ErrorCode.TOPIC_ALREADY_EXISTS else ErrorCode.LEADER_NOT_AVAILABLE
        topics.append(
            R.MetadataResponseTopic(
                error_code=int(code), name=name, is_internal=is_internal(name), partitions=[]
            )
        )
    brokers = []
    for node in cache.alive_brokers():
        ep = node.endpoints.get(ctx.listener)
        if ep is not None:
            brokers.append(R.MetadataResponseBroker(node_id=node.id, host=ep[0], port=ep[1], rack=node.rack))
    return R(
        throttle_time_ms=0,
        brokers=brokers,
        cluster_id=broker.cluster_id,
        controller_id=cache.controller_id if cache.controller_id in cache.brokers else -1,
        topics=topics,
    )


def _invalid_request(req: Request) -> Response:
    """Kafka 2.8's answer to topic ids in a request: INVALID_REQUEST for each listed topic, no brokers."""
    return R(
        throttle_time_ms=0,
        topics=[
            R.MetadataResponseTopic(
                error_code=int(ErrorCode.INVALID_REQUEST),
                name=t.name or "",
                topic_id=t.topic_id,
                is_internal=False,
                partitions=[],
            )
            for t in req.topics
        ],
    )


def _topic(broker: BrokerServices, name: str, listener: str) -> Any:
    cache = broker.metadata_cache
    partitions = []
    for pid, info in sorted(cache.partitions(name).items()):
        leader = info.leader
        code = ErrorCode.NONE
        if leader < 0 or cache.endpoint(leader, listener) is None:
            code, leader = ErrorCode.LEADER_NOT_AVAILABLE, -1
        partitions.append(
            R.MetadataResponsePartition(
                error_code=int(code),
                partition_index=pid,
                leader_id=leader,
                leader_epoch=info.leader_epoch,
                replica_nodes=list(info.replicas),
                isr_nodes=list(info.isr),
                offline_replicas=list(info.offline_replicas),
            )
        )
    return R.MetadataResponseTopic(
        error_code=0,
        name=name,
        topic_id=cache.topic_id(name),
        is_internal=is_internal(name),
        partitions=partitions,
    )
