"""The controller (layer 4): election through ZooKeeper, one event queue, partition and replica state machines,
leader election strategies, replica placement and the control channel to brokers.

Entry point for the broker: :class:`kafka_zk.controller.controller.KafkaController`; replica placement for
CreateTopics and tools: :mod:`kafka_zk.controller.placement`. Theory of operation: ``docs/controller.md``.
(Kept import-light: importing ``placement`` must not pull in aiohttp or ZooKeeper.)
"""
