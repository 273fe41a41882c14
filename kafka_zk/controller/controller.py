"""``KafkaController``: the controller module every broker runs; active on the one that wins the election.

Theory of operation
-------------------
*Election* (zk-layout.md §2.2). Every broker watches ``/controller``. To become controller a broker creates
the ephemeral ``/controller`` **and** bumps ``/controller_epoch`` in one ZooKeeper multi-op; the loser gets
``ControllerMovedError`` and keeps watching. The winner remembers the new epoch and the zkVersion of
``/controller_epoch``; every later controller write is a multi-op that checks that zkVersion, so a deposed
controller (one whose session expired while it was busy, or paused too long) cannot overwrite the state
its successor writes. Brokers reject control requests carrying an older controller epoch.

*One queue, one consumer.* Watches, control-plane answers, timers and API calls only put events
(:mod:`kafka_zk.controller.events`) on one ``asyncio.Queue``; a single task processes them in order.
Handlers are coroutines (they await ZooKeeper through the bridge) but never interleave. Errors:
``ControllerMovedError`` → re-read ``/controller`` and resign if it is not ours; an inconsistent request
batch (:class:`IllegalStateError`) → resign and delete ``/controller`` to force a fresh election; anything
else is logged and the next event is processed.

*Being active* lives in :class:`kafka_zk.controller.active.ActiveController`, created on failover and
closed on resignation (``/controller`` changed or deleted, session expiry, shutdown).

Entry points for the broker: :meth:`start`, :meth:`shutdown`, :meth:`controlled_shutdown` (its control
endpoint calls it for a ControlledShutdown request), :meth:`elect_leaders` (ElectLeaders API),
:meth:`alter_partition_reassignments` / :meth:`list_partition_reassignments` (KIP-455 APIs),
:meth:`notify_unclean_leader_election_enabled` (dynamic topic config), :attr:`is_active`, :attr:`epoch`,
:attr:`active_controller_id`.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Iterable

from zk_layout import ControllerMovedError, SessionEvent, SessionState, paths

from kafka_zk.common import event_kinds as kinds
from kafka_zk.common.errors import ErrorCode
from kafka_zk.common.events import EventBus
from kafka_zk.common.logging import get_logger
from kafka_zk.common.tp import TopicPartition
from kafka_zk.controller import events as ev
from kafka_zk.controller.active import ActiveController
from kafka_zk.controller.config import ControllerConfig
from kafka_zk.controller.context import ControllerContext
from kafka_zk.controller.election import ElectionStrategy
from kafka_zk.controller.request_batch import IllegalStateError
from kafka_zk.controller.zk_ops import Cancellable, ControllerZk
from kafka_zk.zk.bridge import AsyncZk

log = get_logger(__name__)

ElectionResults = dict[TopicPartition, tuple[ErrorCode, str | None]]
#: ``{tp: (replicas, adding_replicas, removing_replicas)}`` of partitions being reassigned.
OngoingReassignments = dict[TopicPartition, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]


class NotControllerError(Exception):
    """This broker's controller is not (or no longer) the active one: the API answers NOT_CONTROLLER."""

#: The strategies ElectLeaders (KIP-460) can ask for, as Kafka's ``processReplicaLeaderElection``: a preferred
#: election, or an unclean one — the offline election with unclean leaders allowed (for the admin trigger).
ADMIN_ELECTIONS = frozenset({ElectionStrategy.PREFERRED, ElectionStrategy.OFFLINE})


