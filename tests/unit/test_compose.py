"""compose.yaml (3-server ZooKeeper ensemble + 3 brokers built from the Dockerfile) checked without Docker:
every broker's effective configuration must pass the broker's own validation, and the addresses, ports
and volumes must fit together. With a Docker engine reachable the cluster is also brought up."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from kafka_zk.common.config import parse_properties
from kafka_zk.server.config import BrokerConfig

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return data


def _brokers(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in compose["services"].items() if s.get("build")}


def _zookeepers(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in compose["services"].items()
            if str(s.get("image", "")).startswith("zookeeper:") and "tests" not in s.get("profiles", [])}


def _effective_config(service: dict[str, Any]) -> dict[str, str]:
    """The image's server.properties (as the Dockerfile installs it) plus the service's --override args."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = service["command"]
    config_path = cmd[cmd.index("--config") + 1]
    copied = re.search(rf"^COPY\s+(\S+)\s+{re.escape(config_path)}\s*$", dockerfile, re.M)
    assert copied, f"the Dockerfile does not install {config_path}"
    props = parse_properties((ROOT / copied.group(1)).read_text())
    for i, arg in enumerate(cmd):
        if arg == "--override":
            key, _, value = cmd[i + 1].partition("=")
            props[key] = value
    return props


def _listeners(value: str) -> dict[str, tuple[str, int]]:
    out = {}
    for item in value.split(","):
        name, _, rest = item.partition("://")
        host, _, port = rest.rpartition(":")
        out[name] = (host, int(port))
    return out


def test_three_server_ensemble_of_the_official_image(compose: dict[str, Any]) -> None:
    zks = _zookeepers(compose)
    assert len(zks) == 3
    ids = {s["environment"]["ZOO_MY_ID"] for s in zks.values()}
    assert ids == {"1", "2", "3"}
    for name, svc in zks.items():
        servers = svc["environment"]["ZOO_SERVERS"].split()
        assert sorted(servers) == sorted(f"server.{i}={n}:2888:3888;2181" for i, n in
                                         ((zk["environment"]["ZOO_MY_ID"], n) for n, zk in zks.items()))
        assert svc["hostname"] == name and "healthcheck" in svc


def test_every_broker_config_passes_the_brokers_own_validation(compose: dict[str, Any]) -> None:
    brokers = _brokers(compose)
    assert len(brokers) == 3
    ids = set()
    for name, svc in brokers.items():
        cfg = BrokerConfig(_effective_config(svc))  # raises ConfigError on an unknown or invalid key
        ids.add(cfg.broker_id)
        hosts = {h.split(":")[0] for h in cfg.zookeeper_connect.split("/")[0].split(",")}
        assert hosts == set(_zookeepers(compose)), f"{name}: zookeeper.connect must name the whole ensemble"
        assert set(svc["depends_on"]) == set(_zookeepers(compose))
    assert len(ids) == 3, "broker ids must differ"


def test_addresses_ports_and_volumes_fit_together(compose: dict[str, Any]) -> None:
    published: set[str] = set()
    for name, svc in _brokers(compose).items():
        props = _effective_config(svc)
        bound = _listeners(props["listeners"])
        advertised = _listeners(props["advertised.listeners"])
        assert set(bound) == set(advertised)
        ports = {int(p.split(":")[2]): int(p.split(":")[1]) for p in svc["ports"]}  # container -> host
        assert all(p.startswith("127.0.0.1:") for p in svc["ports"]), "publish on loopback only"
        ext_host, ext_port = advertised["EXTERNAL"]
        assert ext_host == "127.0.0.1" and ports[bound["EXTERNAL"][1]] == ext_port, \
            f"{name}: EXTERNAL must be advertised as the host port that is published for it"
        for internal in ("INTERNAL", "CONTROLLER"):
            assert advertised[internal] == (svc["hostname"], bound[internal][1])
        assert props["inter.broker.listener.name"] == "INTERNAL"
        assert int(props["http.port"]) in ports, f"{name}: the dashboard port must be published"
        assert str(props["http.port"]) in " ".join(svc["healthcheck"]["test"])
        published.update(svc["ports"])
        (volume,) = svc["volumes"]
        vol_name, _, mount = volume.partition(":")
        assert vol_name in compose["volumes"] and props["log.dirs"].startswith(mount + "/")
    host_ports = [p.split(":")[1] for p in published]
    assert len(host_ports) == len(set(host_ports))
    volumes = [v for s in _brokers(compose).values() for v in s["volumes"]]
    assert len(volumes) == len(set(volumes)), "each broker has its own volume"


def _docker_engine() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0


@pytest.mark.skipif(not _docker_engine(), reason="no Docker engine reachable (docker info failed)")
def test_compose_up_gives_a_working_cluster() -> None:  # pragma: no cover - needs Docker
    up = subprocess.run(["docker", "compose", "up", "-d", "--build", "--wait"], cwd=ROOT, capture_output=True,
                        text=True, timeout=900)
    try:
        assert up.returncode == 0, up.stderr
        meta = subprocess.run(["kcat", "-b", "127.0.0.1:9092", "-L", "-J"], capture_output=True, text=True, timeout=60)
        assert meta.returncode == 0 and '"brokers"' in meta.stdout
        assert meta.stdout.count('"id":') >= 3
    finally:
        subprocess.run(["docker", "compose", "down", "-v"], cwd=ROOT, capture_output=True, timeout=300)
