"""``ZkConsumer``: Kafka 0.8's ZooKeeper-coordinated high-level consumer (``ZookeeperConsumerConnector``).

Theory of operation
-------------------
There is no group coordinator. Each consumer of group *g*:

1. **registers** the ephemeral ``/consumers/<g>/ids/<g>_<host>-<ms>-<hex>`` holding its subscription
   (``{topic: stream count}``) and **watches** the children of ``/consumers/<g>/ids`` (members joining
   and leaving), the data of ``/brokers/topics/<t>`` of each topic it reads (partitions added) and the
   children of ``/brokers/ids`` (used, as in Kafka, when no broker was registered at the last rebalance);
2. on any of these events, **rebalances** by itself (``syncedRebalance``): stop fetching; commit the
   consumed offsets (when ``auto.commit.enable``); delete the owner znodes it holds; read every member's
   registration and every topic's partitions; compute the whole group's range assignment
   (:mod:`.assignor`) and keep its own share; read the committed offsets of that share from
   ``/consumers/<g>/offsets/<t>/<p>``; **claim** each partition by creating the ephemeral
   ``/consumers/<g>/owners/<t>/<p>`` with its thread id. If any claim hits an existing owner (a member
   that has not released yet, or that read an older membership), it deletes what it claimed, sleeps
   ``rebalance.backoff.ms`` and starts over, up to ``rebalance.max.retries`` attempts;
3. **fetches** its partitions from their leaders through ``kafka_zk.client``'s consumer (the brokers are
   found in ``/brokers/ids``, the leaders by Metadata), from the committed offset, or — when there is
   none, or it is out of range — from ``auto.offset.reset`` (``smallest`` / ``largest``);
4. **commits** the offset of the next record to read to ``/consumers/<g>/offsets/<t>/<p>`` (plain decimal
   text), every ``auto.commit.interval.ms``, at every rebalance and at ``close()``, or on ``commit()``;
   unchanged offsets are not written again (Kafka's ``checkpointedZkOffsets``).

Every member gets every membership event and re-reads the whole group: one join costs each of N members
a watch event, N registration reads, and a release + claim of its partitions — the herd effect that
``tools/bench_zk_rebalance.py`` measures and that moved coordination into the brokers (Kafka 0.9).

A ZooKeeper session expiry removes the registration and the owner znodes; the consumer registers again
and rebalances (Kafka's ``ZKSessionExpireListener``). :meth:`ZkConsumer.abort` ends the session without
committing or releasing anything — what a crashed process leaves behind — for tests and labs.

Everything runs on one asyncio loop; ZooKeeper calls run in ``kafka_zk.zk.bridge.AsyncZk``'s pool.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from kafka_zk.client.consumer import Consumer, ConsumerRecord
from kafka_zk.common.logging import get_logger
from kafka_zk.common.tp import TopicPartition
from kafka_zk.zk.bridge import AsyncZk
from kafka_zk.zkconsumer.assignor import range_assign, subscribed_topics
from kafka_zk.zkconsumer.config import ZkConsumerConfig
from zk_layout import BrokerRegistration, ConsumerRegistration, KafkaZkClient, SessionEvent, SessionState, paths
from zk_layout.errors import ZkLayoutError

log = get_logger(__name__)

__all__ = ["ZkConsumer", "ZkConsumerStats", "ZkRebalanceFailedError", "generate_consumer_uuid"]


class ZkRebalanceFailedError(ZkLayoutError):
    """Kafka's ``ConsumerRebalanceFailedException``: every attempt of a rebalance failed."""


@dataclass
class ZkConsumerStats:
    """Counters of what this consumer did to ZooKeeper (for benchmarks, labs and tests)."""

    #: Rebalances that completed, and attempts (including failed ones) made for them.
    rebalances: int = 0
    rebalance_attempts: int = 0
    #: Owner znodes found held by another thread while claiming.
    owner_conflicts: int = 0
    #: Watch notifications received (membership, topic and broker changes).
    watch_events: int = 0
    #: Creates, deletes and sets this consumer sent (registrations, owners, offsets).
    zk_writes: int = 0
    #: Reads made to rebalance (brokers, members' registrations, partitions, offsets; a pipelined read
    #: of k znodes counts k).
    zk_reads: int = 0


def generate_consumer_uuid() -> str:
    """Kafka 0.8's generated ``consumer.id``: ``<hostname>-<ms since epoch>-<8 hex digits>``."""
    return f"{socket.gethostname()}-{int(time.time() * 1000)}-{uuid.uuid4().hex[:8]}"


