"""A lab as data: what it shows, the broker settings it needs, and its script."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Awaitable, Callable, Mapping

from kafka_zk.labs.context import LabContext

Script = Callable[[LabContext], Awaitable[None]]

#: Settings every lab uses, so failures are noticed in seconds instead of after Kafka's defaults
#: (zookeeper.session.timeout.ms 18000, group.initial.rebalance.delay.ms 3000).
LAB_DEFAULTS: Mapping[str, str] = {
    "zookeeper.session.timeout.ms": "6000",
    "group.initial.rebalance.delay.ms": "0",
}


@dataclass(frozen=True)
class Lab:
    name: str
    title: str
    shows: str  # the claim the lab demonstrates, one sentence
    script: Script
    brokers: int = 3
    overrides: Mapping[str, str] = field(default_factory=dict)

    def settings(self) -> dict[str, str]:
        return {**LAB_DEFAULTS, **self.overrides}
