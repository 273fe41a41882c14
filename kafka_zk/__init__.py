"""kafka_zk: the ZooKeeper-era Apache Kafka cluster, re-implemented in Python."""

__version__ = "0.1.0"
