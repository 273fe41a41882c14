"""Sans-I/O Kafka wire protocol: schema machinery, message declarations, headers and framing.

Layout: :mod:`.schema` (declaration types), :mod:`.structs` (generated message classes), :mod:`.compiler`
(generated encoders/decoders), :mod:`.messages` (our declarations of each API), :mod:`.apis` (api keys,
registry, whole-message helpers), :mod:`.headers`, :mod:`.framing`, :mod:`.primitives`, :mod:`.errors`.
Nothing in this package performs I/O.
"""

from kafka_zk.protocol.apis import (
    API,
    DECLARED_VERSIONS,
    ApiKey,
    declared_versions,
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
from kafka_zk.protocol.errors import (
    FrameTooLarge,
    ProtocolDecodeError,
    ProtocolEncodeError,
    ProtocolError,
    UnsupportedVersionError,
)
from kafka_zk.protocol.framing import DEFAULT_MAX_FRAME_SIZE, FrameDecoder, frame
from kafka_zk.protocol.headers import RequestHeader, decode_response_header, encode_response_header, peek_request_header
from kafka_zk.protocol.primitives import Chunk

__all__ = [
    "API",
    "DECLARED_VERSIONS",
    "DEFAULT_MAX_FRAME_SIZE",
    "ApiKey",
    "Chunk",
    "FrameDecoder",
    "FrameTooLarge",
    "ProtocolDecodeError",
    "ProtocolEncodeError",
    "ProtocolError",
    "RequestHeader",
    "UnsupportedVersionError",
    "declared_versions",
    "decode_request",
    "decode_request_frame",
    "decode_response",
    "decode_response_header",
    "encode_request",
    "encode_request_frame",
    "encode_response",
    "encode_response_frame",
    "encode_response_header",
    "encode_to_bytes",
    "expects_response",
    "frame",
    "peek_request_header",
    "request_header_version",
    "response_header_version",
]
