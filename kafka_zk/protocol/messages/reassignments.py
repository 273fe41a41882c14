"""AlterPartitionReassignments (45) and ListPartitionReassignments (46): KIP-455's reassignment API.

Before Kafka 2.4 a reassignment was started by writing ``/admin/reassign_partitions``; these APIs let an
admin client do it through the controller instead (other brokers answer NOT_CONTROLLER).  A partition's
``replicas`` is the target replica list; ``null`` cancels the reassignment in flight (the partition returns
to its original replicas).  Listing reports, per moving partition, the full replica set and the replicas
being added and removed.  Both have only v0, which is flexible.
"""

from __future__ import annotations

from kafka_zk.protocol.schema import ALL, INT16, INT32, STRING, Array, Field, Message, Struct

ALTER_KEY = 45
LIST_KEY = 46
VERSIONS = (0, 0)
FLEXIBLE = (0, None)

ALTER_PARTITION_REASSIGNMENTS_REQUEST = Message(
    "AlterPartitionReassignmentsRequest", ALTER_KEY, VERSIONS, FLEXIBLE, [
        Field("timeout_ms", INT32, default=60000),
        Field("topics", Array(Struct("ReassignableTopic", [
            Field("name", STRING),
            Field("partitions", Array(Struct("ReassignablePartition", [
                Field("partition_index", INT32),
                Field("replicas", Array(INT32), nullable=ALL, default=None),
            ]))),
        ]))),
    ])

ALTER_PARTITION_REASSIGNMENTS_RESPONSE = Message(
    "AlterPartitionReassignmentsResponse", ALTER_KEY, VERSIONS, FLEXIBLE, [
        Field("throttle_time_ms", INT32),
        Field("error_code", INT16),
        Field("error_message", STRING, nullable=ALL),
        Field("responses", Array(Struct("ReassignableTopicResponse", [
            Field("name", STRING),
            Field("partitions", Array(Struct("ReassignablePartitionResponse", [
                Field("partition_index", INT32),
                Field("error_code", INT16),
                Field("error_message", STRING, nullable=ALL),
            ]))),
        ]))),
    ])

LIST_PARTITION_REASSIGNMENTS_REQUEST = Message(
    "ListPartitionReassignmentsRequest", LIST_KEY, VERSIONS, FLEXIBLE, [
        Field("timeout_ms", INT32, default=60000),
        Field("topics", Array(Struct("ListPartitionReassignmentsTopics", [
            Field("name", STRING),
            Field("partition_indexes", Array(INT32)),
        ])), nullable=ALL, default=None),
    ])

LIST_PARTITION_REASSIGNMENTS_RESPONSE = Message(
    "ListPartitionReassignmentsResponse", LIST_KEY, VERSIONS, FLEXIBLE, [
        Field("throttle_time_ms", INT32),
        Field("error_code", INT16),
        Field("error_message", STRING, nullable=ALL),
        Field("topics", Array(Struct("OngoingTopicReassignment", [
            Field("name", STRING),
            Field("partitions", Array(Struct("OngoingPartitionReassignment", [
                Field("partition_index", INT32),
                Field("replicas", Array(INT32)),
                Field("adding_replicas", Array(INT32)),
                Field("removing_replicas", Array(INT32)),
            ]))),
        ]))),
    ])

AlterPartitionReassignmentsRequest = ALTER_PARTITION_REASSIGNMENTS_REQUEST.cls
AlterPartitionReassignmentsResponse = ALTER_PARTITION_REASSIGNMENTS_RESPONSE.cls
ListPartitionReassignmentsRequest = LIST_PARTITION_REASSIGNMENTS_REQUEST.cls
ListPartitionReassignmentsResponse = LIST_PARTITION_REASSIGNMENTS_RESPONSE.cls
