"""``KafkaBroker``: one broker process — startup and shutdown order, and the glue between the layers.

Startup follows Kafka 2.x (``KafkaServer.startup``, zk-layout.md §3.1):

1. connect to ZooKeeper (creating the chroot) and create the persistent top-level paths;
2. get or create the cluster id and check it against ``meta.properties`` in every log dir (a broker never
   joins a different cluster with old data); settle the broker id (config, ``meta.properties``, or
   ``/brokers/seqid``);
3. load the logs (recovery after an unclean shutdown happens here);
4. bind the listeners (Kafka protocol, and the control-plane listener the controller talks to);
5. start the replica manager (ISR expiration, ISR-change propagation);
6. register the ephemeral ``/brokers/ids/<id>`` (its czxid is the broker epoch) and write ``meta.properties``;
7. start the controller module (election) and the group coordinator, then the periodic log tasks.

Shutdown (SIGTERM) is controlled, as Kafka's: ask the controller to move leadership off this broker
(ControlledShutdown, retried up to ``controlled.shutdown.max.retries``), then stop serving, stop the
controller module, the replica manager, flush and close the logs (leaving the clean-shutdown marker), and
close the ZooKeeper session (the ephemeral registration disappears, the controller notices).
"""

from __future__ import annotations

import asyncio
import gc
import socket
from typing import Any, Callable, Mapping

import aiohttp
from aiohttp import web

from kafka_zk.common.clock import SYSTEM_CLOCK, Clock
from kafka_zk.common.config import ConfigError
from kafka_zk.common.control import (
    ControlledShutdownRequest,
    ControlledShutdownResponse,
    LeaderAndIsrRequest,
    LeaderAndIsrResponse,
    StopReplicaRequest,
    StopReplicaResponse,
    TopicPartitionRef,
    UpdateMetadataRequest,
    decode_control,
    encode_control,
)
from kafka_zk.common.errors import ErrorCode
from kafka_zk.common.events import EventBus
from kafka_zk.common.logging import get_logger
from kafka_zk.common.tasks import cancel_all, periodic
from kafka_zk.common.tp import TopicPartition
from kafka_zk.controller.config import ControllerConfig
from kafka_zk.controller.controller import KafkaController
from kafka_zk.log.config import LogConfig
from kafka_zk.log.manager import LogDirInUseError, LogManager
from kafka_zk.replication.replica_manager import ReplicaManager, ReplicaManagerConfig
from kafka_zk.server.admin_zk import TopicAdmin
from kafka_zk.server.config import BrokerConfig, Listener
from kafka_zk.server.config_manager import DynamicConfigManager
from kafka_zk.server.control_endpoint import ControlEndpoint
from kafka_zk.server.dispatch import BrokerDispatcher
from kafka_zk.server.meta_properties import check_and_merge_meta, write_meta
from kafka_zk.server.metadata_cache import MetadataCache
from kafka_zk.server.network import KafkaListener
from kafka_zk.server.producer_ids import ProducerIdManager
from kafka_zk.zk.bridge import AsyncZk
from zk_layout.client import KafkaZkClient
from zk_layout.errors import BrokerIdTakenError
from zk_layout.znodes import BrokerRegistration, Endpoint

log = get_logger(__name__)


class BrokerStartupError(RuntimeError):
    """The broker cannot start; ``str()`` is one line saying why and what to do."""


