"""Sarama, the Go client, against a real cluster at four of its `Version` settings (tests/go/sarama_check).

Sarama 1.22 does not negotiate: a `Version` of 0.10.2, 1.1, 2.1 or its newest (2.2) fixes the request
versions it sends (0.10.2: Metadata v1, Produce v2, Fetch v3, JoinGroup v1, CreateTopics v0; 1.1 and later:
Metadata v5, Produce v3, Fetch v4, CreateTopics v2, ...), so each run proves the broker serves that
generation's clients: ClusterAdmin creates a topic, a SyncProducer with acks=all and snappy writes keyed
records, a ConsumerGroup reads every one back exactly once.

Built in GOPATH mode from Debian's packages (`golang-go`, `golang-github-shopify-sarama-dev`; `tools/dev.sh`
installs them); skipped when they are missing. On failure the message lists the request versions the brokers
refused (their `GET /requests` counters), which is what to widen.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import unique_name

pytestmark = pytest.mark.slow

GOPATH = "/usr/share/gocode"
SARAMA = Path(GOPATH) / "src" / "github.com" / "Shopify" / "sarama"
PROGRAM = Path(__file__).resolve().parents[1] / "go" / "sarama_check"
RECORDS = 300

#: Sarama `Version` settings: the three the issue names and the newest Sarama 1.22 knows.
VERSIONS = ["0.10.2.0", "1.1.0", "2.1.0", "newest"]


@pytest.fixture(scope="module")
def sarama_check(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("go") is None:
        pytest.skip(
            "no Go toolchain: apt-get install -y golang-go golang-github-shopify-sarama-dev"
            " (tools/dev.sh does)"
        )
    if not SARAMA.is_dir():
        pytest.skip(f"Sarama sources not at {SARAMA}: apt-get install -y golang-github-shopify-sarama-dev")
    out = tmp_path_factory.mktemp("go") / "sarama_check"
    env = {
        **os.environ,
        "GOPATH": GOPATH,
        "GO111MODULE": "off",
        "GOFLAGS": "",
        "GOCACHE": str(out.parent / "cache"),
    }
    build = subprocess.run(
        ["go", "build", "-o", str(out), "."],
        cwd=PROGRAM,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, f"go build failed:\n{build.stderr}"
    return out


def refused_requests(cluster: Any) -> dict[str, int]:
    refused: dict[str, int] = {}
    for broker in cluster.state.brokers.values():
        url = f"http://127.0.0.1:{broker.control_port}/requests"
        for key, n in json.loads(urllib.request.urlopen(url, timeout=10).read())["refused"].items():
            refused[key] = refused.get(key, 0) + n
    return refused


@pytest.mark.parametrize("version", VERSIONS)
def test_sarama_admin_produce_and_consume_group(
    sarama_check: Path, shared_cluster: Any, version: str
) -> None:
    before = refused_requests(shared_cluster)
    topic, group = unique_name("sarama"), unique_name("sarama-group")
    run = subprocess.run(
        [
            str(sarama_check),
            "-brokers",
            shared_cluster.bootstrap_servers,
            "-topic",
            topic,
            "-group",
            group,
            "-version",
            version,
            "-records",
            str(RECORDS),
            "-timeout",
            "60s",
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    after = refused_requests(shared_cluster)
    refused = {k: n - before.get(k, 0) for k, n in after.items() if n > before.get(k, 0)}
    assert run.returncode == 0, (
        f"Sarama {version}: {run.stderr.strip()[-2000:]}\n"
        f"requests the brokers refused (api key:version): {refused}"
    )
    result = json.loads(run.stdout.strip().splitlines()[-1])
    print(f"Sarama Version={version} -> {result['sarama_version']}")
    assert result["produced"] == result["consumed"] == RECORDS
    assert result["duplicates"] == 0 and result["wrong_values"] == 0
    assert refused == {}, f"the brokers closed connections on {refused}"
