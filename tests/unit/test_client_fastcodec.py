"""The client's tuned codec writes exactly the bytes :mod:`kafka_zk.record` writes and reads back what it
reads, for any records (hypothesis), every codec, and rejects truncated data instead of inventing records."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kafka_zk.client.consumer import ConsumerRecord
from kafka_zk.client.fastcodec import decode_records_into, encode_batch, encode_record
from kafka_zk.common.errors import CorruptRecordError
from kafka_zk.record import CompressionType, RecordBatchBuilder, RecordBatchView

blobs = st.one_of(st.none(), st.binary(max_size=300), st.just(b"L" * 16400))  # past the varint table
headers = st.lists(st.tuples(st.text(max_size=8), st.one_of(st.none(), st.binary(max_size=20))), max_size=3)
records = st.lists(st.tuples(st.integers(0, 40000), blobs, blobs, headers), min_size=1, max_size=8)


@settings(max_examples=80, deadline=None)
@given(records, st.sampled_from([CompressionType.NONE, CompressionType.GZIP, CompressionType.LZ4]),
       st.integers(-1, 2**40), st.integers(-1, 100), st.integers(-1, 2**31 - 1))
def test_batches_are_byte_identical_to_the_record_builder(
        recs: list, codec: int, pid: int, epoch: int, seq: int) -> None:
    base_ts = 1_700_000_000_000
    b = RecordBatchBuilder(codec, pid, epoch, seq)
    encoded = []
    for i, (dt, k, v, h) in enumerate(recs):
        b.append(base_ts + dt, k, v, h)
        encoded.append(encode_record(i, dt - recs[0][0], k, v, h))
    ts = [base_ts + dt for dt, *_ in recs]
    ours = encode_batch(encoded, len(recs), ts[0], max(ts), codec, pid, epoch, seq)
    view = RecordBatchView(ours)
    view.validate()
    assert [(r.timestamp, r.key, r.value, tuple(r.headers)) for r in view.records()] == [
        (t, k, v, tuple(h)) for t, (_, k, v, h) in zip(ts, recs)]
    if codec == CompressionType.NONE:
        assert ours == b.build()


@settings(max_examples=80, deadline=None)
@given(records, st.integers(0, 5))
def test_decoding_matches_the_record_package(recs: list, skip: int) -> None:
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


def test_truncated_sections_raise() -> None:
    section = encode_record(0, 0, b"key", b"value" * 10, [("h", b"x")])
    for cut in range(1, len(section)):
        with pytest.raises(CorruptRecordError):
            decode_records_into(section[:cut], 1, 0, 0, None, 0, ConsumerRecord, "t", 0, 0, -1, [])
