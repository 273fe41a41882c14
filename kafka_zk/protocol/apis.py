"""API keys, the registry of declared messages, and whole-message helpers.

``API[key] -> (request_message, response_message)`` for every API we declare.  The declared range of an
API (:func:`declared_versions`) is what this package can encode and decode; the broker's dispatch table
decides what it *advertises* (a subset) — nothing here is advertised by itself.

Helpers take and return bodies without the size prefix or header (``decode_request`` / ``encode_response``
...) or whole frames (``encode_request_frame`` / ``encode_response_frame``, which add the header and the
size prefix; ``decode_request_frame`` for the broker side).  Errors: :class:`UnsupportedVersionError` for an
undeclared key or version, :class:`ProtocolDecodeError` / :class:`ProtocolEncodeError` for bad bytes or
objects.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from kafka_zk.protocol import messages as m
from kafka_zk.protocol.errors import ProtocolDecodeError, UnsupportedVersionError
from kafka_zk.protocol.headers import RequestHeader, encode_response_header, peek_request_header
from kafka_zk.protocol.primitives import Chunk, chunks_to_bytes
from kafka_zk.protocol.schema import Message


class ApiKey(IntEnum):
    """Kafka's API keys, named as in ``org.apache.kafka.common.protocol.ApiKeys`` (up to Kafka 2.8/3.0)."""

    PRODUCE = 0
    FETCH = 1
    LIST_OFFSETS = 2
    METADATA = 3
    LEADER_AND_ISR = 4
    STOP_REPLICA = 5
    UPDATE_METADATA = 6
    CONTROLLED_SHUTDOWN = 7
    OFFSET_COMMIT = 8
    OFFSET_FETCH = 9
    FIND_COORDINATOR = 10
    JOIN_GROUP = 11
    HEARTBEAT = 12
    LEAVE_GROUP = 13
    SYNC_GROUP = 14
    DESCRIBE_GROUPS = 15
    LIST_GROUPS = 16
    SASL_HANDSHAKE = 17
    API_VERSIONS = 18
    CREATE_TOPICS = 19
    DELETE_TOPICS = 20
    DELETE_RECORDS = 21
    INIT_PRODUCER_ID = 22
    OFFSET_FOR_LEADER_EPOCH = 23
    ADD_PARTITIONS_TO_TXN = 24
    ADD_OFFSETS_TO_TXN = 25
    END_TXN = 26
    WRITE_TXN_MARKERS = 27
    TXN_OFFSET_COMMIT = 28
    DESCRIBE_ACLS = 29
    CREATE_ACLS = 30
    DELETE_ACLS = 31
    DESCRIBE_CONFIGS = 32
    ALTER_CONFIGS = 33
    ALTER_REPLICA_LOG_DIRS = 34
    DESCRIBE_LOG_DIRS = 35
    SASL_AUTHENTICATE = 36
    CREATE_PARTITIONS = 37
    CREATE_DELEGATION_TOKEN = 38
    RENEW_DELEGATION_TOKEN = 39
    EXPIRE_DELEGATION_TOKEN = 40
    DESCRIBE_DELEGATION_TOKEN = 41
    DELETE_GROUPS = 42
    ELECT_LEADERS = 43
    INCREMENTAL_ALTER_CONFIGS = 44
    ALTER_PARTITION_REASSIGNMENTS = 45
    LIST_PARTITION_REASSIGNMENTS = 46
    OFFSET_DELETE = 47
    DESCRIBE_CLIENT_QUOTAS = 48
    ALTER_CLIENT_QUOTAS = 49
    DESCRIBE_USER_SCRAM_CREDENTIALS = 50
    ALTER_USER_SCRAM_CREDENTIALS = 51
    VOTE = 52
    BEGIN_QUORUM_EPOCH = 53
    END_QUORUM_EPOCH = 54
    DESCRIBE_QUORUM = 55
    ALTER_PARTITION = 56
    UPDATE_FEATURES = 57
    ENVELOPE = 58
    FETCH_SNAPSHOT = 59
    DESCRIBE_CLUSTER = 60
    DESCRIBE_PRODUCERS = 61