def _bootstrap(brokers: Mapping[int, tuple[BrokerRegistration, int]]) -> list[str]:
    out = []
    for _bid, (reg, _epoch) in sorted(brokers.items()):
        ep = reg.plaintext_endpoint or (reg.endpoints[0] if reg.endpoints else None)
        if ep is not None:
            out.append(f"{ep.host}:{ep.port}")
    return out


class ZkConsumer:
    """``async with ZkConsumer(zookeeper_connect="127.0.0.1:2181/kafka", group_id="g", topics={"t": 1}) as c:
    records = await c.poll()``.

    ``topics`` is ``{topic: stream count}`` (or a list of topics, one stream each); ``whitelist`` /
    ``blacklist`` subscribe to a regex instead (Kafka's ``createMessageStreamsByFilter``). Settings are
    :class:`ZkConsumerConfig`'s, as keywords (``auto_offset_reset="smallest"``) or in ``settings``
    with Kafka's dotted names (``{"auto.offset.reset": "smallest"}``).
    """

    def __init__(self, zookeeper_connect: str | None = None, group_id: str | None = None,
                 topics: Mapping[str, int] | Iterable[str] | None = None, *, whitelist: str | None = None,
                 blacklist: str | None = None, settings: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        merged: dict[str, Any] = dict(settings or {})
        merged.update(kwargs)
        if zookeeper_connect is not None:
            merged["zookeeper.connect"] = zookeeper_connect
        if group_id is not None:
            merged["group.id"] = group_id
        self.config = ZkConsumerConfig.from_settings(merged)
        chosen = [x for x in (topics, whitelist, blacklist) if x is not None]
        if len(chosen) != 1:
            raise ValueError("give exactly one of topics={topic: streams}, whitelist='regex' or blacklist='regex'")
        if whitelist is not None or blacklist is not None:
            self.pattern = "white_list" if whitelist is not None else "black_list"
            self.subscription: dict[str, int] = {str(whitelist if whitelist is not None else blacklist): 1}
        else:
            self.pattern = "static"
            assert topics is not None
            self.subscription = dict(topics) if isinstance(topics, Mapping) else {t: 1 for t in topics}
            if not self.subscription:
                raise ValueError("topics is empty: subscribe to at least one topic")
            for t, n in self.subscription.items():
                paths.topic_path(t)  # refuses names that are no topic name
                if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                    raise ValueError(f"topic {t!r}: the stream count must be an integer >= 1, got {n!r}")
        self.group_id = self.config.group_id
        #: ``<group>_<consumer.id>``: the registration's name, and the prefix of this consumer's thread ids.
        self.consumer_id = f"{self.group_id}_{self.config.consumer_id or generate_consumer_uuid()}"
        paths.consumer_id_path(self.group_id, self.consumer_id)  # a group or id that is no znode name: ValueError
        self.stats = ZkConsumerStats()
        #: The last rebalance that failed every attempt (None once a later one succeeds).
        self.rebalance_error: ZkRebalanceFailedError | None = None
        self._zk: KafkaZkClient | None = None
        self._az: AsyncZk | None = None
        self._fetcher: Consumer | None = None
        self._registry: dict[TopicPartition, str] = {}
        self._consumed: dict[TopicPartition, int] = {}
        self._checkpointed: dict[TopicPartition, int] = {}
        self._fetch_lock = asyncio.Lock()
        self._rebalance_lock = asyncio.Lock()
        self._wanted = asyncio.Event()
        self._assigned = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._had_brokers = True
        self._registered = False
        self._closing = False
        self._started = False

    # ----------------------------------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Connect to ZooKeeper, register, arm the watches and run the first rebalance (raises
        :class:`ZkRebalanceFailedError` when it fails every attempt, as ``createMessageStreams`` does)."""
        if self._started:
            return
        cfg = self.config
        zk = KafkaZkClient(cfg.zookeeper_connect, session_timeout_ms=cfg.zookeeper_session_timeout_ms,
                           connection_timeout_ms=cfg.zookeeper_connection_timeout_ms, create_chroot=False)
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, zk.start)
        except BaseException:
            await loop.run_in_executor(None, zk.close)  # kazoo would go on trying to connect
            raise
        self._zk = zk
        self._az = az = AsyncZk(zk, max_workers=2)
        self._started = True
        try:
            await self._register()
            az.add_session_listener(self._on_session)
            await self._watch(az.watch_children, paths.consumer_ids_path(self.group_id))
            await self._watch(az.watch_children, paths.BROKER_IDS, brokers=True)
            if self.pattern == "static":
                for topic in self.subscription:
                    await self._watch(az.watch_data, paths.topic_path(topic))
            else:
                await self._watch(az.watch_children, paths.BROKER_TOPICS)
            await self._synced_rebalance()
        except BaseException:
            await self.abort()
            raise
        self._tasks.append(loop.create_task(self._rebalance_loop(), name=f"zk-rebalance-{self.consumer_id}"))
        if cfg.auto_commit_enable:
            self._tasks.append(loop.create_task(self._auto_commit_loop(), name=f"zk-autocommit-{self.consumer_id}"))

    async def __aenter__(self) -> "ZkConsumer":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop fetching, commit (when ``auto.commit.enable``) and close the session: the registration
        and the owner znodes disappear with it, and the other members rebalance."""
        if self._closing:
            return
        self._closing = True
        await self._stop_tasks()
        if self.config.auto_commit_enable and self._zk is not None:
            async with self._fetch_lock:
                try:
                    await self._commit_locked()
                except Exception as e:  # the session may be gone already: nothing more to save
                    log.warning("final offset commit failed", consumer=self.consumer_id, error=str(e))
        await self._shutdown()

    async def abort(self) -> None:
        """End the ZooKeeper session and the connections without committing or releasing anything —
        what a crashed process leaves behind (its ephemeral znodes vanish with the session)."""
        self._closing = True
        await self._stop_tasks()
        await self._shutdown()

    async def _stop_tasks(self) -> None:
        for t in self._tasks:
            t.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _shutdown(self) -> None:
        self._assigned.set()  # wake pollers
        if self._az is not None:
            await self._az.aclose()
        if self._zk is not None:
            zk, self._zk = self._zk, None
            await asyncio.get_running_loop().run_in_executor(None, zk.close)
        if self._fetcher is not None:
            fetcher, self._fetcher = self._fetcher, None
            await fetcher.close()

    # ---------------------------------------------------------------------------------------- consuming

    def assignment(self) -> dict[TopicPartition, str]:
        """The partitions this consumer owns, with the owning thread id (``<consumer id>-<n>``)."""
        return dict(self._registry)

    @property
    def rebalancing(self) -> bool:
        """True while a rebalance runs or an event asked for one."""
        return self._rebalance_lock.locked() or self._wanted.is_set()

    async def poll(self, timeout_ms: int = 1000, max_records: int | None = None) -> list[ConsumerRecord]:
        """Records from the owned partitions, as soon as some arrived, or ``[]`` after ``timeout_ms``
        (also while a rebalance is running or nothing is owned). Returned records count as consumed:
        the next commit stores the offset after the last of them."""
        if not self._started or self._closing:
            raise RuntimeError("the consumer is not running (use 'async with ZkConsumer(...)' or start())")
        deadline = time.monotonic() + timeout_ms / 1000
        while not self._closing:
            remaining = deadline - time.monotonic()
            if self._registry and self._fetcher is not None and not self._rebalance_lock.locked():
                async with self._fetch_lock:
                    records = await self._poll_locked(max(0, min(int(remaining * 1000),
                                                                 self.config.fetch_wait_max_ms)), max_records)
                if records:
                    return records
            else:
                self._assigned.clear()
                try:
                    await asyncio.wait_for(self._assigned.wait(), timeout=max(0.0, min(remaining, 0.1)))
                except asyncio.TimeoutError:
                    pass
            if time.monotonic() >= deadline:
                return []
        return []

    async def _poll_locked(self, timeout_ms: int, max_records: int | None) -> list[ConsumerRecord]:
        fetcher = self._fetcher
        if not self._registry or fetcher is None:
            return []
        records = await fetcher.poll(timeout_ms=timeout_ms, max_records=max_records)
        for tp in self._registry:
            position = await fetcher.position(tp)
            self._consumed[tp] = position
        return records

    async def commit(self) -> None:
        """Write the consumed offsets of the owned partitions to ZooKeeper (those that changed)."""
        async with self._fetch_lock:
            await self._commit_locked()

    async def _commit_locked(self) -> None:
        todo = {tp: off for tp, off in self._consumed.items()
                if tp in self._registry and self._checkpointed.get(tp) != off}
        if not todo or self._az is None or self._zk is None:
            return
        zk = self._zk

        def write() -> None:
            for tp, off in todo.items():
                zk.set_consumer_offset(self.group_id, tp.topic, tp.partition, off)
                self.stats.zk_writes += 1

        await self._az.call(write)
        self._checkpointed.update(todo)
        log.debug("offsets committed to zookeeper", consumer=self.consumer_id,
                  offsets={str(tp): off for tp, off in todo.items()})

    async def committed(self, tp: TopicPartition | tuple[str, int]) -> int | None:
        """The group's offset for ``tp`` in ZooKeeper (None when none was committed)."""
        if self._az is None or self._zk is None:
            raise RuntimeError("the consumer is not running")
        tp = TopicPartition(*tp)
        return await self._az.call(self._zk.get_consumer_offset, self.group_id, tp.topic, tp.partition)

    # ---------------------------------------------------------------------------------------- rebalancing

    async def _register(self) -> None:
        assert self._az is not None and self._zk is not None
        reg = ConsumerRegistration(self.subscription, self.pattern, int(time.time() * 1000))
        await self._az.call(self._zk.register_consumer, self.group_id, self.consumer_id, reg,
                            self.config.rebalance_backoff_ms or 100, 2 * self.config.zookeeper_session_timeout_ms)
        self.stats.zk_writes += 1
        self._registered = True
        log.info("consumer registered in zookeeper", consumer=self.consumer_id, subscription=self.subscription,
                 pattern=self.pattern)

    async def _watch(self, arm: Any, path: str, brokers: bool = False) -> None:
        first = True

        def fired(*value: Any) -> None:
            nonlocal first
            if first:  # the initial read, not an event (ZkClient's subscribe* fire only on changes)
                first = False
                if brokers:
                    self._had_brokers = bool(value[0])
                return
            self.stats.watch_events += 1
            if brokers:
                # Kafka 0.8 rebalances on broker changes only when the last rebalance found none.
                had, self._had_brokers = self._had_brokers, bool(value[0])
                if had:
                    return
            log.debug("zookeeper watch fired; rebalancing", consumer=self.consumer_id, path=path)
            self._wanted.set()

        await arm(path, fired)

    def _on_session(self, event: SessionEvent) -> None:
        if self._closing:
            return
        if event.state is SessionState.CONNECTED and event.new_session and self._registered:
            log.warning("zookeeper session expired; registering again", consumer=self.consumer_id)
            self._registry.clear()  # the owner znodes went with the session (Kafka's resetState)
            task = asyncio.get_running_loop().create_task(self._after_expiry())
            self._tasks.append(task)

    async def _after_expiry(self) -> None:
        try:
            await self._register()
        except Exception as e:  # e.g. the old session's registration did not go away in time
            log.error("registering again after a session expiry failed", consumer=self.consumer_id, error=str(e))
            return
        self._wanted.set()

    async def _rebalance_loop(self) -> None:
        while not self._closing:
            await self._wanted.wait()
            self._wanted.clear()
            try:
                await self._synced_rebalance()
            except ZkRebalanceFailedError as e:
                log.error("rebalance failed", consumer=self.consumer_id, error=str(e))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("rebalance failed", consumer=self.consumer_id)

    async def _auto_commit_loop(self) -> None:
        interval = max(self.config.auto_commit_interval_ms, 1) / 1000
        while not self._closing:
            await asyncio.sleep(interval)
            try:
                await self.commit()
            except Exception as e:  # Kafka logs and lets it go
                log.warning("auto commit failed", consumer=self.consumer_id, error=str(e))

    async def _synced_rebalance(self) -> None:
        async with self._rebalance_lock:
            for attempt in range(self.config.rebalance_max_retries):
                if self._closing:
                    return
                self.stats.rebalance_attempts += 1
                try:
                    done = await self._rebalance()
                except Exception as e:  # the group changed under us while reading: try again
                    log.info("exception during rebalance", consumer=self.consumer_id, attempt=attempt, error=str(e))
                    done = False
                if done:
                    self.stats.rebalances += 1
                    self.rebalance_error = None
                    log.info("rebalance done", consumer=self.consumer_id, attempt=attempt,
                             partitions=sorted(str(tp) for tp in self._registry))
                    return
                async with self._fetch_lock:
                    await self._close_fetchers()
                await asyncio.sleep(self.config.rebalance_backoff_ms / 1000)
        error = ZkRebalanceFailedError(f"{self.consumer_id} can't rebalance after "
                                       f"{self.config.rebalance_max_retries} retries")
        self.rebalance_error = error
        raise error

    async def _close_fetchers(self) -> None:
        """Stop fetching the owned partitions; commit first (ownership is still ours, so the next owner
        starts where we stopped)."""
        if self._fetcher is not None:
            self._fetcher.assign([])
        if self.config.auto_commit_enable:
            await self._commit_locked()

    async def _rebalance(self) -> bool:
        az, zk = self._az, self._zk
        assert az is not None and zk is not None
        brokers = await az.call(zk.get_all_brokers)
        self.stats.zk_reads += 1 + len(brokers)
        if not brokers:
            log.warning("no brokers found when trying to rebalance", consumer=self.consumer_id)
            self._had_brokers = False
            return True
        self._had_brokers = True
        await self._ensure_fetcher(brokers)
        async with self._fetch_lock:
            await self._close_fetchers()
            released, self._registry = self._registry, {}
            self._consumed = {}
            await az.call(self._release, released)
            decision, offsets = await az.call(self._decide)
            if self._closing:
                return False
            if not await az.call(self._claim, decision):
                return False
            self._registry = decision
            self._consumed = {tp: off for tp, off in offsets.items() if off is not None and off >= 0}
            self._checkpointed = dict(self._consumed)
            fetcher = self._fetcher
            assert fetcher is not None
            fetcher.assign(decision)
            for tp, off in self._consumed.items():
                fetcher.seek(tp, off)
            # No committed offset: auto.offset.reset decides now (ListOffsets), so that the reset position
            # is what the next commit stores even if nothing is read before it (as Kafka's fetcher does).
            for tp in decision:
                if tp not in self._consumed:
                    self._consumed[tp] = await fetcher.position(tp)
        if decision:
            self._assigned.set()
        return True

    async def _ensure_fetcher(self, brokers: Mapping[int, tuple[BrokerRegistration, int]]) -> None:
        if self._fetcher is not None:
            return
        cfg = self.config
        fetcher = Consumer(
            _bootstrap(brokers), client_id=cfg.client_id or cfg.group_id, auto_offset_reset=cfg.reset_to,
            fetch_min_bytes=cfg.fetch_min_bytes, fetch_max_wait_ms=cfg.fetch_wait_max_ms,
            max_partition_fetch_bytes=cfg.fetch_message_max_bytes, request_timeout_ms=cfg.socket_timeout_ms,
            retry_backoff_ms=cfg.refresh_leader_backoff_ms)
        await fetcher.start()
        self._fetcher = fetcher

    # -- the ZooKeeper steps (run in the bridge's pool) --------------------------------------------------

    def _release(self, owned: Mapping[TopicPartition, str]) -> None:
        zk = self._zk
        assert zk is not None
        for tp in owned:
            zk.release_partition_owner(self.group_id, tp.topic, tp.partition)
            self.stats.zk_writes += 1

    def _decide(self) -> tuple[dict[TopicPartition, str], dict[TopicPartition, int | None]]:
        zk = self._zk
        assert zk is not None
        registrations = zk.get_consumer_registrations(self.group_id)
        if self.consumer_id not in registrations:
            raise ZkLayoutError(f"{paths.consumer_id_path(self.group_id, self.consumer_id)} is missing")
        wildcard = any(r.pattern != "static" for r in registrations.values())
        all_topics = zk.get_all_topics() if wildcard else []
        members = {cid: subscribed_topics(r.subscription, r.pattern, all_topics,
                                          self.config.exclude_internal_topics)
                   for cid, r in registrations.items()}
        partitions = zk.get_partitions_for_topics(members[self.consumer_id])
        decision = range_assign(self.consumer_id, members, partitions)
        offsets = zk.get_consumer_offsets(self.group_id, decision)
        self.stats.zk_reads += 1 + len(registrations) + (1 if wildcard else 0) + len(partitions) + len(decision)
        return decision, {TopicPartition(*tp): off for tp, off in offsets.items()}

    def _claim(self, decision: Mapping[TopicPartition, str]) -> bool:
        """Kafka's ``reflectPartitionOwnershipDecision``: try every claim; if any failed, give back the
        ones that succeeded."""
        zk = self._zk
        assert zk is not None
        claimed: list[TopicPartition] = []
        failed = 0
        for tp, tid in decision.items():
            self.stats.zk_writes += 1
            if zk.claim_partition_owner(self.group_id, tp.topic, tp.partition, tid):
                claimed.append(tp)
            else:
                failed += 1
        if failed:
            self.stats.owner_conflicts += failed
            log.info("partition ownership taken by another thread; backing off", consumer=self.consumer_id,
                     conflicts=failed)
            self._release(dict.fromkeys(claimed, ""))
            return False
        return True

    def __repr__(self) -> str:
        return f"ZkConsumer({self.consumer_id!r}, partitions={sorted(map(str, self._registry))})"
