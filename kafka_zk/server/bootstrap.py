"""What a broker must learn before its components can be built: startup steps 1–3 of ``KafkaServer.startup``.

1. connect to ZooKeeper (creating the chroot) and create the persistent top-level paths;
2. get or create the cluster id and check it against ``meta.properties`` in every log dir (a broker never
   joins a different cluster with old data); settle the broker id (config, ``meta.properties``, or
   ``/brokers/seqid``);
3. load the logs (recovery after an unclean shutdown happens here).

:func:`bootstrap` returns these as one frozen :class:`Bootstrap`, so that ``KafkaBroker`` can build every
component complete in its constructor instead of filling in attributes as startup goes. On failure it closes
what it opened and raises :class:`BrokerStartupError`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from kafka_zk.common.clock import Clock
from kafka_zk.common.config import ConfigError
from kafka_zk.common.events import EventBus
from kafka_zk.common.logging import get_logger
from kafka_zk.log.config import LogConfig
from kafka_zk.log.manager import LogDirInUseError, LogManager
from kafka_zk.server.config import BrokerConfig
from kafka_zk.server.group_wiring import existing_offsets_partitions
from kafka_zk.server.meta_properties import check_and_merge_meta
from kafka_zk.zk.bridge import AsyncZk
from zk_layout.client import KafkaZkClient

log = get_logger(__name__)


class BrokerStartupError(RuntimeError):
    """The broker cannot start; ``str()`` is one line saying why and what to do."""


@dataclass(frozen=True)
class Bootstrap:
    zk: KafkaZkClient
    az: AsyncZk
    cluster_id: str
    broker_id: int
    events: EventBus
    default_log_config: LogConfig
    log_manager: LogManager  # started: every log loaded
    offsets_topic_partitions: int | None  # ``__consumer_offsets``' partition count, None before it exists


def log_config_with(default: LogConfig, overrides: dict[str, str]) -> LogConfig:
    """A topic's config: the broker defaults with its ``/config/topics/<t>`` overrides (invalid ones are
    ignored with a warning: a bad znode must not stop the broker)."""
    try:
        return default.with_overrides(overrides)
    except ConfigError as e:
        log.warning("ignoring invalid topic config in ZooKeeper", error=str(e))
        return default


async def bootstrap(config: BrokerConfig, clock: Clock) -> Bootstrap:
    """Steps 1–3. Raises :class:`BrokerStartupError` (ZooKeeper unreachable, another cluster's or broker's
    log dirs, log dirs in use)."""
    loop = asyncio.get_running_loop()
    zk = KafkaZkClient(
        config.zookeeper_connect,
        session_timeout_ms=config["zookeeper.session.timeout.ms"],
        connection_timeout_ms=config["zookeeper.connection.timeout.ms"],
    )
    try:
        await loop.run_in_executor(None, zk.start)
    except Exception as e:
        raise BrokerStartupError(f"cannot connect to ZooKeeper at {config.zookeeper_connect}: {e}") from None
    az = AsyncZk(zk)
    try:
        return await _with_zookeeper(config, clock, zk, az)
    except BaseException:
        await az.aclose()
        await loop.run_in_executor(None, zk.close)
        raise


async def _with_zookeeper(config: BrokerConfig, clock: Clock, zk: KafkaZkClient, az: AsyncZk) -> Bootstrap:
    await az.call(zk.create_top_level_paths)
    meta_cluster, meta_broker = check_and_merge_meta(config.log_dirs)
    cluster_id = str(await az.call(zk.get_or_create_cluster_id))
    if meta_cluster is not None and meta_cluster != cluster_id:
        raise BrokerStartupError(
            f"the log dirs belong to cluster {meta_cluster} but ZooKeeper holds cluster {cluster_id} "
            "(InconsistentClusterIdException): point zookeeper.connect at the right cluster "
            "or use empty log.dirs"
        )
    broker_id = await _settle_broker_id(config, az, zk, meta_broker)
    offsets_partitions = await az.call(existing_offsets_partitions, zk)
    events = EventBus(broker_id, clock, config["kafka_zk.events.capacity"])
    default_log_config = LogConfig.from_broker_props(dict(config.raw))
    log_manager = LogManager(
        config.log_dirs,
        default_log_config,
        clock,
        events,
        topic_configs=lambda topic: log_config_with(
            default_log_config, zk.get_entity_config("topics", topic)
        ),
        producer_id_expiration_ms=config["producer.id.expiration.ms"],
    )
    try:
        await asyncio.get_running_loop().run_in_executor(None, log_manager.startup)
    except LogDirInUseError as e:
        raise BrokerStartupError(f"{e}: is another broker using log.dirs {config.log_dirs}?") from None
    return Bootstrap(
        zk, az, cluster_id, broker_id, events, default_log_config, log_manager, offsets_partitions
    )


async def _settle_broker_id(
    config: BrokerConfig, az: AsyncZk, zk: KafkaZkClient, meta_broker: int | None
) -> int:
    configured = config.broker_id
    if configured >= 0:
        if meta_broker is not None and meta_broker != configured:
            raise BrokerStartupError(
                f"broker.id={configured} but the log dirs were written by broker {meta_broker}: "
                "set broker.id to match or use empty log.dirs"
            )
        return configured
    if meta_broker is not None:
        return meta_broker
    if not config["broker.id.generation.enable"]:
        raise BrokerStartupError("broker.id is not set and broker.id.generation.enable=false: set broker.id")
    generated = int(await az.call(zk.generate_broker_id, config["reserved.broker.max.id"]))
    log.info("generated broker id", broker_id=generated)
    return generated
