"""A local cluster of real processes: a ZooKeeper (unless one is given) and N broker processes.

Used by ``kafka-zk cluster up|status|kill|start|down``, by ``tools/dev.sh up``, by the fault tests and the
benchmarks. Everything lives under one directory::

    DIR/cluster.json                 what was started: zookeeper.connect, broker ids, ports, config paths
    DIR/zookeeper/                   ZooKeeper data, log and pid file (only when we started it)
    DIR/broker-<id>/server.properties
    DIR/broker-<id>/data/            log.dirs
    DIR/broker-<id>/broker.log       the broker's stdout/stderr
    DIR/broker-<id>/broker.pid

Ports are chosen free at ``up`` time and written into each ``server.properties``, so a broker restarted
with ``start`` comes back on the same address with the same data. Brokers run detached (their own session)
and outlive the command that started them; ``down`` stops them (SIGTERM = controlled shutdown, then SIGKILL
after a grace period) and the ZooKeeper we started.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from kafka_zk.common.waiting import WaitTimeout, wait_until
from kafka_zk.launch.ports import LOCALHOST, free_ports

STATE_FILE = "cluster.json"
DEFAULT_CHROOT = "/kafka"


class ClusterError(RuntimeError):
    """Something about the local cluster is not as the command needs it; ``str()`` is one line."""


@dataclass
class BrokerProcess:
    broker_id: int
    port: int
    control_port: int
    config_path: str
    data_dir: str
    log_path: str
    pid_path: str
    http_port: int = 0  # the HTTP admin (dashboard, /metrics); 0 in a cluster.json written before it existed

    @property
    def dashboard(self) -> str | None:
        return f"http://{LOCALHOST}:{self.http_port}/" if self.http_port else None

    @property
    def bootstrap(self) -> str:
        return f"{LOCALHOST}:{self.port}"

    def pid(self) -> int | None:
        try:
            return int(Path(self.pid_path).read_text().strip())
        except (OSError, ValueError):
            return None

    def is_running(self) -> bool:
        pid = self.pid()
        return pid is not None and _pid_alive(pid)


@dataclass
class ClusterState:
    zookeeper_connect: str
    zookeeper_dir: str | None  # set when this cluster started its own ZooKeeper
    brokers: dict[int, BrokerProcess] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "zookeeper_connect": self.zookeeper_connect,
                "zookeeper_dir": self.zookeeper_dir,
                "brokers": {str(k): asdict(v) for k, v in self.brokers.items()},
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> "ClusterState":
        d = json.loads(text)
        brokers = {int(k): BrokerProcess(**v) for k, v in d["brokers"].items()}
        return cls(d["zookeeper_connect"], d.get("zookeeper_dir"), brokers)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (exited, not yet reaped by its parent) is not running
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


class LocalCluster:
    """Start, inspect and stop a local cluster rooted at ``directory``."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.dir = Path(directory).resolve()
        self._state: ClusterState | None = None

    # ---- state ---------------------------------------------------------------------------------------

    @property
    def state(self) -> ClusterState:
        if self._state is None:
            path = self.dir / STATE_FILE
            if not path.exists():
                raise ClusterError(f"no cluster in {self.dir} (start one with: kafka-zk cluster up --dir {self.dir})")
            self._state = ClusterState.from_json(path.read_text())
        return self._state

    def _save(self) -> None:
        assert self._state is not None
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / (STATE_FILE + ".tmp")
        tmp.write_text(self._state.to_json())
        os.replace(tmp, self.dir / STATE_FILE)

    @property
    def zookeeper_connect(self) -> str:
        return self.state.zookeeper_connect

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(b.bootstrap for b in self.state.brokers.values())

    def broker(self, broker_id: int) -> BrokerProcess:
        try:
            return self.state.brokers[broker_id]
        except KeyError:
            known = ", ".join(str(b) for b in sorted(self.state.brokers))
            raise ClusterError(f"no broker {broker_id} in {self.dir} (brokers: {known})") from None

    # ---- lifecycle -----------------------------------------------------------------------------------

    def up(
        self,
        brokers: int = 3,
        zookeeper: str | None = None,
        overrides: Mapping[str, str] | None = None,
        timeout_s: float = 60.0,
        first_broker_id: int = 0,
    ) -> "LocalCluster":
        """Start ZooKeeper (unless ``zookeeper`` names one) and ``brokers`` brokers; wait until every broker
        is registered and a controller is elected. Raises ClusterError (with the tail of a failed broker's
        log) if that does not happen within ``timeout_s``."""
        if brokers < 1:
            raise ClusterError(f"--brokers must be at least 1, got {brokers}")
        if (self.dir / STATE_FILE).exists():
            st = self.state
            if any(b.is_running() for b in st.brokers.values()):
                raise ClusterError(f"a cluster is already running in {self.dir} (stop it with: kafka-zk cluster down --dir {self.dir})")
        self.dir.mkdir(parents=True, exist_ok=True)
        zk_dir: str | None = None
        if zookeeper is None:
            from kafka_zk.launch.zookeeper import start_zookeeper

            zk_dir = str(self.dir / "zookeeper")
            connect = start_zookeeper(zk_dir) + DEFAULT_CHROOT
        else:
            connect = zookeeper
        self._state = ClusterState(connect, zk_dir)
        ports = free_ports(3 * brokers)
        for i in range(brokers):
            bid = first_broker_id + i
            self._state.brokers[bid] = self._write_broker_config(
                bid, ports[3 * i], ports[3 * i + 1], overrides or {}, http_port=ports[3 * i + 2]
            )
        self._save()
        for bid in self._state.brokers:
            self.start(bid, wait=False)
        self.wait_until_ready(timeout_s)
        return self

    def _write_broker_config(
        self, bid: int, port: int, control_port: int, overrides: Mapping[str, str], http_port: int = 0
    ) -> BrokerProcess:
        bdir = self.dir / f"broker-{bid}"
        data = bdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        props: dict[str, Any] = {
            "broker.id": bid,
            "listeners": f"PLAINTEXT://{LOCALHOST}:{port},CONTROLLER://{LOCALHOST}:{control_port}",
            "log.dirs": str(data),
            "zookeeper.connect": self.state.zookeeper_connect,
        }
        if http_port:
            props.update({"http.host": LOCALHOST, "http.port": http_port})
        props.update(overrides)
        text = "# written by kafka-zk cluster up\n" + "".join(f"{k}={v}\n" for k, v in props.items())
        cfg = bdir / "server.properties"
        cfg.write_text(text)
        return BrokerProcess(
            bid, port, control_port, str(cfg), str(data), str(bdir / "broker.log"), str(bdir / "broker.pid"),
            int(props.get("http.port", 0) or 0),
        )

    def start(self, broker_id: int, wait: bool = True, timeout_s: float = 60.0) -> int:
        """(Re)start a stopped broker with its config and data. Returns its pid."""
        b = self.broker(broker_id)
        if b.is_running():
            raise ClusterError(f"broker {broker_id} is already running (pid {b.pid()})")
        log = open(b.log_path, "ab")
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "kafka_zk", "broker", "--config", b.config_path],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=str(self.dir),
            )
        finally:
            log.close()
        Path(b.pid_path).write_text(str(proc.pid))
        if wait:
            self.wait_until_ready(timeout_s, broker_ids=[broker_id])
        return proc.pid

    def kill(self, broker_id: int, sig: str = "KILL", wait: bool = True, timeout_s: float = 60.0) -> None:
        """Send a signal (KILL, TERM, STOP, CONT, INT) to a broker; for KILL/TERM/INT wait until it exited."""
        b = self.broker(broker_id)
        pid = b.pid()
        if pid is None or not _pid_alive(pid):
            raise ClusterError(f"broker {broker_id} is not running")
        try:
            signum = signal.Signals["SIG" + sig.upper().removeprefix("SIG")]
        except KeyError:
            raise ClusterError(f"unknown signal {sig!r}: expected KILL, TERM, STOP, CONT or INT") from None
        os.kill(pid, signum)
        if wait and signum in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT):
            _wait_for(lambda: not _pid_alive(pid), timeout_s, f"broker {broker_id} (pid {pid}) to exit")

    def down(self, grace_s: float = 30.0) -> None:
        """Stop every broker (SIGTERM, then SIGKILL after ``grace_s``) and the ZooKeeper we started."""
        st = self.state
        pids = {bid: b.pid() for bid, b in st.brokers.items() if b.is_running()}
        for pid in pids.values():
            if pid is not None:
                try:
                    os.kill(pid, signal.SIGCONT)  # a paused broker cannot handle SIGTERM
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + grace_s
        for pid in pids.values():
            while pid is not None and _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if pid is not None and _pid_alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for pid in pids.values():
            if pid is not None:
                _wait_for(lambda p=pid: not _pid_alive(p), 10, f"pid {pid} to exit")
        if st.zookeeper_dir:
            from kafka_zk.launch.zookeeper import stop_zookeeper

            stop_zookeeper(st.zookeeper_dir)

    # ---- observation ---------------------------------------------------------------------------------

    def _zk(self, timeout_s: float | None = None) -> Any:
        from zk_layout.client import KafkaZkClient

        zk = KafkaZkClient(self.zookeeper_connect, session_timeout_ms=10000)
        zk.start(timeout_s)
        return zk

    def registered_brokers_and_controller(self, timeout_s: float | None = None) -> tuple[list[int], int | None]:
        zk = self._zk(timeout_s)
        try:
            return zk.get_broker_ids(), zk.get_controller_id()
        finally:
            zk.close()

    def controller_id(self) -> int | None:
        return self.registered_brokers_and_controller()[1]

    def wait_until_ready(self, timeout_s: float = 60.0, broker_ids: list[int] | None = None) -> None:
        wanted = set(broker_ids if broker_ids is not None else self.state.brokers)
        deadline = time.monotonic() + timeout_s
        zk = self._zk()
        try:
            while True:
                registered = set(zk.get_broker_ids())
                controller = zk.get_controller_id()
                if wanted <= registered and controller is not None and controller in registered:
                    if self._metadata_ready(wanted, registered):
                        return
                for bid in wanted:
                    b = self.broker(bid)
                    if not b.is_running():
                        raise ClusterError(f"broker {bid} exited during startup; last log lines:\n{self.log_tail(bid)}")
                if time.monotonic() > deadline:
                    missing = sorted(wanted - registered)
                    raise ClusterError(
                        f"cluster not ready after {timeout_s:.0f}s (unregistered brokers: {missing}, controller: {controller})"
                    )
                time.sleep(0.1)
        finally:
            zk.close()

    def _metadata_ready(self, wanted: set[int], registered: set[int]) -> bool:
        """Every wanted broker answers Metadata with all registered brokers and a controller: the controller's
        UpdateMetadata has reached it, so clients bootstrapping from it see the whole cluster."""
        return all(brokers_see_cluster([(LOCALHOST, self.broker(bid).port) for bid in wanted], registered))

    def log_tail(self, broker_id: int, lines: int = 20) -> str:
        try:
            text = Path(self.broker(broker_id).log_path).read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def status(self) -> list[dict[str, Any]]:
        try:
            registered, controller = self.registered_brokers_and_controller(timeout_s=3.0)
        except Exception:  # ZooKeeper down: still report the processes
            registered, controller = [], None
        rows = []
        for bid, b in sorted(self.state.brokers.items()):
            rows.append(
                {
                    "broker": bid,
                    "pid": b.pid() if b.is_running() else None,
                    "running": b.is_running(),
                    "registered": bid in registered,
                    "controller": bid == controller,
                    "listener": b.bootstrap,
                    "control": f"{LOCALHOST}:{b.control_port}",
                    "dashboard": b.dashboard,
                }
            )
        return rows

    def __enter__(self) -> "LocalCluster":
        return self

    def __exit__(self, *exc: object) -> None:
        if (self.dir / STATE_FILE).exists():
            self.down()

    def __iter__(self) -> Iterator[BrokerProcess]:
        return iter(self.state.brokers.values())


