"""kafka_zk.zk.bridge.AsyncZk: blocking zk_layout calls off the loop, watch and session events onto it."""

from __future__ import annotations

import asyncio
import threading

import pytest

from helpers import async_wait_until, expire_session, run_async
from kafka_zk.zk import AsyncZk
from zk_layout import ControllerMovedError, KafkaZkClient, SessionEvent, SessionState


@run_async
async def test_call_runs_off_the_loop_and_returns_or_raises(zk: KafkaZkClient) -> None:
    az = AsyncZk(zk)
    loop_thread = threading.get_ident()
    threads: list[int] = []

    def probe() -> int:
        threads.append(threading.get_ident())
        return zk.generate_broker_id()

    await az.call(zk.create_top_level_paths)
    assert await az.call(probe) == 1001
    assert threads and threads[0] != loop_thread
    await az.call(zk.register_controller_and_increment_epoch, 1)
    with pytest.raises(ControllerMovedError):
        await az.call(zk.register_controller_and_increment_epoch, 2)
    await az.aclose()


@run_async
async def test_watch_callbacks_arrive_on_the_loop_in_order(zk: KafkaZkClient) -> None:
    az = AsyncZk(zk)
    loop_thread = threading.get_ident()
    seen: list[tuple[list[str], int]] = []
    await az.call(zk.ensure_path, "/brokers/topics")
    watch = await az.watch_children("/brokers/topics", lambda ch: seen.append((ch, threading.get_ident())))
    assert seen == [([], loop_thread)]  # the initial state is delivered before watch_children returns
    for t in ("a", "b", "c"):
        await az.call(zk.create_topic_assignment, t, {0: [1]})
        created = [t]
        await async_wait_until(lambda created=created: seen[-1][0][-1:] == created)
    assert all(tid == loop_thread for _, tid in seen)
    lengths = [len(ch) for ch, _ in seen]
    assert lengths == sorted(lengths)  # never delivered out of order

    # async callbacks run as tasks the bridge owns
    got: asyncio.Queue[bytes | None] = asyncio.Queue()

    async def on_data(data: bytes | None, stat: object) -> None:
        await got.put(data)

    await az.watch_data("/controller", on_data)
    assert await asyncio.wait_for(got.get(), 5) is None
    await az.call(zk.register_controller_and_increment_epoch, 3)
    assert b'"brokerid":3' in (await asyncio.wait_for(got.get(), 5) or b"")

    watch.cancel()
    n = len(seen)
    await az.call(zk.create_topic_assignment, "d", {0: [1]})
    await az.call(zk.kazoo.sync, "/brokers/topics")
    await asyncio.sleep(0.05)
    assert len(seen) == n
    await az.aclose()


@run_async
async def test_session_events_are_delivered_on_the_loop(zk: KafkaZkClient) -> None:
    az = AsyncZk(zk)
    events: list[SessionEvent] = []
    az.add_session_listener(events.append)
    await az.call(expire_session, zk.kazoo)
    await async_wait_until(lambda: any(e.state is SessionState.CONNECTED and e.new_session for e in events))
    assert [e.state for e in events if e.state is not SessionState.SUSPENDED][:2] == [SessionState.EXPIRED,
                                                                                     SessionState.CONNECTED]
    await az.aclose()
