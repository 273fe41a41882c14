"""What a Kafka 2.8.2 broker in ZooKeeper mode advertises in ApiVersions, as data: the yardstick for ours.

``KAFKA_2_8[api_key] = (min, max)`` was taken from Kafka 2.8.2's JSON message specs
(``clients/src/main/resources/common/message/*Request.json``: every request whose ``listeners`` include
``zkBroker``, with its ``validVersions``). KRaft-only APIs (Vote, BeginQuorumEpoch, Envelope, ...) are not
listed because a ZooKeeper-mode broker does not serve them either.

``NOT_SERVED[api_key]`` says why an API Kafka 2.8 has is deliberately absent from our dispatch table, so the
coverage page (``tools/gen_protocol_coverage.py``) and ``docs/differences.md`` can say so instead of leaving a
silent gap. An API that is neither served nor listed there is simply not done yet.
"""

from __future__ import annotations

#: Kafka 2.8.2 ZooKeeper-mode broker: api key -> (min version, max version).
KAFKA_2_8: dict[int, tuple[int, int]] = {
    0: (0, 9),  # Produce
    1: (0, 12),  # Fetch
    2: (0, 6),  # ListOffsets
    3: (0, 11),  # Metadata
    4: (0, 5),  # LeaderAndIsr
    5: (0, 3),  # StopReplica
    6: (0, 7),  # UpdateMetadata
    7: (0, 3),  # ControlledShutdown
    8: (0, 8),  # OffsetCommit
    9: (0, 7),  # OffsetFetch
    10: (0, 3),  # FindCoordinator
    11: (0, 7),  # JoinGroup
    12: (0, 4),  # Heartbeat
    13: (0, 4),  # LeaveGroup
    14: (0, 5),  # SyncGroup
    15: (0, 5),  # DescribeGroups
    16: (0, 4),  # ListGroups
    17: (0, 1),  # SaslHandshake
    18: (0, 3),  # ApiVersions
    19: (0, 7),  # CreateTopics
    20: (0, 6),  # DeleteTopics
    21: (0, 2),  # DeleteRecords
    22: (0, 4),  # InitProducerId
    23: (0, 4),  # OffsetForLeaderEpoch
    24: (0, 3),  # AddPartitionsToTxn
    25: (0, 3),  # AddOffsetsToTxn
    26: (0, 3),  # EndTxn
    27: (0, 1),  # WriteTxnMarkers
    28: (0, 3),  # TxnOffsetCommit
    29: (0, 2),  # DescribeAcls
    30: (0, 2),  # CreateAcls
    31: (0, 2),  # DeleteAcls
    32: (0, 4),  # DescribeConfigs
    33: (0, 2),  # AlterConfigs
    34: (0, 2),  # AlterReplicaLogDirs
    35: (0, 2),  # DescribeLogDirs
    36: (0, 2),  # SaslAuthenticate
    37: (0, 3),  # CreatePartitions
    38: (0, 2),  # CreateDelegationToken
    39: (0, 2),  # RenewDelegationToken
    40: (0, 2),  # ExpireDelegationToken
    41: (0, 2),  # DescribeDelegationToken
    42: (0, 2),  # DeleteGroups
    43: (0, 2),  # ElectLeaders
    44: (0, 1),  # IncrementalAlterConfigs
    45: (0, 0),  # AlterPartitionReassignments
    46: (0, 0),  # ListPartitionReassignments
    47: (0, 0),  # OffsetDelete
    48: (0, 1),  # DescribeClientQuotas
    49: (0, 1),  # AlterClientQuotas
    50: (0, 0),  # DescribeUserScramCredentials
    51: (0, 0),  # AlterUserScramCredentials
    56: (0, 0),  # AlterIsr
    57: (0, 0),  # UpdateFeatures
    60: (0, 0),  # DescribeCluster
}

_CONTROL = "inter-broker API: our controller and brokers use the control channel (docs/controller.md)"
_TXN = "transactions (KIP-98) are not implemented (docs/differences.md)"
_SASL = "no SASL/authentication: listeners are PLAINTEXT only"
_ACLS = "no authorizer: every client may do everything"
_TOKENS = "delegation tokens need SASL, which is not served"
_QUOTAS = "no client quotas: throttle_time_ms is always 0"
_SCRAM = "SCRAM credentials need SASL, which is not served"

#: api key -> why our broker deliberately does not serve an API Kafka 2.8 has.
NOT_SERVED: dict[int, str] = {
    4: _CONTROL,  # LeaderAndIsr
    5: _CONTROL,  # StopReplica
    6: _CONTROL,  # UpdateMetadata
    7: _CONTROL,  # ControlledShutdown
    56: _CONTROL,  # AlterIsr (our brokers write ISR changes to ZooKeeper, the Kafka 2.6 way)
    17: _SASL,  # SaslHandshake
    36: _SASL,  # SaslAuthenticate
    24: _TXN,  # AddPartitionsToTxn
    25: _TXN,  # AddOffsetsToTxn
    26: _TXN,  # EndTxn
    27: _TXN,  # WriteTxnMarkers
    28: _TXN,  # TxnOffsetCommit
    29: _ACLS,  # DescribeAcls
    30: _ACLS,  # CreateAcls
    31: _ACLS,  # DeleteAcls
    38: _TOKENS,  # CreateDelegationToken
    39: _TOKENS,  # RenewDelegationToken
    40: _TOKENS,  # ExpireDelegationToken
    41: _TOKENS,  # DescribeDelegationToken
    48: _QUOTAS,  # DescribeClientQuotas
    49: _QUOTAS,  # AlterClientQuotas
    50: _SCRAM,  # DescribeUserScramCredentials
    51: _SCRAM,  # AlterUserScramCredentials
    34: "one log dir per partition, chosen at creation: moving replicas between log dirs is not implemented",
    57: "no feature flags (KIP-584): ApiVersions reports none, as a Kafka 2.8 broker without any does",
}
