"""The 0.8 high-level consumer's znodes: registrations and owners as Kafka 0.8.2 writes them. Pure."""

from __future__ import annotations

import pytest

from zk_layout import paths
from zk_layout.errors import ZnodeDecodeError
from zk_layout.tree import decode_znode
from zk_layout.znodes import ConsumerPartitionOwner, ConsumerRegistration

# What a Kafka 0.8.2 ZookeeperConsumerConnector wrote (Json.encode of a Map4: insertion order, no spaces).
KAFKA_08_REGISTRATION = (b'{"version":1,"subscription":{"orders":2,"audit":1},"pattern":"static",'
                         b'"timestamp":"1416516429898"}')


def test_a_kafka_08_registration_decodes_and_is_written_back_byte_for_byte() -> None:
    path = paths.consumer_id_path("g", "g_host1-1416516429000-5f3a9c1e")
    reg = decode_znode(path, KAFKA_08_REGISTRATION)
    assert reg == ConsumerRegistration({"orders": 2, "audit": 1}, "static", 1416516429898)
    assert reg.to_json() == KAFKA_08_REGISTRATION


def test_wildcard_registrations_and_numeric_timestamps_are_accepted() -> None:
    reg = ConsumerRegistration.from_json(b'{"version":1,"subscription":{"orders-.*":3},"pattern":"white_list",'
                                         b'"timestamp":1416516429898}', "/consumers/g/ids/c")
    assert (reg.subscription, reg.pattern, reg.timestamp) == ({"orders-.*": 3}, "white_list", 1416516429898)


@pytest.mark.parametrize("raw, field", [
    (b'{"version":2,"subscription":{},"pattern":"static"}', "version"),
    (b'{"version":1,"pattern":"static"}', "subscription"),
    (b'{"version":1,"subscription":{"t":"2"},"pattern":"static"}', "subscription.t"),
    (b'{"version":1,"subscription":{"t":2},"pattern":"regex"}', "pattern"),
    (b'not json', ""),
])
def test_malformed_registrations_name_the_field(raw: bytes, field: str) -> None:
    with pytest.raises(ZnodeDecodeError) as e:
        ConsumerRegistration.from_json(raw, "/consumers/g/ids/c")
    assert e.value.field == field and "/consumers/g/ids/c" in str(e.value)


def test_owner_znodes_hold_the_thread_id_as_text() -> None:
    path = paths.consumer_owner_path("g", "orders", 3)
    assert path == "/consumers/g/owners/orders/3"
    owner = decode_znode(path, b"g_host1-1416516429000-5f3a9c1e-1")
    assert owner == ConsumerPartitionOwner("g_host1-1416516429000-5f3a9c1e-1")
    assert owner.consumer_id == "g_host1-1416516429000-5f3a9c1e"
    assert owner.to_json() == b"g_host1-1416516429000-5f3a9c1e-1"
    with pytest.raises(ZnodeDecodeError):
        decode_znode(path, b"")


def test_consumer_paths_refuse_names_that_escape_their_parent() -> None:
    assert paths.consumer_ids_path("g") == "/consumers/g/ids"
    assert paths.consumer_id_path("g", "g_c-1") == "/consumers/g/ids/g_c-1"
    for bad in ("", "..", "a/b"):
        with pytest.raises(ValueError):
            paths.consumer_id_path("g", bad)
