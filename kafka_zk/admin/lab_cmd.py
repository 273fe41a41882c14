"""``kafka-zk lab list`` / ``kafka-zk lab run NAME [--keep]``: scripted scenarios on a real local cluster."""

from __future__ import annotations

import argparse
import json
import sys

from kafka_zk.admin.common import quiet_kazoo
from kafka_zk.labs.runner import UnknownLab, catalogue, run_lab
from kafka_zk.launch.cluster import ClusterError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lab", help="study labs: start a cluster, run a scenario, narrate it, check its claim")
    lsub = p.add_subparsers(dest="lab_command", metavar="ACTION", parser_class=type(p))
    lsub.required = True
    ls = lsub.add_parser("list", help="the labs and what each shows")
    ls.set_defaults(func=_list)
    run = lsub.add_parser("run", help="run one lab (exit 0 when every check holds, 1 otherwise)")
    run.add_argument("name", help="lab name (see: kafka-zk lab list)")
    run.add_argument("--keep", action="store_true", help="leave the cluster running afterwards")
    run.add_argument("--dir", default=None, help="cluster directory (default: a temporary one)")
    run.add_argument("--zookeeper", default=None, help="use this ZooKeeper (host:port/chroot) instead of starting one")
    run.add_argument("--json", action="store_true", help="print the story and the verdict as JSON at the end")
    run.set_defaults(func=_run)


def _list(args: argparse.Namespace) -> int:
    labs = catalogue()
    width = max(len(n) for n in labs)
    for lab in labs.values():
        print(f"{lab.name:<{width}}  {lab.title}: {lab.shows}")
    return 0


def _run(args: argparse.Namespace) -> int:
    if args.name not in catalogue():
        print(f"kafka-zk lab run: error: {UnknownLab(args.name)}", file=sys.stderr)
        return 2
    quiet_kazoo()
    try:
        result = run_lab(args.name, keep=args.keep, directory=args.dir, zookeeper=args.zookeeper,
                         out=None if args.json else sys.stdout)
    except ClusterError as e:
        print(f"kafka-zk lab run: error: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({
            "lab": result.lab, "passed": result.passed, "error": result.error, "seconds": round(result.seconds, 3),
            "directory": result.directory,
            "checks": [{"claim": c, "ok": ok, "detail": d} for c, ok, d in result.checks],
            "story": [{"t": round(ln.elapsed_s, 3), "kind": ln.kind, "text": ln.text} for ln in result.lines],
        }, indent=2))
    return 0 if result.passed else 1
