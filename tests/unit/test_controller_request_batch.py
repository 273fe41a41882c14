"""ControllerBrokerRequestBatch rules and the channel's response decision, without sockets."""

from __future__ import annotations

import pytest

from kafka_zk.common.control import (
    LeaderAndIsrRequest,
    StopReplicaRequest,
    UpdateMetadataRequest,
    UpdateMetadataResponse,
    decode_control,
    encode_control,
)
from kafka_zk.common.tp import TopicPartition
from kafka_zk.controller.channel import SendOutcome, classify_response
from kafka_zk.controller.context import ControllerContext, Endpoint, LeaderAndIsr, LiveBroker, ReplicaAssignment
from kafka_zk.controller.request_batch import ControllerBrokerRequestBatch, IllegalStateError

T0 = TopicPartition("t", 0)
T1 = TopicPartition("t", 1)


def _ctx() -> ControllerContext:
    ctx = ControllerContext(epoch=7, epoch_zk_version=6)
    for b in (1, 2, 3):
        ctx.add_live_broker(LiveBroker(b, (Endpoint("PLAINTEXT", f"h{b}", 9092), Endpoint("CONTROLLER", f"h{b}", 9999)),
                                       epoch=100 + b))
    ctx.set_assignment(T0, ReplicaAssignment((1, 2)))
    ctx.set_assignment(T1, ReplicaAssignment((2, 3)))
    ctx.leadership[T0] = LeaderAndIsr(1, 4, (1, 2), 7, 10)
    ctx.leadership[T1] = LeaderAndIsr(2, 2, (2, 3), 6, 3)
    return ctx


def test_order_per_broker_and_metadata_fan_out() -> None:
    ctx = _ctx()
    batch = ControllerBrokerRequestBatch(ctx, controller_id=1)
    batch.new_batch()
    batch.add_stop_replica([2], T1, delete_partition=False)
    batch.add_leader_and_isr([1, 2], T0, ctx.leadership[T0], ctx.assignment(T0), is_new=False)  # type: ignore[arg-type]
    out = batch.build()
    kinds = [(r.broker_id, type(r.message).__name__) for r in out]
    assert kinds == [
        (1, "LeaderAndIsrRequest"), (2, "LeaderAndIsrRequest"),
        (1, "UpdateMetadataRequest"), (2, "UpdateMetadataRequest"), (3, "UpdateMetadataRequest"),
        (2, "StopReplicaRequest"),
    ]
    lai = out[0].message
    assert isinstance(lai, LeaderAndIsrRequest)
    assert (lai.controller_id, lai.controller_epoch, lai.broker_epoch) == (1, 7, 101)
    (ps,) = lai.partition_states
    assert (ps.leader, ps.leader_epoch, ps.isr, ps.zk_version, ps.replicas) == (1, 4, [1, 2], 10, [1, 2])
    assert [(ll.broker_id, ll.host, ll.port) for ll in lai.live_leaders] == [(1, "h1", 9092)]
    um = out[4].message
    assert isinstance(um, UpdateMetadataRequest) and um.broker_epoch == 103
    assert [s.partition for s in um.partition_states] == [0]
    assert {b.id for b in um.live_brokers} == {1, 2, 3}
    sr = out[5].message
    assert isinstance(sr, StopReplicaRequest)
    assert [(s.partition, s.leader_epoch, s.delete_partition) for s in sr.partition_states] == [(1, 2, False)]
    assert batch.is_empty()


def test_new_batch_while_not_empty_is_illegal() -> None:
    batch = ControllerBrokerRequestBatch(_ctx(), controller_id=1)
    batch.new_batch()
    batch.add_update_metadata([1], [])
    with pytest.raises(IllegalStateError, match="not empty"):
        batch.new_batch()