API: dict[ApiKey, tuple[Message, Message]] = {
    ApiKey.PRODUCE: (m.PRODUCE_REQUEST, m.PRODUCE_RESPONSE),
    ApiKey.FETCH: (m.FETCH_REQUEST, m.FETCH_RESPONSE),
    ApiKey.LIST_OFFSETS: (m.LIST_OFFSETS_REQUEST, m.LIST_OFFSETS_RESPONSE),
    ApiKey.METADATA: (m.METADATA_REQUEST, m.METADATA_RESPONSE),
    ApiKey.OFFSET_COMMIT: (m.OFFSET_COMMIT_REQUEST, m.OFFSET_COMMIT_RESPONSE),
    ApiKey.OFFSET_FETCH: (m.OFFSET_FETCH_REQUEST, m.OFFSET_FETCH_RESPONSE),
    ApiKey.FIND_COORDINATOR: (m.FIND_COORDINATOR_REQUEST, m.FIND_COORDINATOR_RESPONSE),
    ApiKey.JOIN_GROUP: (m.JOIN_GROUP_REQUEST, m.JOIN_GROUP_RESPONSE),
    ApiKey.HEARTBEAT: (m.HEARTBEAT_REQUEST, m.HEARTBEAT_RESPONSE),
    ApiKey.LEAVE_GROUP: (m.LEAVE_GROUP_REQUEST, m.LEAVE_GROUP_RESPONSE),
    ApiKey.SYNC_GROUP: (m.SYNC_GROUP_REQUEST, m.SYNC_GROUP_RESPONSE),
    ApiKey.DESCRIBE_GROUPS: (m.DESCRIBE_GROUPS_REQUEST, m.DESCRIBE_GROUPS_RESPONSE),
    ApiKey.LIST_GROUPS: (m.LIST_GROUPS_REQUEST, m.LIST_GROUPS_RESPONSE),
    ApiKey.API_VERSIONS: (m.API_VERSIONS_REQUEST, m.API_VERSIONS_RESPONSE),
    ApiKey.CREATE_TOPICS: (m.CREATE_TOPICS_REQUEST, m.CREATE_TOPICS_RESPONSE),
    ApiKey.DELETE_TOPICS: (m.DELETE_TOPICS_REQUEST, m.DELETE_TOPICS_RESPONSE),
    ApiKey.INIT_PRODUCER_ID: (m.INIT_PRODUCER_ID_REQUEST, m.INIT_PRODUCER_ID_RESPONSE),
    ApiKey.OFFSET_FOR_LEADER_EPOCH: (m.OFFSET_FOR_LEADER_EPOCH_REQUEST, m.OFFSET_FOR_LEADER_EPOCH_RESPONSE),
    ApiKey.DESCRIBE_CONFIGS: (m.DESCRIBE_CONFIGS_REQUEST, m.DESCRIBE_CONFIGS_RESPONSE),
    ApiKey.ALTER_CONFIGS: (m.ALTER_CONFIGS_REQUEST, m.ALTER_CONFIGS_RESPONSE),
    ApiKey.CREATE_PARTITIONS: (m.CREATE_PARTITIONS_REQUEST, m.CREATE_PARTITIONS_RESPONSE),
    ApiKey.DELETE_GROUPS: (m.DELETE_GROUPS_REQUEST, m.DELETE_GROUPS_RESPONSE),
    ApiKey.ELECT_LEADERS: (m.ELECT_LEADERS_REQUEST, m.ELECT_LEADERS_RESPONSE),
    ApiKey.DESCRIBE_LOG_DIRS: (m.DESCRIBE_LOG_DIRS_REQUEST, m.DESCRIBE_LOG_DIRS_RESPONSE),
    ApiKey.DESCRIBE_CLUSTER: (m.DESCRIBE_CLUSTER_REQUEST, m.DESCRIBE_CLUSTER_RESPONSE),
    ApiKey.INCREMENTAL_ALTER_CONFIGS: (
        m.INCREMENTAL_ALTER_CONFIGS_REQUEST,
        m.INCREMENTAL_ALTER_CONFIGS_RESPONSE,
    ),
    ApiKey.ALTER_PARTITION_REASSIGNMENTS: (
        m.ALTER_PARTITION_REASSIGNMENTS_REQUEST,
        m.ALTER_PARTITION_REASSIGNMENTS_RESPONSE,
    ),
    ApiKey.LIST_PARTITION_REASSIGNMENTS: (
        m.LIST_PARTITION_REASSIGNMENTS_REQUEST,
        m.LIST_PARTITION_REASSIGNMENTS_RESPONSE,
    ),
    ApiKey.OFFSET_DELETE: (m.OFFSET_DELETE_REQUEST, m.OFFSET_DELETE_RESPONSE),
}

for _key, (_req, _resp) in API.items():
    assert _req.api_key == _resp.api_key == _key, _key
    assert _req.valid_versions == _resp.valid_versions, _key
    assert _req.flexible_versions == _resp.flexible_versions, _key

#: Declared (encodable and decodable) version range per API key.
DECLARED_VERSIONS: dict[int, tuple[int, int]] = {int(k): req.valid_versions for k, (req, _) in API.items()}


def api_name(api_key: int) -> str:
    """Kafka's CamelCase name of an API key (``"OffsetForLeaderEpoch"``), or ``"Unknown(<key>)"``."""
    try:
        return "".join(part.capitalize() for part in ApiKey(api_key).name.split("_"))
    except ValueError:
        return f"Unknown({api_key})"


def _undeclared(api_key: int) -> UnsupportedVersionError:
    return UnsupportedVersionError(api_key, None, f"API key {api_key} ({api_name(api_key)}) is not declared")


