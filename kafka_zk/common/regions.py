"""A region of an open file, handed from the log to the network layer so fetches can use ``sendfile``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import BinaryIO


@dataclass(frozen=True, slots=True)
class FileRegion:
    """``size`` bytes of ``file`` starting at ``position``.

    The file object stays owned by the log segment; the region is only valid while the segment is open,
    which is why the log never closes a segment that a pending read may still reference (it keeps deleted
    segments' files open until the next roll/retention pass).
    """

    file: BinaryIO
    position: int
    size: int

    def read(self) -> bytes:
        """Copy the bytes (for tests, compaction and the non-sendfile path)."""
        return os.pread(self.file.fileno(), self.size, self.position)

    def __len__(self) -> int:
        return self.size
