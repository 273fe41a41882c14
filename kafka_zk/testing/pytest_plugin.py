"""pytest plugin (registered by the package's ``pytest11`` entry point): throwaway kafka_zk clusters.

Fixtures:

* ``kafka_zk_cluster`` (session): one cluster shared by every test that asks for it; tests must use their
  own topic and group names and should not kill its brokers.
* ``kafka_zk_cluster_factory`` (function): ``make(brokers=3, overrides=None)`` starts a new cluster, stopped
  when the test ends — for tests that kill brokers or need other settings.

Options: ``--kafka-zk-brokers N`` (default 3) for the session cluster, ``--kafka-zk-zookeeper
local|container|HOST:PORT`` (default: ``KAFKA_ZK_CONNECT`` or local), ``--kafka-zk-backend
process|container``.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Mapping

import pytest

from kafka_zk.testing.clusters import kafka_cluster


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kafka-zk", "throwaway kafka_zk clusters")
    group.addoption("--kafka-zk-brokers", type=int, default=3, help="brokers in the kafka_zk_cluster fixture")
    group.addoption("--kafka-zk-zookeeper", default=None, help="local, container or HOST:PORT")
    group.addoption("--kafka-zk-backend", default="process", choices=("process", "container"))


@pytest.fixture(scope="session")
def kafka_zk_cluster(request: pytest.FixtureRequest) -> Iterator[Any]:
    opt = request.config.getoption
    with kafka_cluster(opt("--kafka-zk-brokers"), zookeeper_at=opt("--kafka-zk-zookeeper"),
                       backend=opt("--kafka-zk-backend")) as cluster:
        yield cluster


@pytest.fixture
def kafka_zk_cluster_factory(request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    opt = request.config.getoption
    with contextlib.ExitStack() as stack:
        def make(brokers: int = 3, overrides: Mapping[str, str] | None = None) -> Any:
            return stack.enter_context(kafka_cluster(brokers, overrides, zookeeper_at=opt("--kafka-zk-zookeeper"),
                                                     backend=opt("--kafka-zk-backend")))
        yield make