def _wait_for(cond: Any, timeout_s: float, what: str) -> None:
    """:func:`~kafka_zk.common.waiting.wait_until`, failing as the launcher's callers expect: ClusterError."""
    try:
        wait_until(cond, timeout_s, what)
    except WaitTimeout as e:
        raise ClusterError(str(e)) from None


def brokers_see_cluster(addresses: list[tuple[str, int]], registered: set[int]) -> list[bool]:
    """For each broker address: does its Metadata answer name every registered broker and a controller?

    Registration in ZooKeeper is not readiness: until the controller's first UpdateMetadata reaches a broker,
    it answers Metadata with no brokers and controller -1, as Kafka does, and librdkafka's admin client then
    waits for its next metadata refresh (minutes) before it looks for the controller again."""
    import asyncio

    from kafka_zk.client.connection import KafkaConnection
    from kafka_zk.protocol.apis import ApiKey
    from kafka_zk.protocol.messages.metadata import MetadataRequest

    async def check(host: str, port: int) -> bool:
        try:
            conn = await KafkaConnection.open(host, port, client_id="kafka-zk-cluster", timeout=2.0)
        except Exception:
            return False
        try:
            resp = await conn.request(ApiKey.METADATA, MetadataRequest(topics=[]), version=1, timeout=2.0)
            return {br.node_id for br in resp.brokers} >= registered and resp.controller_id in registered
        except Exception:
            return False
        finally:
            await conn.close()

    async def all_checks() -> list[bool]:
        return list(await asyncio.gather(*(check(host, port) for host, port in addresses)))

    return asyncio.run(all_checks())
