"""ElectLeaders (key 43): ask the controller for a leader election (KIP-460; v0 was KIP-183's preferred
replica election).

``election_type`` 0 = preferred (move leadership back to the first replica of the assignment when it is in
the ISR), 1 = unclean.  A null ``topic_partitions`` means every partition.  v1 adds ``election_type`` and a
top-level ``error_code``; v2 is the first flexible version.  In the ZooKeeper era the controller is reached
through the ``/admin/preferred_replica_election`` znode as well.
"""

from __future__ import annotations

from kafka_zk.protocol.schema import ALL, INT8, INT16, INT32, STRING, Array, Field, Message, Struct

API_KEY = 43
VERSIONS = (0, 2)
FLEXIBLE = (2, None)

ELECTION_PREFERRED = 0
ELECTION_UNCLEAN = 1

ELECT_LEADERS_REQUEST = Message("ElectLeadersRequest", API_KEY, VERSIONS, FLEXIBLE, [
    Field("election_type", INT8, (1, None)),
    Field("topic_partitions", Array(Struct("TopicPartitions", [
        Field("topic", STRING),
        Field("partitions", Array(INT32)),
    ])), nullable=ALL),
    Field("timeout_ms", INT32, default=60000),
])

ELECT_LEADERS_RESPONSE = Message("ElectLeadersResponse", API_KEY, VERSIONS, FLEXIBLE, [
    Field("throttle_time_ms", INT32),
    Field("error_code", INT16, (1, None)),
    Field("replica_election_results", Array(Struct("ReplicaElectionResult", [
        Field("topic", STRING),
        Field("partition_result", Array(Struct("PartitionResult", [
            Field("partition_id", INT32),
            Field("error_code", INT16),
            Field("error_message", STRING, nullable=ALL),
        ]))),
    ]))),
])

ElectLeadersRequest = ELECT_LEADERS_REQUEST.cls
ElectLeadersResponse = ELECT_LEADERS_RESPONSE.cls
