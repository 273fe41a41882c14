"""``KafkaZkClient``'s 0.8 consumer-group operations against a real ZooKeeper: registration, ownership
claims that conflict, offsets."""

from __future__ import annotations

import pytest

from zk_layout import ConsumerIdTakenError, ConsumerRegistration, KafkaZkClient


def test_registration_is_ephemeral_and_a_second_session_with_the_same_id_is_refused(zk: KafkaZkClient,
                                                                                    zk_chroot: str) -> None:
    reg = ConsumerRegistration({"orders": 2}, "static", 1796000000000)
    zk.register_consumer("g", "g_a", reg)
    zk.register_consumer("g", "g_a", reg)  # our own session: a retried create is fine
    assert zk.get_consumers_in_group("g") == ["g_a"]
    assert zk.get_consumer_registrations("g") == {"g_a": reg}
    other = KafkaZkClient(zk_chroot, session_timeout_ms=6000).start()
    try:
        with pytest.raises(ConsumerIdTakenError, match="g_a"):
            other.register_consumer("g", "g_a", reg, backoff_ms=50, wait_ms=200)
        other.register_consumer("g", "g_b", reg)
        assert zk.get_consumers_in_group("g") == ["g_a", "g_b"]
    finally:
        other.close()
    assert zk.get_consumers_in_group("g") == ["g_a"]  # its session closed: its registration is gone


def test_owner_claims_conflict_until_released(zk: KafkaZkClient, zk_chroot: str) -> None:
    other = KafkaZkClient(zk_chroot, session_timeout_ms=6000).start()
    try:
        assert zk.claim_partition_owner("g", "orders", 0, "g_a-0")
        assert zk.claim_partition_owner("g", "orders", 0, "g_a-0")  # already ours
        assert not other.claim_partition_owner("g", "orders", 0, "g_b-0")
        assert other.claim_partition_owner("g", "orders", 1, "g_b-0")
        assert zk.get_partition_owners("g", "orders") == {0: "g_a-0", 1: "g_b-0"}
        zk.release_partition_owner("g", "orders", 0)
        zk.release_partition_owner("g", "orders", 0)  # idempotent
        assert other.claim_partition_owner("g", "orders", 0, "g_b-0")
    finally:
        other.close()
    assert zk.get_partition_owners("g", "orders") == {}


def test_offsets_and_partitions_are_read_pipelined(zk: KafkaZkClient) -> None:
    zk.create_topic_assignment("orders", {1: [0], 0: [0], 2: [0]})
    assert zk.get_partitions_for_topics(["orders", "missing"]) == {"orders": [0, 1, 2]}
    zk.set_consumer_offset("g", "orders", 1, 42)
    assert zk.get_consumer_offsets("g", [("orders", 0), ("orders", 1)]) == {("orders", 0): None, ("orders", 1): 42}


def test_a_consumer_without_a_reachable_zookeeper_fails_in_one_line() -> None:
    import asyncio

    from helpers import free_port
    from kafka_zk.zkconsumer import ZkConsumer
    from zk_layout import ZkConnectionError

    c = ZkConsumer(zookeeper_connect=f"127.0.0.1:{free_port()}", group_id="g", topics=["t"],
                   zookeeper_connection_timeout_ms=300)
    with pytest.raises(ZkConnectionError, match="could not connect to ZooKeeper"):
        asyncio.run(c.start())
