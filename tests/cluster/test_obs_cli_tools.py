"""Kafka's command-line tools as a user runs them (real processes, stdin/stdout) against one real 3-broker
cluster: console producer/consumer, perf tests, configs (live), v0 consumer-group lag, dump-log."""

from __future__ import annotations

import asyncio
import glob
import os
import re
import subprocess
import sys
import time
import uuid
from typing import Any, Callable, Iterator

import pytest

from kafka_zk.client.admin import AdminClient, NewTopic
from kafka_zk.client.consumer import Consumer
from kafka_zk.client.partitioner import partition_for_key
from kafka_zk.common.tp import TopicPartition
from tests.conftest import TEST_CLUSTER_OVERRIDES
from tests.helpers import unique_name, wait_until


@pytest.fixture(scope="module")
def cluster(zk_connect: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """3 brokers checking retention every 500 ms (so a retention change shows within the test)."""
    from kafka_zk.launch.cluster import LocalCluster

    c = LocalCluster(tmp_path_factory.mktemp("obs-cli-cluster"))
    try:
        c.up(3, zookeeper=f"{zk_connect}/obs-cli-{uuid.uuid4().hex[:10]}",
             overrides={**TEST_CLUSTER_OVERRIDES, "log.retention.check.interval.ms": "500"})
        yield c
    finally:
        c.down(grace_s=15)


def kz(*argv: str, stdin: bytes = b"", timeout: float = 90) -> subprocess.CompletedProcess[str]:
    p = subprocess.run([sys.executable, "-m", "kafka_zk", *argv], input=stdin, capture_output=True,
                       timeout=timeout)
    return subprocess.CompletedProcess(p.args, p.returncode, p.stdout.decode("utf-8", "replace"),
                                       p.stderr.decode("utf-8", "replace"))


def create(bs: str, topic: str, partitions: int, rf: int = 2, configs: dict[str, str] | None = None) -> None:
    async def go() -> None:
        async with AdminClient(bs) as admin:
            await admin.create_topic(NewTopic(topic, partitions, rf, configs=configs or {}))
    asyncio.run(go())


def offsets(bs: str, topic: str, partitions: int, earliest: bool = False) -> dict[int, int]:
    async def go() -> dict[int, int]:
        async with Consumer(bs) as c:
            tps = [TopicPartition(topic, p) for p in range(partitions)]
            got = await (c.beginning_offsets(tps) if earliest else c.end_offsets(tps))
            return {tp.partition: o for tp, o in got.items()}
    return asyncio.run(go())


def wait_offsets(bs: str, topic: str, partitions: int, expected: dict[int, int] | int) -> None:
    """End offsets (high watermarks, which trail acks=1 writes by a follower fetch) reach ``expected``."""
    def reached() -> bool:
        got = offsets(bs, topic, partitions)
        return (sum(got.values()) if isinstance(expected, int) else got) == expected
    wait_until(reached, timeout=20, interval=0.2, message=f"end offsets of {topic} never reached {expected}")


# ------------------------------------------------------------------------------------- console tools


def test_console_round_trip_with_kafkas_properties(cluster: Any) -> None:
    bs, topic = cluster.bootstrap_servers, unique_name("console")
    create(bs, topic, 3)
    lines = [f"user{i % 4}:event {i} \u2713" for i in range(12)]
    before = int(time.time() * 1000)
    p = kz("console-producer", "--bootstrap-server", bs, "--topic", topic, "--property", "parse.key=true",
           "--property", "key.separator=:", "--producer-property", "acks=all",
           stdin="\n".join(lines).encode())
    assert (p.returncode, p.stderr) == (0, "")
    c = kz("console-consumer", "--bootstrap-server", bs, "--topic", topic, "--from-beginning",
           "--max-messages", "12",
           "--property", "print.key=true", "--property", "print.timestamp=true", "--property",
           "print.partition=true",
           "--property", "print.offset=true", "--property", "key.separator=|")
    assert c.returncode == 0, c.stderr
    assert c.stderr.strip() == "Processed a total of 12 messages"
    seen: dict[int, list[int]] = {}
    values = []
    for line in c.stdout.splitlines():
        m = re.fullmatch(r"CreateTime:(\d+)\|Partition:(\d)\|Offset:(\d+)\|(user\d)\|(.*)", line)
        assert m, line
        ts, part, off, key, value = int(m[1]), int(m[2]), int(m[3]), m[4], m[5]
        assert before - 5000 <= ts <= int(time.time() * 1000)
        assert part == partition_for_key(key.encode(), 3)  # keyed records follow murmur2 like Kafka's clients
        seen.setdefault(part, []).append(off)
        values.append(f"{key}:{value}")
    assert sorted(values) == sorted(lines)
    assert all(offs == sorted(offs) == list(range(len(offs))) for offs in seen.values())


def test_console_consumer_partition_offset_and_group(cluster: Any) -> None:
    bs, topic = cluster.bootstrap_servers, unique_name("offsets")
    create(bs, topic, 1)
    assert kz("console-producer", "--bootstrap-server", bs, "--topic", topic,
              stdin=b"".join(b"m%d\n" % i for i in range(10))).returncode == 0
    c = kz("console-consumer", "--bootstrap-server", bs, "--topic", topic, "--partition", "0", "--offset",
           "7",
           "--timeout-ms", "3000")
    assert (c.stdout.splitlines(), c.stderr.strip()) == (["m7", "m8", "m9"],
                                                         "Processed a total of 3 messages")
    earliest = kz("console-consumer", "--bootstrap-server", bs, "--topic", topic, "--partition", "0",
                  "--offset", "earliest", "--max-messages", "2")
    assert earliest.stdout.splitlines() == ["m0", "m1"]
    latest = kz("console-consumer", "--bootstrap-server", bs, "--topic", topic, "--partition", "0",
                "--offset", "latest", "--timeout-ms", "1500")
    assert latest.stdout == "" and latest.returncode == 0
    group = unique_name("g")
    first = kz("console-consumer", "--bootstrap-server", bs, "--topic", topic, "--group", group,
               "--from-beginning",
               "--max-messages", "4", "--consumer-property", "fetch.max.wait.ms=100")
    assert first.stdout.splitlines() == ["m0", "m1", "m2", "m3"]
    rest = kz("console-consumer", "--bootstrap-server", bs, "--topic", topic, "--group", group,
              "--timeout-ms", "3000")
    assert rest.stdout.splitlines() == [f"m{i}" for i in range(4, 10)]  # resumes from the group's commit


def test_console_consumers_of_one_group_share_its_partitions(cluster: Any) -> None:
    """--group makes each console consumer a member: two of them split the partitions, each record once."""
    bs, topic, group = cluster.bootstrap_servers, unique_name("share"), unique_name("g")
    create(bs, topic, 4)
    argv = [sys.executable, "-m", "kafka_zk", "console-consumer", "--bootstrap-server", bs, "--topic", topic,
            "--group", group, "--from-beginning", "--timeout-ms", "8000",
            "--consumer-property", "heartbeat.interval.ms=200", "--consumer-property", "fetch.max.wait.ms=100"]
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    try:
        async def members_with_partitions() -> int:
            async with AdminClient(bs) as admin:
                try:
                    desc = (await admin.describe_groups([group]))[group]
                except Exception:
                    return 0
                return sum(1 for m in desc.members if len(m.assignment) > 16) if desc.state == "Stable" else 0
        wait_until(lambda: asyncio.run(members_with_partitions()) == 2, timeout=30, interval=0.3,
                   message="two console consumers did not both get partitions")
        lines = [f"v{i}" for i in range(40)]
        assert kz("console-producer", "--bootstrap-server", bs, "--topic", topic, "--property", "parse.key=true",
                  "--property", "key.separator=:",
                  stdin="".join(f"k{i}:{v}\n" for i, v in enumerate(lines)).encode()).returncode == 0
        outs = [p.communicate(timeout=60)[0].decode().splitlines() for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert all(outs), f"one member printed nothing: {[len(o) for o in outs]}"
    assert sorted(outs[0] + outs[1]) == sorted(lines)


def test_console_tools_refuse_bad_arguments_in_one_line(cluster: Any) -> None:
    bs = cluster.bootstrap_servers
    cases = [
        (["console-consumer", "--bootstrap-server", bs, "--topic", "t", "--offset", "5"],
         "The partition is required"),
        (["console-consumer", "--bootstrap-server", bs, "--topic", "t", "--partition", "0", "--offset",
          "soon"],
         "Valid values are 'earliest', 'latest', or a non-negative long"),
        (["console-consumer", "--bootstrap-server", bs, "--topic", "t", "--group", "g", "--partition", "0"],
         "Options group and partition cannot be specified together"),
        (["console-consumer", "--bootstrap-server", bs, "--topic", "t", "--property", "print.kee=true"],
         "unknown formatter property 'print.kee'"),
        (["console-producer", "--bootstrap-server", bs, "--topic", "t", "--producer-property", "ack=all"],
         "did you mean acks?"),
        (["console-producer", "--bootstrap-server", bs, "--topic", "t", "--request-required-acks", "2"],
         "expected 0, 1, -1 or all"),
    ]
    for argv, expected in cases:
        p = kz(*argv)
        assert p.returncode == 2 and len(p.stderr.splitlines()) == 1 and expected in p.stderr, (argv,
                                                                                                p.stderr)


def test_console_producer_stops_at_a_line_without_key_and_keeps_earlier_ones(cluster: Any) -> None:
    bs, topic = cluster.bootstrap_servers, unique_name("nokey")
    create(bs, topic, 1)
    p = kz("console-producer", "--bootstrap-server", bs, "--topic", topic, "--property", "parse.key=true",
           "--property", "key.separator=:", stdin=b"a:1\nb:2\nbroken\nc:3\n")
    assert p.returncode == 1 and "No key found on line 3: 'broken'" in p.stderr
    wait_offsets(bs, topic, 1, {0: 2})
    lenient = kz("console-producer", "--bootstrap-server", bs, "--topic", topic, "--property",
                 "parse.key=true",
                 "--property", "key.separator=:", "--property", "ignore.error=true", stdin=b"broken\n")
    assert lenient.returncode == 0
    wait_offsets(bs, topic, 1, {0: 3})


# ------------------------------------------------------------------------------------- perf tests

PRODUCER_TOTAL = re.compile(r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg "
                            r"latency, "
                            r"([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) "
                            r"ms 99.9th\.")


def test_producer_perf_test_prints_kafkas_lines_and_sends_the_records(cluster: Any) -> None:
    bs, topic = cluster.bootstrap_servers, unique_name("perf")
    create(bs, topic, 3)
    p = kz("producer-perf-test", "--topic", topic, "--num-records", "5000", "--record-size", "100",
           "--throughput", "-1", "--producer-props", "acks=1", f"bootstrap.servers={bs}")
    assert p.returncode == 0, p.stderr
    last = p.stdout.splitlines()[-1]
    m = PRODUCER_TOTAL.fullmatch(last)
    assert m, last
    assert int(m[1]) == 5000
    p50, p95, p99, p999, max_ms = int(m[6]), int(m[7]), int(m[8]), int(m[9]), float(m[5])
    assert p50 <= p95 <= p99 <= p999 <= max_ms
    assert abs(float(m[3]) - float(m[2]) * 100 / 1048576) < 0.02  # MB/sec = records/sec x record size
    assert "\x1b[K" not in p.stdout  # no live progress line when stdout is a pipe
    wait_offsets(bs, topic, 3, 5000)


def test_producer_perf_test_throttles_to_the_target(cluster: Any) -> None:
    bs, topic = cluster.bootstrap_servers, unique_name("throttle")
    create(bs, topic, 1)
    started = time.monotonic()
    p = kz("producer-perf-test", "--topic", topic, "--num-records", "600", "--record-size", "10",
           "--throughput", "100", "--producer-props", "acks=all", f"bootstrap.servers={bs}")
    took = time.monotonic() - started
    assert p.returncode == 0, p.stderr
    *windows, total = p.stdout.splitlines()
    m = PRODUCER_TOTAL.fullmatch(total)
    assert m and int(m[1]) == 600
    # Kafka's throttler lets through what is sent within the first millisecond (the rate is undefined at
    # elapsed 0), then holds the average at the target: 600 records at 100/s take over 5 s, whatever the load.
    assert took >= 5.0 and float(m[2]) <= 120
    # ... and, being longer than 5 s, the run printed Kafka's window line(s) first
    window = re.compile(r"(\d+) records sent, ([\d.]+) records/sec \([\d.]+ MB/sec\), [\d.]+ ms avg latency, "
                        r"[\d.]+ ms max latency\.")
    assert windows and all(window.fullmatch(w) for w in windows), windows
    assert sum(int(window.fullmatch(w)[1]) for w in windows) < 600  # type: ignore[index]


def test_producer_perf_test_argument_errors(cluster: Any) -> None:
    p = kz("producer-perf-test", "--topic", "t", "--num-records", "10", "--record-size", "10",
           "--throughput", "-1")
    assert p.returncode == 2 and "Either --producer-props or --producer.config must be specified" in p.stderr
    p = kz("producer-perf-test", "--topic", "t", "--num-records", "10", "--throughput", "-1",
           "--producer-props", f"bootstrap.servers={cluster.bootstrap_servers}")
    assert p.returncode == 2 and "exactly one of --record-size or --payload-file" in p.stderr


def test_consumer_perf_test_csv(cluster: Any) -> None:
    bs, topic = cluster.bootstrap_servers, unique_name("cperf")
    create(bs, topic, 2)
    assert kz("producer-perf-test", "--topic", topic, "--num-records", "2000", "--record-size", "512",
              "--throughput", "-1", "--producer-props", f"bootstrap.servers={bs}").returncode == 0
    p = kz("consumer-perf-test", "--bootstrap-server", bs, "--topic", topic, "--messages", "2000")
    assert p.returncode == 0, p.stderr
    header, row = p.stdout.splitlines()
    assert header == ("start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, "
                      "rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec")
    cells = row.split(", ")
    assert len(cells) == 10 and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d:\d{3}", cells[0])
    assert cells[4] == "2000" and abs(float(cells[2]) - 2000 * 512 / 1048576) < 0.0001
    short = kz("consumer-perf-test", "--bootstrap-server", bs, "--topic", topic, "--messages", "2500",
               "--timeout", "1500", "--hide-header")
    out = short.stdout.splitlines()
    assert out[0].startswith("WARNING: Exiting before consuming the expected number of messages: timeout "
                             "(1500 ms)")
    assert out[1].split(", ")[4] == "2000"


# ------------------------------------------------------------------------------------- configs


def applied_everywhere(cluster: Any, kind: str, match: Callable[[dict[str, Any]], bool]) -> None:
    """Wait until every broker logged an event of ``kind`` that ``match``es (GET /events on its control
    listener): the brokers apply config changes asynchronously, after the change notification."""
    import json
    import urllib.request

    def seen(b: Any) -> bool:
        url = f"http://127.0.0.1:{b.control_port}/events?kind={kind}"
        with urllib.request.urlopen(url, timeout=5) as r:
            return any(match(e) for e in json.loads(r.read()))

    for b in cluster:
        if b.is_running():
            wait_until(lambda b=b: seen(b), timeout=30, interval=0.2,
                       message=f"broker {b.broker_id} never applied the {kind} change")


def leader_log_files(cluster: Any, topic: str, partition: int = 0) -> list[str]:
    async def leader() -> int:
        async with AdminClient(cluster.bootstrap_servers) as admin:
            md = (await admin.describe_topics([topic]))[topic]
            return int(md.partitions[partition].leader)
    bid = asyncio.run(leader())
    return sorted(glob.glob(os.path.join(cluster.broker(bid).data_dir, f"{topic}-{partition}", "*.log")))


def test_configs_through_zookeeper_apply_live(cluster: Any) -> None:
    bs, zk, topic = cluster.bootstrap_servers, cluster.zookeeper_connect, unique_name("live")
    create(bs, topic, 1)
    p = kz("configs", "--zookeeper", zk, "--entity-type", "topics", "--entity-name", topic, "--alter",
           "--add-config", "segment.bytes=1024,cleanup.policy=delete,retention.ms=3600000")
    done = f"Completed updating config for entity: topic '{topic}'."
    assert (p.returncode, p.stdout.strip()) == (0, done), p.stderr
    d = kz("configs", "--zookeeper", zk, "--entity-type", "topics", "--entity-name", topic, "--describe")
    assert d.stdout.strip() == (f"Configs for topic '{topic}' are segment.bytes=1024,cleanup.policy=delete,"
                                f"retention.ms=3600000")
    applied_everywhere(cluster, "config.topic_changed",
                       lambda e: e.get("topic") == topic and e["overrides"].get("segment.bytes") == "1024")
    assert kz("producer-perf-test", "--topic", topic, "--num-records", "200", "--record-size", "100",
              "--throughput", "-1", "--producer-props", "acks=all", "linger.ms=0", "batch.size=200",
              f"bootstrap.servers={bs}").returncode == 0
    assert len(leader_log_files(cluster,
                                topic)) > 3  # rolled at ~1 KiB: segment.bytes took effect without restart
    assert offsets(bs, topic, 1, earliest=True) == {0: 0}
    p = kz("configs", "--zookeeper", zk, "--topic", topic, "--alter", "--add-config", "retention.ms=1",
           "--delete-config", "cleanup.policy")
    assert p.returncode == 0, p.stderr
    wait_until(lambda: offsets(bs, topic, 1, earliest=True)[0] > 0, timeout=30,
               message="retention.ms=1 did not delete old segments on the running broker")
    d = kz("configs", "--zookeeper", zk, "--topic", topic, "--describe")
    assert d.stdout.strip() == f"Configs for topic '{topic}' are segment.bytes=1024,retention.ms=1"


def test_configs_through_the_bootstrap_server(cluster: Any) -> None:
    bs, topic = cluster.bootstrap_servers, unique_name("bscfg")
    create(bs, topic, 1)
    p = kz("configs", "--bootstrap-server", bs, "--entity-type", "topics", "--entity-name", topic, "--alter",
           "--add-config", "retention.ms=86400000,min.insync.replicas=2")
    assert (p.returncode, p.stdout.strip()) == (0, f"Completed updating config for topic {topic}."), p.stderr
    p = kz("configs", "--bootstrap-server", bs, "--topic", topic, "--alter", "--delete-config",
           "min.insync.replicas")
    assert p.returncode == 0, p.stderr
    d = kz("configs", "--bootstrap-server", bs, "--entity-type", "topics", "--entity-name", topic,
           "--describe")
    assert d.stdout.splitlines() == [
        f"Dynamic configs for topic {topic} are:",
        "  retention.ms=86400000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=86400000}",
    ]
    everything = kz("configs", "--bootstrap-server", bs, "--topic", topic, "--describe", "--all").stdout
    default_line = ("  segment.bytes=1073741824 sensitive=false "
                    "synonyms={DEFAULT_CONFIG:segment.bytes=1073741824}")
    assert default_line in everything
    broker = kz("configs", "--bootstrap-server", bs, "--entity-type", "brokers", "--entity-name", "1",
                "--describe")
    assert broker.returncode == 0 and broker.stdout.splitlines()[0] == "Dynamic configs for broker 1 are:"


def test_configs_refuse_bad_keys_and_values(cluster: Any) -> None:
    bs, zk, topic = cluster.bootstrap_servers, cluster.zookeeper_connect, unique_name("badcfg")
    create(bs, topic, 1)
    base = ["configs", "--zookeeper", zk, "--topic", topic, "--alter"]
    cases = [
        (base + ["--add-config", "retention.msx=5"], 2, "did you mean 'retention.ms'?"),
        (base + ["--add-config", "retention.ms=soon"], 2, "invalid value 'soon' for retention.ms"),
        (base + ["--add-config", "cleanup.policy=zap"], 2, "expected one of delete, compact"),
        (base + ["--delete-config", "retention.ms"], 2, "Invalid config(s): retention.ms"),
        (base + ["--add-config", "novalue"], 2, "is not key=value"),
        (["configs", "--zookeeper", zk, "--entity-type", "brokers", "--entity-name", "1", "--alter",
          "--add-config", "log.segment.byte=2048"], 2, "did you mean 'log.segment.bytes'?"),
        (["configs", "--zookeeper", zk, "--entity-type", "brokers", "--entity-default", "--alter",
          "--add-config", "log.segment.bytes=10"], 2, "invalid value 10 for segment.bytes"),
        (["configs", "--zookeeper", zk, "--entity-type", "brokers", "--entity-name", "1", "--alter",
          "--add-config", "num.io.threads=4"], 2, "not a broker config that can change while brokers run"),
        (["configs", "--zookeeper", zk, "--topic", unique_name("missing"), "--alter", "--add-config",
          "retention.ms=1"], 1, "does not exist"),
        (["configs", "--bootstrap-server", bs, "--topic", topic, "--alter", "--add-config",
          "retention.ms=-7"], 2,
         "retention.ms"),
    ]
    for argv, code, expected in cases:
        p = kz(*argv)
        assert p.returncode == code and len(p.stderr.splitlines()) == 1 and expected in p.stderr, (argv,
                                                                                                   p.stderr)
    d = kz("configs", "--zookeeper", zk, "--topic", topic, "--describe")
    assert d.stdout == f"Configs for topic '{topic}' are \n"  # nothing was written


# ------------------------------------------------------------------------------------- v0 groups


def test_zookeeper_group_offsets_with_live_lag(cluster: Any) -> None:
    from zk_layout import KafkaZkClient

    bs, topic, group = cluster.bootstrap_servers, unique_name("v0"), unique_name("oldgroup")
    create(bs, topic, 2)
    lines = b"".join(b"k%d:v\n" % i for i in range(40))
    assert kz("console-producer", "--bootstrap-server", bs, "--topic", topic, "--property", "parse.key=true",
              "--property", "key.separator=:", stdin=lines).returncode == 0
    wait_offsets(bs, topic, 2, 40)
    ends = offsets(bs, topic, 2)
    zk = KafkaZkClient(cluster.zookeeper_connect, session_timeout_ms=10000).start()
    try:
        zk.set_consumer_offset(group, topic, 0, 3)  # as a 0.8 consumer (or OffsetCommit v0) leaves them
        zk.set_consumer_offset(group, topic, 1, ends[1])
        # a live 0.8 consumer owns partition 0: "<consumer id>-<thread>"
        zk.create(f"/consumers/{group}/owners/{topic}/0", b"host1-1600000000000-abcd1234-0",
                  make_parents=True)
    finally:
        zk.close()
    listed = kz("consumer-groups", "--zookeeper", cluster.zookeeper_connect, "--list")
    assert group in listed.stdout.splitlines()
    d = kz("consumer-groups", "--zookeeper", cluster.zookeeper_connect, "--describe", "--group", group)
    assert d.returncode == 0, d.stderr
    assert d.stderr.startswith("Note: This will only show information about consumers that use ZooKeeper")
    lines = d.stdout.splitlines()
    assert lines[0] == "" and lines[1].split() == ["TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET",
                                                   "LAG",
                                                    "CONSUMER-ID"]
    assert [ln.split() for ln in lines[2:]] == [[topic, "0", "3", str(ends[0]), str(ends[0] - 3),
                                                 "host1-1600000000000-abcd1234"],
                                                [topic, "1", str(ends[1]), str(ends[1]), "0", "-"]]
    assert lines[1].index("PARTITION") == lines[2].index(" 0 ") + 1  # columns line up
    missing = kz("consumer-groups", "--zookeeper", cluster.zookeeper_connect, "--describe", "--group",
                 "nope-x")
    assert missing.returncode == 1 and "Error: The consumer group 'nope-x' does not exist." in missing.stdout
    deleted = kz("consumer-groups", "--zookeeper", cluster.zookeeper_connect, "--delete", "--group", group)
    assert (deleted.returncode, deleted.stdout.strip()) == (
        0, f"Deleted all consumer group information for group '{group}' in zookeeper.")
    after = kz("consumer-groups", "--zookeeper", cluster.zookeeper_connect, "--list")
    assert group not in after.stdout.splitlines()


# ------------------------------------------------------------------------------------- dump-log


def test_dump_log_of_a_live_brokers_segment(cluster: Any) -> None:
    bs, topic = cluster.bootstrap_servers, unique_name("dump")
    create(bs, topic, 1)
    assert kz("console-producer", "--bootstrap-server", bs, "--topic", topic, "--property", "parse.key=true",
              "--property", "key.separator=:", stdin=b"alpha:one\nbeta:two\n").returncode == 0
    files = leader_log_files(cluster, topic)
    p = kz("dump-log", "--files", files[0], "--print-data-log")
    assert p.returncode == 0, p.stderr
    records = [ln for ln in p.stdout.splitlines() if ln.startswith("| offset:")]
    assert [ln.split(" key: ")[1] for ln in records] == ["alpha payload: one", "beta payload: two"]
    assert all(re.search(r" CreateTime: \d+ ", ln) for ln in records)
    base = files[0][: -len(".log")]
    v = kz("dump-log", "--files", f"{base}.index,{base}.timeindex", "--verify-index-only")
    assert v.returncode == 0 and v.stderr == ""  # the active segment's preallocated indexes verify clean


def test_producer_perf_test_draws_a_live_progress_line_on_a_terminal(cluster: Any) -> None:
    import pty

    bs, topic = cluster.bootstrap_servers, unique_name("tty")
    create(bs, topic, 1)
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "kafka_zk", "producer-perf-test", "--topic", topic,
                             "--num-records", "150", "--record-size", "10", "--throughput", "100",
                             "--producer-props", f"bootstrap.servers={bs}"],
                            stdout=slave, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    os.close(slave)
    out = b""
    try:
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
    finally:
        assert proc.wait(timeout=60) == 0
        os.close(master)
    text = out.decode()
    assert re.search(r"\r\x1b\[K\d+/150 sent, \d+ acknowledged, [\d.]+ records/sec", text)  # redrawn in place
    last = text.replace("\r\x1b[K", "\n").strip().splitlines()[-1]
    assert PRODUCER_TOTAL.fullmatch(last.strip()), last  # Kafka's line replaces it at the end


def test_dynamic_broker_default_changes_running_logs(cluster: Any) -> None:
    """``--entity-type brokers --entity-default``: every broker adopts the new log default at once, for topics
    without their own override (the broker-level half of Kafka's dynamic configs)."""
    bs, zk = cluster.bootstrap_servers, cluster.zookeeper_connect
    pinned, follows = unique_name("pinned"), unique_name("follows")
    create(bs, pinned, 1, configs={"segment.bytes": "1073741824"})
    create(bs, follows, 1)
    p = kz("configs", "--zookeeper", zk, "--entity-type", "brokers", "--entity-default", "--alter",
           "--add-config", "log.segment.bytes=1024")
    done = "Completed updating config for entity: default brokers."
    assert (p.returncode, p.stdout.strip()) == (0, done), p.stderr
    try:
        d = kz("configs", "--zookeeper", zk, "--entity-type", "brokers", "--entity-default", "--describe")
        assert d.stdout.strip() == "Configs for default brokers are log.segment.bytes=1024"
        applied_everywhere(cluster, "config.broker_changed",
                           lambda e: e["config"].get("log.segment.bytes") == "1024")
        for topic in (pinned, follows):
            assert kz("producer-perf-test", "--topic", topic, "--num-records", "200", "--record-size", "100",
                      "--throughput", "-1", "--producer-props", "acks=all", "batch.size=200",
                      f"bootstrap.servers={bs}").returncode == 0
        assert len(leader_log_files(cluster, follows)) > 3  # rolled at the new default, no restart
        assert len(leader_log_files(cluster, pinned)) == 1  # its own override still wins
    finally:
        r = kz("configs", "--zookeeper", zk, "--entity-type", "brokers", "--entity-default", "--alter",
               "--delete-config", "log.segment.bytes")
        assert r.returncode == 0, r.stderr


def test_a_restarted_broker_reads_dynamic_broker_configs_whose_notification_expired(cluster: Any) -> None:
    """Notifications are deleted after 15 minutes; a broker starting later must still find
    ``/config/brokers/<id>`` and use it (Kafka reads dynamic broker configs at startup)."""
    from zk_layout import KafkaZkClient

    bs, bid = cluster.bootstrap_servers, max(b.broker_id for b in cluster)
    cluster.kill(bid, "TERM")
    zk = KafkaZkClient(cluster.zookeeper_connect, session_timeout_ms=10000).start()
    try:
        zk.set_or_create_entity_config("brokers", str(bid), {"log.segment.bytes": "1024"})  # no notification
        cluster.start(bid)
        topic = unique_name("restarted")

        async def make() -> None:
            async with AdminClient(bs) as admin:
                await admin.create_topic(NewTopic(topic, replica_assignment={0: [bid]}))
        asyncio.run(make())
        assert kz("producer-perf-test", "--topic", topic, "--num-records", "200", "--record-size", "100",
                  "--throughput", "-1", "--producer-props", "acks=all", "batch.size=200",
                  f"bootstrap.servers={bs}").returncode == 0
        assert len(leader_log_files(cluster, topic)) > 3
    finally:
        zk.change_entity_config("brokers", str(bid), {})
        zk.close()


def test_broker_configs_through_the_bootstrap_server(cluster: Any) -> None:
    """A broker's own dynamic configs over AlterConfigs/DescribeConfigs; confluent-kafka (librdkafka) sees
    their source as Kafka reports it."""
    from confluent_kafka.admin import AdminClient as CKAdmin
    from confluent_kafka.admin import ConfigResource, ConfigSource

    bs = cluster.bootstrap_servers
    one = ["configs", "--bootstrap-server", bs, "--entity-type", "brokers", "--entity-name", "1"]
    p = kz(*one, "--alter", "--add-config", "log.retention.ms=7200000")
    assert (p.returncode, p.stdout.strip()) == (0, "Completed updating config for broker 1."), p.stderr
    try:
        d = kz(*one, "--describe")
        assert d.stdout.splitlines() == [
            "Dynamic configs for broker 1 are:",
            "  log.retention.ms=7200000 sensitive=false "
            "synonyms={DYNAMIC_BROKER_CONFIG:log.retention.ms=7200000}",
        ]
        z = kz("configs", "--zookeeper", cluster.zookeeper_connect, "--entity-type", "brokers",
               "--entity-name", "1", "--describe")
        assert z.stdout.strip() == "Configs for brokers '1' are log.retention.ms=7200000"
        ck = CKAdmin({"bootstrap.servers": bs})
        [fut] = ck.describe_configs([ConfigResource("BROKER", "1")]).values()
        entry = fut.result(timeout=30)["log.retention.ms"]
        assert (entry.value, entry.source, entry.is_read_only) == (
            "7200000", ConfigSource.DYNAMIC_BROKER_CONFIG.value, False)
        bad = kz(*one, "--alter", "--add-config", "num.network.threads=9")
        assert bad.returncode == 2 and "not a broker config that can change while brokers run" in bad.stderr
    finally:
        r = kz(*one, "--alter", "--delete-config", "log.retention.ms")
        assert r.returncode == 0, r.stderr
    after = kz(*one, "--describe")
    assert after.stdout.splitlines() == ["Dynamic configs for broker 1 are:"]


def test_console_producer_prompts_on_a_terminal(cluster: Any) -> None:
    """Kafka's console producer prints ">" before each line it reads when it runs on a terminal."""
    import pty

    bs, topic = cluster.bootstrap_servers, unique_name("prompt")
    create(bs, topic, 1)
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "kafka_zk", "console-producer", "--bootstrap-server", bs,
                             "--topic", topic, "--producer-property", "acks=all"],
                            stdin=slave, stdout=slave, stderr=subprocess.PIPE)
    os.close(slave)
    out = b""
    try:
        def read_until(marker: bytes) -> None:
            nonlocal out
            deadline = time.monotonic() + 30
            while marker not in out and time.monotonic() < deadline:
                out += os.read(master, 4096)
        read_until(b">")  # the first prompt: the producer is ready for a line
        os.write(master, b"first\n")
        read_until(b"first\r\n>")  # the terminal's echo, then the next prompt
        os.write(master, b"second\n\x04")  # a line, then Ctrl-D (end of input)
        assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    assert out.startswith(b">")
    wait_offsets(bs, topic, 1, {0: 2})


def test_producer_perf_test_payload_file(cluster: Any, tmp_path: Any) -> None:
    bs, topic = cluster.bootstrap_servers, unique_name("payloads")
    create(bs, topic, 1)
    f = tmp_path / "payloads.txt"
    f.write_text("alpha|beta|gamma")
    p = kz("producer-perf-test", "--topic", topic, "--num-records", "60", "--payload-file", str(f),
           "--payload-delimiter", "|", "--throughput", "-1", "--producer-props", "acks=all",
           f"bootstrap.servers={bs}")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[:2] == [f"Reading payloads from: {f}", "Number of messages read: 3"]
    assert PRODUCER_TOTAL.fullmatch(lines[-1])
    c = kz("console-consumer", "--bootstrap-server", bs, "--topic", topic, "--from-beginning",
           "--max-messages", "60")
    assert set(c.stdout.splitlines()) == {"alpha", "beta", "gamma"}  # the pieces, picked at random
