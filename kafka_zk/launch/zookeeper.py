"""Start and stop a real ZooKeeper (standalone or an ensemble of 3) on 127.0.0.1.

Theory of operation
-------------------
*Finding ZooKeeper.* ``ZOOKEEPER_HOME`` (an Apache ZooKeeper directory: ``lib/*.jar`` plus ``conf/``) wins;
otherwise Debian's ``zookeeper`` package, whose ``/usr/share/java/zookeeper.jar`` carries its dependencies
in its manifest ``Class-Path`` (we add ``slf4j-simple`` when installed so the server logs something).
Java comes from ``JAVA_HOME`` or ``PATH``. Missing pieces raise :class:`ZooKeeperNotFound`, whose message
says what to install.

*Layout under DIR.* One directory per server, ``DIR/server-<id>/`` with ``zoo.cfg``, ``data/`` (and
``data/myid`` in an ensemble), ``zookeeper.log`` (the JVM's stdout/stderr) and ``zookeeper.pid``;
``DIR/zookeeper.json`` records ports, pids and the connect string. Data survives a stop/start.

*Configuration.* Small ``tickTime`` (200 ms) so tests can use short sessions, ``minSessionTimeout=1000``,
``maxSessionTimeout=60000`` (Kafka's 6 s/18 s defaults fit), every four-letter word allowed, no admin HTTP
server, client port bound to 127.0.0.1 only, no per-IP connection limit. ``forceSync=no`` by default:
this is a development/test server and fsync on every write makes a shared disk crawl (pass
``fsync=True`` for the real thing). An ensemble adds ``server.<id>=127.0.0.1:<peer>:<election>``.

*Processes.* ``java ... QuorumPeerMain DIR/server-<id>/zoo.cfg`` in its own session, so it outlives the
``kafka-zk zookeeper start`` that launched it. "Ready" means the ``srvr`` four-letter word answers with
``Mode: standalone`` (or ``leader``/``follower`` from every member of an ensemble). Stopping sends SIGTERM,
then SIGKILL after a grace period, and only to a pid whose command line still names our ``zoo.cfg`` (a pid
file may outlive its process and the pid be reused).

Python API: :class:`ZooKeeperServer` / :class:`ZooKeeperEnsemble` are context managers (start, always stop)
with ``.connect_string``, ``.kill(i)`` / ``.start_server(i)`` for fault tests; :func:`start_zookeeper` /
:func:`stop_zookeeper` are what the CLI uses (detached, idempotent).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

from kafka_zk.common.logging import get_logger
from kafka_zk.launch.ports import LOCALHOST, free_ports, port_is_free

log = get_logger(__name__)

MAIN_CLASS = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
DEBIAN_JAR = Path("/usr/share/java/zookeeper.jar")
DEBIAN_SLF4J_SIMPLE = Path("/usr/share/java/slf4j-simple.jar")
STATE_FILE = "zookeeper.json"
INSTALL_HINT = "install it with `apt-get install zookeeper` (Debian/Ubuntu) or set ZOOKEEPER_HOME to an Apache ZooKeeper directory"


class ZooKeeperNotFound(RuntimeError):
    """No ZooKeeper (or no Java) on this machine; the message says what to install."""


class ZooKeeperStartError(RuntimeError):
    """A ZooKeeper server did not come up; the message carries the end of its log."""


@dataclass(frozen=True)
class Installation:
    java: str
    classpath: tuple[str, ...]
    source: str  # "ZOOKEEPER_HOME=..." or "debian package"


def find_zookeeper(env: Mapping[str, str] | None = None) -> Installation:
    """Locate Java and the ZooKeeper jars. Raises :class:`ZooKeeperNotFound`."""
    env = os.environ if env is None else env
    java = _find_java(env)
    home = env.get("ZOOKEEPER_HOME")
    if home:
        root = Path(home)
        jars = sorted(str(p) for p in (root / "lib").glob("*.jar")) + sorted(str(p) for p in root.glob("zookeeper-*.jar"))
        if not any("zookeeper" in Path(j).name for j in jars):
            raise ZooKeeperNotFound(f"ZOOKEEPER_HOME={home} holds no zookeeper jar (expected {home}/lib/zookeeper-*.jar); "
                                    f"fix ZOOKEEPER_HOME, or unset it and {INSTALL_HINT.split(' or ')[0]}")
        conf = [str(root / "conf")] if (root / "conf").is_dir() else []
        return Installation(java, tuple(conf + jars), f"ZOOKEEPER_HOME={home}")
    if DEBIAN_JAR.exists():
        cp = [str(DEBIAN_JAR)] + ([str(DEBIAN_SLF4J_SIMPLE)] if DEBIAN_SLF4J_SIMPLE.exists() else [])
        return Installation(java, tuple(cp), "debian package")
    raise ZooKeeperNotFound(f"ZooKeeper not found: {INSTALL_HINT}")


def _find_java(env: Mapping[str, str]) -> str:
    java_home = env.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java", path=env.get("PATH"))
    if found:
        return found
    raise ZooKeeperNotFound(f"java not found: {INSTALL_HINT} (the Debian package pulls in a Java runtime) "
                            f"or set JAVA_HOME")


def four_letter_word(port: int, word: str = "srvr", host: str = LOCALHOST, timeout_s: float = 2.0) -> str:
    """Send a ZooKeeper four-letter word and return the answer ('' when nobody answers)."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as s:
            s.sendall(word.encode("ascii"))
            chunks = []
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                chunks.append(chunk)
            return b"".join(chunks).decode("utf-8", errors="replace")
    except OSError:
        return ""


