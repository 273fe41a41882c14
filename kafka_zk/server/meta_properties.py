"""``meta.properties`` in each log dir: which cluster and broker the data belongs to (Kafka's
``BrokerMetadataCheckpoint``). A broker refuses to start when its log dirs disagree with each other, with
``broker.id`` or with the cluster id in ZooKeeper, so data is never mixed across clusters or brokers."""

from __future__ import annotations

import os
import time
from pathlib import Path

from kafka_zk.common.config import ConfigError, parse_properties

FILE = "meta.properties"


def read_meta(log_dir: str) -> dict[str, str] | None:
    path = Path(log_dir) / FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    props = parse_properties(text)
    if props.get("version") != "0":
        raise ConfigError(f"{path}: unsupported meta.properties version {props.get('version')!r} (expected 0)")
    return props


def check_and_merge_meta(log_dirs: list[str]) -> tuple[str | None, int | None]:
    """(cluster id, broker id) recorded in the log dirs, or None where nothing is recorded yet.
    Raises ConfigError when two dirs disagree."""
    cluster: str | None = None
    broker: int | None = None
    for d in log_dirs:
        meta = read_meta(d)
        if meta is None:
            continue
        c, b = meta.get("cluster.id"), meta.get("broker.id")
        if c is not None:
            if cluster is not None and c != cluster:
                raise ConfigError(f"log dirs disagree on cluster.id ({cluster} vs {c} in {d})")
            cluster = c
        if b is not None:
            if broker is not None and int(b) != broker:
                raise ConfigError(f"log dirs disagree on broker.id ({broker} vs {b} in {d})")
            broker = int(b)
    return cluster, broker


def write_meta(log_dirs: list[str], cluster_id: str | None, broker_id: int) -> None:
    for d in log_dirs:
        os.makedirs(d, exist_ok=True)
        path = Path(d) / FILE
        tmp = path.with_suffix(".tmp")
        lines = ["#", f"#{time.strftime('%a %b %d %H:%M:%S %Z %Y')}", "version=0", f"broker.id={broker_id}"]
        if cluster_id:
            lines.append(f"cluster.id={cluster_id}")
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        os.replace(tmp, path)
