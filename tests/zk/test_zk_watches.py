"""Self re-arming watches (zk_layout.watches) against a real ZooKeeper."""

from __future__ import annotations

import threading

from helpers import expire_session, wait_until
from zk_layout import KafkaZkClient


class Recorder:
    def __init__(self) -> None:
        self.calls: list[object] = []
        self.lock = threading.Lock()

    def __call__(self, *args: object) -> None:
        with self.lock:
            self.calls.append(args[0] if len(args) == 1 else args)

    def last(self) -> object:
        with self.lock:
            return self.calls[-1] if self.calls else None


def test_children_watch_rearms_and_survives_deletion(zk: KafkaZkClient) -> None:
    rec = Recorder()
    zk.ensure_path("/brokers/ids")
    watch = zk.watch_children("/brokers/ids", rec)
    assert rec.calls == [[]]  # called at once with the current children
    for i in range(3):  # every change is seen, not only the first (the watch re-arms itself)
        zk.kazoo.create(f"/brokers/ids/{i}", b"x", ephemeral=True)
        expected = [str(n) for n in range(i + 1)]
        wait_until(lambda expected=expected: rec.last() == expected)
    zk.kazoo.delete("/brokers/ids", recursive=True)
    wait_until(lambda: rec.last() == [])
    zk.kazoo.create("/brokers/ids/7", b"", makepath=True)  # parent re-created with a child
    wait_until(lambda: rec.last() == ["7"])
    watch.cancel()
    n = len(rec.calls)
    zk.kazoo.create("/brokers/ids/8", b"")
    zk.kazoo.sync("/brokers/ids")
    assert zk.get_children("/brokers/ids") == ["7", "8"]
    assert len(rec.calls) == n  # cancelled: no more callbacks


def test_data_watch_sees_creation_changes_and_deletion(zk: KafkaZkClient) -> None:
    rec = Recorder()
    watch = zk.watch_data("/controller", rec)
    assert rec.calls == [(None, None)]  # absent
    zk.kazoo.create("/controller", b"1", ephemeral=True)
    wait_until(lambda: rec.last() is not None and rec.last()[0] == b"1")  # type: ignore[index]
    zk.kazoo.set("/controller", b"2")
    wait_until(lambda: rec.last()[0] == b"2")  # type: ignore[index]
    last = rec.last()
    assert isinstance(last, tuple) and last[1].version == 1
    zk.kazoo.delete("/controller")
    wait_until(lambda: rec.last() == (None, None))
    watch.cancel()


def test_failing_callback_keeps_the_watch(zk: KafkaZkClient) -> None:
    seen: list[list[str]] = []

    def flaky(children: list[str]) -> None:
        seen.append(children)
        if len(seen) == 2:
            raise RuntimeError("boom")

    zk.ensure_path("/x")
    zk.watch_children("/x", flaky)
    zk.kazoo.create("/x/a")
    wait_until(lambda: len(seen) == 2)
    zk.kazoo.create("/x/b")
    wait_until(lambda: seen[-1] == ["a", "b"])


def test_watches_rearm_after_session_expiry(zk: KafkaZkClient, zk_chroot: str) -> None:
    rec = Recorder()
    zk.ensure_path("/brokers/ids")
    zk.watch_children("/brokers/ids", rec)
    with KafkaZkClient(zk_chroot, session_timeout_ms=6000) as other:
        expire_session(zk.kazoo)
        other.kazoo.create("/brokers/ids/1", b"")
        wait_until(lambda: rec.last() == ["1"])  # the watch was set again on the new session
        other.kazoo.create("/brokers/ids/2", b"")
        wait_until(lambda: rec.last() == ["1", "2"])
