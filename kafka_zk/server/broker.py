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

Steps 1–3 are :func:`kafka_zk.server.bootstrap.bootstrap`: they produce what the components need (the
ZooKeeper client, the ids, the loaded logs), so :meth:`KafkaBroker.create` can then construct every component
complete, in one step; :meth:`KafkaBroker.start` runs steps 4–7.

Shutdown (SIGTERM) is controlled, as Kafka's: ask the controller to move leadership off this broker
(ControlledShutdown, retried up to ``controlled.shutdown.max.retries``), then stop serving, stop the
controller module, the group coordinator, the periodic jobs (waiting for a run in flight), the replica
manager, flush and close the logs (leaving the clean-shutdown marker), and close the ZooKeeper session (the ephemeral registration disappears, the controller notices).
"""

from __future__ import annotations

import asyncio
import gc
import socket
from typing import Any, Awaitable, Callable, Mapping

from aiohttp import web

from kafka_zk.common import event_kinds as kinds
from kafka_zk.common.clock import SYSTEM_CLOCK, Clock
from kafka_zk.common.control import (
    ControlledShutdownRequest,
    ControlledShutdownResponse,
    LeaderAndIsrRequest,
    LeaderAndIsrResponse,
    StopReplicaRequest,
    StopReplicaResponse,
    TopicPartitionRef,
    UpdateMetadataRequest,
)
from kafka_zk.common.config import ConfigError
from kafka_zk.common.errors import ErrorCode
from kafka_zk.common.logging import get_logger
from kafka_zk.common.tasks import PeriodicJob, periodic, stop_all
from kafka_zk.controller.channel import ControlClient, SendOutcome
from kafka_zk.controller.config import ControllerConfig
from kafka_zk.controller.controller import KafkaController
from kafka_zk.http.app import HttpAdmin
from kafka_zk.http.cluster_view import local_groups
from kafka_zk.log.config import LogConfig
from kafka_zk.replication.fetcher import ReplicaFetcherManager
from kafka_zk.replication.replica_manager import ReplicaManager, ReplicaManagerConfig
from kafka_zk.server.admin_zk import TopicAdmin
from kafka_zk.server.bootstrap import Bootstrap, BrokerStartupError, bootstrap, log_config_with
from kafka_zk.server.config import BrokerConfig, Listener
from kafka_zk.server.config_manager import DynamicConfigManager
from kafka_zk.server.control_endpoint import ControlEndpoint
from kafka_zk.server.dispatch import BrokerDispatcher
from kafka_zk.server.fetch_sessions import FetchSessionCache
from kafka_zk.server.group_wiring import GroupLeadership, build_group_coordinator
from kafka_zk.server.meta_properties import write_meta
from kafka_zk.server.metadata_cache import MetadataCache
from kafka_zk.server.network import KafkaListener
from kafka_zk.server.producer_ids import ProducerIdManager
from zk_layout.errors import BrokerIdTakenError
from zk_layout.znodes import BrokerRegistration, Endpoint

log = get_logger(__name__)

__all__ = ["BrokerStartupError", "KafkaBroker"]


class KafkaBroker:
    """One broker, built complete from its :class:`Bootstrap` (:meth:`create` does both); :meth:`start` binds,
    registers and starts the background work, :meth:`stop` shuts down in Kafka's order."""

    @classmethod
    async def create(cls, config: BrokerConfig, clock: Clock = SYSTEM_CLOCK) -> "KafkaBroker":
        """Startup steps 1–3 (:func:`bootstrap`), then the broker. Raises :class:`BrokerStartupError`."""
        log.info("starting broker", broker_id=config.broker_id, zookeeper=config.zookeeper_connect)
        return cls(config, await bootstrap(config, clock), clock)

    def __init__(self, config: BrokerConfig, boot: Bootstrap, clock: Clock = SYSTEM_CLOCK) -> None:
        self.config = config
        self.clock = clock
        self.broker_id = boot.broker_id
        self.cluster_id = boot.cluster_id
        self.events = boot.events
        self.zk = boot.zk
        self.az = boot.az
        self.log_manager = boot.log_manager
        self._default_log_config = boot.default_log_config
        self.broker_epoch = -1  # the czxid of our /brokers/ids/<id>, known once registered
        self.metadata_cache = MetadataCache(self.broker_id)
        self.topic_admin = TopicAdmin(self.zk, config["replica.placement.strategy"])
        self.replica_manager = ReplicaManager(
            ReplicaManagerConfig(self.broker_id, config["replica.lag.time.max.ms"]),
            self.log_manager,
            self.zk_call,
            self.zk,
            clock,
            self.events,
            self.topic_config,
            ReplicaFetcherManager(self.broker_id, config, self.events),
        )
        self.producer_ids = ProducerIdManager(self.broker_id, self.zk, self.zk_call)
        self.fetch_sessions = FetchSessionCache(config["max.incremental.fetch.session.cache.slots"])
        self.controller = KafkaController(
            self.broker_id,
            self.az,
            ControllerConfig.from_props(
                {
                    **config.values,
                    "control.plane.listener.name": config.control_listener_name,
                    "inter.broker.listener.name": config.inter_broker_listener_name,
                }
            ),
            self.events,
            reregister_broker=self._register,
        )
        self.group_coordinator = build_group_coordinator(
            config.values, self.replica_manager, clock, self.events, boot.offsets_topic_partitions
        )
        self._group_leadership = GroupLeadership(self.group_coordinator, self.replica_manager)
        self.config_manager = DynamicConfigManager(self)
        self.dispatcher = dispatcher = BrokerDispatcher(self)  # its .stats back the control endpoint's /requests
        self.listeners = [
            KafkaListener(
                lst.name,
                lst.host,
                lst.port,
                dispatcher,
                config["socket.request.max.bytes"],
                config["queued.max.requests"],
            )
            for lst in config.listeners
            if lst.name != config.control_listener_name
        ]
        self._control_runner = web.AppRunner(ControlEndpoint(self).app, access_log=None, handle_signals=False)
        self._control_client = ControlClient(
            config["controller.socket.timeout.ms"], config["controller.socket.timeout.ms"]
        )
        self.bound: dict[str, tuple[str, int]] = {}  # listener name -> advertised (host, port), once bound
        # the HTTP admin (/health, /metrics, /api, dashboard) when http.port is set; built now so that its
        # event counters see every event from startup on
        self.http = (
            HttpAdmin(self, config["http.host"], config["http.port"]) if config["http.port"] is not None else None
        )
        self._jobs: list[PeriodicJob] = []
        self._metadata_changed = asyncio.Event()
        self._topic_configs: dict[str, LogConfig] = {}
        self._started = False
        self._stopping = False
        self._controlled_task: asyncio.Task[bool] | None = None
        self.stopped = asyncio.Event()

    # ---- helpers used by handlers --------------------------------------------------------------------

    async def zk_call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await self.az.call(fn, *args, **kwargs)

    @property
    def is_controller(self) -> bool:
        return self.controller.is_active

    def live_broker_ids(self) -> list[int]:
        return sorted(self.metadata_cache.brokers)

    async def topic_config(self, topic: str) -> LogConfig:
        cfg = self._topic_configs.get(topic)
        if cfg is None:
            cfg = self._topic_configs[topic] = await self.fresh_topic_config(topic)
        return cfg

    async def fresh_topic_config(self, topic: str) -> LogConfig:
        """The topic's config as ZooKeeper has it now (bypassing the cache the logs use)."""
        overrides = await self.zk_call(self.zk.get_entity_config, "topics", topic)
        return log_config_with(self._default_log_config, overrides)

    def topic_config_changed(self, topic: str, overrides: dict[str, str]) -> None:
        """A ``/config/changes`` notification for a topic: apply the new config to its logs."""
        cfg = log_config_with(self._default_log_config, overrides)
        old = self._topic_configs.get(topic)
        self._topic_configs[topic] = cfg
        self.log_manager.update_topic_config(topic, cfg)
        if cfg.unclean_leader_election_enable and not (old and old.unclean_leader_election_enable):
            if self.controller.is_active:
                self.controller.notify_unclean_leader_election_enabled(topic)
        self.events.emit(kinds.CONFIG_TOPIC_CHANGED, topic=topic, overrides=overrides)

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
        self.log_manager.default_config = cfg
        return True

    async def auto_create_topic(
        self,
        name: str,
        partitions: int | None = None,
        rf: int | None = None,
        configs: dict[str, str] | None = None,
    ) -> ErrorCode:
        """Create a topic with the broker defaults (Metadata auto-creation); answers LEADER_NOT_AVAILABLE
        as Kafka does, since leaders are not elected yet."""
        n = partitions if partitions is not None else self.config["num.partitions"]
        replication = rf if rf is not None else self.config["default.replication.factor"]
        await self.zk_call(
            self.topic_admin.create_topic,
            name,
            n,
            replication,
            configs or {},
            None,
            False,
            self.live_broker_ids(),
        )
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

    async def wait_for_leaders(
        self, topics: list[str], timeout_ms: int, min_partitions: dict[str, int] | None = None
    ) -> set[str]:
        """Wait until every partition of ``topics`` has a leader in the metadata cache; returns the topics
        that still lack one."""
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
        resp = await self.replica_manager.become_leader_or_follower(req)
        self._group_leadership.on_leader_and_isr(req)
        return resp

    async def handle_update_metadata(self, req: UpdateMetadataRequest) -> None:
        deleted = self.metadata_cache.update(req)
        self._metadata_changed.set()
        if deleted:
            self._group_leadership.on_partitions_deleted(deleted)

    async def handle_stop_replica(self, req: StopReplicaRequest) -> StopReplicaResponse:
        resp = await self.replica_manager.stop_replicas(req)
        for p in req.partition_states:
            if p.delete_partition:
                self._topic_configs.pop(p.topic, None)
        self._group_leadership.on_stop_replica(req)
        return resp

    async def handle_controlled_shutdown(self, req: ControlledShutdownRequest) -> ControlledShutdownResponse:
        if not self.controller.is_active:
            return ControlledShutdownResponse(ErrorCode.STALE_CONTROLLER_EPOCH, [])
        code, remaining = await self.controller.controlled_shutdown(req.broker_id, req.broker_epoch)
        return ControlledShutdownResponse(
            code, [TopicPartitionRef(tp.topic, tp.partition) for tp in remaining]
        )

    def describe_state(self) -> dict[str, Any]:
        ctrl = self.controller
        return {
            "broker_id": self.broker_id,
            "broker_epoch": self.broker_epoch,
            "cluster_id": self.cluster_id,
            "controller": {
                "active": ctrl.is_active,
                "epoch": ctrl.epoch,
                "active_controller_id": ctrl.active_controller_id,
            },
            "listeners": {name: f"{h}:{p}" for name, (h, p) in self.bound.items()},
            "replicas": self.replica_manager.describe(),
            "fetch_sessions": self.fetch_sessions.describe(),
            "groups": local_groups(self.group_coordinator),
            "http": self.http.url if self.http is not None else None,
        }

    # ---- startup -------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Startup steps 4–7 (steps 1–3 ran in :meth:`create`). Raises :class:`BrokerStartupError`."""
        self._started = True
        # 4. listeners
        await self._start_listeners()
        # 5. replica manager
        self.replica_manager.start()
        # 6. register
        await self._register()
        write_meta(self.config.log_dirs, self.cluster_id, self.broker_id)
        # 7. controller, coordinator, periodic tasks
        await self.controller.start()
        self._group_leadership.start()
        await self.config_manager.start()
        self._start_periodic_tasks()
        # Everything allocated so far lives as long as the broker: keep it out of the cyclic collector's
        # scans, and collect the young generation less often (the event loop allocates many short-lived
        # futures) — both shorten GC pauses, which show up directly as request latency.
        gc.collect()
        gc.freeze()
        gc.set_threshold(20_000, 20, 20)
        self.events.emit(
            kinds.BROKER_STARTED,
            broker_id=self.broker_id,
            listeners={k: f"{h}:{p}" for k, (h, p) in self.bound.items()},
        )
        log.info("broker started", broker_id=self.broker_id, epoch=self.broker_epoch, listeners=self.bound)

    async def _start_listeners(self) -> None:
        cfg = self.config
        control_name = cfg.control_listener_name
        configured = {lst.name: lst for lst in cfg.listeners}
        advertised = {lst.name: lst for lst in cfg.advertised_listeners}
        control = configured.get(control_name)
        for kl in self.listeners:
            try:
                port = await kl.start()
            except OSError as e:
                raise BrokerStartupError(f"cannot listen on {configured[kl.name]}: {e.strerror}") from None
            self.bound[kl.name] = _advertise(advertised.get(kl.name, configured[kl.name]), port)
        if control is None:
            control = Listener(control_name, self.listeners[0].host, 0)
        await self._control_runner.setup()
        try:
            sock = socket.create_server((control.host or "", control.port), reuse_port=False)
        except OSError as e:
            raise BrokerStartupError(f"cannot listen on {control}: {e.strerror}") from None
        port = sock.getsockname()[1]
        await web.SockSite(self._control_runner, sock).start()
        self.bound[control_name] = _advertise(advertised.get(control_name, control), port)
        if self.http is not None:
            try:
                await self.http.start()
            except OSError as e:
                raise BrokerStartupError(
                    f"cannot listen on http.host={self.http.host} http.port={self.http.port}: {e.strerror}"
                ) from None

    def registration(self) -> BrokerRegistration:
        cfg = self.config
        protos = cfg.security_protocol_map
        endpoints = tuple(
            Endpoint(name, host, port, protos.get(name, "PLAINTEXT"))
            for name, (host, port) in self.bound.items()
        )
        return BrokerRegistration(self.broker_id, endpoints, self.clock.time_ms(), rack=cfg["broker.rack"])

    async def _register(self) -> None:
        reg = self.registration()
        for other_id, (other, _) in (await self.zk_call(self.zk.get_all_brokers)).items():
            if other_id == self.broker_id:
                continue
            mine = {(e.host, e.port) for e in reg.endpoints}
            if any((e.host, e.port) in mine for e in other.endpoints):
                raise BrokerStartupError(
                    f"broker {other_id} already advertises one of this broker's endpoints {sorted(mine)}"
                )
        try:
            self.broker_epoch = int(await self.zk_call(self.zk.register_broker, reg))
        except BrokerIdTakenError as e:
            raise BrokerStartupError(str(e)) from None
        self.events.emit(kinds.BROKER_REGISTERED, broker_id=self.broker_id, broker_epoch=self.broker_epoch)
        log.info("registered broker", broker_id=self.broker_id, broker_epoch=self.broker_epoch)

    def _start_periodic_tasks(self) -> None:
        """Log housekeeping. Each job runs in a worker thread: checkpoints and flushes fsync, and an fsync on
        the event loop would stall every request of the broker for its duration. A job's next run starts after
        its thread finished, and :meth:`stop` waits for a run in flight before the log manager closes."""
        cfg = self.config
        lm = self.log_manager
        loop = asyncio.get_running_loop()

        def in_thread(fn: Callable[[], Any]) -> Callable[[], Awaitable[Any]]:
            return lambda: loop.run_in_executor(None, fn)

        now = self.clock.time_ms
        jobs: list[tuple[Callable[[], Any], int, str]] = [
            (
                lm.checkpoint_high_watermarks,
                cfg["replica.high.watermark.checkpoint.interval.ms"],
                "hw-checkpoint",
            ),
            (
                lm.checkpoint_recovery_points,
                cfg["log.flush.offset.checkpoint.interval.ms"] or 60000,
                "recovery-point-checkpoint",
            ),
            (lambda: lm.flush_dirty(now()), 1000, "log-flusher"),
            (lambda: lm.run_retention(now()), cfg["log.retention.check.interval.ms"], "log-retention"),
        ]
        if cfg["log.cleaner.enable"]:
            jobs.append((lm.run_cleaner_once, cfg["log.cleaner.backoff.ms"] or 15000, "log-cleaner"))
        for fn, interval, name in jobs:
            self._jobs.append(periodic(in_thread(fn), interval, name))

    # ---- shutdown ------------------------------------------------------------------------------------

    async def stop(self, controlled: bool = True) -> None:
        """Shut down (idempotent; also after a failed :meth:`start`). ``controlled`` first asks the
        controller to move leadership off this broker (when ``controlled.shutdown.enable``)."""
        if self._stopping:
            if not controlled and self._controlled_task is not None and not self._controlled_task.done():
                log.warning("stop requested again: giving up the controlled shutdown", broker_id=self.broker_id)
                self._controlled_task.cancel()
            await self.stopped.wait()
            return
        self._stopping = True
        if self.http is not None:
            self.http.stopping = True  # /health answers 503 from now on
        log.info("stopping broker", broker_id=self.broker_id, controlled=controlled)
        loop = asyncio.get_running_loop()
        try:
            if controlled and self.config["controlled.shutdown.enable"] and self.broker_epoch >= 0:
                # A task, so that a second stop(controlled=False) (a second SIGTERM) can cut it short;
                # asyncio.wait, so that its cancellation is not ours.
                self._controlled_task = asyncio.create_task(self._controlled_shutdown(), name="controlled-shutdown")
                await asyncio.wait({self._controlled_task})
                if not self._controlled_task.cancelled():
                    self._controlled_task.result()  # an unexpected error still ends the stop here, as before
            if not self.zk.connected:
                # Nothing below needs ZooKeeper to stop, yet with it unreachable each call would wait for it
                # (controller resignation, watch removal): a closed client makes them fail at once.
                log.warning("ZooKeeper unreachable while stopping: closing its session first", broker_id=self.broker_id)
                await loop.run_in_executor(None, self.zk.close)
            if self.http is not None:
                await self.http.stop()
            for kl in self.listeners:
                await kl.stop()
            await self.controller.shutdown()
            await self.config_manager.stop()
            self._group_leadership.stop()
            await stop_all(self._jobs)
            await self.replica_manager.shutdown()
            if self._started:
                await self._control_runner.cleanup()
            await self._control_client.close()
            await loop.run_in_executor(None, self.log_manager.shutdown)
            await self.az.aclose()
            await loop.run_in_executor(None, self.zk.close)
            log.info("broker stopped", broker_id=self.broker_id)
        finally:
            self.stopped.set()

    async def _controlled_shutdown(self) -> bool:
        cfg = self.config
        retries = cfg["controlled.shutdown.max.retries"]
        backoff_s = cfg["controlled.shutdown.retry.backoff.ms"] / 1000
        # Each attempt is bounded: with ZooKeeper unreachable a read of /controller waits for a reconnect that
        # may never come (Kafka 2.x retries it until reconnected), and a broker must still stop.
        attempt_timeout_s = cfg["controller.socket.timeout.ms"] / 1000
        for attempt in range(1, retries + 1):
            try:
                code, remaining = await asyncio.wait_for(self._send_controlled_shutdown(), attempt_timeout_s)
            except TimeoutError:
                code, remaining = ErrorCode.REQUEST_TIMED_OUT, []
                log.info("controlled shutdown request timed out", attempt=attempt, timeout_s=attempt_timeout_s)
            except Exception as e:
                code, remaining = ErrorCode.NETWORK_EXCEPTION, []
                log.info(
                    "controlled shutdown request failed", attempt=attempt, error=str(e) or type(e).__name__
                )
            if code == ErrorCode.NONE and not remaining:
                log.info("controlled shutdown succeeded", broker_id=self.broker_id, attempt=attempt)
                self.events.emit(kinds.BROKER_CONTROLLED_SHUTDOWN, broker_id=self.broker_id, attempts=attempt)
                return True
            log.info(
                "controlled shutdown incomplete",
                attempt=attempt,
                error=ErrorCode(code).name,
                remaining=[f"{p.topic}-{p.partition}" for p in remaining][:10],
            )
            if attempt < retries:
                await asyncio.sleep(backoff_s)
        log.warning("controlled shutdown failed; proceeding with unclean shutdown", broker_id=self.broker_id)
        return False

    async def _send_controlled_shutdown(self) -> tuple[ErrorCode, list[TopicPartitionRef]]:
        controller_id = await self.zk_call(self.zk.get_controller_id)
        if controller_id is None:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE, []
        if controller_id == self.broker_id and self.controller.is_active:
            code, remaining = await self.controller.controlled_shutdown(self.broker_id, self.broker_epoch)
            return code, [TopicPartitionRef(tp.topic, tp.partition) for tp in remaining]
        reg = await self.zk_call(self.zk.get_broker, controller_id)
        ep = reg.endpoint(self.config.control_listener_name) if reg else None
        if ep is None:
            return ErrorCode.BROKER_NOT_AVAILABLE, []
        request = ControlledShutdownRequest(self.broker_id, self.broker_epoch)
        outcome, resp, reason = await self._control_client.request(ep.host, ep.port, request)
        if outcome is not SendOutcome.DONE or not isinstance(resp, ControlledShutdownResponse):
            log.info(
                "controlled shutdown request failed", controller=controller_id, reason=reason or repr(resp)
            )
            return ErrorCode.NETWORK_EXCEPTION, []
        return ErrorCode(resp.error_code), resp.remaining_partitions


def _advertise(lst: Listener, bound_port: int) -> tuple[str, int]:
    host = lst.host or socket.getfqdn()
    return host, (lst.port or bound_port)
