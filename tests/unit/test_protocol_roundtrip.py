"""Every declared message at every declared version survives encode -> decode -> encode unchanged.

Objects are generated from the declarations themselves (hypothesis), so a new field or version is covered
without touching this file.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from kafka_zk.protocol.apis import API
from kafka_zk.protocol.primitives import chunks_to_bytes
from kafka_zk.protocol.schema import Message
from kafka_zk.protocol.strategies import message_strategy

CASES = [
    pytest.param(message, version, id=f"{message.name}-v{version}")
    for pair in API.values()
    for message in pair
    for version in message.versions()
]


@pytest.mark.parametrize(("message", "version"), CASES)
def test_roundtrip(message: Message, version: int) -> None:
    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow],
              database=None)
    @given(message_strategy(message, version))
    def check(obj: Any) -> None:
        encoded = chunks_to_bytes(message.encode(version, obj))
        decoded = message.decode(version, encoded)
        assert decoded == obj
        assert chunks_to_bytes(message.encode(version, decoded)) == encoded

    check()


@pytest.mark.parametrize(("message", "version"), CASES)
def test_default_object_encodes_at_every_version(message: Message, version: int) -> None:
    obj = message.cls()
    encoded = message.encode_to_bytes(version, obj)
    assert message.decode(version, encoded) == obj
