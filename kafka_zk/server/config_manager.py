"""Dynamic configuration (Kafka's ``DynamicConfigManager`` with ``ZkNodeChangeNotificationListener``).

Whoever changes ``/config/<type>/<name>`` also creates a sequential ``/config/changes/config_change_<seq>``
naming the entity. Every broker watches ``/config/changes``, processes notifications newer than the last one
it handled (all of them at startup), re-reads the entity's config (the notification only says *which*
entity changed) and applies it. Notifications older than 15 minutes are deleted.

* ``topics/<t>``: the topic's overrides are applied to its logs (retention, segment size, cleanup policy, ...
  take effect on the running logs).
* ``brokers/<default>`` and ``brokers/<id>`` (this broker): Kafka's dynamic broker configs, here the
  broker-level log defaults (``log.retention.ms``, ``log.segment.bytes``, ``log.cleanup.policy``, ...).
  Per-broker values win over the cluster default, both over ``server.properties``; every topic's config is
  then rebuilt on the new defaults, so topics without their own override follow the change live. They are
  also read once at startup, since their notifications may have expired.
"""

from __future__ import annotations

import asyncio
from typing import Any

from kafka_zk.common import event_kinds as kinds
from kafka_zk.common.logging import get_logger
from zk_layout import paths

log = get_logger(__name__)

NOTIFICATION_EXPIRY_MS = 15 * 60 * 1000
DEFAULT_ENTITY = "<default>"


class DynamicConfigManager:
    def __init__(self, broker: Any) -> None:
        self.broker = broker
        self._last_processed = -1
        self._watch: Any = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        async with self._lock:
            await self._apply_broker_configs(initial=True)
        self._watch = await self.broker.az.watch_children(paths.CONFIG_CHANGES, self._on_children)

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None

    async def _on_children(self, children: list[str] | None) -> None:
        if not children:
            return
        async with self._lock:
            zk = self.broker.zk
            for child in sorted(children):
                try:
                    seq = int(paths.sequence_number(child, paths.CONFIG_CHANGE_PREFIX))
                except ValueError:
                    continue
                got = await self.broker.zk_call(zk.get_config_change_notification, child)
                if got is None:
                    continue
                note, ctime_ms = got
                if seq > self._last_processed:
                    await self._apply(note)
                    self._last_processed = seq
                if self.broker.clock.time_ms() - ctime_ms > NOTIFICATION_EXPIRY_MS:
                    await self.broker.zk_call(zk.delete_config_change_notification, child)

    async def _apply(self, note: Any) -> None:
        entity_type, entity_name = note.entity_type, note.entity_name
        if entity_type == "brokers":
            if entity_name in (DEFAULT_ENTITY, str(self.broker.broker_id)):
                await self._apply_broker_configs()
            return
        if entity_type != "topics":
            log.debug("ignoring config change", entity_type=entity_type, entity=entity_name)
            return
        overrides = await self.broker.zk_call(self.broker.zk.get_entity_config, "topics", entity_name)
        log.info("topic config changed", topic=entity_name, overrides=overrides)
        self.broker.topic_config_changed(entity_name, overrides)

    async def _apply_broker_configs(self, initial: bool = False) -> None:
        zk = self.broker.zk
        default = await self.broker.zk_call(zk.get_entity_config, "brokers", DEFAULT_ENTITY)
        own = await self.broker.zk_call(zk.get_entity_config, "brokers", str(self.broker.broker_id))
        dynamic = {**default, **own}
        if initial and not dynamic:
            return
        if not self.broker.broker_log_defaults_changed(dynamic):
            return
        log.info("dynamic broker config changed", config=dynamic)
        self.broker.events.emit(kinds.CONFIG_BROKER_CHANGED, config=dynamic)
        topics = sorted({lg.tp.topic for lg in self.broker.log_manager.all_logs()})
        for topic in topics:
            overrides = await self.broker.zk_call(zk.get_entity_config, "topics", topic)
            self.broker.topic_config_changed(topic, overrides)
