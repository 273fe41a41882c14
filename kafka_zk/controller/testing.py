"""A stand-in broker for exercising the controller against a real ZooKeeper, without the broker package.

:class:`StandInBroker` does what the controller needs from a broker and nothing more: it registers
``/brokers/ids/<id>`` on its **own** ZooKeeper session (closing that session is a broker crash), serves the
control plane (``POST /control/<kind>``, msgpack) on a free 127.0.0.1 port, records every control request
it receives and answers success — except that, like a real broker, it refuses requests from an older
controller epoch with STALE_CONTROLLER_EPOCH. It can also do what a partition *leader* does in
ZooKeeper (rewrite the ISR with a conditional update and post an ISR-change notification), so
reassignment and ISR tests can proceed without a replication layer.

:class:`ControllerNode` is a stand-in broker plus a real :class:`KafkaController` sharing one session, the
way a broker process hosts the controller module. This is a test harness for the controller (and a demo
for study tools); it is not a mock of ZooKeeper.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from zk_layout import BrokerRegistration, Endpoint, KafkaZkClient, PartitionState

from kafka_zk.common.control import (
    CONTROL_PATH_PREFIX,
    ControlledShutdownRequest,
    ControlledShutdownResponse,
    LeaderAndIsrRequest,
    LeaderAndIsrResponse,
    PartitionError,
    StopReplicaRequest,
    StopReplicaResponse,
    TopicPartitionRef,
    UpdateMetadataRequest,
    UpdateMetadataResponse,
    decode_control,
    encode_control,
)
from kafka_zk.common.errors import ErrorCode
from kafka_zk.common.events import EventBus
from kafka_zk.common.tp import TopicPartition
from kafka_zk.controller.config import ControllerConfig
from kafka_zk.controller.controller import KafkaController
from kafka_zk.zk.bridge import AsyncZk


@dataclass
class Received:
    kind: str
    message: Any
    accepted: bool


@dataclass
class StandInBroker:
    broker_id: int
    zk_connect: str
    session_timeout_ms: int = 6000
    received: list[Received] = field(default_factory=list)
    # Partitions whose StopReplica(delete=true) should fail, to exercise deletion retries.
    fail_deletes: set[TopicPartition] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.zk: KafkaZkClient | None = None
        self.broker_epoch = -1
        self.max_controller_epoch = -1
        self.port = 0
        self.controller: KafkaController | None = None  # set by ControllerNode: answers ControlledShutdown
        self._runner: web.AppRunner | None = None

    # -- lifecycle -----------------------------------------------------------------------------------
    async def start(self, register: bool = True) -> "StandInBroker":
        app = web.Application()
        app.router.add_post(CONTROL_PATH_PREFIX + "{kind}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        if register:
            await self.register()
        return self

    async def register(self) -> int:
        """Open a fresh ZooKeeper session and register (again); returns the broker epoch (czxid)."""
        loop = asyncio.get_running_loop()
        if self.zk is None:
            self.zk = await loop.run_in_executor(None, self._connect)
        zk = self.zk
        reg = BrokerRegistration(
            self.broker_id,
            (
                Endpoint("PLAINTEXT", "127.0.0.1", 19000 + self.broker_id, "PLAINTEXT"),
                Endpoint("CONTROLLER", "127.0.0.1", self.port, "PLAINTEXT"),
            ),
            int(time.time() * 1000),
        )
        self.broker_epoch = await loop.run_in_executor(None, zk.register_broker, reg)
        return self.broker_epoch

    def _connect(self) -> KafkaZkClient:
        zk = KafkaZkClient(self.zk_connect, session_timeout_ms=self.session_timeout_ms).start()
        zk.create_top_level_paths()
        return zk

    async def crash(self) -> None:
        """Close the ZooKeeper session (its registration vanishes at once); the control port stays up."""
        if self.zk is not None:
            zk, self.zk = self.zk, None
            await asyncio.get_running_loop().run_in_executor(None, zk.close)

    async def stop(self) -> None:
        await self.crash()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- what the controller sent --------------------------------------------------------------------
    def messages(self, kind: type) -> list[Any]:
        return [r.message for r in self.received if isinstance(r.message, kind) and r.accepted]

    def leader_and_isr_states(self) -> dict[TopicPartition, Any]:
        """Latest LeaderAndIsr partition state per partition, as this broker would apply them."""
        out: dict[TopicPartition, Any] = {}
        for msg in self.messages(LeaderAndIsrRequest):
            for s in msg.partition_states:
                out[TopicPartition(s.topic, s.partition)] = s
        return out

    def metadata(self) -> dict[TopicPartition, Any]:
        """Latest UpdateMetadata partition state per partition (leader -2 = being deleted)."""
        out: dict[TopicPartition, Any] = {}
        for msg in self.messages(UpdateMetadataRequest):
            for s in msg.partition_states:
                out[TopicPartition(s.topic, s.partition)] = s
        return out

    def stop_replicas(self) -> list[tuple[TopicPartition, bool]]:
        return [(TopicPartition(s.topic, s.partition), s.delete_partition)
                for msg in self.messages(StopReplicaRequest) for s in msg.partition_states]

    # -- acting as a partition leader ----------------------------------------------------------------
    async def leader_set_isr(self, tp: TopicPartition, isr: list[int]) -> None:
        """What a leader does on ISR shrink/expand (pre-AlterIsr): conditional write + ISR notification."""
        assert self.zk is not None
        zk = self.zk

        def run() -> None:
            while True:
                got = zk.get_partition_state(tp)
                assert got is not None, f"no state znode for {tp}"
                state, version = got
                new = PartitionState(state.leader, state.leader_epoch, tuple(isr), state.controller_epoch)
                if zk.update_partition_state(tp, new, version).ok:
                    break
            zk.propagate_isr_changes([tp])

        await asyncio.get_running_loop().run_in_executor(None, run)

    # -- the control endpoint ------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        msg = decode_control(await request.read())
        kind = request.match_info["kind"]
        if isinstance(msg, ControlledShutdownRequest):  # this broker hosts the controller (ControllerNode)
            self.received.append(Received(kind, msg, True))
            remaining: list[TopicPartition] = []
            if self.controller is None:
                code = ErrorCode.STALE_CONTROLLER_EPOCH
            else:
                code, remaining = await self.controller.controlled_shutdown(msg.broker_id, msg.broker_epoch)
            answer = ControlledShutdownResponse(int(code), [TopicPartitionRef(tp.topic, tp.partition)
                                                            for tp in remaining])
            return web.Response(body=encode_control(answer), content_type="application/x-msgpack")
        stale = msg.controller_epoch < self.max_controller_epoch
        self.received.append(Received(kind, msg, not stale))
        if not stale:
            self.max_controller_epoch = max(self.max_controller_epoch, msg.controller_epoch)
        err = int(ErrorCode.STALE_CONTROLLER_EPOCH) if stale else 0
        if isinstance(msg, LeaderAndIsrRequest):
            resp: Any = LeaderAndIsrResponse(err, [PartitionError(s.topic, s.partition, err)
                                                   for s in msg.partition_states])
        elif isinstance(msg, StopReplicaRequest):
            resp = StopReplicaResponse(err, [
                PartitionError(s.topic, s.partition,
                               int(ErrorCode.KAFKA_STORAGE_ERROR)
                               if s.delete_partition and TopicPartition(s.topic, s.partition) in self.fail_deletes
                               else err)
                for s in msg.partition_states])
        elif isinstance(msg, UpdateMetadataRequest):
            resp = UpdateMetadataResponse(err)
        else:
            return web.Response(status=400, text=f"unexpected control message {kind}")
        return web.Response(body=encode_control(resp), content_type="application/x-msgpack")


class ControllerNode:
    """A stand-in broker hosting a real controller on the same ZooKeeper session (like a broker process)."""

    def __init__(self, broker_id: int, zk_connect: str, config: ControllerConfig | None = None,
                 session_timeout_ms: int = 6000) -> None:
        self.broker = StandInBroker(broker_id, zk_connect, session_timeout_ms)
        self.config = config or ControllerConfig()
        self.events = EventBus(broker_id)
        self.az: AsyncZk | None = None
        self.controller: KafkaController | None = None

    @property
    def broker_id(self) -> int:
        return self.broker.broker_id

    async def start(self) -> "ControllerNode":
        await self.broker.start()
        assert self.broker.zk is not None
        self.az = AsyncZk(self.broker.zk)
        self.controller = KafkaController(self.broker_id, self.az, self.config, self.events)
        self.broker.controller = self.controller
        await self.controller.start()
        return self

    async def crash(self) -> None:
        """The broker process dies: its session closes (``/controller`` and its registration vanish)."""
        if self.controller is not None and self.controller._task is not None:
            self.controller._task.cancel()  # a dead process processes no further events
        await self.broker.crash()
        await self._teardown()

    async def stop(self) -> None:
        if self.controller is not None:
            await self.controller.shutdown()
        await self.broker.crash()
        await self._teardown()

    async def _teardown(self) -> None:
        if self.controller is not None:
            ctl, self.controller = self.controller, None
            await ctl.shutdown()
        if self.az is not None:
            az, self.az = self.az, None
            await az.aclose()
        await self.broker.stop()
