"""``kafka-zk configs``: Kafka's ``kafka-configs.sh`` for topic and (dynamic) broker configuration.

Two ways to reach the cluster, as in Kafka 2.x:

* ``--zookeeper Z``: ``--alter`` reads ``/config/topics/<t>``, applies ``--add-config k=v[,k2=v2]`` and
  ``--delete-config k``, writes the result back and creates ``/config/changes/config_change_<seq>`` (Kafka
  2.x's v2 JSON, all through ``zk_layout``). Every broker's ``DynamicConfigManager`` sees the notification
  and applies the new config to the topic's running logs: a ``retention.ms``, ``segment.bytes`` or
  ``cleanup.policy`` change takes effect without a restart. ``--describe`` prints
  ``Configs for topic 'T' are k=v,...`` for the named topic or every topic with a config znode.
* ``--bootstrap-server B``: ``--describe`` uses DescribeConfigs (``Dynamic configs for topic T are:`` then
  ``  k=v sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:k=v}``; ``--all`` lists every config with its
  source); ``--alter`` reads the current overrides, merges, and sends AlterConfigs (which replaces the
  whole set), so the broker that answers validates and writes the same znodes.

* ``--entity-type brokers --entity-name ID`` or ``--entity-default`` (``/config/brokers/<default>``) with
  ``--zookeeper``: Kafka's dynamic broker configs for the broker-level log defaults (``log.retention.ms``,
  ``log.segment.bytes``, ``log.cleanup.policy``, ... — the keys Kafka's ``DynamicLogConfig`` reconfigures).
  Brokers apply them live to every topic without its own override (per-broker over default over
  ``server.properties``). With ``--bootstrap-server`` a broker's own dynamic configs go through
  DescribeConfigs/AlterConfigs (the cluster default only through ZooKeeper). Kafka 2.x's tool refuses
  these through ZooKeeper while brokers run, because its password configs must be encrypted by a broker;
  there are no password configs here.

Keys and values are checked before anything is written (unknown key with the closest known one, a value of
the wrong type or out of range, deleting a key that is not set) and refused in one line.

Exit codes: 0 done; 1 the cluster refused or could not be reached, the topic does not exist; 2 bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from typing import Any, Mapping, Sequence

from kafka_zk.admin.common import UsageError, quiet_kazoo
from kafka_zk.common.config import ConfigError
from kafka_zk.common.errors import KafkaError

PROG = "kafka-zk configs"
ENTITY_TYPES = ("topics", "brokers")
SOURCE_NAMES = {1: "DYNAMIC_TOPIC_CONFIG", 2: "DYNAMIC_BROKER_CONFIG", 3: "DYNAMIC_DEFAULT_BROKER_CONFIG",
                4: "STATIC_BROKER_CONFIG", 5: "DEFAULT_CONFIG", 6: "DYNAMIC_BROKER_LOGGER_CONFIG",
                -1: "UNKNOWN"}
# a comma that is not inside [...] (Kafka's pattern: values like [0:1,1:2] keep their commas)
_SPLIT_OUTSIDE_BRACKETS = re.compile(r",(?=[^\]]*(?:\[|$))")
DEFAULT_ENTITY = "<default>"


class OperationError(Exception):
    """The cluster refused or could not be reached: one line, exit code 1."""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("configs", help="describe and alter topic configs (kafka-configs)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = p.add_mutually_exclusive_group()
    where.add_argument("--zookeeper", metavar="HOST:PORT[/CHROOT]",
                       help="ZooKeeper connect string (default: $KAFKA_ZK_CONNECT unless --bootstrap-server)")
    where.add_argument("--bootstrap-server", metavar="HOST:PORT[,...]")
    action = p.add_mutually_exclusive_group()
    action.add_argument("--describe", action="store_true")
    action.add_argument("--alter", action="store_true")
    p.add_argument("--entity-type", choices=ENTITY_TYPES, help="topics or brokers")
    p.add_argument("--entity-name", help="topic name or broker id")
    p.add_argument("--entity-default", action="store_true",
                   help="brokers: the cluster-wide default (<default>)")
    p.add_argument("--topic", help="same as --entity-type topics --entity-name T")
    p.add_argument("--add-config", metavar="K=V[,K2=V2]", help="configs to set; [a,b] keeps its commas")
    p.add_argument("--delete-config", action="append", default=[], metavar="K[,K2]", help="configs to remove")
    p.add_argument("--all", action="store_true",
                   help="--describe every config, not only overrides (bootstrap)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the cluster (default 30)")
    p.set_defaults(func=run)


# ============================================================================================ pure parts


def parse_add_config(text: str | None) -> dict[str, str]:
    """Kafka's ``--add-config`` syntax: ``k=v,k2=[a,b]`` → ``{"k": "v", "k2": "a,b"}``. Raises UsageError."""
    if not text:
        return {}
    out: dict[str, str] = {}
    for item in _SPLIT_OUTSIDE_BRACKETS.split(text):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--add-config {item!r} is not key=value (for example --add-config "
                             f"retention.ms=86400000)")
        out[key.strip()] = value.replace("[", "").replace("]", "").strip()
    return out


