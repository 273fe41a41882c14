"""Decode any znode of Kafka's tree by its path, and render a (sub)tree for ``kafka-zk zk-tree``.

:func:`decode_znode` maps a path to the record type that owns it (``/brokers/ids/3`` →
:class:`BrokerRegistration`, ``.../partitions/0/state`` → :class:`PartitionState`, ...) and decodes the
payload, raising :class:`ZnodeDecodeError` for a malformed one; paths Kafka leaves empty or that are not
Kafka's decode to None. :func:`walk` reads a subtree level by level (pipelined reads), and
:func:`render_text` / :func:`render_json` print it. The ``/zookeeper`` subtree (ZooKeeper's own quota and
config nodes) is skipped unless asked for.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from kazoo.protocol.states import ZnodeStat

from zk_layout import paths
from zk_layout.connection import ZkConnection
from zk_layout.errors import ZnodeDecodeError
from zk_layout.znodes import (
    BrokerRegistration,
    ClusterId,
    ConfigChangeNotification,
    ConsumerOffset,
    ConsumerPartitionOwner,
    ConsumerRegistration,
    ControllerEpoch,
    ControllerInfo,
    EntityConfig,
    FeatureInfo,
    IsrChangeNotification,
    LogDirEventNotification,
    PartitionState,
    PreferredReplicaElection,
    ProducerIdBlock,
    ReassignPartitions,
    TopicAssignment,
)

Decoder = Callable[[bytes | None, str], Any]

# (path pattern, decoder). First match wins, so specific patterns come first.
_DECODERS: list[tuple[re.Pattern[str], Decoder]] = [
    (re.compile(r"/controller"), ControllerInfo.from_json),
    (re.compile(r"/controller_epoch"), ControllerEpoch.from_json),
    (re.compile(r"/brokers/ids/[0-9]+"), BrokerRegistration.from_json),
    (re.compile(r"/brokers/topics/[^/]+"), TopicAssignment.from_json),
    (re.compile(r"/brokers/topics/[^/]+/partitions/[0-9]+/state"), PartitionState.from_json),
    (re.compile(r"/cluster/id"), ClusterId.from_json),
    (re.compile(r"/latest_producer_id_block"), ProducerIdBlock.from_json),
    (re.compile(r"/feature"), FeatureInfo.from_json),
    (re.compile(r"/config/changes/config_change_[0-9]+"), ConfigChangeNotification.from_json),
    (re.compile(r"/config/(?!changes/)[^/]+/.+"), EntityConfig.from_json),
    (re.compile(r"/isr_change_notification/isr_change_[0-9]+"), IsrChangeNotification.from_json),
    (re.compile(r"/log_dir_event_notification/log_dir_event_[0-9]+"), LogDirEventNotification.from_json),
    (re.compile(r"/admin/reassign_partitions"), ReassignPartitions.from_json),
    (re.compile(r"/admin/preferred_replica_election"), PreferredReplicaElection.from_json),
    (re.compile(r"/consumers/[^/]+/offsets/[^/]+/[0-9]+"), ConsumerOffset.from_json),
    (re.compile(r"/consumers/[^/]+/ids/[^/]+"), ConsumerRegistration.from_json),
    (re.compile(r"/consumers/[^/]+/owners/[^/]+/[0-9]+"), ConsumerPartitionOwner.from_json),
]

# Record types whose znode may legitimately hold null data: an unused producer-id block, a missing
# feature node, and config entities (intermediate ``/config/users/<user>`` znodes; Kafka reads null as {}).
_MAY_BE_EMPTY: set[Decoder] = {ProducerIdBlock.from_json, FeatureInfo.from_json, EntityConfig.from_json}


def decode_znode(path: str, data: bytes | None) -> Any | None:
    """The typed record stored at ``path``, or None (container znode, unknown path, or null data where
    Kafka allows it). Raises :class:`ZnodeDecodeError` for a malformed payload."""
    for pattern, decoder in _DECODERS:
        if pattern.fullmatch(path):
            if not data and decoder in _MAY_BE_EMPTY:
                return None
            return decoder(data, path)
    return None


@dataclass(frozen=True, slots=True)
class Node:
    path: str
    depth: int
    data: bytes | None
    stat: ZnodeStat
    is_last: tuple[bool, ...]  # for each ancestor level (and this one): was it the last child?


def _child_key(name: str) -> tuple[int, int, str]:
    """Natural order: numeric names (broker ids, partitions) by value first, then the rest by trailing number."""
    if name.isdigit():
        return (0, int(name), name)
    m = re.search(r"([0-9]+)$", name)
    return (1, int(m.group(1)) if m else 0, name)


def walk(zk: ZkConnection, root: str = "/", include_zookeeper: bool = False) -> Iterator[Node]:
    """Depth-first over ``root`` and everything below it (children in natural order)."""
    got = zk.get_data(root)
    if got is None:
        return
    yield from _walk(zk, root, got[0], got[1], 0, (), include_zookeeper)


def _walk(zk: ZkConnection, path: str, data: bytes | None, stat: ZnodeStat, depth: int,
          is_last: tuple[bool, ...], include_zookeeper: bool) -> Iterator[Node]:
    yield Node(path, depth, data, stat, is_last)
    if stat.numChildren == 0:
        return
    children = zk.get_children(path) or []
    if path == "/" and not include_zookeeper:
        children = [c for c in children if c != "zookeeper"]
    children.sort(key=_child_key)
    child_paths = [paths.join(path, c) for c in children]
    entries = zk.get_many(child_paths)
    for i, cp in enumerate(child_paths):
        entry = entries.get(cp)
        if entry is None:  # deleted while we were reading
            continue
        yield from _walk(zk, cp, entry[0], entry[1], depth + 1, is_last + (i == len(child_paths) - 1,),
                         include_zookeeper)


def payload_text(data: bytes | None) -> str:
    if data is None:
        return ""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return f"<{len(data)} bytes, not UTF-8: {data[:16].hex()}{'...' if len(data) > 16 else ''}>"


def render_text(nodes: Iterator[Node], show_versions: bool = True) -> Iterator[str]:
    """One line per znode: tree branch, name, flags, payload as stored; malformed payloads are flagged."""
    for node in nodes:
        if node.depth == 0:
            prefix, name = "", node.path
        else:
            trunk = "".join("    " if last else "|   " for last in node.is_last[:-1])
            prefix = trunk + ("`-- " if node.is_last[-1] else "|-- ")
            name = node.path.rsplit("/", 1)[1]
        flags = []
        if node.stat.ephemeralOwner:
            flags.append("ephemeral")
        if show_versions and node.stat.version:
            flags.append(f"zkVersion={node.stat.version}")
        line = prefix + name + (f" [{', '.join(flags)}]" if flags else "")
        text = payload_text(node.data)
        if text:
            line += "  " + text
        try:
            decode_znode(node.path, node.data)
        except ZnodeDecodeError as e:
            line += f"  !! {e}"
        yield line


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {(k if isinstance(k, str) else ("-".join(map(str, k)) if isinstance(k, tuple) else str(k))):
                _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    return value


def render_json(nodes: Iterator[Node]) -> str:
    """The subtree as a JSON array: path, zk version, ephemeral owner, raw payload, decoded record."""
    out = []
    for node in nodes:
        entry: dict[str, Any] = {
            "path": node.path,
            "version": node.stat.version,
            "ephemeral_owner": node.stat.ephemeralOwner or None,
            "czxid": node.stat.czxid,
            "data": payload_text(node.data) if node.data is not None else None,
        }
        try:
            record = decode_znode(node.path, node.data)
            if record is not None:
                entry["type"] = type(record).__name__
                entry["decoded"] = _jsonable(record)
        except ZnodeDecodeError as e:
            entry["error"] = str(e)
        out.append(entry)
    return json.dumps(out, indent=2)
