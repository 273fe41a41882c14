"""Layer 1: record batch v2 — an in-place view, a builder, zig-zag varints, CRC32C and compression codecs.

Pure: no I/O. The log stores batches exactly as producers sent them; this package is what lets it check
them (:meth:`RecordBatchView.validate`), stamp offsets and leader epochs in place, and — where records must
be read (compaction, timestamp lookups, our own client) — decode them.
"""

from kafka_zk.record.batch import (
    LOG_APPEND_TIME,
    CREATE_TIME,
    LOG_OVERHEAD,
    MAGIC_V2,
    NO_PARTITION_LEADER_EPOCH,
    NO_PRODUCER_EPOCH,
    NO_PRODUCER_ID,
    NO_SEQUENCE,
    NO_TIMESTAMP,
    RECORD_BATCH_OVERHEAD,
    BatchHeader,
    Record,
    RecordBatchView,
    decode_records,
    iter_batches,
)
from kafka_zk.record.builder import RecordBatchBuilder, build_batch
from kafka_zk.record.compression import CODECS, CompressionType, available_codecs, get_codec

__all__ = [
    "BatchHeader",
    "CODECS",
    "CREATE_TIME",
    "CompressionType",
    "LOG_APPEND_TIME",
    "LOG_OVERHEAD",
    "MAGIC_V2",
    "NO_PARTITION_LEADER_EPOCH",
    "NO_PRODUCER_EPOCH",
    "NO_PRODUCER_ID",
    "NO_SEQUENCE",
    "NO_TIMESTAMP",
    "RECORD_BATCH_OVERHEAD",
    "Record",
    "RecordBatchBuilder",
    "RecordBatchView",
    "available_codecs",
    "build_batch",
    "decode_records",
    "get_codec",
    "iter_batches",
]
