"""Producer ids for idempotent producers, in blocks reserved through ZooKeeper (Kafka's ``ProducerIdManager``).

A broker reserves 1000 ids at a time by rewriting ``/latest_producer_id_block`` with a conditional write
(zk_layout retries on conflict), then hands them out locally. Ids are never reused, across brokers or
restarts: a restarted broker reserves a fresh block and the rest of its old one is simply skipped.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

from kafka_zk.common.errors import ErrorCode, KafkaError
from kafka_zk.common.logging import get_logger

log = get_logger(__name__)


class ProducerIdManager:
    def __init__(self, broker_id: int, zk: Any, zk_call: Callable[..., Awaitable[Any]]) -> None:
        self.broker_id = broker_id
        self._zk = zk
        self._zk_call = zk_call
        self._next = 0
        self._end = -1  # inclusive end of the current block; -1 = none yet
        self._lock = asyncio.Lock()

    async def next_id(self) -> int:
        async with self._lock:
            if self._next > self._end:
                try:
                    block = await self._zk_call(self._zk.allocate_producer_id_block, self.broker_id)
                except Exception as e:
                    log.warning("cannot reserve a producer id block", error=str(e))
                    raise KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, "cannot reserve producer ids") from None
                self._next, self._end = block.block_start, block.block_end
                log.info("reserved producer id block", start=block.block_start, end=block.block_end)
            pid = self._next
            self._next += 1
            return pid
