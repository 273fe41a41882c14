"""The broker's control-plane listener: an aiohttp app speaking msgpack (see kafka_zk.common.control).

Routes:

* ``POST /control/leader_and_isr``, ``/control/update_metadata``, ``/control/stop_replica`` — from the active
  controller. Checked here, as Kafka's ``KafkaApis`` does: a request whose broker epoch is older than this
  broker's registration epoch gets STALE_BROKER_EPOCH (-1 = unknown is accepted), and one from an older
  controller epoch than the newest seen gets STALE_CONTROLLER_EPOCH.
* ``POST /control/controlled_shutdown`` — from a broker that wants to stop; only the active controller answers
  it (others reply STALE_CONTROLLER_EPOCH, which the sender reads as "controller moved").
* ``GET /events?since=SEQ&kind=PREFIX[,PREFIX...]`` — recent events (JSON), ``GET /state`` — this broker's replicas with
  LEO/HW/ISR, controller view, for study tools and the dashboard.

A malformed body gets HTTP 400 and changes nothing.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from aiohttp import web

from kafka_zk.common.control import (
    ControlledShutdownRequest,
    LeaderAndIsrRequest,
    LeaderAndIsrResponse,
    StopReplicaRequest,
    StopReplicaResponse,
    UpdateMetadataRequest,
    UpdateMetadataResponse,
    decode_control,
    encode_control,
)
from kafka_zk.common.errors import ErrorCode
from kafka_zk.common.logging import get_logger
from kafka_zk.server.request_stats import RequestStats

log = get_logger(__name__)

MSGPACK = "application/msgpack"


class ControlEndpoint:
    """Routes control requests to the broker. ``broker`` is the KafkaBroker (duck-typed to keep layers apart)."""

    def __init__(self, broker: Any) -> None:
        self.broker = broker
        self.app = web.Application(client_max_size=256 * 1024 * 1024)
        self.app.add_routes(
            [
                web.post("/control/leader_and_isr", self._wrap(
                    LeaderAndIsrRequest, broker.handle_leader_and_isr, lambda e: LeaderAndIsrResponse(e, []))),
                web.post("/control/update_metadata", self._wrap(
                    UpdateMetadataRequest, self._update_metadata, UpdateMetadataResponse)),
                web.post("/control/stop_replica", self._wrap(
                    StopReplicaRequest, broker.handle_stop_replica, lambda e: StopReplicaResponse(e, []))),
                web.post("/control/controlled_shutdown", self._wrap(
                    ControlledShutdownRequest, broker.handle_controlled_shutdown)),
                web.get("/events", self._events),
                web.get("/state", self._state),
                web.get("/requests", self._requests),
            ]
        )
        self._highest_controller_epoch = -1

    def _wrap(
        self,
        cls: type,
        fn: Callable[[Any], Awaitable[Any]],
        rejected: Callable[[ErrorCode], Any] | None = None,
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        """Decode ``cls`` and call ``fn``. Requests from the controller (``rejected`` given) are fenced first:
        a stale broker or controller epoch is answered with ``rejected(error)`` and changes nothing."""

        async def handler(request: web.Request) -> web.Response:
            body = await request.read()
            try:
                msg = decode_control(body, expect=cls)
            except ValueError as e:
                log.warning("malformed control request", path=request.path, error=str(e))
                return web.Response(status=400, text=str(e))
            err = None if rejected is None else self._epoch_error(msg.controller_epoch, msg.broker_epoch)
            if err is not None:
                log.warning("rejected control request", kind=cls.KIND, error=err.name,  # type: ignore[attr-defined]
                            controller_epoch=msg.controller_epoch)
                resp = rejected(err)  # type: ignore[misc]
            else:
                resp = await fn(msg)
            return web.Response(body=encode_control(resp), content_type=MSGPACK)

        return handler

    def _epoch_error(self, controller_epoch: int, broker_epoch: int) -> ErrorCode | None:
        own = self.broker.broker_epoch
        if broker_epoch != -1 and own is not None and broker_epoch < own:
            return ErrorCode.STALE_BROKER_EPOCH
        if controller_epoch < self._highest_controller_epoch:
            return ErrorCode.STALE_CONTROLLER_EPOCH
        self._highest_controller_epoch = controller_epoch
        return None

    async def _update_metadata(self, req: UpdateMetadataRequest) -> UpdateMetadataResponse:
        await self.broker.handle_update_metadata(req)
        return UpdateMetadataResponse(ErrorCode.NONE)

    async def _events(self, request: web.Request) -> web.Response:
        try:
            since = int(request.query.get("since", "0"))
        except ValueError:
            return web.Response(status=400, text="since must be an integer event sequence number")
        prefixes = tuple(request.query.get("kind", "").split(","))  # one prefix or several, comma-separated
        events = [e for e in self.broker.events.recent(since) if e.kind.startswith(prefixes)]
        return web.json_response([e.to_dict() for e in events])

    async def _requests(self, request: web.Request) -> web.Response:
        """Kafka-protocol requests served and refused per API key and version (server/request_stats.py)."""
        dispatcher = getattr(self.broker, "dispatcher", None)  # None until the listeners are up
        return web.json_response((dispatcher.stats if dispatcher is not None else RequestStats()).to_json())

    async def _state(self, request: web.Request) -> web.Response:
        return web.json_response(self.broker.describe_state())
