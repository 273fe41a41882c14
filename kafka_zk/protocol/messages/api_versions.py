"""ApiVersions (key 18): the first request on every connection; the broker lists what it supports.

Version notes: v1 adds ``throttle_time_ms``; v3 is the first flexible version and adds the client software
name/version (the broker answers 42 INVALID_REQUEST when they do not match
:data:`CLIENT_SOFTWARE_PATTERN`) and the tagged feature fields of KIP-584; v4 is byte-identical to v3.

Two rules make this API special (see ``protocol.md`` §1.4 and §2.2): the response header is *always* header
v0 (no tagged-field byte, even for a flexible body), and a request at a version the broker does not know is
answered — never dropped — with a **v0** body carrying error 35 and the broker's ApiVersions range, which
:func:`unsupported_version_response` builds.
"""

from __future__ import annotations

import re
from typing import Any

from kafka_zk.protocol.schema import BOOL, INT16, INT32, INT64, STRING, Array, Field, Message, Struct

API_KEY = 18
VERSIONS = (0, 4)
FLEXIBLE = (3, None)

#: What Kafka accepts as client_software_name / client_software_version (KIP-511).
CLIENT_SOFTWARE_PATTERN = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?")

API_VERSIONS_REQUEST = Message("ApiVersionsRequest", API_KEY, VERSIONS, FLEXIBLE, [
    Field("client_software_name", STRING, (3, None)),
    Field("client_software_version", STRING, (3, None)),
])

API_VERSIONS_RESPONSE = Message("ApiVersionsResponse", API_KEY, VERSIONS, FLEXIBLE, [
    Field("error_code", INT16),
    Field("api_keys", Array(Struct("ApiVersion", [
        Field("api_key", INT16),
        Field("min_version", INT16),
        Field("max_version", INT16),
    ]))),
    Field("throttle_time_ms", INT32, (1, None)),
    # KIP-584 feature flags: tagged, so absent from the wire unless set.
    Field("supported_features", Array(Struct("SupportedFeatureKey", [
        Field("name", STRING),
        Field("min_version", INT16),
        Field("max_version", INT16),
    ])), (3, None), tag=0),
    Field("finalized_features_epoch", INT64, (3, None), tag=1, default=-1),
    Field("finalized_features", Array(Struct("FinalizedFeatureKey", [
        Field("name", STRING),
        Field("max_version_level", INT16),
        Field("min_version_level", INT16),
    ])), (3, None), tag=2),
    Field("zk_migration_ready", BOOL, (3, None), tag=3, default=False),
])

ApiVersionsRequest = API_VERSIONS_REQUEST.cls
ApiVersionsResponse = API_VERSIONS_RESPONSE.cls


def valid_client_software(name: str, version: str) -> bool:
    """Whether a v3+ request's software name and version are acceptable (else answer INVALID_REQUEST)."""
    return bool(CLIENT_SOFTWARE_PATTERN.fullmatch(name) and CLIENT_SOFTWARE_PATTERN.fullmatch(version))


def unsupported_version_response(min_version: int, max_version: int) -> Any:
    """The answer to an ApiVersions request at an unknown version: error 35 and our ApiVersions range.

    Encode it at **v0** (with response header v0) whatever version the request had.
    """
    return ApiVersionsResponse(
        error_code=35,
        api_keys=[ApiVersionsResponse.ApiVersion(api_key=API_KEY, min_version=min_version, max_version=max_version)],
    )
