"""API registry, header rules, the ApiVersions special cases and whole-frame helpers."""

from __future__ import annotations

import tempfile

import pytest

from kafka_zk.common.regions import FileRegion
from kafka_zk.protocol import apis
from kafka_zk.protocol.apis import (
    API,
    DECLARED_VERSIONS,
    ApiKey,
    decode_request,
    decode_request_frame,
    decode_response,
    encode_request,
    encode_request_frame,
    encode_response,
    encode_response_frame,
    encode_to_bytes,
    expects_response,
    request_header_version,
    response_header_version,
)
from kafka_zk.protocol.errors import ProtocolDecodeError, UnsupportedVersionError
from kafka_zk.protocol.framing import FrameDecoder
from kafka_zk.protocol.headers import RequestHeader, decode_response_header, encode_response_header, peek_request_header
from kafka_zk.protocol.messages import (
    ApiVersionsRequest,
    ApiVersionsResponse,
    FetchResponse,
    HeartbeatResponse,
    MetadataRequest,
    ProduceRequest,
)
from kafka_zk.protocol.messages.api_versions import unsupported_version_response, valid_client_software


def test_registry_shape() -> None:
    for key, (req, resp) in API.items():
        assert req.kind == "request" and resp.kind == "response"
        assert DECLARED_VERSIONS[int(key)] == req.valid_versions == resp.valid_versions
    assert apis.declared_versions(ApiKey.API_VERSIONS) == (0, 4)
    assert apis.api_name(23) == "OffsetForLeaderEpoch" and apis.api_name(999) == "Unknown(999)"


def test_header_versions_follow_flexibility() -> None:
    assert request_header_version(ApiKey.METADATA, 4) == 1
    assert request_header_version(ApiKey.API_VERSIONS, 3) == 2
    assert request_header_version(ApiKey.API_VERSIONS, 7) == 2  # beyond our range, still flexible
    assert request_header_version(ApiKey.CONTROLLED_SHUTDOWN, 0) == 0
    assert request_header_version(999, 0) == 1
    assert response_header_version(ApiKey.HEARTBEAT, 4) == 1
    assert response_header_version(ApiKey.HEARTBEAT, 3) == 0
    assert response_header_version(ApiKey.FETCH, 12) == 1
    for v in range(5):
        assert response_header_version(ApiKey.API_VERSIONS, v) == 0  # always v0


def test_unknown_keys_and_versions_raise_unsupported_version() -> None:
    with pytest.raises(UnsupportedVersionError) as info:
        decode_request(ApiKey.DESCRIBE_ACLS, 0, b"")
    assert info.value.api_key == ApiKey.DESCRIBE_ACLS and "DescribeAcls" in str(info.value)
    with pytest.raises(UnsupportedVersionError):
        encode_response(ApiKey.PRODUCE, 10, None)
    frame = RequestHeader(ApiKey.FETCH, 99, 5, "c").encode(1) + b"junk"
    with pytest.raises(UnsupportedVersionError) as info2:
        decode_request_frame(frame)
    assert info2.value.header.correlation_id == 5  # type: ignore[attr-defined]


def test_api_versions_request_at_an_unknown_version_is_answered_in_v0_layout() -> None:
    # kafka-python opens with v4; a broker advertising 0-3 must answer v0 / error 35, from the first 8 bytes.
    request = bytes.fromhex("0012000500000007") + b"\x00\x02kp" + b"\x00" + b"\x99garbage"
    api_key, version, correlation_id = peek_request_header(request)
    assert (api_key, version, correlation_id) == (18, 5, 7)
    frame = encode_to_bytes(encode_response_frame(correlation_id, 18, 0, unsupported_version_response(0, 3)))
    assert frame == (
        b"\x00\x00\x00\x10"  # size
        + b"\x00\x00\x00\x07"  # header v0: correlation id only
        + b"\x00\x23"  # error 35
        + b"\x00\x00\x00\x01" + b"\x00\x12\x00\x00\x00\x03"  # [ApiVersions 0-3]
    )


def test_api_versions_v3_response_has_header_v0_and_empty_tag_section() -> None:
    resp = ApiVersionsResponse(api_keys=[ApiVersionsResponse.ApiVersion(api_key=0, min_version=3, max_version=8)])
    frame = encode_to_bytes(encode_response_frame(1, 18, 3, resp))
    # size, corr id (no tag byte), error, compact array(1+1), entry + its tags, throttle, top-level tags
    assert frame[4:] == bytes.fromhex("00000001" "0000" "02" "000000030008" "00" "00000000" "00")
    assert decode_response(18, 3, frame[8:]) == resp


