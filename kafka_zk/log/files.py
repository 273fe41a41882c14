"""File names inside a partition directory (Kafka's ``Log`` naming rules).

A segment is three files sharing its base offset, zero-padded to 20 digits so that names sort in offset
order: ``00000000000000001234.log``, ``.index``, ``.timeindex``. Producer-state snapshots are
``<offset>.snapshot``. Suffixes mark files in transit:

* ``.deleted`` — removed from the log, waiting ``file.delete.delay.ms`` so in-flight reads finish;
* ``.cleaned`` — being written by the cleaner (discarded if found at startup);
* ``.swap``    — a finished cleaned segment about to replace the segments it covers (completed at startup);
* ``.tmp``     — half-written snapshot or checkpoint (discarded).

A partition directory being deleted is renamed ``<topic>-<partition>.<uuid>-delete``.
"""

from __future__ import annotations

import os

LOG_SUFFIX = ".log"
INDEX_SUFFIX = ".index"
TIME_INDEX_SUFFIX = ".timeindex"
SNAPSHOT_SUFFIX = ".snapshot"
DELETED_SUFFIX = ".deleted"
CLEANED_SUFFIX = ".cleaned"
SWAP_SUFFIX = ".swap"
TMP_SUFFIX = ".tmp"
DELETE_DIR_SUFFIX = "-delete"
CLEAN_SHUTDOWN_FILE = ".kafka_cleanShutdown"
LOCK_FILE = ".lock"


def filename_prefix(offset: int) -> str:
    return f"{offset:020d}"


def log_file(dir: str, offset: int, suffix: str = "") -> str:
    return os.path.join(dir, filename_prefix(offset) + LOG_SUFFIX + suffix)


def index_file(dir: str, offset: int, suffix: str = "") -> str:
    return os.path.join(dir, filename_prefix(offset) + INDEX_SUFFIX + suffix)


def time_index_file(dir: str, offset: int, suffix: str = "") -> str:
    return os.path.join(dir, filename_prefix(offset) + TIME_INDEX_SUFFIX + suffix)


def snapshot_file(dir: str, offset: int) -> str:
    return os.path.join(dir, filename_prefix(offset) + SNAPSHOT_SUFFIX)


def offset_from_name(name: str) -> int | None:
    """The base offset encoded in a segment/snapshot file name, or None if it is not one of ours."""
    stem = os.path.basename(name).split(".", 1)[0]
    if len(stem) != 20 or not stem.isdigit():
        return None
    return int(stem)
