"""Cross-check against an independent implementation: aiokafka 0.14's protocol structs.

For every (api, version) that both aiokafka and we declare, objects generated from *our* declaration are
encoded by us, decoded by aiokafka and re-encoded by aiokafka: the bytes must be identical.  That proves
both sides agree on the layout (a field aiokafka does not expect would be lost or misread and change the
bytes).  Requests and responses alike; skipped if aiokafka is not installed.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from kafka_zk.protocol.apis import API
from kafka_zk.protocol.primitives import chunks_to_bytes
from kafka_zk.protocol.schema import Message

from kafka_zk.protocol.strategies import message_strategy

aiokafka_protocol = pytest.importorskip("aiokafka.protocol")
from aiokafka.protocol.api import Request, Response  # noqa: E402

MODULES = ["admin", "commit", "coordination", "fetch", "group", "metadata", "offset", "produce", "transaction"]


def _aiokafka_structs() -> dict[tuple[str, int, int], Any]:
    found: dict[tuple[str, int, int], Any] = {}
    for name in MODULES:
        module = importlib.import_module(f"aiokafka.protocol.{name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if not hasattr(cls, "SCHEMA") or not isinstance(getattr(cls, "API_VERSION", None), int):
                continue
            if issubclass(cls, Response):
                kind = "response"
            elif not issubclass(cls, Request) and "Request" in cls.__name__:
                kind = "request"
            else:
                continue
            oracle: Any = cls
            found[(kind, oracle.API_KEY, oracle.API_VERSION)] = oracle
    return found


#: Where aiokafka itself deviates from Kafka's spec (checked against the JSON specs in test_protocol_specs).
ORACLE_BUGS = {
    ("ListOffsetsRequest", 4): "aiokafka declares current_leader_epoch as int64; Kafka's spec says int32",
    ("ListOffsetsRequest", 5): "aiokafka declares current_leader_epoch as int64; Kafka's spec says int32",
}

STRUCTS = _aiokafka_structs()
CASES = []
for _key, (_req, _resp) in API.items():
    for _msg in (_req, _resp):
        for _v in _msg.versions():
            _cls = STRUCTS.get((_msg.kind, int(_key), _v))
            if _cls is not None:
                _bug = ORACLE_BUGS.get((_msg.name, _v))
                _marks = [pytest.mark.xfail(reason=_bug, strict=True)] if _bug else []
                CASES.append(pytest.param(_msg, _v, _cls, id=f"{_msg.name}-v{_v}", marks=_marks))


def test_oracle_covers_the_common_apis() -> None:
    covered = {(p.values[0].name, p.values[1]) for p in CASES}  # type: ignore[union-attr]
    for expected in [("ProduceRequest", 7), ("ProduceResponse", 8), ("FetchRequest", 10), ("FetchResponse", 10),
                     ("MetadataResponse", 4), ("JoinGroupResponse", 2), ("OffsetFetchResponse", 3)]:
        assert expected in covered


@pytest.mark.parametrize(("message", "version", "oracle"), CASES)
def test_aiokafka_reads_and_rewrites_our_bytes_identically(message: Message, version: int, oracle: Any) -> None:
    @settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None,
              phases=[Phase.explicit, Phase.reuse, Phase.generate])
    @given(message_strategy(message, version))
    def check(obj: Any) -> None:
        ours = chunks_to_bytes(message.encode(version, obj))
        theirs = oracle.decode(ours).encode()
        assert theirs == ours

    check()