class KafkaBroker:
    def __init__(self, config: BrokerConfig, clock: Clock = SYSTEM_CLOCK) -> None:
        self.config = config
        self.clock = clock
        self.broker_id = config.broker_id
        self.events = EventBus(None, clock, config["kafka_zk.events.capacity"])
        self.metadata_cache = MetadataCache(self.broker_id)
        self.broker_epoch: int | None = None
        self.cluster_id: str | None = None
        self.zk: KafkaZkClient | None = None
        self.az: AsyncZk | None = None
        self.log_manager: LogManager | None = None
        self.replica_manager: ReplicaManager | None = None
        self.controller: KafkaController | None = None
        self.group_coordinator: Any = None
        self.topic_admin: TopicAdmin | None = None
        self.producer_ids: ProducerIdManager | None = None
        self.config_manager: DynamicConfigManager | None = None
        self.listeners: list[KafkaListener] = []
        self.bound: dict[str, tuple[str, int]] = {}  # listener name -> advertised (host, port)
        self._control_runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._metadata_changed = asyncio.Event()
        self._default_log_config: LogConfig | None = None
        self._topic_configs: dict[str, LogConfig] = {}
        self._stopping = False
        self.stopped = asyncio.Event()
        # Called after every UpdateMetadata / LeaderAndIsr / StopReplica (the group coordinator hooks in here).
        self.on_leader_and_isr: list[Callable[[LeaderAndIsrRequest], Any]] = []
        self.on_stop_replica: list[Callable[[StopReplicaRequest], Any]] = []
        # Called with the partitions an UpdateMetadata removed (topic deletion reaches every broker this way).
        self.on_partitions_deleted: list[Callable[[list[TopicPartition]], Any]] = []

    # ---- helpers used by handlers --------------------------------------------------------------------

    async def zk_call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        assert self.az is not None
        return await self.az.call(fn, *args, **kwargs)

    @property
    def is_controller(self) -> bool:
        return self.controller is not None and self.controller.is_active

    def live_broker_ids(self) -> list[int]:
        return sorted(self.metadata_cache.brokers)

    async def topic_config(self, topic: str) -> LogConfig:
        cfg = self._topic_configs.get(topic)
        if cfg is None:
            cfg = self._topic_configs[topic] = await self.fresh_topic_config(topic)
        return cfg

    async def fresh_topic_config(self, topic: str) -> LogConfig:
        """The topic's config as ZooKeeper has it now (bypassing the cache the logs use)."""
        overrides = await self.zk_call(self.zk.get_entity_config, "topics", topic)  # type: ignore[union-attr]
        return self._log_config_with(overrides)

    def _log_config_with(self, overrides: dict[str, str]) -> LogConfig:
        assert self._default_log_config is not None
        try:
            return self._default_log_config.with_overrides(overrides)
        except ConfigError as e:
            log.warning("ignoring invalid topic config in ZooKeeper", error=str(e))
            return self._default_log_config

    def topic_config_changed(self, topic: str, overrides: dict[str, str]) -> None:
        """A ``/config/changes`` notification for a topic: apply the new config to its logs."""
        cfg = self._log_config_with(overrides)
        old = self._topic_configs.get(topic)
        self._topic_configs[topic] = cfg
        assert self.log_manager is not None
        self.log_manager.update_topic_config(topic, cfg)
        if cfg.unclean_leader_election_enable and not (old and old.unclean_leader_election_enable):
            if self.controller is not None and self.controller.is_active:
                self.controller.notify_unclean_leader_election_enabled(topic)
        self.events.emit("config.topic_changed", topic=topic, overrides=overrides)

    def broker_log_defaults_changed(self, dynamic: Mapping[str, str]) -> bool:
        """Dynamic broker configs (``/config/brokers/<default>`` then ``<id>``) over ``server.properties``
        give new topic defaults (``log.retention.ms``, ``log.segment.bytes``, ...); logs created from now on
        use them, and the config manager re-applies every existing topic. False when a value is invalid."""
        try:
            cfg = LogConfig.from_broker_props({**self.config.raw, **dynamic})
        except ConfigError as e:
            log.warning("ignoring invalid dynamic broker config", error=str(e))
            return False
        self._default_log_config = cfg
        assert self.log_manager is not None
        self.log_manager.default_config = cfg
        return True

    async def auto_create_topic(self, name: str, partitions: int | None = None, rf: int | None = None,
                                configs: dict[str, str] | None = None) -> ErrorCode:
        """Create a topic with the broker defaults (Metadata auto-creation); answers LEADER_NOT_AVAILABLE
        as Kafka does, since leaders are not elected yet."""
        assert self.topic_admin is not None
        n = partitions if partitions is not None else self.config["num.partitions"]
        replication = rf if rf is not None else self.config["default.replication.factor"]
        await self.zk_call(self.topic_admin.create_topic, name, n, replication, configs or {}, None, False, self.live_broker_ids())
        log.info("auto-created topic", topic=name, partitions=n, replication_factor=replication)
        return ErrorCode.LEADER_NOT_AVAILABLE

    async def _wait_metadata(self, done: Callable[[], bool], timeout_ms: int) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(timeout_ms, 0) / 1000
        while not done():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self._metadata_changed.clear()
            try:
                await asyncio.wait_for(self._metadata_changed.wait(), remaining)
            except asyncio.TimeoutError:
                return done()
        return True

    async def wait_for_leaders(self, topics: list[str], timeout_ms: int, min_partitions: dict[str, int] | None = None) -> set[str]:
        """Wait until every partition of ``topics`` has a leader in the metadata cache; returns those that don't."""
        cache = self.metadata_cache

        def missing() -> set[str]:
            out = set()
            for t in topics:
                parts = cache.partitions(t)
                want = (min_partitions or {}).get(t, 1)
                if len(parts) < want or any(p.leader < 0 for p in parts.values()):
                    out.add(t)
            return out

        await self._wait_metadata(lambda: not missing(), timeout_ms)
        return missing()

    async def wait_for_topics_gone(self, topics: list[str], timeout_ms: int) -> set[str]:
        cache = self.metadata_cache
        await self._wait_metadata(lambda: not any(cache.contains_topic(t) for t in topics), timeout_ms)
        return {t for t in topics if cache.contains_topic(t)}

    # ---- control-plane requests ----------------------------------------------------------------------

    async def handle_leader_and_isr(self, req: LeaderAndIsrRequest) -> LeaderAndIsrResponse:
        assert self.replica_manager is not None
        resp = await self.replica_manager.become_leader_or_follower(req)
        for hook in self.on_leader_and_isr:
            hook(req)
        return resp

    async def handle_update_metadata(self, req: UpdateMetadataRequest) -> None:
        deleted = self.metadata_cache.update(req)
        self._metadata_changed.set()
        if deleted:
            for hook in self.on_partitions_deleted:
                hook(deleted)

    async def handle_stop_replica(self, req: StopReplicaRequest) -> StopReplicaResponse:
        assert self.replica_manager is not None
        resp = await self.replica_manager.stop_replicas(req)
        for p in req.partition_states:
            if p.delete_partition:
                self._topic_configs.pop(p.topic, None)
        for hook in self.on_stop_replica:
            hook(req)
        return resp

    async def handle_controlled_shutdown(self, req: ControlledShutdownRequest) -> ControlledShutdownResponse:
        if self.controller is None or not self.controller.is_active:
            return ControlledShutdownResponse(ErrorCode.STALE_CONTROLLER_EPOCH, [])
        code, remaining = await self.controller.controlled_shutdown(req.broker_id, req.broker_epoch)
        return ControlledShutdownResponse(code, [TopicPartitionRef(tp.topic, tp.partition) for tp in remaining])

    def describe_state(self) -> dict[str, Any]:
        ctrl = self.controller
        return {
            "broker_id": self.broker_id,
            "broker_epoch": self.broker_epoch,
            "cluster_id": self.cluster_id,
            "controller": {
                "active": bool(ctrl and ctrl.is_active),
                "epoch": ctrl.epoch if ctrl else -1,
                "active_controller_id": ctrl.active_controller_id if ctrl else -1,
            },
            "listeners": {name: f"{h}:{p}" for name, (h, p) in self.bound.items()},
            "replicas": self.replica_manager.describe() if self.replica_manager else [],
        }

    # ---- startup -------------------------------------------------------------------------------------

    async def start(self) -> None:
        cfg = self.config
        loop = asyncio.get_running_loop()
        log.info("starting broker", broker_id=self.broker_id, zookeeper=cfg.zookeeper_connect)

        # 1. ZooKeeper
        zk = KafkaZkClient(
            cfg.zookeeper_connect,
            session_timeout_ms=cfg["zookeeper.session.timeout.ms"],
            connection_timeout_ms=cfg["zookeeper.connection.timeout.ms"],
        )
        try:
            await loop.run_in_executor(None, zk.start)
        except Exception as e:
            raise BrokerStartupError(f"cannot connect to ZooKeeper at {cfg.zookeeper_connect}: {e}") from None
        self.zk = zk
        self.az = AsyncZk(zk)
        self.topic_admin = TopicAdmin(zk, cfg["replica.placement.strategy"])
        await self.zk_call(zk.create_top_level_paths)

        # 2. cluster id and broker id
        meta_cluster, meta_broker = check_and_merge_meta(cfg.log_dirs)
        self.cluster_id = await self.zk_call(zk.get_or_create_cluster_id)
        if meta_cluster is not None and meta_cluster != self.cluster_id:
            raise BrokerStartupError(
                f"the log dirs belong to cluster {meta_cluster} but ZooKeeper holds cluster {self.cluster_id} "
                "(InconsistentClusterIdException): point zookeeper.connect at the right cluster or use empty log.dirs"
            )
        self.broker_id = await self._settle_broker_id(meta_broker)
        self.metadata_cache.broker_id = self.broker_id
        self.events.broker_id = self.broker_id

        # 3. logs
        self._default_log_config = LogConfig.from_broker_props({k: v for k, v in cfg.raw.items()})
        self.log_manager = LogManager(
            cfg.log_dirs,
            self._default_log_config,
            self.clock,
            self.events,
            topic_configs=lambda topic: self._log_config_with(zk.get_entity_config("topics", topic)),
            producer_id_expiration_ms=cfg["producer.id.expiration.ms"],
        )
        try:
            await loop.run_in_executor(None, self.log_manager.startup)
        except LogDirInUseError as e:
            raise BrokerStartupError(f"{e}: is another broker using log.dirs {cfg.log_dirs}?") from None

        # 4. listeners
        await self._start_listeners()

        # 5. replica manager
        self.replica_manager = ReplicaManager(
            ReplicaManagerConfig(self.broker_id, cfg["replica.lag.time.max.ms"]),
            self.log_manager,
            self.zk_call,
            zk,
            self.clock,
            self.events,
            self.topic_config,
        )
        from kafka_zk.replication.fetcher import ReplicaFetcherManager

        self.replica_manager.fetchers = ReplicaFetcherManager(self.broker_id, self.replica_manager, cfg, self.events)
        self.replica_manager.start()
        self.producer_ids = ProducerIdManager(self.broker_id, zk, self.zk_call)

        # 6. register
        await self._register()
        write_meta(cfg.log_dirs, self.cluster_id, self.broker_id)

        # 7. controller, coordinator, periodic tasks
        self.controller = KafkaController(
            self.broker_id,
            self.az,
            ControllerConfig.from_props(
                {**cfg.values, "control.plane.listener.name": cfg.control_listener_name,
                 "inter.broker.listener.name": cfg.inter_broker_listener_name}
            ),
            self.events,
            reregister_broker=self._register,
        )
        await self.controller.start()
        from kafka_zk.server.group_wiring import start_group_coordinator

        await start_group_coordinator(self)
        self.config_manager = DynamicConfigManager(self)
        await self.config_manager.start()
        self._start_periodic_tasks()
        # Everything allocated so far lives as long as the broker: keep it out of the cyclic collector's
        # scans, and collect the young generation less often (the event loop allocates many short-lived
        # futures) — both shorten GC pauses, which show up directly as request latency.
        gc.collect()
        gc.freeze()
        gc.set_threshold(20_000, 20, 20)
        self.events.emit("broker.started", broker_id=self.broker_id, listeners={k: f"{h}:{p}" for k, (h, p) in self.bound.items()})
        log.info("broker started", broker_id=self.broker_id, epoch=self.broker_epoch, listeners=self.bound)

    async def _settle_broker_id(self, meta_broker: int | None) -> int:
        cfg = self.config
        configured = cfg.broker_id
        if configured >= 0:
            if meta_broker is not None and meta_broker != configured:
                raise BrokerStartupError(
                    f"broker.id={configured} but the log dirs were written by broker {meta_broker}: "
                    "set broker.id to match or use empty log.dirs"
                )
            return configured
        if meta_broker is not None:
            return meta_broker
        if not cfg["broker.id.generation.enable"]:
            raise BrokerStartupError("broker.id is not set and broker.id.generation.enable=false: set broker.id")
        assert self.zk is not None
        generated = int(await self.zk_call(self.zk.generate_broker_id, cfg["reserved.broker.max.id"]))
        log.info("generated broker id", broker_id=generated)
        return generated

    async def _start_listeners(self) -> None:
        cfg = self.config
        dispatcher = BrokerDispatcher(self)
        control_name = cfg.control_listener_name
        configured = cfg.listeners
        advertised = {lst.name: lst for lst in cfg.advertised_listeners}
        control = next((lst for lst in configured if lst.name == control_name), None)
        kafka_listeners = [lst for lst in configured if lst.name != control_name]
        for lst in kafka_listeners:
            kl = KafkaListener(lst.name, lst.host, lst.port, dispatcher, cfg["socket.request.max.bytes"], cfg["queued.max.requests"])
            try:
                port = await kl.start()
            except OSError as e:
                raise BrokerStartupError(f"cannot listen on {lst}: {e.strerror}") from None
            self.listeners.append(kl)
            self.bound[lst.name] = _advertise(advertised.get(lst.name, lst), port)
        if control is None:
            control = Listener(control_name, kafka_listeners[0].host, 0)
        endpoint = ControlEndpoint(self)
        self._control_runner = web.AppRunner(endpoint.app, access_log=None, handle_signals=False)
        await self._control_runner.setup()
        try:
            sock = socket.create_server((control.host or "", control.port), reuse_port=False)
        except OSError as e:
            raise BrokerStartupError(f"cannot listen on {control}: {e.strerror}") from None
        port = sock.getsockname()[1]
        await web.SockSite(self._control_runner, sock).start()
        self.bound[control_name] = _advertise(advertised.get(control_name, control), port)

    def registration(self) -> BrokerRegistration:
        cfg = self.config
        protos = cfg.security_protocol_map
        endpoints = tuple(
            Endpoint(name, host, port, protos.get(name, "PLAINTEXT")) for name, (host, port) in self.bound.items()
        )
        return BrokerRegistration(self.broker_id, endpoints, self.clock.time_ms(), rack=cfg["broker.rack"])

    async def _register(self) -> None:
        assert self.zk is not None
        reg = self.registration()
        for other_id, (other, _) in (await self.zk_call(self.zk.get_all_brokers)).items():
            if other_id == self.broker_id:
                continue
            mine = {(e.host, e.port) for e in reg.endpoints}
            if any((e.host, e.port) in mine for e in other.endpoints):
                raise BrokerStartupError(f"broker {other_id} already advertises one of this broker's endpoints {sorted(mine)}")
        try:
            self.broker_epoch = int(await self.zk_call(self.zk.register_broker, reg))
        except BrokerIdTakenError as e:
            raise BrokerStartupError(str(e)) from None
        self.events.emit("broker.registered", broker_id=self.broker_id, broker_epoch=self.broker_epoch)
        log.info("registered broker", broker_id=self.broker_id, broker_epoch=self.broker_epoch)

    def _start_periodic_tasks(self) -> None:
        """Log housekeeping. Each job runs in a worker thread: checkpoints and flushes fsync, and an fsync on the
        event loop would stall every request of the broker for its duration."""
        cfg = self.config
        lm = self.log_manager
        assert lm is not None
        loop = asyncio.get_running_loop()

        def in_thread(fn: Callable[[], Any]) -> Callable[[], Any]:
            return lambda: loop.run_in_executor(None, fn)

        now = self.clock.time_ms
        jobs: list[tuple[Callable[[], Any], Any, str]] = [
            (lm.checkpoint_high_watermarks, cfg["replica.high.watermark.checkpoint.interval.ms"], "hw-checkpoint"),
            (lm.checkpoint_recovery_points, cfg["log.flush.offset.checkpoint.interval.ms"] or 60000, "recovery-point-checkpoint"),
            (lambda: lm.flush_dirty(now()), 1000, "log-flusher"),
            (lambda: lm.run_retention(now()), cfg["log.retention.check.interval.ms"], "log-retention"),
        ]
        if cfg["log.cleaner.enable"]:
            jobs.append((lm.run_cleaner_once, cfg["log.cleaner.backoff.ms"] or 15000, "log-cleaner"))
        for fn, interval, name in jobs:
            self._tasks.append(periodic(in_thread(fn), interval, name))

    # ---- shutdown ------------------------------------------------------------------------------------

    async def stop(self, controlled: bool = True) -> None:
        if self._stopping:
            await self.stopped.wait()
            return
        self._stopping = True
        log.info("stopping broker", broker_id=self.broker_id, controlled=controlled)
        try:
            if controlled and self.config["controlled.shutdown.enable"] and self.broker_epoch is not None:
                await self._controlled_shutdown()
            for kl in self.listeners:
                await kl.stop()
            if self.controller is not None:
                await self.controller.shutdown()
            if self.config_manager is not None:
                await self.config_manager.stop()
            if self.group_coordinator is not None:
                await _maybe_await(self.group_coordinator.shutdown())
            await cancel_all(self._tasks)
            if self.replica_manager is not None:
                await self.replica_manager.shutdown()
            if self._control_runner is not None:
                await self._control_runner.cleanup()
            if self._http is not None:
                await self._http.close()
            if self.log_manager is not None:
                await asyncio.get_running_loop().run_in_executor(None, self.log_manager.shutdown)
            if self.az is not None:
                await self.az.aclose()
            if self.zk is not None:
                await asyncio.get_running_loop().run_in_executor(None, self.zk.close)
            log.info("broker stopped", broker_id=self.broker_id)
        finally:
            self.stopped.set()

    async def _controlled_shutdown(self) -> bool:
        cfg = self.config
        retries = cfg["controlled.shutdown.max.retries"]
        backoff_s = cfg["controlled.shutdown.retry.backoff.ms"] / 1000
        for attempt in range(1, retries + 1):
            try:
                code, remaining = await self._send_controlled_shutdown()
            except Exception as e:
                code, remaining = ErrorCode.NETWORK_EXCEPTION, []
                log.info("controlled shutdown request failed", attempt=attempt, error=str(e) or type(e).__name__)
            if code == ErrorCode.NONE and not remaining:
                log.info("controlled shutdown succeeded", broker_id=self.broker_id, attempt=attempt)
                self.events.emit("broker.controlled_shutdown", broker_id=self.broker_id, attempts=attempt)
                return True
            log.info("controlled shutdown incomplete", attempt=attempt, error=ErrorCode(code).name,
                     remaining=[f"{p.topic}-{p.partition}" for p in remaining][:10])
            if attempt < retries:
                await asyncio.sleep(backoff_s)
        log.warning("controlled shutdown failed; proceeding with unclean shutdown", broker_id=self.broker_id)
        return False

    async def _send_controlled_shutdown(self) -> tuple[ErrorCode, list[TopicPartitionRef]]:
        assert self.zk is not None and self.broker_epoch is not None
        controller_id = await self.zk_call(self.zk.get_controller_id)
        if controller_id is None:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE, []
        if controller_id == self.broker_id and self.controller is not None and self.controller.is_active:
            code, remaining = await self.controller.controlled_shutdown(self.broker_id, self.broker_epoch)
            return code, [TopicPartitionRef(tp.topic, tp.partition) for tp in remaining]
        reg = await self.zk_call(self.zk.get_broker, controller_id)
        ep = reg.endpoint(self.config.control_listener_name) if reg else None
        if ep is None:
            return ErrorCode.BROKER_NOT_AVAILABLE, []
        if self._http is None:
            self._http = aiohttp.ClientSession()
        timeout = aiohttp.ClientTimeout(total=self.config["controller.socket.timeout.ms"] / 1000)
        body = encode_control(ControlledShutdownRequest(self.broker_id, self.broker_epoch))
        async with self._http.post(f"http://{ep.host}:{ep.port}/control/controlled_shutdown", data=body, timeout=timeout) as r:
            resp = decode_control(await r.read(), expect=ControlledShutdownResponse)
        return ErrorCode(resp.error_code), resp.remaining_partitions


def _advertise(lst: Listener, bound_port: int) -> tuple[str, int]:
    host = lst.host or socket.getfqdn()
    return host, (lst.port or bound_port)


async def _maybe_await(x: Any) -> None:
    if asyncio.iscoroutine(x) or isinstance(x, asyncio.Future):
        await x