class KafkaController:
    def __init__(
        self,
        broker_id: int,
        az: AsyncZk,
        config: ControllerConfig | None = None,
        events: EventBus | None = None,
        reregister_broker: Callable[[], Awaitable[Any]] | None = None,
    ) -> None:
        """``reregister_broker`` (optional) re-creates this broker's ``/brokers/ids/<id>`` after a session
        expiry; when given, the controller calls it before re-running the election (Kafka's order)."""
        self.broker_id = broker_id
        self.config = config or ControllerConfig()
        self.events = events or EventBus(broker_id)
        self.zk = ControllerZk(az, self.config.unclean_leader_election_enable)
        self._az = az
        self._reregister_broker = reregister_broker
        self.active_controller_id = -1
        self._active: ActiveController | None = None
        self._queue: asyncio.Queue[ev.ControllerEvent] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._controller_watch: Cancellable | None = None

    # -- public API ----------------------------------------------------------------------------------
    @property
    def is_active(self) -> bool:
        return self.active_controller_id == self.broker_id and self._active is not None

    @property
    def epoch(self) -> int:
        """The controller epoch while active, else -1."""
        return self._active.ctx.epoch if self._active else -1

    @property
    def context(self) -> ControllerContext | None:
        """The active controller's context (read-only use: tests, ``/state``); None when not active."""
        return self._active.ctx if self._active else None

    async def start(self) -> None:
        if self._task is not None:
            return
        self._az.add_session_listener(self._on_session_event)
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"controller-{self.broker_id}-events")
        self._task.add_done_callback(self._consumer_done)
        self.enqueue(ev.Startup())

    async def shutdown(self) -> None:
        """Stop processing events and give up the controller role (deleting ``/controller`` if ours)."""
        if self._task is None or self._stopping:
            return
        self._stopping = True
        self._queue.put_nowait(ev.ShutdownEventThread())
        await asyncio.gather(self._task, return_exceptions=True)
        while not self._queue.empty():
            self._fail_reply(self._queue.get_nowait(), "controller shut down")
        if self._controller_watch is not None:
            await self.zk.cancel_watch(self._controller_watch)
            self._controller_watch = None
        if self._active is not None:
            expected = self._active.ctx.epoch_zk_version
            await self._on_resignation()
            try:
                await self.zk.delete_controller(expected)
            except Exception as e:  # moved already, or ZooKeeper gone: the session end removes it anyway
                log.debug("could not delete /controller on shutdown", reason=str(e))
        self.active_controller_id = -1

    def enqueue(self, event: ev.ControllerEvent) -> None:
        """Queue an event (call on the controller's loop)."""
        self._queue.put_nowait(event)

    async def controlled_shutdown(self, broker_id: int, broker_epoch: int) -> tuple[ErrorCode, list[TopicPartition]]:
        """Handle a broker's ControlledShutdownRequest: move leadership off it and take it out of ISRs.

        Returns ``(error, partitions it still leads)``; the broker retries until the list is empty.
        STALE_CONTROLLER_EPOCH when this broker is not the controller; STALE_BROKER_EPOCH for an old
        incarnation; BROKER_NOT_AVAILABLE for an unknown broker.
        """
        if self._task is None or self._stopping:
            return ErrorCode.STALE_CONTROLLER_EPOCH, []
        reply: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.enqueue(ev.ControlledShutdown(broker_id, broker_epoch, reply))
        result: tuple[ErrorCode, list[TopicPartition]] = await reply
        return result

    async def elect_leaders(
        self,
        partitions: Iterable[TopicPartition] | None,
        strategy: ElectionStrategy = ElectionStrategy.PREFERRED,
    ) -> ElectionResults:
        """ElectLeaders (KIP-460): PREFERRED, or OFFLINE for an unclean election; ``partitions=None`` means
        all partitions.

        Per partition: NONE, ELECTION_NOT_NEEDED, PREFERRED_LEADER_NOT_AVAILABLE /
        ELIGIBLE_LEADERS_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION, or NOT_CONTROLLER when not active.
        """
        if strategy not in ADMIN_ELECTIONS:
            raise ValueError(f"ElectLeaders runs a PREFERRED or OFFLINE (unclean) election, not {strategy}")
        wanted = None if partitions is None else frozenset(TopicPartition(*tp) for tp in partitions)
        if self._task is None or self._stopping:
            return {tp: (ErrorCode.NOT_CONTROLLER, None) for tp in wanted or ()}
        reply: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.enqueue(ev.ReplicaLeaderElection(wanted, strategy, "admin", reply))
        result: ElectionResults = await reply
        return result

    async def alter_partition_reassignments(
        self, targets: dict[TopicPartition, tuple[int, ...] | None]
    ) -> ElectionResults:
        """AlterPartitionReassignments: start (target list) or cancel (``None``) reassignments.

        Per partition: NONE, INVALID_REPLICA_ASSIGNMENT, NO_REASSIGNMENT_IN_PROGRESS (cancel of a partition
        not moving), UNKNOWN_TOPIC_OR_PARTITION. Raises :class:`NotControllerError` when not active.
        """
        reply = self._ask(lambda fut: ev.ApiPartitionReassignment(tuple(sorted(targets.items())), fut))
        result: ElectionResults = await reply
        return result

    async def list_partition_reassignments(
        self, partitions: Iterable[TopicPartition] | None
    ) -> OngoingReassignments:
        """ListPartitionReassignments: the moving partitions among ``partitions`` (None = all of them).
        Raises :class:`NotControllerError` when not active."""
        wanted = None if partitions is None else frozenset(partitions)
        result: OngoingReassignments = await self._ask(lambda fut: ev.ListPartitionReassignments(wanted, fut))
        return result

    def _ask(self, make: Callable[[asyncio.Future[Any]], ev.ControllerEvent]) -> asyncio.Future[Any]:
        if self._task is None or self._stopping or not self.is_active:
            raise NotControllerError("this broker is not the controller")
        reply: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.enqueue(make(reply))
        return reply

    def notify_unclean_leader_election_enabled(self, topic: str) -> None:
        """A topic's ``unclean.leader.election.enable`` became true: retry its leaderless partitions."""
        self.enqueue(ev.TopicUncleanLeaderElectionEnable(topic))

    # -- the consumer --------------------------------------------------------------------------------
    def _consumer_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("controller event consumer died", exc_info=task.exception())

    async def _run(self) -> None:
        while not self._stopping:
            event = await self._queue.get()
            if isinstance(event, ev.ShutdownEventThread):
                break
            try:
                await self._process(event)
            except ControllerMovedError as e:
                log.info("controller moved while processing an event; resigning", controller_event=event.name,
                         reason=str(e))
                self._fail_reply(event, "controller moved")
                await self._guarded(self._maybe_resign())
            except IllegalStateError as e:
                log.error("controller state is inconsistent; giving up the controller role",
                          controller_event=event.name, reason=str(e))
                self._fail_reply(event, str(e))
                await self._guarded(self._trigger_controller_move())
            except Exception:
                log.exception("error processing controller event", controller_event=event.name)
                self._fail_reply(event, "internal error")

    async def _guarded(self, coro: Awaitable[None]) -> None:
        try:
            await coro
        except Exception:
            log.exception("controller resignation step failed")

    def _fail_reply(self, event: ev.ControllerEvent, reason: str) -> None:
        reply = getattr(event, "reply", None)
        if reply is None or reply.done():
            return
        if isinstance(event, ev.ControlledShutdown):
            reply.set_result((ErrorCode.STALE_CONTROLLER_EPOCH, []))
        elif isinstance(event, ev.ReplicaLeaderElection):
            code = ErrorCode.NOT_CONTROLLER if not self.is_active else ErrorCode.UNKNOWN_SERVER_ERROR
            reply.set_result({tp: (code, reason) for tp in event.partitions or ()})
        elif isinstance(event, (ev.ApiPartitionReassignment, ev.ListPartitionReassignments)):
            if not self.is_active:
                reply.set_exception(NotControllerError(reason))
            elif isinstance(event, ev.ApiPartitionReassignment):
                reply.set_result({tp: (ErrorCode.UNKNOWN_SERVER_ERROR, reason) for tp, _ in event.targets})
            else:
                reply.set_exception(RuntimeError(reason))

    async def _process(self, event: ev.ControllerEvent) -> None:
        if isinstance(event, ev.Startup):
            await self._on_startup()
        elif isinstance(event, ev.ControllerChange):
            await self._maybe_resign()
        elif isinstance(event, ev.Reelect):
            await self._maybe_resign()
            await self._elect()
        elif isinstance(event, ev.Expire):
            self.active_controller_id = -1
            await self._on_resignation()
        elif isinstance(event, ev.RegisterBrokerAndReelect):
            if self._reregister_broker is not None:
                await self._reregister_broker()
            await self._maybe_resign()
            await self._elect()
        elif self._active is None or not self.is_active:
            self._fail_reply(event, "not the controller")
        else:
            await self._process_active(self._active, event)

    async def _process_active(self, active: ActiveController, event: ev.ControllerEvent) -> None:
        if isinstance(event, ev.BrokerChange):
            await active.on_broker_change()
        elif isinstance(event, ev.BrokerModifications):
            await active.on_broker_modifications(event.broker_id)
        elif isinstance(event, ev.TopicChange):
            await active.on_topic_change()
        elif isinstance(event, ev.PartitionModifications):
            await active.on_partition_modifications(event.topic)
        elif isinstance(event, ev.TopicDeletion):
            await active.on_topic_deletion()
        elif isinstance(event, ev.IsrChangeNotification):
            await active.on_isr_change_notification()
        elif isinstance(event, ev.ZkPartitionReassignment):
            await active.reassignment.process_zk_reassignment()
        elif isinstance(event, ev.PartitionReassignmentIsrChange):
            await active.reassignment.on_isr_change(event.tp)
        elif isinstance(event, ev.ApiPartitionReassignment):
            altered = await active.reassignment.process_api_reassignment(dict(event.targets))
            if event.reply is not None and not event.reply.done():
                event.reply.set_result(altered)
        elif isinstance(event, ev.ListPartitionReassignments):
            ongoing = active.reassignment.list_reassignments(event.partitions)
            if event.reply is not None and not event.reply.done():
                event.reply.set_result(ongoing)
        elif isinstance(event, ev.ReplicaLeaderElection):
            if event.trigger == "zk":
                await active.on_zk_replica_election()
            else:
                results = await active.on_replica_election(event.partitions, event.strategy, event.trigger)
                if event.reply is not None and not event.reply.done():
                    event.reply.set_result(results)
        elif isinstance(event, ev.AutoPreferredReplicaLeaderElection):
            await active.on_auto_rebalance()
        elif isinstance(event, ev.ControlledShutdown):
            result = await active.on_controlled_shutdown(event.broker_id, event.broker_epoch)
            if event.reply is not None and not event.reply.done():
                event.reply.set_result(result)
        elif isinstance(event, ev.TopicUncleanLeaderElectionEnable):
            await active.on_topic_unclean_leader_election_enable(event.topic)
        elif isinstance(event, ev.LeaderAndIsrResponseReceived):
            if event.controller_epoch == active.ctx.epoch:
                active.on_leader_and_isr_response(event)
        elif isinstance(event, ev.TopicDeletionStopReplicaResponseReceived):
            if event.controller_epoch == active.ctx.epoch:
                await active.on_stop_replica_response(event)
        else:
            log.error("unknown controller event", controller_event=event.name)

    # -- election and resignation (§2.2) -------------------------------------------------------------
    async def _on_startup(self) -> None:
        self._controller_watch = await self.zk.watch_data(
            paths.CONTROLLER, lambda exists: self.enqueue(ev.ControllerChange() if exists else ev.Reelect())
        )
        await self._elect()

    async def _elect(self) -> None:
        if self._stopping:
            return
        holder = await self.zk.get_controller_id()
        self.active_controller_id = -1 if holder is None else holder
        if holder is not None:
            if holder != self.broker_id:
                log.debug("controller already elected", controller=holder)
            return
        try:
            epoch, epoch_zk_version = await self.zk.register_controller_and_increment_epoch(self.broker_id)
        except ControllerMovedError as e:
            log.info("lost the controller election", reason=str(e))
            await self._maybe_resign()
            return
        self.active_controller_id = self.broker_id
        log.info("elected as controller", broker=self.broker_id, epoch=epoch, epoch_zk_version=epoch_zk_version)
        self.events.emit(kinds.CONTROLLER_ELECTED, controller=self.broker_id, epoch=epoch)
        self._active = ActiveController(self.broker_id, epoch, epoch_zk_version, self.zk, self.config, self.events,
                                        self.enqueue)
        try:
            await self._active.on_failover()
        except ControllerMovedError:
            raise
        except Exception:
            log.exception("controller failover failed; giving up the controller role")
            await self._trigger_controller_move()

    async def _maybe_resign(self) -> None:
        was_active = self._active is not None
        holder = await self.zk.get_controller_id()
        self.active_controller_id = -1 if holder is None else holder
        if was_active and holder != self.broker_id:
            await self._on_resignation()

    async def _trigger_controller_move(self) -> None:
        if self._active is None:
            return
        holder = await self.zk.get_controller_id()
        expected = self._active.ctx.epoch_zk_version
        self.active_controller_id = -1
        await self._on_resignation()
        if holder != self.broker_id:
            log.warning("controller already moved", controller=holder)
            return
        try:
            await self.zk.delete_controller(expected)
        except ControllerMovedError:
            log.warning("controller moved before /controller could be deleted")

    async def _on_resignation(self) -> None:
        active, self._active = self._active, None
        if active is None:
            return
        log.info("resigning as controller", broker=self.broker_id, epoch=active.ctx.epoch)
        await active.close()
        self.events.emit(kinds.CONTROLLER_RESIGNED, controller=self.broker_id, epoch=active.ctx.epoch)

    def _on_session_event(self, event: SessionEvent) -> None:
        if self._stopping:
            return
        if event.state is SessionState.EXPIRED:
            self.enqueue(ev.Expire())
        elif event.state is SessionState.CONNECTED and event.new_session:
            self.enqueue(ev.RegisterBrokerAndReelect())
