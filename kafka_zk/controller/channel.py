"""Controller → broker control channel (Kafka's ``ControllerChannelManager`` / ``RequestSendThread``).

**The one deliberate wire difference from Kafka:** Kafka sends LeaderAndIsr, UpdateMetadata and StopReplica
in its binary protocol over the inter-broker (or control-plane) listener. We POST the same fields as
msgpack (:func:`kafka_zk.common.control.encode_control`) over HTTP, with aiohttp, to
``http://<host>:<port>/control/<kind>`` on the broker's control-plane listener — the endpoint named by
``control.plane.listener.name`` (default ``CONTROLLER``) in its ``/brokers/ids/<id>`` registration. The
semantics are Kafka's; only the envelope differs (no hand-written codecs for three internal APIs, and the
control listener doubles as the study tools' ``/events`` endpoint).

Per broker there is one FIFO queue and one sender task, so requests to a broker arrive in the order the
controller queued them and at most one is in flight (Kafka's one-in-flight ``NetworkClient``). A failed
send (connection refused, timeout, HTTP error, undecodable answer) is retried every
``channel_retry_backoff_ms`` (100 ms), forever, until the broker is removed from the channel — which the
controller does when the broker leaves ``/brokers/ids``. A decoded response goes to the request's
callback, which turns it into a controller event. Build / decide / send: :func:`classify_response` is the
pure decision, :meth:`_post` the only I/O.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass
from typing import Any, Callable

import aiohttp

from kafka_zk.common.control import CONTROL_PATH_PREFIX, decode_control, encode_control
from kafka_zk.common.logging import get_logger
from kafka_zk.controller.context import LiveBroker

log = get_logger(__name__)

ResponseCallback = Callable[[Any], None]


class SendOutcome(enum.Enum):
    DONE = "done"
    RETRY = "retry"


def classify_response(status: int, body: bytes) -> tuple[SendOutcome, Any, str | None]:
    """Decide what an HTTP answer means: (DONE, decoded response, None) or (RETRY, None, reason)."""
    if status != 200:
        return SendOutcome.RETRY, None, f"HTTP {status}: {body[:200]!r}"
    try:
        return SendOutcome.DONE, decode_control(body), None
    except ValueError as e:
        return SendOutcome.RETRY, None, f"undecodable response: {e}"


@dataclass
class _QueueItem:
    message: Any
    callback: ResponseCallback | None


class _BrokerSender:
    def __init__(self, manager: "ControllerChannelManager", broker: LiveBroker, url_base: str | None) -> None:
        self.broker = broker
        self.url_base = url_base
        self.queue: asyncio.Queue[_QueueItem] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None
        self._manager = manager

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(
            self._run(), name=f"controller-{self._manager.controller_id}-to-broker-{self.broker.id}-send"
        )
        self.task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("control channel sender died", broker=self.broker.id, exc_info=task.exception())

    async def _run(self) -> None:
        backoff_s = self._manager.retry_backoff_ms / 1000.0
        while True:
            item = await self.queue.get()
            kind = item.message.KIND
            if self.url_base is None:
                log.error(
                    "broker has no control-plane endpoint; dropping request",
                    broker=self.broker.id,
                    kind=kind,
                    listener=self._manager.listener_name,
                )
                continue
            attempts = 0
            while True:
                attempts += 1
                outcome, response, reason = await self._post(kind, encode_control(item.message))
                if outcome is SendOutcome.DONE:
                    break
                if attempts == 1 or attempts % 50 == 0:
                    log.warning(
                        "control request failed; retrying",
                        broker=self.broker.id,
                        kind=kind,
                        attempts=attempts,
                        reason=reason,
                    )
                await asyncio.sleep(backoff_s)
            if item.callback is not None:
                try:
                    item.callback(response)
                except Exception:
                    log.exception("control response callback failed", broker=self.broker.id, kind=kind)

    async def _post(self, kind: str, body: bytes) -> tuple[SendOutcome, Any, str | None]:
        assert self.url_base is not None
        return await self._manager.client.post(self.url_base, kind, body)


class ControlClient:
    """The HTTP client of the control plane: one aiohttp session, one POST per request. The controller's
    channel sends through it, and so does a broker asking the controller for a controlled shutdown."""

    def __init__(self, request_timeout_ms: int = 30000, connect_timeout_ms: int = 30000) -> None:
        self._timeout = aiohttp.ClientTimeout(
            total=request_timeout_ms / 1000.0, connect=connect_timeout_ms / 1000.0
        )
        self._session: aiohttp.ClientSession | None = None

    def start(self) -> None:
        """Open the session (on the running loop); idempotent."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)

    async def post(self, url_base: str, kind: str, body: bytes) -> tuple[SendOutcome, Any, str | None]:
        """POST an encoded control message to ``url_base`` (``http://host:port``); a failed send is RETRY."""
        if self._session is None:
            raise RuntimeError("control client not started")
        try:
            async with self._session.post(
                f"{url_base}{CONTROL_PATH_PREFIX}{kind}",
                data=body,
                headers={"Content-Type": "application/x-msgpack"},
            ) as resp:
                return classify_response(resp.status, await resp.read())
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
            return SendOutcome.RETRY, None, f"{type(e).__name__}: {e}"

    async def request(self, host: str, port: int, message: Any) -> tuple[SendOutcome, Any, str | None]:
        """Send one control message to ``host:port``, once (the caller decides about retries)."""
        self.start()
        return await self.post(url_base(host, port), message.KIND, encode_control(message))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class ControllerChannelManager:
    """One queue + sender task per broker. Create, ``start()`` on the loop, ``shutdown()`` when resigning."""

    def __init__(
        self,
        controller_id: int,
        listener_name: str = "CONTROLLER",
        request_timeout_ms: int = 30000,
        connect_timeout_ms: int = 30000,
        retry_backoff_ms: int = 100,
    ) -> None:
        self.controller_id = controller_id
        self.listener_name = listener_name
        self.retry_backoff_ms = retry_backoff_ms
        self.client = ControlClient(request_timeout_ms, connect_timeout_ms)
        self._senders: dict[int, _BrokerSender] = {}

    def start(self) -> None:
        self.client.start()

    def add_broker(self, broker: LiveBroker) -> None:
        if broker.id in self._senders:
            return
        ep = broker.endpoint(self.listener_name)
        if ep is None:
            log.error(
                "broker registration has no control-plane listener; control requests cannot reach it",
                broker=broker.id,
                listener=self.listener_name,
                endpoints=[f"{e.listener}://{e.host}:{e.port}" for e in broker.endpoints],
            )
        url = None if ep is None else url_base(ep.host, ep.port)
        sender = _BrokerSender(self, broker, url)
        self._senders[broker.id] = sender
        sender.start()

    def remove_broker(self, broker_id: int) -> None:
        sender = self._senders.pop(broker_id, None)
        if sender is not None and sender.task is not None:
            sender.task.cancel()

    def send(self, broker_id: int, message: Any, callback: ResponseCallback | None = None) -> bool:
        """Queue ``message`` for ``broker_id``; False (and dropped) when the broker is not in the channel."""
        sender = self._senders.get(broker_id)
        if sender is None:
            log.debug(
                "dropping control request for a broker not in the channel",
                broker=broker_id,
                kind=message.KIND,
            )
            return False
        sender.queue.put_nowait(_QueueItem(message, callback))
        return True

    def pending(self, broker_id: int) -> int:
        sender = self._senders.get(broker_id)
        return sender.queue.qsize() if sender else 0

    async def shutdown(self) -> None:
        tasks = [s.task for s in self._senders.values() if s.task is not None]
        for t in tasks:
            t.cancel()
        self._senders.clear()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await self.client.close()


def url_base(host: str, port: int) -> str:
    """``http://host:port`` of a control-plane endpoint (an empty host means this machine)."""
    host = host or "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