def parse_delete_config(items: Sequence[str]) -> list[str]:
    return [k.strip() for item in items for k in item.split(",") if k.strip()]


def merge(current: Mapping[str, str], add: Mapping[str, str], delete: Sequence[str]) -> dict[str, str]:
    """The new override set; UsageError when a deleted key is not set (Kafka: ``Invalid config(s): k``)."""
    missing = [k for k in delete if k not in current and k not in add]
    if missing:
        raise UsageError(f"Invalid config(s): {','.join(missing)} (not set; see --describe)")
    merged = {**current, **add}
    for k in delete:
        merged.pop(k, None)
    return merged


def validate_topic_configs(configs: Mapping[str, str]) -> None:
    """Check keys and values as a broker would (LogConfig); raises UsageError in one line."""
    from kafka_zk.log.config import LogConfig

    try:
        LogConfig(dict(configs))
    except ConfigError as e:
        raise UsageError(str(e)) from None


def _topic_keys() -> set[str]:
    from kafka_zk.log.config import LOG_CONFIG_DEF
    return set(LOG_CONFIG_DEF.keys)


def dynamic_broker_keys() -> list[str]:
    """Broker keys that change topic defaults live: Kafka's DynamicLogConfig set (each topic key's primary
    broker synonym, without log.message.format.version)."""
    from kafka_zk.log.config import DYNAMIC_BROKER_KEYS

    return sorted(DYNAMIC_BROKER_KEYS)


def validate_broker_configs(configs: Mapping[str, str], deleted: Sequence[str]) -> None:
    """Refuse keys brokers cannot change live and bad values, in one line (UsageError)."""
    import difflib

    from kafka_zk.log.config import LogConfig

    allowed = dynamic_broker_keys()
    for key in [*configs, *deleted]:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"dynamic broker keys: {', '.join(allowed)}"
            raise UsageError(f"{key!r} is not a broker config that can change while brokers run ({hint})")
    try:
        LogConfig.from_broker_props(dict(configs))
    except ConfigError as e:
        raise UsageError(str(e)) from None


def zk_describe_line(entity_type: str, name: str, configs: Mapping[str, str]) -> str:
    """Kafka 2.x's ZooKeeper-mode describe line (``topic 'T'``; other types keep their plural name)."""
    shown = ",".join(f"{k}={v}" for k, v in configs.items())
    return f"Configs for {_entity_label(entity_type, name)} are {shown}"


def _entity_label(entity_type: str, name: str) -> str:
    label = "topic" if entity_type == "topics" else entity_type
    return f"default {label}" if name == DEFAULT_ENTITY else f"{label} '{name}'"


def zk_altered_line(entity_type: str, name: str) -> str:
    return f"Completed updating config for entity: {_entity_label(entity_type, name)}."


def bootstrap_describe_lines(entity_type: str, name: str, entries: Sequence[Any],
                             describe_all: bool) -> list[str]:
    """Kafka's AdminClient-mode describe: a header, then ``  k=v sensitive=.. synonyms={SOURCE:k=v}``."""
    shown = [e for e in entries if describe_all or e.source in (1, 2, 3)]
    lines = [f"{'All' if describe_all else 'Dynamic'} configs for {entity_type[:-1]} {name} are:"]
    for e in shown:
        value = "" if e.value is None else e.value
        synonym = f"{SOURCE_NAMES.get(e.source, 'UNKNOWN')}:{e.name}={value}"
        lines.append(f"  {e.name}={value} sensitive={str(bool(e.is_sensitive)).lower()} "
                     f"synonyms={{{synonym}}}")
    return lines


# ============================================================================================ run


def _check(args: argparse.Namespace) -> tuple[str, str | None, dict[str, str], list[str]]:
    entity_type, name = args.entity_type, args.entity_name
    if args.topic is not None:
        if entity_type not in (None, "topics") or (name is not None and name != args.topic):
            raise UsageError("--topic T is --entity-type topics --entity-name T; give one spelling")
        entity_type, name = "topics", args.topic
    if entity_type is None:
        raise UsageError("--entity-type is required (topics or brokers)")
    if args.entity_default:
        if entity_type != "brokers" or name is not None:
            raise UsageError("--entity-default goes with --entity-type brokers, instead of --entity-name")
        name = DEFAULT_ENTITY
    if not args.describe and not args.alter:
        raise UsageError("give --describe or --alter")
    add = parse_add_config(args.add_config)
    delete = parse_delete_config(args.delete_config)
    if args.alter:
        if name is None:
            raise UsageError(f"an entity name must be specified with --alter of {entity_type} "
                             f"(--entity-name N"
                             f"{' or --entity-default' if entity_type == 'brokers' else ''})")
        if not add and not delete:
            raise UsageError("At least one of --add-config or --delete-config must be specified with --alter")
        both = sorted(set(add) & set(delete))
        if both:
            raise UsageError(f"{both[0]} is both added and deleted; give it once")
        if entity_type == "brokers":
            validate_broker_configs(add, delete)
        else:
            validate_topic_configs(add)
            unknown = [k for k in delete if k not in _topic_keys()]
            if unknown:
                validate_topic_configs({unknown[0]: ""})  # the LogConfig message names the closest key
    elif add or delete:
        raise UsageError("--add-config / --delete-config need --alter")
    if entity_type == "brokers" and name is not None and name != DEFAULT_ENTITY:
        try:
            int(name)
        except ValueError:
            raise UsageError(f"The entity name for brokers must be a valid integer broker id, found: {name}"
                             ) from None
    if args.bootstrap_server and name == DEFAULT_ENTITY:
        raise UsageError("--entity-default goes through --zookeeper here "
                         "(DescribeConfigs has no cluster default)")
    if args.all and not args.bootstrap_server:
        raise UsageError("--bootstrap-server must be specified for --all")
    return entity_type, name, add, delete


