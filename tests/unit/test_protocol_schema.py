"""The schema machinery: generated classes, flexible encodings, tagged fields, records, errors."""

from __future__ import annotations

import tempfile
from typing import Any

import pytest

from kafka_zk.common.regions import FileRegion
from kafka_zk.protocol.errors import ProtocolDecodeError, ProtocolEncodeError, UnsupportedVersionError
from kafka_zk.protocol.messages import FetchResponse, ProduceRequest, ProduceResponse
from kafka_zk.protocol.messages.fetch import FETCH_RESPONSE
from kafka_zk.protocol.messages.produce import PRODUCE_REQUEST, PRODUCE_RESPONSE
from kafka_zk.protocol.primitives import chunks_to_bytes
from kafka_zk.protocol.schema import (
    ALL,
    BOOL,
    BYTES,
    INT16,
    INT32,
    INT64,
    RECORDS,
    STRING,
    UUID,
    VARINT,
    VARLONG,
    ZERO_UUID,
    Array,
    Field,
    Message,
    Struct,
)

# A synthetic message exercising every feature: versions 0-1 classic, 2-3 flexible.
WIDGET = Message("WidgetRequest", 1000, (0, 3), (2, None), [
    Field("name", STRING, nullable=(1, None)),
    Field("count", INT32),
    Field("epoch", INT64, (1, None), default=-1),
    Field("items", Array(Struct("Item", [
        Field("index", INT32),
        Field("records", RECORDS, nullable=ALL),
        Field("note", STRING, (2, None), tag=0, default="n/a"),
    ]))),
    Field("ids", Array(INT32)),
    Field("labels", Array(STRING), (1, None), nullable=(1, None)),
    Field("payload", BYTES),
    Field("flag", BOOL),
    Field("delta", VARINT),
    Field("big_delta", VARLONG),
    Field("uuid", UUID, (3, None)),
    Field("position", Struct("Position", [Field("x", INT16), Field("y", INT16)]), (2, None), tag=5),
])
Widget = WIDGET.cls


def sample() -> Any:
    return Widget(
        name="w", count=3, epoch=7,
        items=[Widget.Item(index=1, records=b"\x01\x02", note="hello"), Widget.Item(index=2, records=None)],
        ids=[4, 5], labels=["a", "bc"], payload=b"xyz", flag=True, delta=-3, big_delta=1 << 40,
        position=Widget.Position(x=1, y=-1),
    )


@pytest.mark.parametrize("version", [0, 1, 2, 3])
def test_roundtrip_every_version(version: int) -> None:
    obj = sample()
    if version == 0:
        obj.name = "w"
    data = WIDGET.encode_to_bytes(version, obj)
    back = WIDGET.decode(version, data)
    assert WIDGET.encode_to_bytes(version, back) == data
    assert back.count == 3 and back.ids == [4, 5] and back.flag is True and back.delta == -3


def test_fields_absent_at_a_version_decode_to_their_defaults() -> None:
    back = WIDGET.decode(0, WIDGET.encode_to_bytes(0, sample()))
    assert back.epoch == -1  # declared default
    assert back.labels == []  # arrays default to a fresh empty list
    assert back.items[0].note == "n/a"
    assert back.position == Widget.Position()
    assert back.uuid == ZERO_UUID


def test_flexible_versions_use_compact_lengths() -> None:
    obj = Widget(name="ab", count=0, payload=b"", ids=[], items=[], labels=None)
    classic = WIDGET.encode_to_bytes(1, obj)
    flexible = WIDGET.encode_to_bytes(2, obj)
    assert classic.startswith(b"\x00\x02ab")  # int16 length
    assert flexible.startswith(b"\x03ab")  # unsigned varint length + 1
    # null array: int32 -1 classic, a single 0 byte when flexible
    assert b"\xff\xff\xff\xff" in classic
    assert WIDGET.decode(2, flexible).labels is None


