"""InitProducerId (22): a fresh producer id (epoch 0) for an idempotent producer.

Ids come from blocks of 1000 reserved in ``/latest_producer_id_block`` with conditional writes (Kafka's
``ProducerIdManager``), so no two brokers ever hand out the same id. Transactions are not implemented: a
request with a transactional id is answered TRANSACTIONAL_ID_AUTHORIZATION_FAILED, which clients report as a
permanent error instead of retrying forever.
"""

from __future__ import annotations

from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.protocol.messages.producer_id import InitProducerIdResponse
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.INIT_PRODUCER_ID
VERSIONS = (0, 1)


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
    if req.transactional_id is not None:
        return InitProducerIdResponse(
            throttle_time_ms=0, error_code=int(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED), producer_id=-1, producer_epoch=-1
        )
    try:
        pid = await broker.producer_ids.next_id()
    except KafkaError as e:
        return InitProducerIdResponse(throttle_time_ms=0, error_code=int(e.code), producer_id=-1, producer_epoch=-1)
    return InitProducerIdResponse(throttle_time_ms=0, error_code=0, producer_id=pid, producer_epoch=0)