def server_mode(port: int, host: str = LOCALHOST) -> str | None:
    """``standalone``/``leader``/``follower``/``observer`` from ``srvr``, or None when not serving."""
    for line in four_letter_word(port, "srvr", host).splitlines():
        if line.startswith("Mode:"):
            return line.split(":", 1)[1].strip()
    return None


@dataclass
class ServerSpec:
    server_id: int  # ZooKeeper's myid, 1-based
    client_port: int
    peer_port: int | None
    election_port: int | None
    dir: str
    pid: int | None = None

    @property
    def cfg_path(self) -> Path:
        return Path(self.dir) / "zoo.cfg"

    @property
    def log_path(self) -> Path:
        return Path(self.dir) / "zookeeper.log"

    @property
    def pid_path(self) -> Path:
        return Path(self.dir) / "zookeeper.pid"


class ZooKeeperEnsemble:
    """``size`` ZooKeeper servers on 127.0.0.1 under ``dir`` (``size=1``: standalone). Use as a context
    manager, or ``start()`` / ``stop()``. Server indexes for :meth:`kill` / :meth:`start_server` are 0-based
    (server ``i`` has myid ``i+1``)."""

    def __init__(self, dir: str | os.PathLike[str], size: int = 3, port: int | None = None, *,
                 tick_time_ms: int = 200, heap_mb: int = 256, fsync: bool = False,
                 start_timeout_s: float = 60.0, installation: Installation | None = None,
                 client_address: str = LOCALHOST) -> None:
        if size < 1:
            raise ValueError(f"ensemble size must be >= 1, got {size}")
        self.dir = Path(dir).resolve()
        self.size = size
        self.port = port
        self.tick_time_ms = tick_time_ms
        self.heap_mb = heap_mb
        self.fsync = fsync
        self.start_timeout_s = start_timeout_s
        self.installation = installation
        self.client_address = client_address  # where clients connect (quorum traffic stays on loopback)
        self.servers: list[ServerSpec] = []
        self._procs: dict[int, subprocess.Popen[bytes]] = {}

    # -- public API -------------------------------------------------------------------------------------

    @property
    def connect_string(self) -> str:
        if not self.servers:
            raise RuntimeError("ZooKeeper not started")
        return ",".join(f"{self.client_address}:{s.client_port}" for s in self.servers)

    def start(self) -> "ZooKeeperEnsemble":
        """Write configs, launch every server and wait until all serve. Raises :class:`ZooKeeperNotFound`,
        :class:`ZooKeeperStartError` (after stopping whatever it started)."""
        self.installation = self.installation or find_zookeeper()
        self.dir.mkdir(parents=True, exist_ok=True)
        previous = _read_state(self.dir)
        if previous and _state_running(previous):
            raise ZooKeeperStartError(f"a ZooKeeper is already running under {self.dir} "
                                      f"(zookeeper.connect={previous['connect']}); stop it first")
        self.servers = self._plan(previous=previous)
        for spec in self.servers:
            self._write_config(spec)
        try:
            for i in range(self.size):
                self._launch(i)
            self._wait_ready(range(self.size))
        except BaseException:
            self.stop()
            raise
        self._save_state()
        log.info("zookeeper started", connect=self.connect_string, dir=str(self.dir), size=self.size)
        return self

    def stop(self, grace_s: float = 10.0) -> None:
        """Stop every server (SIGTERM, then SIGKILL after ``grace_s``); idempotent. Data stays in ``dir``."""
        for i in range(len(self.servers)):
            self._terminate(i, signal.SIGTERM, grace_s)
        state = self.dir / STATE_FILE
        if state.exists():
            state.unlink()

    def kill(self, index: int) -> None:
        """SIGKILL one server (a crash, for fault tests)."""
        self._terminate(index, signal.SIGKILL, 5.0)

    def stop_server(self, index: int, grace_s: float = 10.0) -> None:
        """Stop one server cleanly."""
        self._terminate(index, signal.SIGTERM, grace_s)

    def start_server(self, index: int, wait: bool = True) -> None:
        """(Re)start one server with its old config and data; by default wait until it serves again."""
        if self.is_running(index):
            return
        self._launch(index)
        if wait:
            self._wait_ready([index])
        self._save_state()

    def is_running(self, index: int) -> bool:
        spec = self.servers[index]
        proc = self._procs.get(index)
        if proc is not None and proc.pid == spec.pid:
            return proc.poll() is None  # our own child: no /proc guessing needed
        return spec.pid is not None and _our_process_alive(spec.pid, spec.cfg_path)

    def __enter__(self) -> "ZooKeeperEnsemble":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- internals --------------------------------------------------------------------------------------

    def _plan(self, previous: dict[str, Any] | None) -> list[ServerSpec]:
        """Ports: given > recorded in DIR from the last run (still free) > fresh free ports."""
        old = {s["server_id"]: s for s in (previous or {}).get("servers", [])} if previous else {}
        if self.port is not None:
            client = [self.port + i for i in range(self.size)]
            for p in client:
                if not port_is_free(p):
                    raise ZooKeeperStartError(f"port {p} on {LOCALHOST} is in use; choose another --port or omit it")
        elif len(old) == self.size and all(port_is_free(old[i + 1]["client_port"]) for i in range(self.size)):
            client = [old[i + 1]["client_port"] for i in range(self.size)]
        else:
            client = free_ports(self.size)
        quorum = free_ports(2 * self.size) if self.size > 1 else []
        specs = []
        for i in range(self.size):
            sid = i + 1
            specs.append(ServerSpec(
                server_id=sid,
                client_port=client[i],
                peer_port=quorum[2 * i] if quorum else None,
                election_port=quorum[2 * i + 1] if quorum else None,
                dir=str(self.dir / f"server-{sid}"),
            ))
        return specs

    def _write_config(self, spec: ServerSpec) -> None:
        data = Path(spec.dir) / "data"
        data.mkdir(parents=True, exist_ok=True)
        lines = [
            "# Written by kafka-zk (kafka_zk/launch/zookeeper.py); rewritten on every start.",
            f"tickTime={self.tick_time_ms}",
            "initLimit=50",
            "syncLimit=25",
            f"dataDir={data}",
            f"clientPort={spec.client_port}",
            f"clientPortAddress={self.client_address}",
            "minSessionTimeout=1000",
            "maxSessionTimeout=60000",
            "maxClientCnxns=0",
            "4lw.commands.whitelist=*",
            "admin.enableServer=false",
            f"forceSync={'yes' if self.fsync else 'no'}",
            "autopurge.snapRetainCount=3",
            "autopurge.purgeInterval=1",
        ]
        if self.size > 1:
            lines += [f"server.{s.server_id}={LOCALHOST}:{s.peer_port}:{s.election_port}" for s in self.servers]
            (data / "myid").write_text(f"{spec.server_id}\n")
        spec.cfg_path.write_text("\n".join(lines) + "\n")

    def _launch(self, index: int) -> None:
        spec = self.servers[index]
        inst = self.installation or find_zookeeper()
        cmd = [
            inst.java, "-Xms32m", f"-Xmx{self.heap_mb}m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-XX:-UsePerfData", "-Djava.awt.headless=true", "-Dzookeeper.admin.enableServer=false",
            "-Dzookeeper.jmx.log4j.disable=true", "-Dorg.slf4j.simpleLogger.showDateTime=true",
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
            "-cp", os.pathsep.join(inst.classpath), MAIN_CLASS, str(spec.cfg_path),
        ]
        with open(spec.log_path, "ab") as logf:
            logf.write(f"\n=== kafka-zk: starting server {spec.server_id} at {time.strftime('%Y-%m-%dT%H:%M:%S')}\n".encode())
            logf.flush()
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                    cwd=spec.dir, start_new_session=True, close_fds=True)
        self._procs[index] = proc
        spec.pid = proc.pid
        spec.pid_path.write_text(f"{proc.pid}\n")

    def _wait_ready(self, indexes: Any) -> None:
        want = {"standalone"} if self.size == 1 else {"leader", "follower"}
        deadline = time.monotonic() + self.start_timeout_s
        pending = list(indexes)
        while pending:
            for i in list(pending):
                spec = self.servers[i]
                if server_mode(spec.client_port, self.client_address) in want:
                    pending.remove(i)
                elif not self.is_running(i):
                    raise ZooKeeperStartError(
                        f"ZooKeeper server {spec.server_id} exited during startup; end of {spec.log_path}:\n"
                        + _tail(spec.log_path))
            if not pending:
                return
            if time.monotonic() > deadline:
                spec = self.servers[pending[0]]
                raise ZooKeeperStartError(
                    f"ZooKeeper server {spec.server_id} on port {spec.client_port} not serving after "
                    f"{self.start_timeout_s:g}s; end of {spec.log_path}:\n" + _tail(spec.log_path))
            time.sleep(0.05)

    def _terminate(self, index: int, sig: int, grace_s: float) -> None:
        spec = self.servers[index]
        proc = self._procs.pop(index, None)
        if spec.pid is not None:
            _stop_pid(spec.pid, spec.cfg_path, sig, grace_s, proc)
        spec.pid = None
        if spec.pid_path.exists():
            spec.pid_path.unlink()

    def _save_state(self) -> None:
        state = {"connect": self.connect_string, "size": self.size, "servers": [asdict(s) for s in self.servers]}
        tmp = self.dir / (STATE_FILE + ".tmp")
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        tmp.replace(self.dir / STATE_FILE)


