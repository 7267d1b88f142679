"""Request/response with central over MQTT: correlation ids, reply topics, deadlines, and
idempotency keys persisted before the first send (docs/mqtt.md, docs/sources.md §3.2).

``Requester.call(service, op, data, key)`` writes the request under its key, then sends it to
``svc/v1/{service}/cmd/{op}`` with ``replyto`` (this agent's response topic) and a
``correlationid``. No answer before the deadline, or an answer that says "retry" (a 500 after
the service may have committed): it is sent again with the same key and data, and the service
answers from its record, so the money moves once. The answer is stored under the key: calling
again with an answered key (after a restart, say) returns the stored answer without sending.
After ``attempts`` without an answer the outcome is unknown: ``OutcomeUnknown``, and the
caller decides (query the object, or try again later), never a second payment.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from edge_agent.errors import EdgeError
from edge_agent.sync.mqtt import MqttLink
from edge_agent.sync.request_log import RequestLog
from edge_agent.wire import envelope
from edge_agent.wire.topics import cmd

log = logging.getLogger("edge_agent.sync.rpc")


class OutcomeUnknown(EdgeError):
    """Central did not answer: whether the call took effect is unknown (code ``central_unavailable``)."""

    def __init__(self, key: str, service: str, op: str) -> None:
        super().__init__("central_unavailable", f"{service}.{op} {key}: no answer; the outcome is unknown")
        self.args = (self.message,)
        self.key = key


class ServiceError(EdgeError):
    """Central answered, and the answer is a refusal (``code`` stable, ``message`` human)."""

    def __init__(self, code: str, message: str, result: dict[str, Any] | None = None) -> None:
        super().__init__(code, message)
        self.result = result


class Requester:
    def __init__(self, link: MqttLink, log: RequestLog, caller: tuple[str, str], reply_topic: str) -> None:
        """``caller``: this agent's (store id, agent id): in every command's topic and ``source``."""
        self.link, self.log, self.caller, self.reply_topic = link, log, caller, reply_topic
        self.source = f"sco://{caller[0]}/{caller[1]}"
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.sent = 0
        self.retries = 0
        self.late = 0  # answers that came after their call ended

    def on_response(self, ev: envelope.Event) -> None:
        fut = self._pending.get(ev.correlationid or "")
        if fut is None or fut.done():
            self.late += 1
            return
        if isinstance(ev.data, dict):
            fut.set_result(ev.data)

    async def call(
        self,
        service: str,
        op: str,
        data: Mapping[str, object],
        key: str | None,
        *,
        basket_id: str | None = None,
        timeout_s: float = 2.0,
        attempts: int = 5,
    ) -> dict[str, Any]:
        """The service's ``result``; ``ServiceError`` for a refusal; ``OutcomeUnknown`` for silence.

        ``key`` None: a query (get, quote) that moves nothing; it is neither keyed nor stored."""
        if key is not None:
            record = self.log.get(key)
            if record is not None and record.response is not None:
                return _result(record.response)
            if record is None:
                self.log.record(
                    key, service=service, op=op, data=dict(data), basket_id=basket_id
                )  # before the first send
            else:
                data = record.data  # a key always travels with the data it was first sent with
        loop = asyncio.get_running_loop()
        correlation = envelope.new_id()
        response: dict[str, Any] | None = None
        for attempt in range(attempts):
            fut: asyncio.Future[dict[str, Any]] = loop.create_future()
            self._pending[correlation] = fut
            ev = envelope.event(
                self.source,
                f"{service}.{op}",
                dict(data),
                correlationid=correlation,
                replyto=self.reply_topic,
                idempotencykey=key,
            )
            try:
                await asyncio.wait_for(self.link.connected.wait(), timeout_s)
                self.link.publish(cmd(service, *self.caller, op), envelope.encode(ev))
                self.sent += 1
                answer = await asyncio.wait_for(fut, timeout_s)
            except TimeoutError:
                self.retries += 1
                log.info("%s.%s %s: no answer in %.1f s (attempt %d)", service, op, key, timeout_s, attempt + 1)
                continue
            finally:
                self._pending.pop(correlation, None)
            if not answer.get("ok") and (answer.get("error") or {}).get("retryable"):
                self.retries += 1
                await asyncio.sleep(min(0.05 * 2**attempt, 1.0))
                continue
            response = answer
            break
        if response is None:
            raise OutcomeUnknown(key or "(query)", service, op)
        if key is not None:
            self.log.answered(key, response)
        return _result(response)


def _result(response: dict[str, Any]) -> dict[str, Any]:
    if response.get("ok"):
        result: dict[str, Any] = response.get("result") or {}
        return result
    error = response.get("error") or {}
    raise ServiceError(str(error.get("code", "error")), str(error.get("message", "")), error.get("result"))
