"""The lab's story: timestamped, one line per thing that happened, in the order it was seen.

A lab run mixes what the script does (``step``), what the clients saw (``client``), what ZooKeeper shows
(``znode``, decoded by ``zk_layout``), what the brokers decided (``event``, from their event buses) and
the replicas' positions (``state``). They arrive from several threads (kazoo calls back on its own), so
:class:`Narrator` serialises them under a lock and stamps each with the time since the lab began.
The lines are kept, so a test (or ``--json``) can read the story back.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from typing import AbstractSet, Any, Callable, Mapping, Sequence, TextIO

#: Line kinds, padded in the output so the columns line up.
KINDS = ("step", "client", "znode", "event", "state", "note", "check")


@dataclass(frozen=True)
class Line:
    elapsed_s: float
    kind: str
    text: str

    def render(self) -> str:
        return f"[{self.elapsed_s:+8.3f}s] {self.kind:<6} {self.text}"


class Narrator:
    """Collects and prints the lines of one lab run (``out=None`` keeps them silent)."""

    def __init__(self, out: TextIO | None = sys.stdout, clock: Callable[[], float] = time.monotonic) -> None:
        self._out = out
        self._clock = clock
        self._t0 = clock()
        self._lock = threading.Lock()
        self.lines: list[Line] = []

    def say(self, kind: str, text: str) -> Line:
        if kind not in KINDS:
            raise ValueError(f"unknown narration kind {kind!r}: expected one of {', '.join(KINDS)}")
        with self._lock:
            line = Line(self._clock() - self._t0, kind, text)
            self.lines.append(line)
            if self._out is not None:
                print(line.render(), file=self._out, flush=True)
            return line

    def of_kind(self, kind: str) -> list[Line]:
        with self._lock:
            return [ln for ln in self.lines if ln.kind == kind]


def replica_table(topic: str, partition: int, leader: int, leader_epoch: int, isr: Sequence[int],
                  leo: Mapping[int, int | None], hw: int | None, from_leader: AbstractSet[int] = frozenset()) -> str:
    """``orders-0 leader 1 (epoch 0) ISR [1,2,0] | LEO b0=10 b1=10 b2=8* | HW 8``: ``*`` marks a replica
    outside the ISR, ``~`` a LEO as the leader last saw it (the broker itself did not answer), ``?`` unknown."""
    cells = []
    for b in sorted(leo):
        value = leo[b]
        mark = ("~" if b in from_leader else "") + ("" if b in isr else "*")
        cells.append(f"b{b}={'?' if value is None or value < 0 else value}{mark}")
    isr_text = ",".join(str(b) for b in isr)
    return (f"{topic}-{partition} leader {leader} (epoch {leader_epoch}) ISR [{isr_text}] | "
            f"LEO {' '.join(cells)} | HW {'?' if hw is None else hw}")


def describe_znode(path: str, value: Any) -> str:
    """One line for a decoded znode value: the record's fields without its class noise."""
    if value is None:
        return f"{path} (deleted)"
    fields = getattr(value, "__dataclass_fields__", None)
    if fields is None:
        return f"{path} = {value!r}"
    shown = []
    for name in fields:
        v = getattr(value, name)
        if name == "version" or v in (None, {}, ()) and name not in ("isr",):
            continue
        if isinstance(v, tuple) and all(isinstance(x, int) for x in v):
            v = "[" + ",".join(map(str, v)) + "]"
        elif isinstance(v, tuple) and all(hasattr(x, "listener_name") for x in v):
            v = "[" + ",".join(f"{x.listener_name}://{x.host}:{x.port}" for x in v) + "]"
        shown.append(f"{name}={v}")
    return f"{path} = {{{', '.join(shown)}}}"
