"""``kafka-zk produce`` / ``kafka-zk consume`` as a user runs them (real processes, stdin/stdout) against a real
3-broker cluster."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from typing import Any

import pytest

from helpers import unique_name
from kafka_zk.client.admin import AdminClient, NewTopic
from kafka_zk.client.consumer import Consumer
from kafka_zk.client.partitioner import partition_for_key
from kafka_zk.common.tp import TopicPartition


def kz(*argv: str, stdin: bytes = b"", timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "kafka_zk", *argv], input=stdin, capture_output=True, timeout=timeout)


def create(bs: str, topic: str, partitions: int) -> None:
    async def go() -> None:
        async with AdminClient(bs) as admin:
            await admin.create_topic(NewTopic(topic, partitions, 2))
    asyncio.run(go())


def placement(bs: str, topic: str, partitions: int) -> dict[bytes, set[int]]:
    """key → partitions it was found on."""
    async def go() -> dict[bytes, set[int]]:
        async with Consumer(bs, auto_offset_reset="earliest") as c:
            c.assign([TopicPartition(topic, p) for p in range(partitions)])
            out: dict[bytes, set[int]] = {}
            for r in await c.poll(timeout_ms=3000):
                assert r.key is not None
                out.setdefault(r.key, set()).add(r.partition)
            return out
    return asyncio.run(go())


def test_keyed_lines_round_trip_and_land_on_murmur2_partitions(shared_cluster: Any) -> None:
    bs, topic = shared_cluster.bootstrap_servers, unique_name("console")
    create(bs, topic, 3)
    lines = [f"user{i % 5}:order {i} \u2713" for i in range(20)]
    p = kz("produce", "--bootstrap-server", bs, "--topic", topic, "--key-separator", ":",
           stdin=("\n".join(lines) + "\r\n").encode())
    assert (p.returncode, p.stderr) == (0, b"")
    c = kz("consume", "--bootstrap-server", bs, "--topic", topic, "--from-beginning", "--max-messages", "20",
           "--print-key", "--key-separator", "=")
    assert c.returncode == 0, c.stderr
    assert c.stderr.decode().strip() == "Processed a total of 20 messages"
    assert sorted(c.stdout.decode().splitlines()) == sorted(ln.replace(":", "=", 1) for ln in lines)
    found = placement(bs, topic, 3)
    assert found and all(parts == {partition_for_key(k, 3)} for k, parts in found.items())


def test_a_line_without_separator_stops_after_delivering_the_earlier_ones(shared_cluster: Any) -> None:
    bs, topic = shared_cluster.bootstrap_servers, unique_name("badline")
    create(bs, topic, 1)
    p = kz("produce", "--bootstrap-server", bs, "--topic", topic, "--key-separator", ":", "--acks", "all",
           stdin=b"a:1\nb:2\nno separator here\nc:3\n")
    assert p.returncode == 1
    err = p.stderr.decode()
    assert err.count("\n") == 1 and "No key found on line 3: 'no separator here' (expected KEY:VALUE" in err and "2 records before it" in err
    c = kz("consume", "--bootstrap-server", bs, "--topic", topic, "--from-beginning", "--timeout-ms", "1500")
    assert c.returncode == 0 and c.stdout == b"1\n2\n", c.stderr  # acks=all: both below the high watermark


def test_group_resumes_from_committed_offsets_and_offset_seek(shared_cluster: Any) -> None:
    bs, topic, group = shared_cluster.bootstrap_servers, unique_name("grp"), unique_name("console-group")
    create(bs, topic, 1)
    assert kz("produce", "--bootstrap-server", bs, "--topic", topic, "--acks", "all",
              stdin=b"one\ntwo\nthree\nfour\n").returncode == 0
    first = kz("consume", "--bootstrap-server", bs, "--topic", topic, "--group", group, "--from-beginning",
               "--max-messages", "2")
    assert (first.returncode, first.stdout) == (0, b"one\ntwo\n"), first.stderr
    second = kz("consume", "--bootstrap-server", bs, "--topic", topic, "--group", group, "--from-beginning",
                "--timeout-ms", "1500")
    assert (second.returncode, second.stdout) == (0, b"three\nfour\n"), second.stderr
    seek = kz("consume", "--bootstrap-server", bs, "--topic", topic, "--partition", "0", "--offset", "1",
              "--max-messages", "2")
    assert (seek.returncode, seek.stdout) == (0, b"two\nthree\n")


@pytest.mark.parametrize("argv, code, fragment", [
    (["consume", "--topic", "t", "--offset", "3"], 2, "--offset needs --partition"),
    (["consume", "--topic", "t", "--max-messages", "0"], 2, "at least 1"),
    (["consume", "--topic", "never-created-topic", "--max-messages", "1"], 1, "does not exist"),
    (["produce", "--topic", "t", "--key-separator", ""], 2, "must not be empty"),
])
def test_errors_are_one_line_with_exit_codes(shared_cluster: Any, argv: list[str], code: int, fragment: str) -> None:
    r = kz(argv[0], "--bootstrap-server", shared_cluster.bootstrap_servers, *argv[1:])
    err = r.stderr.decode()
    assert r.returncode == code and fragment in err, err
    assert err.splitlines()[0].startswith(f"kafka-zk {argv[0]}: error: ")


def _ctrl_c_as_on_a_terminal() -> None:
    """Give the child SIGINT's default disposition. A suite started in the background by a non-interactive
    shell (``.ci/run &``, nohup) inherits SIGINT *ignored*, as POSIX shells do for asynchronous commands, and
    an ignored signal stays ignored across exec: the producer would never see the Ctrl-C this test sends."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_delivers_what_was_typed_and_exits_130(shared_cluster: Any) -> None:
    bs, topic = shared_cluster.bootstrap_servers, unique_name("ctrlc")
    create(bs, topic, 1)
    proc = subprocess.Popen([sys.executable, "-m", "kafka_zk", "produce", "--bootstrap-server", bs, "--topic", topic],
                            stdin=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONFAULTHANDLER": "1"},  # SIGABRT prints every thread's stack
                            preexec_fn=_ctrl_c_as_on_a_terminal)
    try:
        assert proc.stdin is not None
        proc.stdin.write(b"typed\nlines\n")
        proc.stdin.flush()  # stdin stays open, like a terminal
        c = kz("consume", "--bootstrap-server", bs, "--topic", topic, "--from-beginning", "--max-messages", "2",
               "--timeout-ms", "10000")
        assert c.stdout == b"typed\nlines\n"  # sent while still reading
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)
            _, err = proc.communicate(timeout=10)
            pytest.fail("console producer still running 30 s after Ctrl-C; where it was:\n" + err.decode(errors="replace"))
        assert code == 130
        assert proc.stderr is not None and proc.stderr.read() == b""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
