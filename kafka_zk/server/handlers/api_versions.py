"""ApiVersions (18): what this broker speaks — derived from the dispatch table, never listed by hand.

v3 requests carry the client's software name/version; bad characters get INVALID_REQUEST (Kafka's rule),
which makes librdkafka retry with v0. Requests at versions above ours never reach here: the network layer
answers them with the v0 UNSUPPORTED_VERSION body clients downgrade on.
"""

from __future__ import annotations

from kafka_zk.common.errors import ErrorCode
from kafka_zk.protocol.messages.api_versions import ApiVersionsResponse, valid_client_software
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.API_VERSIONS
VERSIONS = (0, 3)


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
    if ctx.api_version >= 3 and not valid_client_software(req.client_software_name, req.client_software_version):
        return ApiVersionsResponse(error_code=int(ErrorCode.INVALID_REQUEST), api_keys=[])
    from kafka_zk.server.dispatch import supported_api_versions

    return ApiVersionsResponse(
        error_code=0,
        api_keys=[
            ApiVersionsResponse.ApiVersion(api_key=k, min_version=lo, max_version=hi)
            for k, (lo, hi) in sorted(supported_api_versions().items())
        ],
        throttle_time_ms=0,
    )