class ZooKeeperServer(ZooKeeperEnsemble):
    """A standalone ZooKeeper under ``dir`` (``port`` free unless given); a context manager."""

    def __init__(self, dir: str | os.PathLike[str], port: int | None = None, **kwargs: Any) -> None:
        super().__init__(dir, size=1, port=port, **kwargs)


# -- CLI-level functions -----------------------------------------------------------------------------------

def start_zookeeper(dir: str | os.PathLike[str], port: int | None = None, ensemble: int = 1, **kwargs: Any) -> str:
    """Start ZooKeeper under ``dir`` and leave it running (detached); returns the connect string.

    Idempotent: when ``dir`` already holds a running ZooKeeper of that size, its connect string is
    returned. A previous run's ports are reused when still free, so the address stays stable.
    """
    root = Path(dir).resolve()
    state = _read_state(root)
    if state and _state_running(state):
        if int(state.get("size", 1)) != ensemble:
            raise ZooKeeperStartError(f"{root} already runs a ZooKeeper of size {state.get('size')}; "
                                      f"stop it first (kafka-zk zookeeper stop --dir {dir})")
        return str(state["connect"])
    if state:  # stale: whatever still runs of it goes first
        stop_zookeeper(root)
    zk = ZooKeeperEnsemble(root, size=ensemble, port=port, **kwargs)
    zk.start()
    zk._procs.clear()  # detach: we do not wait for them when this process exits
    return zk.connect_string