def test_tagged_fields_are_written_only_when_not_default() -> None:
    plain = Widget(items=[Widget.Item(index=1, records=b"")])
    tagged = Widget(items=[Widget.Item(index=1, records=b"", note="x")], position=Widget.Position(x=2, y=3))
    a = WIDGET.encode_to_bytes(2, plain)
    b = WIDGET.encode_to_bytes(2, tagged)
    assert len(b) > len(a)
    assert a.endswith(b"\x00")  # empty top-level tag section
    back = WIDGET.decode(2, b)
    assert back.items[0].note == "x" and back.position.x == 2 and back.position.y == 3


def test_unknown_tagged_fields_are_kept_and_reencoded() -> None:
    data = bytearray(WIDGET.encode_to_bytes(2, Widget()))
    assert data[-1] == 0
    data[-1:] = b"\x01" + b"\x07" + b"\x02" + b"\xaa\xbb"  # one tag: number 7, 2 bytes
    back = WIDGET.decode(2, bytes(data))
    assert back._unknown_tags == [(7, b"\xaa\xbb")]
    assert WIDGET.encode_to_bytes(2, back) == bytes(data)


def test_records_decode_to_a_zero_copy_view() -> None:
    data = bytearray(WIDGET.encode_to_bytes(1, Widget(items=[Widget.Item(index=1, records=b"abcdef")])))
    back = WIDGET.decode(1, memoryview(data))
    view = back.items[0].records
    assert isinstance(view, memoryview) and bytes(view) == b"abcdef"
    data[data.index(b"abcdef")] = ord("Z")
    assert bytes(view) == b"Zbcdef"


def test_file_regions_become_separate_chunks_with_bytes_coalesced() -> None:
    with tempfile.TemporaryFile() as f:
        f.write(b"0123456789" * 10)
        f.flush()
        regions = [FileRegion(f, 10, 20), FileRegion(f, 50, 5)]
        resp = FetchResponse(responses=[FetchResponse.FetchableTopicResponse(topic="t", partitions=[
            FetchResponse.PartitionData(partition_index=i, high_watermark=9, records=r) for i, r in enumerate(regions)
        ])])
        chunks = FETCH_RESPONSE.encode(10, resp)
        # records is the last field of the last partition, so the frame ends with a region
        assert [type(c) for c in chunks] == [bytes, FileRegion, bytes, FileRegion]
        assert chunks[1] is regions[0] and chunks[3] is regions[1]
        # Same bytes as encoding the data in memory.
        inline = FetchResponse(responses=[FetchResponse.FetchableTopicResponse(topic="t", partitions=[
            FetchResponse.PartitionData(partition_index=i, high_watermark=9, records=r.read())
            for i, r in enumerate(regions)
        ])])
        assert chunks_to_bytes(chunks) == FETCH_RESPONSE.encode_to_bytes(10, inline)
        back = FETCH_RESPONSE.decode(10, chunks_to_bytes(chunks))
        assert bytes(back.responses[0].partitions[1].records) == b"01234"


def test_fetch_response_defaults_are_safe_for_clients() -> None:
    part = FetchResponse.PartitionData(partition_index=0)
    assert part.records == b""  # never a null record set (librdkafka rejects it)
    assert part.preferred_read_replica == -1  # else librdkafka switches replicas
    assert part.aborted_transactions == [] and part.last_stable_offset == -1
    data = FETCH_RESPONSE.encode_to_bytes(10, FetchResponse(responses=[
        FetchResponse.FetchableTopicResponse(topic="t", partitions=[part])]))
    assert data.endswith(b"\x00\x00\x00\x00")  # records: int32 length 0


def test_produce_v8_response_always_carries_the_v8_fields() -> None:
    resp = ProduceResponse(responses=[ProduceResponse.TopicProduceResponse(name="t", partition_responses=[
        ProduceResponse.PartitionProduceResponse(index=0, base_offset=5)])])
    v7 = PRODUCE_RESPONSE.encode_to_bytes(7, resp)
    v8 = PRODUCE_RESPONSE.encode_to_bytes(8, resp)
    assert len(v8) == len(v7) + 4 + 2  # empty record_errors array + null error_message
    assert v8[-10:-4] == b"\x00\x00\x00\x00\xff\xff"


