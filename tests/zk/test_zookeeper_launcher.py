"""kafka_zk.launch.zookeeper and `kafka-zk zookeeper ...`: a real ZooKeeper, started and always stopped."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import wait_until
from kafka_zk.launch import zookeeper as zk_launch
from kafka_zk.launch.ports import port_is_free
from zk_layout import KafkaZkClient


def kafka_zk(*args: str, env: dict[str, str] | None = None, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kafka_zk", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def pid_alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_cli_start_stop_standalone(tmp_path: Path) -> None:
    d = str(tmp_path / "zk")
    started = kafka_zk("zookeeper", "start", "--dir", d)
    try:
        assert started.returncode == 0, started.stderr
        lines = started.stdout.splitlines()
        assert len(lines) == 1 and re.fullmatch(r"zookeeper\.connect=127\.0\.0\.1:\d+", lines[0]), started.stdout
        connect = lines[0].split("=", 1)[1]
        port = int(connect.rsplit(":", 1)[1])
        assert zk_launch.server_mode(port) == "standalone"
        assert "zookeeper_cmd" not in started.stderr  # quiet: nothing on stderr but real problems
        with KafkaZkClient(connect + "/kafka", session_timeout_ms=6000) as zk:
            zk.create_top_level_paths()
        # Running start again is safe: same server, same line.
        again = kafka_zk("zookeeper", "start", "--dir", d)
        assert again.returncode == 0 and again.stdout.strip() == lines[0]
        pid = int((Path(d) / "server-1" / "zookeeper.pid").read_text())
        assert (Path(d) / "server-1" / "zoo.cfg").read_text().count("clientPortAddress=127.0.0.1") == 1
        assert (Path(d) / "server-1" / "data" / "version-2").is_dir()  # data and logs live under DIR
    finally:
        stopped = kafka_zk("zookeeper", "stop", "--dir", d)
    assert stopped.returncode == 0 and "stopped 1" in stopped.stdout
    assert not pid_alive(pid)
    assert wait_until(lambda: port_is_free(port), timeout=5)
    assert "no ZooKeeper running" in kafka_zk("zookeeper", "stop", "--dir", d).stdout


def test_cli_start_ensemble_of_three(tmp_path: Path) -> None:
    d = str(tmp_path / "ens")
    started = kafka_zk("zookeeper", "start", "--dir", d, "--ensemble", "3")
    try:
        assert started.returncode == 0, started.stderr
        connect = started.stdout.strip().split("=", 1)[1]
        hostports = connect.split(",")
        assert len(hostports) == 3
        modes = sorted(zk_launch.server_mode(int(hp.rsplit(":", 1)[1])) or "" for hp in hostports)
        assert modes == ["follower", "follower", "leader"]
        # A write through one server is visible through another (it is one ensemble, not three servers).
        with KafkaZkClient(hostports[0], session_timeout_ms=6000) as a, KafkaZkClient(hostports[2], session_timeout_ms=6000) as b:
            a.create_top_level_paths()
            cluster_id = a.get_or_create_cluster_id()
            b.kazoo.sync("/cluster/id")
            assert b.get_cluster_id() == cluster_id
        status = kafka_zk("zookeeper", "status", "--dir", d)
        assert status.returncode == 0 and status.stdout.count("mode=") == 3
    finally:
        stopped = kafka_zk("zookeeper", "stop", "--dir", d)
    assert "stopped 3" in stopped.stdout


def test_ensemble_api_survives_losing_one_server(tmp_path: Path) -> None:
    with zk_launch.ZooKeeperEnsemble(tmp_path / "ens", size=3) as ens:
        with KafkaZkClient(ens.connect_string + "/kafka", session_timeout_ms=6000) as zk:
            zk.create_top_level_paths()
            victim = next(i for i, s in enumerate(ens.servers) if zk_launch.server_mode(s.client_port) == "leader")
            ens.kill(victim)
            assert not ens.is_running(victim)
            # Two of three form a quorum again; the client reconnects to a survivor and keeps working.
            assert zk.generate_broker_id() == 1001
            ens.start_server(victim)
            assert zk_launch.server_mode(ens.servers[victim].client_port) in ("leader", "follower")
            assert zk.generate_broker_id() == 1002
        pids = [s.pid for s in ens.servers]
    assert all(s.pid is None for s in ens.servers)
    assert not any(pid_alive(p) for p in pids if p is not None)
    assert all(port_is_free(s.client_port) for s in ens.servers)


def test_standalone_context_manager_always_stops(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="inside"):
        with zk_launch.ZooKeeperServer(tmp_path / "zk") as server:
            pid = server.servers[0].pid
            assert pid is not None and pid_alive(pid)
            raise RuntimeError("test failed inside the block")
    assert pid is not None and not pid_alive(pid)


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = kafka_zk("zookeeper", "start", "--dir", str(tmp_path / "zk"), "--port", str(port))
    assert r.returncode == 1
    assert f"port {port} on 127.0.0.1 is in use" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_missing_zookeeper_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-home"
    empty.mkdir()
    r = kafka_zk("zookeeper", "start", "--dir", str(tmp_path / "zk"), env={"ZOOKEEPER_HOME": str(empty)})
    assert r.returncode == 1
    assert len(r.stderr.strip().splitlines()) == 1 and "apt-get install zookeeper" in r.stderr
    assert "ZOOKEEPER_HOME" in r.stderr
    monkeypatch.setattr(zk_launch, "DEBIAN_JAR", tmp_path / "no-such.jar")
    with pytest.raises(zk_launch.ZooKeeperNotFound, match="apt-get install zookeeper"):
        zk_launch.find_zookeeper({"PATH": os.environ.get("PATH", "")})
    with pytest.raises(zk_launch.ZooKeeperNotFound, match="java not found.*apt-get install zookeeper"):
        zk_launch.find_zookeeper({"PATH": str(tmp_path)})