def stop_zookeeper(dir: str | os.PathLike[str], grace_s: float = 10.0) -> int:
    """Stop the ZooKeeper started under ``dir`` (by its pid files); returns how many servers were running."""
    root = Path(dir).resolve()
    stopped = 0
    for pid_file in sorted(root.glob("server-*/zookeeper.pid")):
        cfg = pid_file.parent / "zoo.cfg"
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            pid_file.unlink(missing_ok=True)
            continue
        if _our_process_alive(pid, cfg):
            _stop_pid(pid, cfg, signal.SIGTERM, grace_s, None)
            stopped += 1
        pid_file.unlink(missing_ok=True)
    (root / STATE_FILE).unlink(missing_ok=True)
    return stopped


def read_connect_string(dir: str | os.PathLike[str]) -> str | None:
    """The connect string of the ZooKeeper running under ``dir``, or None."""
    state = _read_state(Path(dir).resolve())
    return str(state["connect"]) if state and _state_running(state) else None


# -- process helpers ---------------------------------------------------------------------------------------

def _read_state(root: Path) -> dict[str, Any] | None:
    try:
        state = json.loads((root / STATE_FILE).read_text())
        return state if isinstance(state, dict) and "servers" in state else None
    except (OSError, ValueError):
        return None


def _state_running(state: dict[str, Any]) -> bool:
    servers = state.get("servers", [])
    return bool(servers) and all(
        s.get("pid") and _our_process_alive(int(s["pid"]), Path(s["dir"]) / "zoo.cfg")
        and server_mode(int(s["client_port"])) is not None
        for s in servers
    )


