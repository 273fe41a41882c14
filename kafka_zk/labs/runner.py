"""The lab catalogue and the runner: start a cluster, run one script, narrate, judge, clean up.

A :class:`Lab` is data: a name, what it shows, the broker settings it needs (shortened timeouts, so a
study session does not wait Kafka's 18-second ZooKeeper session timeout; each lab says which) and an
async script. :func:`run_lab` starts a fresh local cluster of real processes (its own ZooKeeper unless
one is given), runs the script against it, and returns the verdict: PASS when every check of the script
held. ``keep=True`` leaves the cluster running for poking at (``kafka-zk cluster status --dir ...``).
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from kafka_zk.labs import failover_labs, group_labs, placement_lab, replication_labs
from kafka_zk.labs.context import CheckFailed, LabContext
from kafka_zk.labs.lab import Lab
from kafka_zk.labs.narration import Line, Narrator
from kafka_zk.launch.cluster import ClusterError, LocalCluster


@dataclass
class LabResult:
    lab: str
    passed: bool
    checks: list[tuple[str, bool, str]]
    lines: list[Line]
    directory: str
    error: str | None = None
    seconds: float = 0.0


class UnknownLab(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no lab named {name!r}: expected one of {', '.join(catalogue())}")


def catalogue() -> dict[str, Lab]:
    """Every lab, by name, in the order ``kafka-zk lab list`` shows them."""
    labs = [*replication_labs.LABS, *failover_labs.LABS, *group_labs.LABS, *placement_lab.LABS]
    return {lab.name: lab for lab in labs}


def run_lab(name: str, *, keep: bool = False, directory: str | None = None, zookeeper: str | None = None,
            out: TextIO | None = sys.stdout) -> LabResult:
    """Run one lab from start to verdict. Raises :class:`UnknownLab`, :class:`ClusterError` (the cluster
    could not start: the message has the failing broker's log tail)."""
    labs = catalogue()
    if name not in labs:
        raise UnknownLab(name)
    lab = labs[name]
    made_dir = directory is None
    where = Path(directory or tempfile.mkdtemp(prefix=f"kafka-zk-lab-{name}-"))
    narrator = Narrator(out)
    started = time.monotonic()
    narrator.say("step", f"lab {lab.name}: {lab.title}")
    narrator.say("note", f"shows: {lab.shows}")
    settings = lab.settings()
    narrator.say("step", f"start a cluster of {lab.brokers} brokers in {where} "
                         f"({', '.join(f'{k}={v}' for k, v in sorted(settings.items()))})")
    cluster = LocalCluster(where)
    cluster.up(lab.brokers, zookeeper, settings)
    narrator.say("note", f"bootstrap.servers={cluster.bootstrap_servers} zookeeper.connect={cluster.zookeeper_connect}")
    result = LabResult(lab.name, False, [], narrator.lines, str(where))
    try:
        checks, error = asyncio.run(_run_script(lab, cluster, narrator))
        result.checks = checks
        result.error = error
        result.passed = error is None and bool(checks) and all(ok for _, ok, _ in checks)
    finally:
        result.seconds = time.monotonic() - started
        verdict = "PASS" if result.passed else "FAIL"
        summary = f"{sum(ok for _, ok, _ in result.checks)}/{len(result.checks)} checks held"
        narrator.say("check", f"{verdict} lab {lab.name}: {summary} in {result.seconds:.1f}s"
                              + (f"; stopped by: {result.error}" if result.error else ""))
        if keep:
            narrator.say("note", f"cluster left running: kafka-zk cluster status --dir {where} "
                                 f"(stop it with: kafka-zk cluster down --dir {where})")
        else:
            try:
                cluster.down(grace_s=3.0)  # the lab's data is thrown away: no need to wait long
            except ClusterError:
                pass
            if made_dir:
                shutil.rmtree(where, ignore_errors=True)
    return result


async def _run_script(lab: Lab, cluster: LocalCluster, narrator: Narrator) -> tuple[list[tuple[str, bool, str]], str | None]:
    async with LabContext(cluster, narrator) as ctx:
        try:
            await lab.script(ctx)
            return ctx.checks, None
        except CheckFailed as e:
            return ctx.checks, f"required check failed: {e}"
        except (TimeoutError, asyncio.TimeoutError) as e:
            return ctx.checks, str(e) or "timed out"
        except Exception as e:  # the verdict must still be printed and the cluster stopped
            narrator.say("note", "".join(traceback.format_exception_only(type(e), e)).strip())
            return ctx.checks, f"{type(e).__name__}: {e}"
