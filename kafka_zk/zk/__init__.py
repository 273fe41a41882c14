"""asyncio bridge over ``zk_layout`` (layer 2): blocking ZooKeeper calls in a thread pool, watches and
session changes delivered onto the event loop. See :mod:`kafka_zk.zk.bridge`."""

from kafka_zk.zk.bridge import AsyncWatch, AsyncZk

__all__ = ["AsyncZk", "AsyncWatch"]
