"""Every study lab runs to PASS against real processes, and its story shows what it claims to show."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from kafka_zk.labs.runner import catalogue, run_lab

#: Per lab: narration that must appear (kind, text fragment), so a lab cannot pass without telling its story.
STORY = {
    "hw-leo": [("state", "HW 10"), ("client", "consumer read 10 records"), ("check", "cannot read past the HW")],
    "isr-shrink-expand": [("event", "isr.shrink"), ("znode", "partitions/0/state"), ("check", "expanded the ISR")],
    "min-isr": [("client", "refused with NOT_ENOUGH_REPLICAS")],
    "unclean-election": [("event", "election.unclean"), ("znode", "leader=-1")],
    "controller-failover": [("znode", "/controller (deleted)"), ("znode", "/controller_epoch = {epoch=2}")],
    "leader-failover": [("znode", "leader_epoch=1"), ("event", "partition.leader_elected")],
    "zk-session-expiry": [("znode", "(deleted)"), ("event", "broker.joined")],
    "rebalance": [("state", "generation"), ("event", "group."), ("check", "exactly one new generation")],
    "placement": [("note", "modulo: p0: [0,1,2]"), ("note", "kafka:")],
}


def test_every_lab_has_a_story_expectation() -> None:
    assert set(STORY) == set(catalogue())


@pytest.mark.parametrize("name", sorted(catalogue()))
def test_lab_passes_and_narrates(name: str, zk_connect: str, tmp_path: Path) -> None:
    result = run_lab(name, directory=str(tmp_path / name), zookeeper=f"{zk_connect}/lab-{uuid.uuid4().hex[:8]}",
                     out=None)
    story = "\n".join(ln.render() for ln in result.lines)
    assert result.passed, f"lab {name} failed ({result.error}):\n{story}"
    for kind, fragment in STORY[name]:
        assert any(ln.kind == kind and fragment in ln.text for ln in result.lines), \
            f"lab {name}: no {kind} line with {fragment!r}:\n{story}"
    times = [ln.elapsed_s for ln in result.lines]
    assert times == sorted(times), "the story is told in the order things were seen"


def test_lab_cli_lists_labs_and_rejects_an_unknown_name() -> None:
    listed = subprocess.run([sys.executable, "-m", "kafka_zk", "lab", "list"], capture_output=True, text=True)
    assert listed.returncode == 0
    names = [line.split()[0] for line in listed.stdout.splitlines()]
    assert names == list(catalogue())
    bad = subprocess.run([sys.executable, "-m", "kafka_zk", "lab", "run", "no-such-lab"], capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "expected one of hw-leo" in bad.stderr