def test_one_class_per_struct_name_and_fresh_defaults() -> None:
    a, b = ProduceRequest(), ProduceRequest()
    assert a.topic_data is not b.topic_data
    assert type(PRODUCE_REQUEST.decode(3, PRODUCE_REQUEST.encode_to_bytes(3, a))) is ProduceRequest
    assert ProduceRequest.TopicProduceData is PRODUCE_REQUEST.cls.TopicProduceData
    with pytest.raises(TypeError):
        ProduceRequest(no_such_field=1)
    with pytest.raises(AttributeError):
        a.no_such_field = 1


def test_struct_equality_repr_and_to_dict() -> None:
    obj = sample()
    assert obj == sample() and obj != Widget()
    assert "WidgetRequest(name='w'" in repr(obj)
    d = obj.to_dict()
    assert d["items"][0] == {"index": 1, "records": b"\x01\x02", "note": "hello"}


def test_versions_outside_the_declared_range_are_rejected() -> None:
    with pytest.raises(UnsupportedVersionError):
        WIDGET.encode(4, Widget())
    with pytest.raises(UnsupportedVersionError):
        WIDGET.decode(-1, b"")


@pytest.mark.parametrize(("obj", "version", "path", "words"), [
    (Widget(count=1 << 31), 0, "WidgetRequest.count", "out of range for int32"),
    (Widget(name=None), 0, "WidgetRequest.name", "null is not allowed at version 0"),
    (Widget(ids=[1, "2"]), 0, "WidgetRequest.ids[1]", "expected an integer"),
    (Widget(items=[Widget.Position()]), 0, "WidgetRequest.items[0]", "expected a Item"),
    (Widget(name="x" * 40000), 2, "WidgetRequest.name", "longer than 32767"),
    (Widget(payload="text"), 1, "WidgetRequest.payload", "expected bytes"),
    (Widget(items=[Widget.Item(records=123)]), 1, "WidgetRequest.items[0].records", "expected bytes"),
])
def test_encode_errors_name_the_field(obj: Any, version: int, path: str, words: str) -> None:
    with pytest.raises(ProtocolEncodeError) as info:
        WIDGET.encode(version, obj)
    assert info.value.path == path
    assert words in str(info.value)


@pytest.mark.parametrize(("data", "words"), [
    (b"", "truncated"),
    (b"\x00", "truncated"),
    (b"\xff\xfe" + bytes(30), "WidgetRequest.name"),  # length -2
    (b"\x00\x05ab", "runs past the end"),
    (b"\x00\x00" + b"\x00\x00\x00\x01" + b"\x7f\xff\xff\xff", "exceeds the remaining bytes"),  # huge array count
])
def test_malformed_bodies_raise_protocol_decode_error(data: bytes, words: str) -> None:
    with pytest.raises(ProtocolDecodeError) as info:
        WIDGET.decode(0, data)
    assert "WidgetRequest v0" in str(info.value) and words in str(info.value)


def test_trailing_bytes_are_an_error_unless_allowed() -> None:
    data = WIDGET.encode_to_bytes(0, Widget()) + b"\x00"
    with pytest.raises(ProtocolDecodeError, match="1 unexpected trailing bytes"):
        WIDGET.decode(0, data)
    assert WIDGET.decode(0, data, allow_trailing=True) == Widget()


def test_invalid_utf8_is_a_decode_error() -> None:
    with pytest.raises(ProtocolDecodeError, match="UnicodeDecodeError"):
        WIDGET.decode(0, b"\x00\x01\xff" + bytes(40))


def test_declaration_mistakes_are_caught_early() -> None:
    with pytest.raises(ValueError, match="duplicate field"):
        Struct("Dup", [Field("a", INT32), Field("a", INT16)])
    with pytest.raises(ValueError, match="two different structs"):
        Message("MRequest", 1, (0, 0), None, [
            Field("a", Struct("S", [Field("x", INT32)])), Field("b", Struct("S", [Field("y", INT32)]))])
    with pytest.raises(ValueError, match="tagged field in a message without flexible"):
        Message("MRequest", 1, (0, 0), None, [Field("a", INT32, tag=0)])
    with pytest.raises(ValueError, match="must end in Request/Response"):
        Message("Widget", 1, (0, 0), None, [])
    with pytest.raises(TypeError, match="mutable defaults"):
        Field("a", Array(INT32), default=[])