def declared_versions(api_key: int) -> tuple[int, int]:
    """The declared version range of an API.  Raises :class:`UnsupportedVersionError` for an unknown key."""
    try:
        return DECLARED_VERSIONS[api_key]
    except KeyError:
        raise _undeclared(api_key) from None


def _messages(api_key: int) -> tuple[Message, Message]:
    try:
        return API[api_key]  # type: ignore[index]
    except KeyError:
        raise _undeclared(api_key) from None


def request_message(api_key: int) -> Message:
    return _messages(api_key)[0]


def response_message(api_key: int) -> Message:
    return _messages(api_key)[1]


def request_header_version(api_key: int, version: int) -> int:
    """2 for flexible versions, else 1 (0 only for ControlledShutdown v0).

    Versions above our declared range count as flexible when the API's flexible range is open-ended, so
    the header of e.g. an ApiVersions v5 request is still parsed correctly.  Undeclared keys get 1.
    """
    if api_key == ApiKey.CONTROLLED_SHUTDOWN and version == 0:
        return 0
    pair = API.get(api_key)  # type: ignore[call-overload]
    if pair is None:
        return 1
    return 2 if pair[0].is_flexible(version) else 1


def response_header_version(api_key: int, version: int) -> int:
    """1 for flexible versions, else 0 — except ApiVersions, whose responses always use header v0."""
    if api_key == ApiKey.API_VERSIONS:
        return 0
    pair = API.get(api_key)  # type: ignore[call-overload]
    if pair is None:
        return 0
    return 1 if pair[1].is_flexible(version) else 0


def decode_request(api_key: int, version: int, body: bytes | bytearray | memoryview) -> Any:
    """Decode a request body.  Raises UnsupportedVersionError or ProtocolDecodeError."""
    return request_message(api_key).decode(version, body)


def encode_request(api_key: int, version: int, obj: Any) -> list[Chunk]:
    """Encode a request body into chunks.  Raises UnsupportedVersionError or ProtocolEncodeError."""
    return request_message(api_key).encode(version, obj)


def decode_response(api_key: int, version: int, body: bytes | bytearray | memoryview) -> Any:
    """Decode a response body.  Raises UnsupportedVersionError or ProtocolDecodeError."""
    return response_message(api_key).decode(version, body)


def encode_response(api_key: int, version: int, obj: Any) -> list[Chunk]:
    """Encode a response body into chunks (``bytes`` and ``FileRegion``, adjacent bytes coalesced)."""
    return response_message(api_key).encode(version, obj)


def encode_to_bytes(chunks: list[Chunk]) -> bytes:
    """Materialise chunks (reading file regions) — for tests and our client."""
    return chunks_to_bytes(chunks)


def expects_response(api_key: int, obj: Any) -> bool:
    """Whether the broker answers this request: everything except Produce with ``acks == 0``."""
    return not (api_key == ApiKey.PRODUCE and getattr(obj, "acks", None) == 0)


def encode_request_frame(header: RequestHeader, obj: Any) -> bytes:
    """A complete request frame (size prefix, header at the implied version, body) as one ``bytes``."""
    message = request_message(header.api_key)
    prefix = header.encode(request_header_version(header.api_key, header.api_version))
    return chunks_to_bytes(message.encode(header.api_version, obj, prefix=prefix, sized=True))


def encode_response_frame(correlation_id: int, api_key: int, version: int, obj: Any) -> list[Chunk]:
    """A complete response frame as chunks: size prefix, response header (v0 for ApiVersions), body.

    File regions in ``RECORDS`` fields stay separate chunks for ``sendfile``.
    """
    message = response_message(api_key)
    prefix = encode_response_header(correlation_id, response_header_version(api_key, version))
    return message.encode(version, obj, prefix=prefix, sized=True)


def decode_request_frame(frame: bytes | bytearray | memoryview) -> tuple[RequestHeader, Any]:
    """Decode header and body of one request frame (without size prefix).

    Raises :class:`UnsupportedVersionError` (unknown key or version; the header is available as
    ``exc.header``) or :class:`ProtocolDecodeError`.
    """
    api_key, api_version, correlation_id = peek_request_header(frame)
    try:
        message = request_message(api_key)
        message.check_version(api_version)
    except UnsupportedVersionError as exc:
        # Only the first 8 bytes are trusted for a request we do not understand; the client id is a bonus.
        try:
            exc.header = RequestHeader.decode(frame)[0]  # type: ignore[attr-defined]
        except ProtocolDecodeError:
            exc.header = RequestHeader(api_key, api_version, correlation_id)  # type: ignore[attr-defined]
        raise
    header, offset = RequestHeader.decode(frame)
    view = frame if isinstance(frame, memoryview) else memoryview(frame)
    return header, message.decode(header.api_version, view[offset:])
