"""The seam between the Kafka API handlers and the broker: what a handler may use, and its signature.

Every module in :mod:`kafka_zk.server.handlers` defines ``API_KEY`` (an :class:`ApiKey`), ``VERSIONS`` (the
range the broker advertises) and ``async def handle(broker: BrokerServices, ctx: RequestContext,
req: Request) -> Response | None``. :class:`BrokerServices` names exactly the parts of the broker that
handlers use (redpanda's handler concept: a handler sees a narrow, declared interface, not the whole
server), so a reviewer sees a handler's reach in one place, a handler can be driven by a fake broker in a
unit test, and mypy checks that :class:`~kafka_zk.server.broker.KafkaBroker` provides all of it (the broker
hands itself to :class:`~kafka_zk.server.dispatch.BrokerDispatcher`, which takes a ``BrokerServices``).

Members are read-only properties so that the broker may implement them as plain attributes or as
properties. Adding a member here is a deliberate widening of what handlers can reach.

Request and response bodies are the generated struct classes of :mod:`kafka_zk.protocol.messages`; they are
built at import time from the declarations, so statically they are all :class:`StructObject` (whose fields
mypy sees as ``Any``). That is as far as the protocol layer allows typing them.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Protocol

from kafka_zk.common.errors import ErrorCode
from kafka_zk.controller.controller import KafkaController
from kafka_zk.coordinator import GroupCoordinator
from kafka_zk.log.config import LogConfig
from kafka_zk.log.manager import LogManager
from kafka_zk.protocol.apis import ApiKey
from kafka_zk.protocol.structs import StructObject
from kafka_zk.replication.replica_manager import ReplicaManager
from kafka_zk.server.admin_zk import TopicAdmin
from kafka_zk.server.config import BrokerConfig
from kafka_zk.server.metadata_cache import MetadataCache
from kafka_zk.server.network import RequestContext
from kafka_zk.server.producer_ids import ProducerIdManager
from kafka_zk.zk.bridge import AsyncZk
from zk_layout.client import KafkaZkClient

__all__ = ["ApiKey", "BrokerServices", "Handler", "Request", "RequestContext", "Response"]

#: A decoded request body (an instance of the API's generated ``<Name>Request`` class).
Request = StructObject
#: A response body to encode (an instance of the API's generated ``<Name>Response`` class).
Response = StructObject


class BrokerServices(Protocol):
    """What a Kafka API handler may use of the broker."""

    # ---- identity and configuration
    @property
    def broker_id(self) -> int: ...

    @property
    def cluster_id(self) -> str: ...

    @property
    def config(self) -> BrokerConfig: ...

    # ---- ZooKeeper (blocking client, and the bridge that runs its calls off the event loop)
    @property
    def zk(self) -> KafkaZkClient: ...

    @property
    def az(self) -> AsyncZk: ...

    async def zk_call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a blocking ZooKeeper call (``fn(*args, **kwargs)``) on the ZooKeeper thread."""
        ...

    # ---- components
    @property
    def metadata_cache(self) -> MetadataCache: ...

    @property
    def replica_manager(self) -> ReplicaManager: ...

    @property
    def log_manager(self) -> LogManager: ...

    @property
    def topic_admin(self) -> TopicAdmin: ...

    @property
    def producer_ids(self) -> ProducerIdManager: ...

    @property
    def controller(self) -> KafkaController: ...

    @property
    def group_coordinator(self) -> GroupCoordinator: ...

    # ---- cluster state
    @property
    def is_controller(self) -> bool: ...

    def live_broker_ids(self) -> list[int]: ...

    async def fresh_topic_config(self, topic: str) -> LogConfig: ...

    # ---- topic lifecycle as the admin and metadata handlers need it
    async def auto_create_topic(
        self,
        name: str,
        partitions: int | None = None,
        rf: int | None = None,
        configs: dict[str, str] | None = None,
    ) -> ErrorCode: ...

    async def wait_for_leaders(
        self, topics: list[str], timeout_ms: int, min_partitions: dict[str, int] | None = None
    ) -> set[str]: ...

    async def wait_for_topics_gone(self, topics: list[str], timeout_ms: int) -> set[str]: ...


#: The type of every handler module's ``handle``.
Handler = Callable[[BrokerServices, RequestContext, Request], Awaitable[Response | None]]
