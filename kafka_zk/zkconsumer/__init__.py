"""Kafka 0.8's ZooKeeper-coordinated high-level consumer (``ZookeeperConsumerConnector``).

* :mod:`.assignor` — the range assignment every member computes by itself (pure);
* :mod:`.config` — ``ZkConsumerConfig``, Kafka 0.8's consumer settings and defaults;
* :mod:`.consumer` — ``ZkConsumer``: registration, watches, rebalancing by ephemeral owner claims,
  offsets in ZooKeeper, fetching through ``kafka_zk.client``.

See docs/zk-consumer.md. It sits above ``kafka_zk.client`` and ``kafka_zk.zk`` and talks to ZooKeeper only
through ``zk_layout``.
"""

from kafka_zk.zkconsumer.assignor import range_assign, range_assignment
from kafka_zk.zkconsumer.config import ZkConsumerConfig
from kafka_zk.zkconsumer.consumer import ZkConsumer, ZkConsumerStats, ZkRebalanceFailedError

__all__ = ["ZkConsumer", "ZkConsumerConfig", "ZkConsumerStats", "ZkRebalanceFailedError", "range_assign",
           "range_assignment"]
