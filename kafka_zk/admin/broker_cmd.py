"""``kafka-zk broker --config server.properties [--override k=v ...]``: run one broker in the foreground.

SIGTERM / SIGINT trigger a controlled shutdown (leadership moves off this broker first); a second signal
stops at once. Exit code 0 after a clean stop, 1 when startup failed (one line says why), 2 for a bad config.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from typing import TYPE_CHECKING, Any

from kafka_zk.common.config import ConfigError, parse_kv_args
from kafka_zk.common.tasks import spawn

if TYPE_CHECKING:
    from kafka_zk.server.config import BrokerConfig


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("broker", help="run a broker (Kafka-style server.properties)")
    p.add_argument("--config", required=True, metavar="FILE", help="server.properties")
    p.add_argument("--override", action="append", default=[], metavar="K=V", help="override a config key (repeatable)")
    p.set_defaults(func=_run, default_log_level="INFO")


def _run(args: argparse.Namespace) -> int:
    from kafka_zk.server.config import BrokerConfig  # the server package takes ~0.5 s to import: only here

    try:
        config = BrokerConfig.from_file(args.config, parse_kv_args(args.override, "--override"))
    except ConfigError as e:
        print(f"kafka-zk broker: error: {e}", file=sys.stderr)
        return 2
    return asyncio.run(_serve(config))


async def _serve(config: BrokerConfig) -> int:
    from kafka_zk.server.broker import BrokerStartupError, KafkaBroker

    stop_requested = asyncio.Event()
    signals = 0
    broker: KafkaBroker | None = None
    background: set[asyncio.Task[Any]] = set()

    def on_signal() -> None:
        nonlocal signals
        signals += 1
        if signals == 1:
            stop_requested.set()
        elif broker is not None:
            spawn(broker.stop(controlled=False), "broker-stop-now", background)

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    try:
        broker = await KafkaBroker.create(config)
    except (BrokerStartupError, ConfigError) as e:
        print(f"kafka-zk broker: error: {e}", file=sys.stderr)
        return 1
    try:
        await broker.start()
    except (BrokerStartupError, ConfigError) as e:
        print(f"kafka-zk broker: error: {e}", file=sys.stderr)
        await broker.stop(controlled=False)
        return 1
    await stop_requested.wait()
    await broker.stop(controlled=True)
    return 0
