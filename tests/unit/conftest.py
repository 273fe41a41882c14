"""The unit tier: no ZooKeeper, no processes, runs in seconds (``bash tools/dev.sh test unit``).

A unit test that asks for a ZooKeeper or cluster fixture belongs in ``tests/zk`` or ``tests/cluster``:
collection fails instead of quietly starting the session ZooKeeper for a unit-only run.
"""

from __future__ import annotations

import pytest

_NOT_IN_UNIT = {"zk_connect", "zk_chroot", "zk", "_zk_admin", "cluster_factory", "shared_cluster"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/unit/" not in item.nodeid.replace("\\", "/"):
            continue
        used = _NOT_IN_UNIT.intersection(getattr(item, "fixturenames", ()))
        if used:
            raise pytest.UsageError(
                f"{item.nodeid} uses {sorted(used)}: move it to tests/zk or tests/cluster "
                "(tests/unit runs without them)"
            )