def run(args: argparse.Namespace) -> int:
    try:
        entity_type, name, add, delete = _check(args)
        if args.bootstrap_server:
            asyncio.run(_run_bootstrap(args, entity_type, name, add, delete))
        else:
            zookeeper = args.zookeeper or os.environ.get("KAFKA_ZK_CONNECT")
            if not zookeeper:
                raise UsageError("give --zookeeper HOST:PORT[/chroot] or --bootstrap-server HOST:PORT "
                                 "(or set KAFKA_ZK_CONNECT)")
            _run_zookeeper(zookeeper, args, entity_type, name, add, delete)
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except OperationError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    return 0


def _run_zookeeper(zookeeper: str, args: argparse.Namespace, entity_type: str, name: str | None,
                   add: dict[str, str], delete: list[str]) -> None:
    from kafka_zk.server.admin_zk import TopicAdmin
    from zk_layout import KafkaZkClient, ZkLayoutError

    quiet_kazoo()
    try:
        zk = KafkaZkClient(zookeeper, session_timeout_ms=10000,
                           connection_timeout_ms=int(args.timeout * 1000),
                           create_chroot=False)
    except ValueError as e:
        raise UsageError(f"--zookeeper: {e}") from None
    try:
        zk.start()
        if args.describe:
            names = [name] if name is not None else sorted(zk.get_all_entities_with_config(entity_type),
                                                           key=lambda n: (n != DEFAULT_ENTITY, n))
            for n in names:
                print(zk_describe_line(entity_type, n, zk.get_entity_config(entity_type, n)))
            return
        assert name is not None
        if entity_type == "brokers":
            merged = merge(zk.get_entity_config("brokers", name), add, delete)
            zk.change_entity_config("brokers", name, merged)
            print(zk_altered_line(entity_type, name))
            return
        if not zk.topic_exists(name):
            raise OperationError(f"topic '{name}' does not exist (see kafka-zk topics --list)")
        merged = merge(zk.get_entity_config("topics", name), add, delete)
        TopicAdmin(zk).alter_topic_config(name, merged)
        print(zk_altered_line(entity_type, name))
    except ZkLayoutError as e:
        raise OperationError(str(e)) from None
    except KafkaError as e:
        raise OperationError(e.message or e.code.name) from None
    except Exception as e:  # kazoo's connection timeout and friends, without importing kazoo here
        if type(e).__module__.startswith("kazoo"):
            raise OperationError(f"cannot reach ZooKeeper at {zookeeper}: {type(e).__name__}") from None
        raise
    finally:
        zk.close()


async def _run_bootstrap(args: argparse.Namespace, entity_type: str, name: str | None,
                         add: dict[str, str], delete: list[str]) -> None:
    from kafka_zk.client.admin import RESOURCE_BROKER, RESOURCE_TOPIC, AdminClient
    from kafka_zk.client.errors import KafkaConnectionError, KafkaRequestTimeoutError

    rtype = RESOURCE_TOPIC if entity_type == "topics" else RESOURCE_BROKER
    try:
        async with AdminClient(args.bootstrap_server, request_timeout_ms=int(args.timeout * 1000)) as admin:
            if args.describe:
                if name is not None:
                    names = [name]
                elif entity_type == "topics":
                    names = sorted(await admin.list_topics(include_internal=True))
                else:
                    names = [str(b) for b in (await admin.describe_cluster())[2]]
                for n in names:
                    entries = (await admin.describe_configs([(rtype, n)]))[(rtype, n)]
                    for line in bootstrap_describe_lines(entity_type, n, entries, args.all):
                        print(line)
                return
            assert name is not None
            if rtype == RESOURCE_BROKER:  # this broker's own dynamic configs (source DYNAMIC_BROKER_CONFIG)
                entries = (await admin.describe_configs([(rtype, name)]))[(rtype, name)]
                current = {e.name: e.value or "" for e in entries if e.source == 2}
            else:
                current = await admin.topic_config_overrides(name)
            merged = merge(current, add, delete)
            result = (await admin.alter_configs({(rtype, name): merged}))[(rtype, name)]
            if result is not None:
                raise result
            print(f"Completed updating config for {entity_type[:-1]} {name}.")
    except (KafkaConnectionError, KafkaRequestTimeoutError) as e:
        raise OperationError(str(e) or type(e).__name__) from None
    except KafkaError as e:
        raise OperationError(e.message or e.code.name) from None
