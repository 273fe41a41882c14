"""InitProducerId (22): a fresh producer id (epoch 0) for an idempotent producer.

Ids come from blocks of 1000 reserved in ``/latest_producer_id_block`` with conditional writes (Kafka's
``ProducerIdManager``), so no two brokers ever hand out the same id. Transactions are not implemented: a
request with a transactional id is answered TRANSACTIONAL_ID_AUTHORIZATION_FAILED, which clients report as a
permanent error instead of retrying forever.

v3+ (KIP-360) may carry the producer's current id and epoch so it can bump its epoch; as Kafka 2.8's
``TransactionCoordinator`` without a transactional id, an idempotent producer is "blindly" given a fresh id
with epoch 0 either way. Only one of the two set (the other -1) is INVALID_REQUEST, as Kafka's ``KafkaApis``.
"""

from __future__ import annotations

from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.protocol.messages.producer_id import InitProducerIdResponse
from kafka_zk.server.handler_api import ApiKey, BrokerServices, Request, RequestContext, Response

API_KEY = ApiKey.INIT_PRODUCER_ID
VERSIONS = (0, 4)


async def handle(broker: BrokerServices, ctx: RequestContext, req: Request) -> Response:
    if req.transactional_id is not None:
        return InitProducerIdResponse(
            throttle_time_ms=0, error_code=int(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED), producer_id=-1, producer_epoch=-1
        )
    if (req.producer_id == -1) != (req.producer_epoch == -1):
        return InitProducerIdResponse(
            throttle_time_ms=0, error_code=int(ErrorCode.INVALID_REQUEST), producer_id=-1, producer_epoch=-1
        )
    try:
        pid = await broker.producer_ids.next_id()
    except KafkaError as e:
        return InitProducerIdResponse(throttle_time_ms=0, error_code=int(e.code), producer_id=-1, producer_epoch=-1)
    return InitProducerIdResponse(throttle_time_ms=0, error_code=0, producer_id=pid, producer_epoch=0)
