"""``AdminClient``: topic and configuration administration over the Kafka protocol (no ZooKeeper access).

Theory of operation
-------------------
Where each request goes is Kafka's rule, not a choice:

* CreateTopics, DeleteTopics and CreatePartitions go to the **controller** (Metadata's ``controller_id``);
  any other broker answers NOT_CONTROLLER. The controller may move between our Metadata and our request, so
  on NOT_CONTROLLER (or a lost connection) the client refreshes metadata and retries once, which is what the
  Java AdminClient's retry amounts to in practice.
* describe/list topics come from Metadata (any broker); DescribeConfigs/AlterConfigs of a topic go to any
  broker (topic configs live in ZooKeeper), of a broker to that broker.
* IncrementalAlterConfigs goes where AlterConfigs goes; ElectLeaders and the KIP-455 reassignment calls
  (AlterPartitionReassignments / ListPartitionReassignments) go to the controller, like CreateTopics.
* group calls: ListGroups goes to **every** broker (each lists the groups it coordinates); DescribeGroups and
  OffsetFetch go to the group's coordinator (FindCoordinator).

Per-item results: the batch methods return ``{name: None | KafkaError}`` (``None`` = success), because a
request for several topics can half succeed; the single-item helpers (:meth:`AdminClient.create_topic` ...)
raise the :class:`KafkaError` instead. A KafkaError carries the broker's code and its error message.
REQUEST_TIMED_OUT from CreateTopics/CreatePartitions/DeleteTopics means the change was made but leaders (or
the deletion) were not complete within ``timeout_ms`` — it is still reported, as the Java client does.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from kafka_zk.client.decisions import error_name, to_error
from kafka_zk.client.errors import KafkaConnectionError, KafkaRequestTimeoutError
from kafka_zk.client.metadata import MetadataClient, TopicMetadata
from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.common.logging import get_logger
from kafka_zk.common.tp import TopicPartition
from kafka_zk.protocol.apis import ApiKey
from kafka_zk.protocol.messages import (
    AlterConfigsRequest,
    AlterPartitionReassignmentsRequest,
    CreatePartitionsRequest,
    CreateTopicsRequest,
    DeleteTopicsRequest,
    DescribeConfigsRequest,
    DescribeGroupsRequest,
    ElectLeadersRequest,
    IncrementalAlterConfigsRequest,
    ListGroupsRequest,
    ListPartitionReassignmentsRequest,
    OffsetFetchRequest,
)
from kafka_zk.protocol.messages.configs import (
    OP_APPEND,
    OP_DELETE,
    OP_SET,
    OP_SUBTRACT,
    RESOURCE_BROKER,
    RESOURCE_TOPIC,
)

log = get_logger(__name__)

__all__ = [
    "AdminClient", "NewTopic", "ConfigEntry", "GroupListing", "GroupDescription", "GroupMember",
    "RESOURCE_TOPIC", "RESOURCE_BROKER", "CONFIG_SOURCE_TOPIC",
    "OP_SET", "OP_DELETE", "OP_APPEND", "OP_SUBTRACT", "PartitionReassignment",
]

#: DescribeConfigs ``config_source`` of a topic override (``DYNAMIC_TOPIC_CONFIG``).
CONFIG_SOURCE_TOPIC = 1


@dataclass(frozen=True)
class NewTopic:
    """A topic to create. ``-1`` partitions / replication factor mean "the broker's default" (CreateTopics v4).
    With ``replica_assignment`` (``{partition: [broker ids, preferred leader first]}``) both must stay -1."""

    name: str
    num_partitions: int = -1
    replication_factor: int = -1
    replica_assignment: Mapping[int, Sequence[int]] | None = None
    configs: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ConfigEntry:
    name: str
    value: str | None
    source: int  # Kafka's ConfigSource: 1 topic override, 4 static broker config, 5 default, -1 unknown
    read_only: bool = False
    is_default: bool = False
    is_sensitive: bool = False


@dataclass(frozen=True)
class GroupListing:
    group_id: str
    protocol_type: str
    coordinator: int


@dataclass(frozen=True)
class GroupMember:
    member_id: str
    client_id: str
    client_host: str
    group_instance_id: str | None
    metadata: bytes
    assignment: bytes


@dataclass(frozen=True)
class GroupDescription:
    group_id: str
    state: str
    protocol_type: str
    protocol: str
    members: tuple[GroupMember, ...]
    coordinator: int


@dataclass(frozen=True)
class PartitionReassignment:
    """A reassignment in flight (ListPartitionReassignments): the full replica set while moving, and the
    replicas being added and removed."""

    replicas: tuple[int, ...]
    adding_replicas: tuple[int, ...]
    removing_replicas: tuple[int, ...]


Results = dict[str, KafkaError | None]
PartitionResults = dict[TopicPartition, KafkaError | None]


def _result(code: int, message: str | None, what: str) -> KafkaError | None:
    if code == ErrorCode.NONE:
        return None
    return to_error(code, message or f"{what}: {error_name(code)}")


def _raise_first(results: Results) -> None:
    for err in results.values():
        if err is not None:
            raise err


class AdminClient:
    """``async with AdminClient("127.0.0.1:9092") as admin: await admin.create_topic(NewTopic("t", 3, 2))``."""

    def __init__(self, bootstrap_servers: str | Sequence[str], *, client_id: str = "kafka-zk-admin",
                 request_timeout_ms: int = 30000, retry_backoff_ms: int = 100) -> None:
        self.request_timeout_ms = request_timeout_ms
        self.cluster = MetadataClient(bootstrap_servers, client_id=client_id, request_timeout=request_timeout_ms / 1000,
                                      retry_backoff=retry_backoff_ms / 1000)

    async def start(self) -> None:
        await self.cluster.bootstrap()

    async def close(self) -> None:
        await self.cluster.close()

    async def __aenter__(self) -> AdminClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------------------------ controller calls

    async def _to_controller(self, api_key: int, req: Any, errors_of: Any) -> Any:
        """Send to the controller; on NOT_CONTROLLER (or a lost connection) refresh and retry once."""
        for attempt in (1, 2):
            node = await self.cluster.controller_id(refresh=attempt == 2)
            try:
                resp = await self.cluster.request(node, api_key, req, timeout=self.request_timeout_ms / 1000 + 5)
            except KafkaConnectionError:
                if attempt == 2:
                    raise
                continue
            if attempt == 1 and ErrorCode.NOT_CONTROLLER in errors_of(resp):
                log.debug("controller moved; retrying", was=node)
                continue
            return resp
        raise AssertionError("unreachable")

    async def create_topics(self, topics: Sequence[NewTopic], timeout_ms: int = 30000,
                            validate_only: bool = False) -> Results:
        """Create topics at the controller; ``{name: None | KafkaError}``."""
        items = []
        for t in topics:
            assignments = [
                CreateTopicsRequest.CreatableReplicaAssignment(partition_index=p, broker_ids=list(b))
                for p, b in sorted((t.replica_assignment or {}).items())
            ]
            items.append(CreateTopicsRequest.CreatableTopic(
                name=t.name,
                num_partitions=-1 if assignments else t.num_partitions,
                replication_factor=-1 if assignments else t.replication_factor,
                assignments=assignments,
                configs=[CreateTopicsRequest.CreatableTopicConfig(name=k, value=v) for k, v in t.configs.items()],
            ))
        req = CreateTopicsRequest(topics=items, timeout_ms=timeout_ms, validate_only=validate_only)
        resp = await self._to_controller(ApiKey.CREATE_TOPICS, req, lambda r: [t.error_code for t in r.topics])
        return {t.name: _result(t.error_code, t.error_message, f"create topic '{t.name}'") for t in resp.topics}

    async def create_topic(self, topic: NewTopic, timeout_ms: int = 30000, validate_only: bool = False) -> None:
        """Create one topic; raises its KafkaError (TOPIC_ALREADY_EXISTS, INVALID_REPLICATION_FACTOR, ...)."""
        _raise_first(await self.create_topics([topic], timeout_ms, validate_only))

    async def delete_topics(self, names: Iterable[str], timeout_ms: int = 30000) -> Results:
        """Delete topics (the controller marks them; the deletion completes asynchronously)."""
        unique = list(dict.fromkeys(names))
        # ``topic_names`` up to v5, ``topics`` (name or id) from v6: fill both, the version picks one.
        req = DeleteTopicsRequest(topic_names=unique, timeout_ms=timeout_ms,
                                  topics=[DeleteTopicsRequest.DeleteTopicState(name=n) for n in unique])
        resp = await self._to_controller(ApiKey.DELETE_TOPICS, req, lambda r: [t.error_code for t in r.responses])
        return {t.name: _result(t.error_code, None, f"delete topic '{t.name}'") for t in resp.responses}

    async def delete_topic(self, name: str, timeout_ms: int = 30000) -> None:
        _raise_first(await self.delete_topics([name], timeout_ms))

    async def create_partitions(self, new_counts: Mapping[str, int],
                                assignments: Mapping[str, Sequence[Sequence[int]]] | None = None,
                                timeout_ms: int = 30000, validate_only: bool = False) -> Results:
        """Grow topics to ``new_counts[topic]`` partitions; ``assignments[topic]`` optionally places the new
        ones (one broker list per new partition)."""
        topics = [
            CreatePartitionsRequest.CreatePartitionsTopic(
                name=name, count=count,
                assignments=None if not assignments or name not in assignments else [
                    CreatePartitionsRequest.CreatePartitionsAssignment(broker_ids=list(b)) for b in assignments[name]],
            )
            for name, count in new_counts.items()
        ]
        req = CreatePartitionsRequest(topics=topics, timeout_ms=timeout_ms, validate_only=validate_only)
        resp = await self._to_controller(ApiKey.CREATE_PARTITIONS, req, lambda r: [t.error_code for t in r.results])
        return {t.name: _result(t.error_code, t.error_message, f"create partitions of '{t.name}'") for t in resp.results}

    # -------------------------------------------------------------------------------------- metadata calls

    async def list_topics(self, include_internal: bool = False) -> list[str]:
        md = await self.cluster.refresh(None)
        return sorted(n for n, t in md.topics.items() if include_internal or not t.is_internal)

    async def describe_topics(self, names: Iterable[str] | None = None) -> dict[str, TopicMetadata]:
        """Leader, replicas and ISR of every partition (all topics when ``names`` is None). A topic that does
        not exist maps to a TopicMetadata with ``error_code`` UNKNOWN_TOPIC_OR_PARTITION."""
        wanted = None if names is None else list(names)
        md = await self.cluster.refresh(wanted)
        keys = sorted(md.topics) if wanted is None else wanted
        return {n: md.topics.get(n) or TopicMetadata(n, int(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION), False, {})
                for n in keys}

    async def describe_cluster(self) -> tuple[str | None, int, list[int]]:
        """``(cluster_id, controller_id, broker ids)``."""
        md = await self.cluster.refresh([])
        return md.cluster_id, md.controller_id, sorted(md.brokers)

    # ---------------------------------------------------------------------------------------- configs

    async def describe_configs(self, resources: Iterable[tuple[int, str]],
                               keys: Iterable[str] | None = None) -> dict[tuple[int, str], list[ConfigEntry]]:
        """Configs of ``(resource_type, name)`` resources (``RESOURCE_TOPIC`` / ``RESOURCE_BROKER``).
        Raises the first resource's KafkaError (e.g. UNKNOWN_TOPIC_OR_PARTITION)."""
        res = list(resources)
        out: dict[tuple[int, str], list[ConfigEntry]] = {}
        names = None if keys is None else list(keys)
        for rtype, rname in res:
            node = int(rname) if rtype == RESOURCE_BROKER else None
            req = DescribeConfigsRequest(resources=[DescribeConfigsRequest.DescribeConfigsResource(
                resource_type=rtype, resource_name=rname, configuration_keys=names)], include_synonyms=False)
            resp = await self._any_or(node, ApiKey.DESCRIBE_CONFIGS, req)
            for r in resp.results:
                if r.error_code != ErrorCode.NONE:
                    raise to_error(r.error_code, r.error_message or f"describe configs of {rname}: {error_name(r.error_code)}")
                out[(rtype, rname)] = [
                    ConfigEntry(c.name, c.value, c.config_source if c.config_source != -1 else
                                (5 if c.is_default else -1), c.read_only, c.is_default or c.config_source == 5,
                                c.is_sensitive)
                    for c in r.configs
                ]
        return out

    async def topic_config_overrides(self, topic: str) -> dict[str, str]:
        """The topic's own overrides (what ``kafka-topics --describe`` prints as ``Configs:``)."""
        entries = (await self.describe_configs([(RESOURCE_TOPIC, topic)]))[(RESOURCE_TOPIC, topic)]
        return {e.name: e.value or "" for e in entries if e.source == CONFIG_SOURCE_TOPIC}

    async def alter_configs(self, configs: Mapping[tuple[int, str], Mapping[str, str]],
                            validate_only: bool = False) -> dict[tuple[int, str], KafkaError | None]:
        """Replace the whole override set of each resource (AlterConfigs is not incremental)."""
        out: dict[tuple[int, str], KafkaError | None] = {}
        for (rtype, rname), values in configs.items():
            req = AlterConfigsRequest(validate_only=validate_only, resources=[AlterConfigsRequest.AlterConfigsResource(
                resource_type=rtype, resource_name=rname,
                configs=[AlterConfigsRequest.AlterableConfig(name=k, value=v) for k, v in values.items()])])
            node = int(rname) if rtype == RESOURCE_BROKER else None
            resp = await self._any_or(node, ApiKey.ALTER_CONFIGS, req)
            for r in resp.responses:
                out[(r.resource_type, r.resource_name)] = _result(r.error_code, r.error_message, f"alter configs of {rname}")
        return out

    async def incremental_alter_configs(
        self,
        changes: Mapping[tuple[int, str], Sequence[tuple[str, int, str | None]]],
        validate_only: bool = False,
    ) -> dict[tuple[int, str], KafkaError | None]:
        """Change single keys (KIP-339): ``changes[(type, name)] = [(key, OP_SET | OP_DELETE | OP_APPEND |
        OP_SUBTRACT, value), ...]``; keys not named keep their values."""
        out: dict[tuple[int, str], KafkaError | None] = {}
        for (rtype, rname), ops in changes.items():
            R = IncrementalAlterConfigsRequest
            req = R(validate_only=validate_only, resources=[R.AlterConfigsResource(
                resource_type=rtype, resource_name=rname,
                configs=[R.AlterableConfig(name=k, config_operation=op, value=v) for k, op, v in ops])])
            node = int(rname) if rtype == RESOURCE_BROKER and rname else None
            resp = await self._any_or(node, ApiKey.INCREMENTAL_ALTER_CONFIGS, req)
            for r in resp.responses:
                out[(r.resource_type, r.resource_name)] = _result(r.error_code, r.error_message,
                                                                  f"incremental alter configs of {rname}")
        return out

    # ------------------------------------------------------------------------ leaders and reassignments

    async def elect_leaders(self, partitions: Iterable[TopicPartition] | None = None,
                            election_type: str = "preferred", timeout_ms: int = 30000) -> PartitionResults:
        """ElectLeaders at the controller: ``"preferred"`` or ``"unclean"``; None = every partition.
        Per partition None (elected) or a KafkaError (ELECTION_NOT_NEEDED, PREFERRED_LEADER_NOT_AVAILABLE,
        ...)."""
        if election_type not in ("preferred", "unclean"):
            raise ValueError(f"unknown election type {election_type!r}: expected preferred or unclean")
        topics = None
        if partitions is not None:
            by_topic: dict[str, list[int]] = {}
            for tp in partitions:
                by_topic.setdefault(tp[0], []).append(tp[1])
            topics = [ElectLeadersRequest.TopicPartitions(topic=t, partitions=ps)
                      for t, ps in by_topic.items()]
        req = ElectLeadersRequest(election_type=0 if election_type == "preferred" else 1,
                                  topic_partitions=topics, timeout_ms=timeout_ms)
        resp = await self._to_controller(ApiKey.ELECT_LEADERS, req, lambda r: [r.error_code])
        if resp.error_code != ErrorCode.NONE:
            raise to_error(resp.error_code, f"elect leaders: {error_name(resp.error_code)}")
        return {
            TopicPartition(t.topic, p.partition_id):
                _result(p.error_code, p.error_message, f"elect leader of {t.topic}-{p.partition_id}")
            for t in resp.replica_election_results for p in t.partition_result
        }

    async def alter_partition_reassignments(
        self, targets: Mapping[TopicPartition, Sequence[int] | None], timeout_ms: int = 30000
    ) -> PartitionResults:
        """Start reassignments (target replica lists) or cancel them (``None``) at the controller (KIP-455).
        Returns once they have started; per partition None or a KafkaError."""
        by_topic: dict[str, list[Any]] = {}
        R = AlterPartitionReassignmentsRequest
        for tp, replicas in sorted(targets.items()):
            by_topic.setdefault(tp[0], []).append(R.ReassignablePartition(
                partition_index=tp[1], replicas=None if replicas is None else list(replicas)))
        req = R(timeout_ms=timeout_ms,
                topics=[R.ReassignableTopic(name=t, partitions=ps) for t, ps in by_topic.items()])
        resp = await self._to_controller(ApiKey.ALTER_PARTITION_REASSIGNMENTS, req, lambda r: [r.error_code])
        if resp.error_code != ErrorCode.NONE:
            raise to_error(resp.error_code,
                           resp.error_message or f"alter reassignments: {error_name(resp.error_code)}")
        return {
            TopicPartition(t.name, p.partition_index):
                _result(p.error_code, p.error_message, f"reassign {t.name}-{p.partition_index}")
            for t in resp.responses for p in t.partitions
        }

    async def list_partition_reassignments(
        self, partitions: Iterable[TopicPartition] | None = None, timeout_ms: int = 30000
    ) -> dict[TopicPartition, PartitionReassignment]:
        """The reassignments in flight (among ``partitions``; None = all), from the controller."""
        topics = None
        if partitions is not None:
            by_topic: dict[str, list[int]] = {}
            for tp in partitions:
                by_topic.setdefault(tp[0], []).append(tp[1])
            T = ListPartitionReassignmentsRequest.ListPartitionReassignmentsTopics
            topics = [T(name=t, partition_indexes=ps) for t, ps in by_topic.items()]
        req = ListPartitionReassignmentsRequest(timeout_ms=timeout_ms, topics=topics)
        resp = await self._to_controller(ApiKey.LIST_PARTITION_REASSIGNMENTS, req, lambda r: [r.error_code])
        if resp.error_code != ErrorCode.NONE:
            raise to_error(resp.error_code,
                           resp.error_message or f"list reassignments: {error_name(resp.error_code)}")
        return {TopicPartition(t.name, p.partition_index): PartitionReassignment(
                    tuple(p.replicas), tuple(p.adding_replicas), tuple(p.removing_replicas))
                for t in resp.topics for p in t.partitions}

    async def _any_or(self, node: int | None, api_key: int, req: Any) -> Any:
        if node is not None:
            return await self.cluster.request(node, api_key, req)
        for attempt in (1, 2):
            conn = await self.cluster.any_connection()
            try:
                return await conn.request(api_key, req)
            except (KafkaConnectionError, KafkaRequestTimeoutError):
                if attempt == 2:
                    raise
                await conn.close()
        raise AssertionError("unreachable")

    # ----------------------------------------------------------------------------------------- groups

    async def list_groups(self) -> list[GroupListing]:
        """Every group of every broker (ListGroups goes to each broker)."""
        md = await self.cluster.refresh([])
        out: list[GroupListing] = []

        async def one(node: int) -> None:
            resp = await self.cluster.request(node, ApiKey.LIST_GROUPS, ListGroupsRequest())
            if resp.error_code != ErrorCode.NONE:
                raise to_error(resp.error_code, f"ListGroups at broker {node}: {error_name(resp.error_code)}")
            out.extend(GroupListing(g.group_id, g.protocol_type, node) for g in resp.groups)

        await asyncio.gather(*(one(n) for n in sorted(md.brokers)))
        return sorted(out, key=lambda g: g.group_id)

    async def describe_groups(self, group_ids: Iterable[str]) -> dict[str, GroupDescription]:
        """State and members of each group, from its coordinator. Raises a group's KafkaError."""
        out: dict[str, GroupDescription] = {}
        for gid in group_ids:
            node = await self.cluster.coordinator_id(gid)
            resp = await self.cluster.request(node, ApiKey.DESCRIBE_GROUPS, DescribeGroupsRequest(groups=[gid]))
            for g in resp.groups:
                if g.error_code != ErrorCode.NONE:
                    raise to_error(g.error_code, f"describe group '{g.group_id}': {error_name(g.error_code)}")
                out[g.group_id] = GroupDescription(
                    g.group_id, g.group_state, g.protocol_type, g.protocol_data,
                    tuple(GroupMember(m.member_id, m.client_id, m.client_host, m.group_instance_id,
                                      bytes(m.member_metadata), bytes(m.member_assignment)) for m in g.members),
                    node)
        return out

    async def list_consumer_group_offsets(self, group_id: str,
                                          partitions: Iterable[TopicPartition] | None = None
                                          ) -> dict[TopicPartition, int]:
        """The group's committed offsets (every committed partition when ``partitions`` is None; needs
        OffsetFetch v2+). Partitions without a commit are left out."""
        node = await self.cluster.coordinator_id(group_id)
        topics: list[Any] | None = None
        if partitions is not None:
            by_topic: dict[str, list[int]] = {}
            for tp in partitions:
                by_topic.setdefault(tp[0], []).append(tp[1])
            topics = [OffsetFetchRequest.OffsetFetchRequestTopic(name=t, partition_indexes=ps) for t, ps in by_topic.items()]
        resp = await self.cluster.request(node, ApiKey.OFFSET_FETCH, OffsetFetchRequest(group_id=group_id, topics=topics))
        if getattr(resp, "error_code", 0):
            raise to_error(resp.error_code, f"offsets of group '{group_id}': {error_name(resp.error_code)}")
        out: dict[TopicPartition, int] = {}
        for t in resp.topics:
            for p in t.partitions:
                if p.error_code != ErrorCode.NONE:
                    raise to_error(p.error_code, f"offset of {t.name}-{p.partition_index}: {error_name(p.error_code)}")
                if p.committed_offset >= 0:
                    out[TopicPartition(t.name, p.partition_index)] = p.committed_offset
        return out
