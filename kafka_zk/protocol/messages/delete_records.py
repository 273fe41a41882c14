"""DeleteRecords (key 21): move a partition's log start offset forward ("delete everything before N").

Sent to each partition's leader (``kafka-delete-records.sh``, ``AdminClient.deleteRecords``). An offset of -1
means "up to the high watermark". The answer's ``low_watermark`` is the lowest log start offset among the
leader and its followers once the deletion reached all of them (or the timeout passed).

Version notes: v1 is v0 (throttle before the response); v2 is the first flexible version.
"""

from __future__ import annotations

from kafka_zk.protocol.schema import INT16, INT32, INT64, STRING, Array, Field, Message, Struct

API_KEY = 21
VERSIONS = (0, 2)
FLEXIBLE = (2, None)

DELETE_RECORDS_REQUEST = Message("DeleteRecordsRequest", API_KEY, VERSIONS, FLEXIBLE, [
    Field("topics", Array(Struct("DeleteRecordsTopic", [
        Field("name", STRING),
        Field("partitions", Array(Struct("DeleteRecordsPartition", [
            Field("partition_index", INT32),
            Field("offset", INT64),
        ]))),
    ]))),
    Field("timeout_ms", INT32),
])

DELETE_RECORDS_RESPONSE = Message("DeleteRecordsResponse", API_KEY, VERSIONS, FLEXIBLE, [
    Field("throttle_time_ms", INT32),
    Field("topics", Array(Struct("DeleteRecordsTopicResult", [
        Field("name", STRING),
        Field("partitions", Array(Struct("DeleteRecordsPartitionResult", [
            Field("partition_index", INT32),
            Field("low_watermark", INT64),
            Field("error_code", INT16),
        ]))),
    ]))),
])

DeleteRecordsRequest = DELETE_RECORDS_REQUEST.cls
DeleteRecordsResponse = DELETE_RECORDS_RESPONSE.cls