def test_flexible_response_header_carries_a_tag_byte() -> None:
    frame = encode_to_bytes(encode_response_frame(9, ApiKey.HEARTBEAT, 4, HeartbeatResponse(error_code=27)))
    assert frame[4:9] == b"\x00\x00\x00\x09\x00"
    assert decode_response_header(frame[4:], 1) == (9, 5)
    assert encode_response_header(9, 0) == b"\x00\x00\x00\x09"


def test_client_software_validation() -> None:
    assert valid_client_software("confluent-kafka-python", "2.16.1-rdkafka-2.16.0")
    assert not valid_client_software("bad name", "1.0")
    assert not valid_client_software("x", "-1")


def test_expects_response_only_false_for_acks_zero_produce() -> None:
    assert not expects_response(ApiKey.PRODUCE, ProduceRequest(acks=0))
    assert expects_response(ApiKey.PRODUCE, ProduceRequest(acks=1))
    assert expects_response(ApiKey.METADATA, MetadataRequest())


def test_request_frame_roundtrip_through_frame_decoder() -> None:
    header = RequestHeader(ApiKey.METADATA, 4, 42, "kafka-zk")
    body = MetadataRequest(topics=None, allow_auto_topic_creation=False)
    data = encode_request_frame(header, body)
    (frame,) = FrameDecoder().feed(data)
    got_header, got_body = decode_request_frame(frame)
    assert got_header == header and got_body == body
    assert encode_to_bytes(encode_request(3, 4, body)) == bytes(frame)[len(header.encode()):]


def test_api_versions_v3_request_header_v2() -> None:
    header = RequestHeader(ApiKey.API_VERSIONS, 3, 1, "kafka-zk")
    body = ApiVersionsRequest(client_software_name="kafka-zk", client_software_version="0.1.0")
    data = encode_request_frame(header, body)
    assert data[4:14] == bytes.fromhex("0012000300000001" "0008")  # int16 client id length in header v2
    (frame,) = FrameDecoder().feed(data)
    assert decode_request_frame(frame)[1].client_software_name == "kafka-zk"


def test_response_frame_with_file_region_keeps_region_and_correct_size() -> None:
    with tempfile.TemporaryFile() as f:
        f.write(b"R" * 100)
        f.flush()
        resp = FetchResponse(responses=[FetchResponse.FetchableTopicResponse(topic="t", partitions=[
            FetchResponse.PartitionData(partition_index=0, high_watermark=1, records=FileRegion(f, 0, 100))])])
        chunks = encode_response_frame(3, ApiKey.FETCH, 10, resp)
        assert isinstance(chunks[-1], FileRegion)
        data = encode_to_bytes(chunks)
        assert int.from_bytes(data[:4], "big") == len(data) - 4
        assert decode_response_header(data[4:], 0) == (3, 4)
        back = decode_response(ApiKey.FETCH, 10, data[8:])
        assert bytes(back.responses[0].partitions[0].records) == b"R" * 100


def test_request_header_errors() -> None:
    with pytest.raises(ProtocolDecodeError):
        peek_request_header(b"\x00\x03\x00")
    with pytest.raises(ProtocolDecodeError):
        RequestHeader.decode(bytes.fromhex("0003000400000001") + b"\x00\x09ab")
    with pytest.raises(ProtocolDecodeError):
        RequestHeader.decode(bytes.fromhex("0003000400000001") + b"\x00\x02\xff\xfe")
    header, length = RequestHeader.decode(bytes.fromhex("0003000400000001") + b"\xff\xff")
    assert header.client_id is None and length == 10


def test_bytes_after_a_requests_last_field_are_ignored_as_kafka_does() -> None:
    """librdkafka 2.16's all-topics Metadata v11 request (captured from confluent-kafka), 3 bytes longer
    than v11's layout: Kafka 2.8 answers it, so must we."""
    from kafka_zk.protocol.apis import decode_request_frame

    frame = bytes.fromhex("0003000b00000003000772646b61666b610000000000010000")
    header, request = decode_request_frame(frame)
    assert (header.api_key, header.api_version, header.client_id) == (3, 11, "rdkafka")
    assert request.topics is None and request.allow_auto_topic_creation is False
