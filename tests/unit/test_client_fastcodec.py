"""The client's tuned codec writes exactly the bytes :mod:`kafka_zk.record` writes and reads back what it
reads, for any records (hypothesis), every codec, and rejects truncated data instead of inventing records.
Each test runs against both implementations: the C extension (when built) and the Python reference."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kafka_zk.client.consumer import ConsumerRecord
from kafka_zk.client import fastcodec
from kafka_zk.client.fastcodec import encode_batch
from kafka_zk.common.errors import CorruptRecordError
from kafka_zk.record import CompressionType, RecordBatchBuilder, RecordBatchView

blobs = st.one_of(st.none(), st.binary(max_size=300), st.just(b"L" * 16400))  # past the varint table
headers = st.lists(st.tuples(st.text(max_size=8), st.one_of(st.none(), st.binary(max_size=20))), max_size=3)
records = st.lists(st.tuples(st.integers(0, 40000), blobs, blobs, headers), min_size=1, max_size=8)

IMPLEMENTATIONS = [pytest.param((fastcodec.py_encode_record, fastcodec.py_decode_records_into), id="python")]
try:
    from kafka_zk.client import _fastcodec
except ImportError:
    _fastcodec = None  # type: ignore[assignment]
IMPLEMENTATIONS.append(pytest.param(
    (getattr(_fastcodec, "encode_record", None), getattr(_fastcodec, "decode_records_into", None)), id="c",
    marks=pytest.mark.skipif(_fastcodec is None, reason="the C extension is not built (no C compiler)")))
each_codec = pytest.mark.parametrize("codec", IMPLEMENTATIONS)


def test_the_client_uses_the_c_codec_when_it_is_built() -> None:
    if _fastcodec is not None and not os.environ.get("KAFKA_ZK_PURE_PYTHON"):
        assert fastcodec.ACCELERATED and fastcodec.decode_records_into is _fastcodec.decode_records_into
    else:
        assert not fastcodec.ACCELERATED and fastcodec.decode_records_into is fastcodec.py_decode_records_into


@each_codec
@settings(max_examples=80, deadline=None)
@given(records, st.sampled_from([CompressionType.NONE, CompressionType.GZIP, CompressionType.LZ4]),
       st.integers(-1, 2**40), st.integers(-1, 100), st.integers(-1, 2**31 - 1))
def test_batches_are_byte_identical_to_the_record_builder(
        codec: tuple, recs: list, compression: int, pid: int, epoch: int, seq: int) -> None:
    encode_record, _ = codec
    base_ts = 1_700_000_000_000
    b = RecordBatchBuilder(compression, pid, epoch, seq)
    encoded = []
    for i, (dt, k, v, h) in enumerate(recs):
        b.append(base_ts + dt, k, v, h)
        encoded.append(encode_record(i, dt - recs[0][0], k, v, h))
    ts = [base_ts + dt for dt, *_ in recs]
    ours = encode_batch(encoded, len(recs), ts[0], max(ts), compression, pid, epoch, seq)
    view = RecordBatchView(ours)
    view.validate()
    assert [(r.timestamp, r.key, r.value, tuple(r.headers)) for r in view.records()] == [
        (t, k, v, tuple(h)) for t, (_, k, v, h) in zip(ts, recs)]
    if compression == CompressionType.NONE:
        assert ours == b.build()


@each_codec
@settings(max_examples=80, deadline=None)
@given(records, st.integers(0, 5))
def test_decoding_matches_the_record_package(codec: tuple, recs: list, skip: int) -> None:
    _, decode_records_into = codec
    b = RecordBatchBuilder(CompressionType.NONE, base_offset=1000)
    for dt, k, v, h in recs:
        b.append(5000 + dt, k, v, h)
    view = RecordBatchView(b.build())
    h = view.header()
    out: list[ConsumerRecord] = []
    decode_records_into(bytes(view.records_section()), h.records_count, h.base_offset, h.base_timestamp, None,
                        1000 + skip, ConsumerRecord, "t", 3, 0, 7, out)
    want = [ConsumerRecord("t", 3, r.offset, r.timestamp, 0, r.key, r.value, tuple(r.headers), 7)
            for r in view.records() if r.offset >= 1000 + skip]
    assert out == want


@each_codec
def test_truncated_sections_raise(codec: tuple) -> None:
    encode_record, decode_records_into = codec
    section = encode_record(0, 0, b"key", b"value" * 10, [("h", b"x")])
    for cut in range(1, len(section)):
        with pytest.raises(CorruptRecordError):
            decode_records_into(section[:cut], 1, 0, 0, None, 0, ConsumerRecord, "t", 0, 0, -1, [])


@pytest.mark.skipif(_fastcodec is None, reason="the C extension is not built (no C compiler)")
@settings(max_examples=300, deadline=None)
@given(records, st.data())
def test_c_and_python_agree_on_damaged_sections(recs: list, data: st.DataObject) -> None:
    """Any byte changed or cut: the C decoder returns what the Python one returns, or both refuse it."""
    section = b"".join(fastcodec.py_encode_record(i, dt, k, v, h) for i, (dt, k, v, h) in enumerate(recs))
    damaged = bytearray(section)
    for _ in range(data.draw(st.integers(1, 3))):
        damaged[data.draw(st.integers(0, len(damaged) - 1))] = data.draw(st.integers(0, 255))
    damaged = damaged[:data.draw(st.integers(1, len(damaged)))]
    results = []
    for decode in (fastcodec.py_decode_records_into, _fastcodec.decode_records_into):
        out: list[ConsumerRecord] = []
        try:
            decode(bytes(damaged), len(recs), 0, 0, None, 0, ConsumerRecord, "t", 0, 0, -1, out)
            results.append(out)
        except CorruptRecordError:
            results.append("corrupt")
    assert results[0] == results[1]
