"""The two recipes of docs/delivery-semantics.md, proven by killing a consumer process (SIGKILL) in the middle
of a batch and restarting it in the same group.

A real process, so the kill is a real crash: nothing runs after it (no close, no commit, no LeaveGroup).
The consumer "processes" a record by appending its offset to a file, fetches batches of 10
(``max_poll_records``) from a 1-partition topic of 50 records, and kills itself just before processing
offset 25, i.e. after processing 20-24 of the batch 20-29. The restarted consumer joins the same group
(once the dead member's session has expired) and runs to the end. Then the file says what happened:

* at-least-once (process, then commit): every offset is there, 20-24 twice — repeated, nothing lost;
* at-most-once (commit, then process): 25-29 never appear — lost, nothing repeated.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from helpers import run_async, unique_name
from kafka_zk.client.admin import AdminClient, NewTopic
from kafka_zk.client.producer import Producer

RECORDS = 50
KILL_AT = 25

CHILD = r'''
import asyncio, os, signal, sys
from kafka_zk.client.consumer import Consumer

bs, topic, group, mode, kill_at, out_path = sys.argv[1:7]
kill_at = int(kill_at)

async def main() -> None:
    out = open(out_path, "a")
    async with Consumer(bs, group_id=group, enable_auto_commit=False, auto_offset_reset="earliest",
                        max_poll_records=10, session_timeout_ms=6000, heartbeat_interval_ms=500,
                        fetch_max_wait_ms=100) as c:
        c.subscribe([topic])
        done = False
        while not done:
            batch = await c.poll(timeout_ms=1000)
            if mode == "at-most-once" and batch:
                await c.commit()            # commit first: a crash below loses the rest of the batch
            for r in batch:
                if r.offset == kill_at:
                    os.kill(os.getpid(), signal.SIGKILL)   # crash mid-batch
                out.write(f"{r.offset}\n")  # "process" the record
                out.flush()
                done = r.offset == %d - 1
            if mode == "at-least-once" and batch:
                await c.commit()            # commit after: a crash above repeats the batch's processed part

asyncio.run(main())
''' % RECORDS


def run_child(bs: str, topic: str, group: str, mode: str, kill_at: int, out: Path) -> int:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.run([sys.executable, "-c", CHILD, bs, topic, group, mode, str(kill_at), str(out)],
                          env=env, timeout=120, capture_output=True, text=True)
    assert proc.returncode in (0, -signal.SIGKILL), proc.stderr[-2000:]
    return proc.returncode


async def prepare(bs: str) -> str:
    topic = unique_name("sem")
    async with AdminClient(bs) as admin:
        await admin.create_topic(NewTopic(topic, 1, 2))
    async with Producer(bs, acks="all") as p:
        for i in range(RECORDS):
            await p.send(topic, str(i).encode())
        await p.flush()
    return topic


@pytest.mark.parametrize("mode", ["at-least-once", "at-most-once"])
@run_async
async def test_a_consumer_killed_mid_batch(shared_cluster: Any, tmp_path: Path, mode: str) -> None:
    bs = shared_cluster.bootstrap_servers
    topic, group = await prepare(bs), unique_name("g")
    out = tmp_path / "processed.txt"
    assert await asyncio.to_thread(run_child, bs, topic, group, mode, KILL_AT, out) == -signal.SIGKILL
    first = [int(x) for x in out.read_text().split()]
    assert first == list(range(KILL_AT))  # it died just before processing offset 25
    assert await asyncio.to_thread(run_child, bs, topic, group, mode, -1, out) == 0
    seen = Counter(int(x) for x in out.read_text().split())
    if mode == "at-least-once":
        assert set(seen) == set(range(RECORDS))  # nothing lost
        assert sorted(o for o, n in seen.items() if n > 1) == list(range(20, KILL_AT))  # the batch's processed part
    else:
        assert set(range(RECORDS)) - set(seen) == set(range(KILL_AT, 30))  # the batch's unprocessed part is lost
        assert max(seen.values()) == 1  # nothing repeated