def test_is_new_and_delete_are_sticky_within_a_batch() -> None:
    ctx = _ctx()
    batch = ControllerBrokerRequestBatch(ctx, controller_id=1)
    batch.add_leader_and_isr([2], T0, ctx.leadership[T0], ctx.assignment(T0), is_new=True)  # type: ignore[arg-type]
    batch.add_leader_and_isr([2], T0, ctx.leadership[T0], ctx.assignment(T0), is_new=False)  # type: ignore[arg-type]
    batch.add_stop_replica([3], T1, delete_partition=True)
    batch.add_stop_replica([3], T1, delete_partition=False)
    out = {(r.broker_id, type(r.message)): r.message for r in batch.build()}
    assert out[(2, LeaderAndIsrRequest)].partition_states[0].is_new
    assert out[(3, StopReplicaRequest)].partition_states[0].delete_partition


def test_topics_being_deleted_are_announced_with_sentinels() -> None:
    ctx = _ctx()
    ctx.topics_to_delete.add("t")
    batch = ControllerBrokerRequestBatch(ctx, controller_id=1)
    batch.add_update_metadata([1], [T0])
    batch.add_stop_replica([2], T0, delete_partition=True)
    um, sr = (r.message for r in batch.build())
    assert (um.partition_states[0].leader, um.partition_states[0].leader_epoch) == (-2, -2)
    assert sr.partition_states[0].leader_epoch == -2


def test_requests_to_brokers_not_live_are_dropped_and_offline_replicas_listed() -> None:
    ctx = _ctx()
    ctx.remove_live_broker(2)
    ctx.shutting_down.add(3)
    batch = ControllerBrokerRequestBatch(ctx, controller_id=1)
    batch.add_leader_and_isr([1, 2], T1, ctx.leadership[T1], ctx.assignment(T1), is_new=False)  # type: ignore[arg-type]
    out = batch.build()
    assert sorted({r.broker_id for r in out}) == [1, 3]  # 3 is shutting down: still told
    um = next(r.message for r in out if isinstance(r.message, UpdateMetadataRequest))
    assert um.partition_states[0].offline_replicas == [2, 3]  # shutting down counts as offline, as in Kafka


def test_classify_response() -> None:
    ok = classify_response(200, encode_control(UpdateMetadataResponse(0)))
    assert ok[0] is SendOutcome.DONE and ok[1] == UpdateMetadataResponse(0)
    assert classify_response(500, b"boom")[0] is SendOutcome.RETRY
    outcome, _, reason = classify_response(200, b"\x93garbage")
    assert outcome is SendOutcome.RETRY and reason and "undecodable" in reason
    assert decode_control(encode_control(UpdateMetadataResponse(11))).error_code == 11


def test_channel_retries_until_the_broker_answers_and_stops_when_removed() -> None:
    import asyncio

    from aiohttp import web

    from helpers import async_wait_until, free_port
    from kafka_zk.common.control import UpdateMetadataRequest as UM
    from kafka_zk.controller.channel import ControllerChannelManager

    async def run() -> None:
        port = free_port()
        got: list[UM] = []

        async def handle(request: web.Request) -> web.Response:
            got.append(decode_control(await request.read()))
            return web.Response(body=encode_control(UpdateMetadataResponse(0)))

        channel = ControllerChannelManager(1, retry_backoff_ms=20)
        channel.start()
        answers: list[object] = []
        broker = LiveBroker(2, (Endpoint("CONTROLLER", "127.0.0.1", port),), epoch=5)
        channel.add_broker(broker)
        msg = UM(controller_id=1, controller_epoch=3, broker_epoch=5, partition_states=[], live_brokers=[])
        channel.send(2, msg, answers.append)
        await asyncio.sleep(0.15)  # nothing listens yet: the request is retried, not lost
        assert answers == []
        app = web.Application()
        app.router.add_post("/control/update_metadata", handle)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            await async_wait_until(lambda: answers == [UpdateMetadataResponse(0)])
            assert got == [msg]
            channel.remove_broker(2)
            assert not channel.send(2, msg)  # removed brokers get nothing
        finally:
            await channel.shutdown()
            await runner.cleanup()

    asyncio.run(run())
