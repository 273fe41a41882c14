"""The HTTP admin's routes (aiohttp), and its listener's lifecycle.

* ``GET /health`` — ``{"status": "ok", ...}`` (200) once the broker is registered, 503 before and while it
  stops: what a container health check or a load balancer asks.
* ``GET /metrics`` — Prometheus text format (:mod:`kafka_zk.http.metrics`).
* ``GET /api/cluster``, ``/api/groups``, ``/api/events`` — JSON (:mod:`kafka_zk.http.cluster_view`).
* ``GET /api/stream`` — server-sent events: ``cluster`` (the /api/cluster document, with groups) whenever it
  changed, ``events`` (new decisions) — polled every :data:`STREAM_INTERVAL_S` on the server, so the page
  needs no polling and no reload.
* ``GET /`` and ``/static/*`` — the dashboard, every asset served from this package (no CDN).

The listener is separate from the Kafka and control listeners and binds ``http.host`` (loopback by default):
it is for people and scrapers, and nothing on it changes the cluster.
"""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

from aiohttp import web

from kafka_zk.common.logging import get_logger
from kafka_zk.http.cluster_view import ClusterView
from kafka_zk.http.counters import EventCounters
from kafka_zk.http.metrics import exposition, registry_for

log = get_logger(__name__)

STATIC = Path(__file__).with_name("static")
STREAM_INTERVAL_S = 1.0
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


class HttpAdmin:
    """One broker's HTTP admin. Built with the broker (so the event counters see every event), started by
    :meth:`start` once the broker's listeners are up, stopped first thing on shutdown."""

    def __init__(self, broker: Any, host: str, port: int) -> None:
        self.broker = broker
        self.host = host
        self.port = port
        self.counters = EventCounters()
        self.counters.attach(broker.events)
        self.registry = registry_for(broker, self.counters)
        self.view = ClusterView(broker)
        self.app = web.Application()
        self.app.add_routes(
            [
                web.get("/", self._index),
                web.get("/health", self._health),
                web.get("/metrics", self._metrics),
                web.get("/api/cluster", self._cluster),
                web.get("/api/groups", self._groups),
                web.get("/api/events", self._events),
                web.get("/api/stream", self._stream),
                web.static("/static", STATIC),
            ]
        )
        self._runner: web.AppRunner | None = None
        self._streams: set[web.StreamResponse] = set()
        self.url: str | None = None
        self.stopping = False

    async def start(self) -> int:
        """Bind and serve; returns the bound port. Raises OSError when the port is taken."""
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.create_server((self.host, self.port), reuse_port=False)
        await web.SockSite(self._runner, sock).start()
        self.port = sock.getsockname()[1]
        shown = self.host if self.host not in ("", "0.0.0.0", "::") else "127.0.0.1"
        self.url = f"http://{shown}:{self.port}/"
        log.info("HTTP admin listening", url=self.url)
        return self.port

    async def stop(self) -> None:
        self.stopping = True
        self.counters.detach()
        for resp in list(self._streams):
            task = getattr(resp, "_kafka_zk_task", None)
            if task is not None:
                task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.view.close()

    # ---- routes --------------------------------------------------------------------------------------

    async def _index(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def _health(self, request: web.Request) -> web.Response:
        b = self.broker
        ok = b.broker_epoch >= 0 and not self.stopping
        body = {
            "status": "ok" if ok else ("stopping" if self.stopping else "starting"),
            "broker_id": b.broker_id,
            "broker_epoch": b.broker_epoch,
            "controller": b.controller.is_active,
        }
        return web.json_response(body, status=200 if ok else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=exposition(self.registry), headers={"Content-Type": PROMETHEUS_TEXT})

    async def _cluster(self, request: web.Request) -> web.Response:
        snap = await self.view.snapshot()
        return web.json_response({k: v for k, v in snap.items() if k != "groups"})

    async def _groups(self, request: web.Request) -> web.Response:
        snap = await self.view.snapshot()
        return web.json_response(snap["groups"])

    async def _events(self, request: web.Request) -> web.Response:
        return web.json_response(await self.view.events())

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )
        await resp.prepare(request)
        resp._kafka_zk_task = asyncio.current_task()  # type: ignore[attr-defined]
        self._streams.add(resp)
        last_cluster = ""
        last_event: tuple[Any, ...] = ()
        try:
            while not self.stopping:
                snap = await self.view.snapshot()
                text = json.dumps({k: v for k, v in snap.items() if k != "time_ms"}, sort_keys=True)
                if text != last_cluster:
                    last_cluster = text
                    await resp.write(_sse("cluster", json.dumps(snap)))
                events = await self.view.events()
                new = [e for e in events if _event_key(e) > last_event] if last_event else events
                if new:
                    last_event = _event_key(new[-1])
                    await resp.write(_sse("events", json.dumps(new)))
                await asyncio.sleep(STREAM_INTERVAL_S)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self._streams.discard(resp)
        return resp


def _event_key(e: dict[str, Any]) -> tuple[Any, ...]:
    return (e.get("time_ms", 0), e.get("broker_id") or 0, e.get("seq", 0))


def _sse(event: str, data: str) -> bytes:
    return f"event: {event}\ndata: {data}\n\n".encode()
