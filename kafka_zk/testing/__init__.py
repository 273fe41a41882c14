"""Throwaway clusters for your own test suite: a real ZooKeeper and real kafka_zk brokers.

As a context manager::

    from kafka_zk.testing import kafka_cluster

    with kafka_cluster(brokers=3) as cluster:
        producer = confluent_kafka.Producer({"bootstrap.servers": cluster.bootstrap_servers})
        ...
        cluster.kill(1)          # SIGKILL a broker; cluster.start(1) brings it back with its data

or as a pytest plugin (installed with the package; fixtures ``kafka_zk_cluster`` — one 3-broker cluster for
the whole session — and ``kafka_zk_cluster_factory`` — ``make(brokers=3, overrides=None)``, stopped after
the test): see :mod:`kafka_zk.testing.pytest_plugin`.

Where ZooKeeper comes from: ``zookeeper="local"`` (default: Debian's ``zookeeper`` package or
``ZOOKEEPER_HOME``, started on a free loopback port), ``"container"`` (the official ``zookeeper`` image
through testcontainers), or a connect string of a ZooKeeper you run (also taken from the environment
variable ``KAFKA_ZK_CONNECT``). Brokers run as local processes (``backend="process"``) or, with
``backend="container"``, as containers of the image built from this repository's ``Dockerfile``
(``docker build -t kafka-zk:latest .``), published on loopback ports.
"""

from __future__ import annotations

from kafka_zk.testing.clusters import ContainerCluster, kafka_cluster, zookeeper

__all__ = ["ContainerCluster", "kafka_cluster", "zookeeper"]
