"""Request frames captured from real clients decode with our declarations and re-encode byte for byte.

The frames (``../shared/reference/golden/<client>/*.bin``, without the size prefix) come from
confluent-kafka 2.16, kcat (librdkafka 2.0.2), kafka-python 3.0 and aiokafka 0.14 talking to a broker that
advertised the recommended version set.  Skipped when ``../shared`` is not present.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kafka_zk.protocol.apis import ApiKey, decode_request_frame, encode_request_frame
from kafka_zk.protocol.headers import RequestHeader

GOLDEN_DIR = Path(__file__).resolve().parents[3] / "shared" / "reference" / "golden"


def _cases() -> list[Any]:
    if not GOLDEN_DIR.is_dir():
        return []
    cases = []
    for index in sorted(GOLDEN_DIR.glob("*/index.json")):
        for entry in json.loads(index.read_text()):
            path = index.parent / entry["file"]
            cases.append(pytest.param(path, entry, id=f"{index.parent.name}/{entry['file']}"))
    return cases


CASES = _cases()
pytestmark = pytest.mark.skipif(not CASES, reason="../shared/reference/golden not present")


@pytest.mark.parametrize(("path", "entry"), CASES)
def test_golden_frame_decodes_and_reencodes_identically(path: Path, entry: dict[str, Any]) -> None:
    data = path.read_bytes()
    assert len(data) == entry["bytes"]
    header, body = decode_request_frame(data)  # strict: every byte must be consumed
    assert (header.api_key, header.api_version, header.correlation_id) == (
        entry["api_key"], entry["api_version"], entry["correlation_id"])
    assert header.client_id
    again = encode_request_frame(header, body)
    assert again[4:] == data
    assert int.from_bytes(again[:4], "big") == len(data)


PRODUCE_CASES = [c for c in CASES if c.values[1]["api_key"] == ApiKey.PRODUCE]


@pytest.mark.parametrize(("path", "entry"), PRODUCE_CASES)
def test_golden_produce_records_are_zero_copy_views_of_a_v2_batch(path: Path, entry: dict[str, Any]) -> None:
    data = bytearray(path.read_bytes())
    _, body = decode_request_frame(memoryview(data))
    records = body.topic_data[0].partition_data[0].records
    assert isinstance(records, memoryview)
    assert records[16] == 2  # magic byte of a record batch v2
    batch_length = int.from_bytes(records[8:12], "big")
    assert batch_length + 12 == records.nbytes
    # The view aliases the frame buffer: no copy was made.
    offset = bytes(data).index(bytes(records))
    data[offset + 16] = 99
    assert records[16] == 99


def test_golden_api_versions_v3_and_v4_carry_client_software() -> None:
    seen = 0
    for param in CASES:
        path, entry = param.values
        if entry["api_key"] == ApiKey.API_VERSIONS and entry["api_version"] >= 3:
            _, body = decode_request_frame(path.read_bytes())
            assert body.client_software_name in ("confluent-kafka-python", "librdkafka", "kafka-python")
            seen += 1
    assert seen


def test_request_header_v2_keeps_int16_client_id() -> None:
    # librdkafka's ApiVersions v3 header: int16-length client id, then an empty tag section.
    frame = bytes.fromhex("0012000300000001") + b"\x00\x07rdkafka" + b"\x00"
    header, length = RequestHeader.decode(frame)
    assert header.client_id == "rdkafka" and length == len(frame)
