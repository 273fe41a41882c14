"""Interoperability with the real clients' own record code: they decode our batches, we decode theirs.

kafka-python and aiokafka ship batch builders/readers usable offline (aiokafka both its C extension and
its pure-Python fallback). librdkafka cannot build batches offline, so its batches come from the Produce
requests captured in ``../shared/reference/golden`` (skipped when that directory is absent).
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any, Iterator

import pytest

from kafka_zk.record import CompressionType, RecordBatchBuilder, RecordBatchView, available_codecs, iter_batches
from kafka_zk.record.compression import decompress

kp_records = pytest.importorskip("kafka.record.default_records")
aio_records = pytest.importorskip("aiokafka.record.default_records")

CODECS = available_codecs()
GOLDEN = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "reference", "golden")

ROWS = [(1_700_000_000_000 + i, f"key-{i}".encode() if i % 3 else None, (f"value-{i}" * (i + 1)).encode(), [("h", b"x"), ("n", None)] if i % 2 else []) for i in range(12)]


def _builders() -> list[tuple[str, Any]]:
    out = [("kafka-python", kp_records.DefaultRecordBatchBuilder), ("aiokafka", aio_records.DefaultRecordBatchBuilder)]
    py = getattr(aio_records, "_DefaultRecordBatchBuilderPy", None)
    if py is not None and py is not aio_records.DefaultRecordBatchBuilder:
        out.append(("aiokafka-py", py))
    return out


def _readers() -> list[tuple[str, Any]]:
    out = [("kafka-python", kp_records.DefaultRecordBatch), ("aiokafka", aio_records.DefaultRecordBatch)]
    py = getattr(aio_records, "_DefaultRecordBatchPy", None)
    if py is not None and py is not aio_records.DefaultRecordBatch:
        out.append(("aiokafka-py", py))
    return out


@pytest.mark.parametrize("codec", CODECS, ids=lambda c: c.config_name)
@pytest.mark.parametrize("name,builder_cls", _builders(), ids=[n for n, _ in _builders()])
def test_we_decode_client_built_batches(name: str, builder_cls: Any, codec: CompressionType) -> None:
    builder = builder_cls(2, int(codec), False, 4242, 3, 17, 1 << 20)
    for i, (ts, k, v, h) in enumerate(ROWS):
        builder.append(i, ts, k, v, h)
    data = bytes(builder.build())
    view = RecordBatchView(data)
    view.validate()
    assert view.compression_type == codec
    assert (view.producer_id, view.producer_epoch, view.base_sequence) == (4242, 3, 17)
    got = [(r.offset, r.timestamp, r.key, r.value, [(hk, hv) for hk, hv in r.headers]) for r in view.records()]
    assert got == [(i, ts, k, v, list(h)) for i, (ts, k, v, h) in enumerate(ROWS)]


@pytest.mark.parametrize("codec", CODECS, ids=lambda c: c.config_name)
@pytest.mark.parametrize("name,reader_cls", _readers(), ids=[n for n, _ in _readers()])
def test_clients_decode_our_batches(name: str, reader_cls: Any, codec: CompressionType) -> None:
    b = RecordBatchBuilder(codec, producer_id=9, producer_epoch=1, base_sequence=100, base_offset=500, partition_leader_epoch=7)
    for ts, k, v, h in ROWS:
        b.append(ts, k, v, h)
    batch = reader_cls(bytearray(b.build()))
    assert batch.validate_crc()
    assert batch.base_offset == 500 and batch.producer_id == 9 and batch.base_sequence == 100
    got = [(r.offset, r.timestamp, r.key, r.value, [(hk, hv) for hk, hv in r.headers]) for r in batch]
    assert got == [(500 + i, ts, k, v, list(h)) for i, (ts, k, v, h) in enumerate(ROWS)]


@pytest.mark.skipif(CompressionType.SNAPPY not in CODECS, reason="python-snappy not installed")
def test_snappy_raw_and_xerial_framings_both_decode() -> None:
    import snappy  # type: ignore[import-untyped]
    from kafka import codec as kp_codec  # type: ignore[import-untyped]

    payload = b"".join(f"record {i};".encode() for i in range(20_000))
    assert decompress(CompressionType.SNAPPY, snappy.compress(payload)) == payload  # librdkafka style
    assert decompress(CompressionType.SNAPPY, kp_codec.snappy_encode(payload, xerial_compatible=True)) == payload
    assert kp_codec.snappy_decode(_our_compressed(CompressionType.SNAPPY, payload)) == payload


def _our_compressed(codec: CompressionType, payload: bytes) -> bytes:
    from kafka_zk.record.compression import compress

    return compress(codec, payload)


def _golden_produce_batches() -> Iterator[tuple[str, bytes]]:
    if not os.path.isdir(GOLDEN):
        return
    for client in sorted(os.listdir(GOLDEN)):
        index_path = os.path.join(GOLDEN, client, "index.json")
        if not os.path.exists(index_path):
            continue
        with open(index_path) as f:
            index = json.load(f)
        for entry in index:
            if entry["api_key"] != 0:  # Produce
                continue
            with open(os.path.join(GOLDEN, client, entry["file"]), "rb") as f:
                data = f.read()
            for records in _produce_records(data):
                yield f"{client}/{entry['file']}", records


def _produce_records(data: bytes) -> Iterator[bytes]:
    """Records fields of a non-flexible Produce v3-v8 request (header v1)."""
    pos = 8
    (client_len,) = struct.unpack_from(">h", data, pos)
    pos += 2 + max(client_len, 0)
    (txn_len,) = struct.unpack_from(">h", data, pos)
    pos += 2 + max(txn_len, 0) + 6  # transactional id, acks, timeout
    (ntopics,) = struct.unpack_from(">i", data, pos)
    pos += 4
    for _ in range(ntopics):
        (name_len,) = struct.unpack_from(">h", data, pos)
        pos += 2 + name_len
        (nparts,) = struct.unpack_from(">i", data, pos)
        pos += 4
        for _ in range(nparts):
            _part, rlen = struct.unpack_from(">ii", data, pos)
            pos += 8
            yield data[pos : pos + rlen]
            pos += rlen


GOLDEN_BATCHES = list(_golden_produce_batches())


@pytest.mark.skipif(not GOLDEN_BATCHES, reason="golden captures not available")
@pytest.mark.parametrize("where,records", GOLDEN_BATCHES, ids=[w for w, _ in GOLDEN_BATCHES])
def test_real_client_produce_batches_validate_and_decode(where: str, records: bytes) -> None:
    views = list(iter_batches(records))
    assert views and sum(v.size_in_bytes for v in views) == len(records)
    for view in views:
        view.validate()
        decoded = list(view.records())
        assert len(decoded) == view.records_count
        assert all(r.value is not None and r.value.startswith(b"v") for r in decoded)
        # Re-decoding with kafka-python gives the same records.
        theirs = [(r.offset, r.timestamp, r.key, r.value) for r in kp_records.DefaultRecordBatch(bytearray(view.batch))]
        assert theirs == [(r.offset, r.timestamp, r.key, r.value) for r in decoded]


@pytest.mark.skipif(not GOLDEN_BATCHES, reason="golden captures not available")
def test_golden_captures_include_a_librdkafka_compressed_batch() -> None:
    codecs = {RecordBatchView(r).compression_type for w, r in GOLDEN_BATCHES if w.startswith("confluent-kafka")}
    assert CompressionType.GZIP in codecs
