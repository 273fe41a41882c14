"""Layer 2: the storage engine — segmented partition logs in Kafka 2.x's on-disk format.

``LogManager`` owns every partition log of a broker (loading, recovery, checkpoints, retention,
cleaning); ``Log`` is one partition; ``LogConfig`` the topic-level settings. The format and the rules
are described in ``docs/storage.md`` and in each module's docstring.
"""

from kafka_zk.log.config import LogConfig
from kafka_zk.log.info import FetchDataInfo, LogAppendInfo
from kafka_zk.log.log import Log, NonMonotonicOffsetsError
from kafka_zk.log.manager import LogDirInUseError, LogManager
from kafka_zk.log.producer_state import AppendOrigin

__all__ = [
    "AppendOrigin",
    "FetchDataInfo",
    "Log",
    "LogAppendInfo",
    "LogConfig",
    "LogDirInUseError",
    "LogManager",
    "NonMonotonicOffsetsError",
]