def _our_process_alive(pid: int, cfg_path: Path) -> bool:
    """True when ``pid`` runs and is the ZooKeeper started with ``cfg_path`` (not a reused pid, not a zombie).

    A child that is still inside ``execve`` has an empty ``/proc/<pid>/cmdline`` for a moment (``Popen``
    returns once the old image is gone, before the new one's argv is mapped), so an empty answer is read
    again rather than taken for "some other process"."""
    for _ in range(50):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        if stat.rsplit(")", 1)[-1].split()[0] == "Z":
            _reap(pid)
            return False
        if cmdline:
            args = cmdline.split(b"\0")
            return MAIN_CLASS.encode() in args and str(cfg_path).encode() in args
        time.sleep(0.002)
    return False


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _stop_pid(pid: int, cfg_path: Path, sig: int, grace_s: float, proc: subprocess.Popen[bytes] | None) -> None:
    if not _our_process_alive(pid, cfg_path):
        if proc is not None:
            proc.poll()
        return
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return
        if proc is None and not _our_process_alive(pid, cfg_path):
            return
        time.sleep(0.02)
    log.warning("zookeeper did not stop in time, killing", pid=pid, grace_s=grace_s)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    if proc is not None:
        proc.wait(timeout=10)
    else:
        for _ in range(500):
            if not _our_process_alive(pid, cfg_path):
                return
            time.sleep(0.02)


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
