"""How much a scrape of the HTTP admin costs: ``/metrics`` and ``/api/cluster`` against ``/health`` (the
baseline: the same listener doing nothing), on a local 3-broker cluster with ``--partitions`` replicated
partitions plus ``__consumer_offsets``. Prints the median and p95 milliseconds and the ratio to the baseline.

    PYTHONPATH=$PWD python tools/bench_http_admin.py [--partitions 60] [--rounds 40]

``/api/cluster`` is cached for 0.5 s on the broker; each round here waits past the cache so every request
does the full read of ZooKeeper and of the peers' ``/state``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

from kafka_zk.launch.cluster import LocalCluster


def timed(url: str) -> tuple[float, int]:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as resp:
        size = len(resp.read())
    return (time.perf_counter() - start) * 1000, size


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--partitions", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=40)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-http-") as d:
        cluster = LocalCluster(d).up(3, overrides={"offsets.topic.num.partitions": "10"})
        try:
            subprocess.run(
                [sys.executable, "-m", "kafka_zk", "topics", "--bootstrap-server", cluster.bootstrap_servers,
                 "--create", "--topic", "bench", "--partitions", str(args.partitions),
                 "--replication-factor", "3"], check=True, capture_output=True)
            time.sleep(2)
            url = cluster.broker(0).dashboard
            assert url is not None
            results: dict[str, list[float]] = {"health": [], "metrics": [], "api/cluster": []}
            sizes: dict[str, int] = {}
            for _ in range(args.rounds):
                for path in results:
                    ms, sizes[path] = timed(url + path)
                    results[path].append(ms)
                time.sleep(0.55)
            base = statistics.median(results["health"])
            print(f"{'route':<14}{'median ms':>10}{'p95 ms':>9}{'x /health':>10}{'bytes':>9}")
            for path, ms_list in results.items():
                ms_list.sort()
                med = statistics.median(ms_list)
                p95 = ms_list[int(0.95 * (len(ms_list) - 1))]
                print(f"{'/' + path:<14}{med:>10.2f}{p95:>9.2f}{med / base:>10.1f}{sizes[path]:>9}")
        finally:
            cluster.down(grace_s=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
