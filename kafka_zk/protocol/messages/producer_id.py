"""InitProducerId (key 22): hand an idempotent or transactional producer its producer id and epoch.

With a null ``transactional_id`` (idempotent producer) the broker allocates a fresh id from its block (blocks
are reserved in ZooKeeper's ``/latest_producer_id_block``) with epoch 0.  v1 is v0; v2 is the first flexible
version; v3 adds ``producer_id``/``producer_epoch`` so an idempotent producer can bump its epoch instead of
starting over (KIP-360); v4 is v3.
"""

from __future__ import annotations

from kafka_zk.protocol.schema import ALL, INT16, INT32, INT64, STRING, Field, Message

API_KEY = 22
VERSIONS = (0, 4)
FLEXIBLE = (2, None)

INIT_PRODUCER_ID_REQUEST = Message("InitProducerIdRequest", API_KEY, VERSIONS, FLEXIBLE, [
    Field("transactional_id", STRING, nullable=ALL),
    Field("transaction_timeout_ms", INT32),
    Field("producer_id", INT64, (3, None), default=-1),
    Field("producer_epoch", INT16, (3, None), default=-1),
])

INIT_PRODUCER_ID_RESPONSE = Message("InitProducerIdResponse", API_KEY, VERSIONS, FLEXIBLE, [
    Field("throttle_time_ms", INT32),
    Field("error_code", INT16),
    Field("producer_id", INT64, default=-1),
    Field("producer_epoch", INT16),
])

InitProducerIdRequest = INIT_PRODUCER_ID_REQUEST.cls
InitProducerIdResponse = INIT_PRODUCER_ID_RESPONSE.cls
