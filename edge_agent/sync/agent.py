"""The agent's side of the MQTT contract, wired: one connection, the outbox publisher, the
request/response client, the retained status (birth, Last Will, graceful offline) and the
central → edge streams (catalog, received codes) applied to the store in order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from edge_agent.catalog.records import Catalogue
from edge_agent.config import Config
from edge_agent.db import Outbox, StoreError
from edge_agent.logthrottle import ThrottledLog
from edge_agent.sync.mqtt import LinkSettings, MqttLink
from edge_agent.sync.publisher import OutboxPublisher
from edge_agent.sync.request_log import RequestLog
from edge_agent.sync.rpc import Requester
from edge_agent.sync.status import status_payload
from edge_agent.sync.streams import STREAMS, StreamState
from edge_agent.wire import envelope
from edge_agent.wire.stream_payloads import PayloadError, stream_data
from edge_agent.wire.topics import StoreTopics

log = logging.getLogger("edge_agent.sync")


def link_settings(
    config: Config,
    subscriptions: Sequence[str] = (),
    will: tuple[str, bytes, bool] | None = None,
) -> LinkSettings:
    m = config.mqtt
    return LinkSettings(
        host=m.host,
        port=m.port,
        client_id=f"{config.store.id}.{config.agent.id}",
        username=m.username,
        password=m.password,
        protocol=m.protocol,
        keepalive_s=m.keepalive_s,
        tls_ca=m.tls_ca,
        tls_cert=m.tls_cert,
        tls_key=m.tls_key,
        will=will,
        subscriptions=tuple(subscriptions),
    )


class Sync:
    def __init__(
        self,
        config: Config,
        *,
        outbox: Outbox,
        requests: RequestLog,
        catalogue: Catalogue,
        readers: Callable[[], dict[str, Any]] | None = None,
        settings: LinkSettings | None = None,
        fiscal: Callable[[], dict[str, Any]] | None = None,
        verification: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.outbox, self.catalogue = outbox, catalogue
        self.topics = StoreTopics(config.store.id)
        self.agent = config.agent.id
        self.source = f"sco://{config.store.id}/{config.agent.id}"
        self.readers = readers or dict
        self.fiscal = fiscal or dict  # each lane's register, for the retained status
        self.verification = verification or dict  # the check services (Local Module sync age)
        self.lanes = [lane.id for lane in config.lanes]
        #: the start check's verdict once made (``health.start_check``): in every status after it
        self.start_verdict: dict[str, Any] | None = None
        self.status_topic = self.topics.status(self.agent)
        self.resp_topic = self.topics.resp(self.agent)
        will = (self.status_topic, status_payload(self.source, "offline", reason="connection lost"), True)
        base = settings or link_settings(config)
        subs = (self.resp_topic, *self.topics.inbound_filters)
        self.link = MqttLink(
            LinkSettings(**{**_fields(base), "will": will, "subscriptions": subs}),
            on_message=self._on_message,
            birth=lambda: [
                (
                    self.status_topic,
                    status_payload(self.source, "online", readers=self.readers(), lanes=self.lanes),
                    True,
                )
            ],
        )
        m = config.mqtt
        self.publisher = OutboxPublisher(
            outbox,
            self.link,
            window=m.window,
            confirm_timeout_s=m.confirm_timeout_s,
            retention_s=m.retention_s,
            batch_events=m.batch_events,
            linger_s=m.linger_ms / 1000,
        )
        outbox.confirm_to = self.resp_topic if m.confirmations else None
        self.confirmed = self.replays = 0
        self.warn_s = m.unconfirmed_warn_s
        self._oldest: tuple[float, float] | None = None  # the oldest unconfirmed row's time, monotonic anchor
        self.requester = Requester(self.link, requests, (config.store.id, self.agent), self.resp_topic)
        self.max_jump = m.max_version_jump
        self.streams = {name: self._stream(name) for name in STREAMS}
        self.bad_messages = 0
        self._noise = ThrottledLog(log)
        #: central's notifications (payment.status_changed), de-duplicated by (source, id)
        self.deduper = envelope.Deduper(10_000)
        self.on_notification: Callable[[envelope.Event], None] | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.outbox.listeners.append(self.publisher.kick)
        await self.link.start()
        self._task = asyncio.create_task(self.publisher.run(), name="outbox")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        offline = status_payload(self.source, "offline", readers=self.readers(), reason="stopped")
        await self.link.stop([(self.status_topic, offline, True)])
        with contextlib.suppress(ValueError):
            self.outbox.listeners.remove(self.publisher.kick)

    def publish_status(self) -> None:
        """Refresh the retained status (readers' health changed, or periodically)."""
        if self.link.connected.is_set():
            payload = status_payload(
                self.source,
                "online",
                readers=self.readers(),
                outbox=self.outbox.depth(),
                fiscal=self.fiscal(),
                delivery=self.delivery_health(self.warn_s),
                verification=self.verification(),
                lanes=self.lanes,
                start=self.start_verdict,
            )
            self.link.publish(self.status_topic, payload, retain=True)

    def _on_message(self, topic: str, payload: bytes) -> None:
        try:
            ev = envelope.decode(payload)
        except envelope.EnvelopeError as e:
            self._bad(topic, e.message)
            return
        if topic == self.resp_topic:
            if ev.type in ("events.confirmed", "events.replay") and ev.correlationid is None:
                self._delivery(topic, ev)
                return
            if ev.correlationid is None:  # not an answer: a notification
                if not self.deduper.seen(ev) and self.on_notification is not None:
                    self.on_notification(ev)
                return
            self.requester.on_response(ev)
            return
        stream, _, kind = topic.rpartition("/")
        stream = stream.rpartition("/")[2]
        if stream not in self.streams or kind not in ("snapshot", "delta"):
            self._bad(topic, "not a catalog/codes snapshot or delta")
            return
        if not ev.source.startswith("central://"):  # the ACL lets only central write here; say so if not
            self._bad(topic, f"a {stream} {kind} from {ev.source!r}, not from central")
            return
        try:
            data = stream_data(stream, ev.data)
        except PayloadError as e:
            self._bad(topic, e.message)
            return
        state = self.streams[stream]
        refused = state.refused
        steps = state.offer("snapshot" if kind == "snapshot" else "delta", data["version"], data)
        if state.refused > refused:
            self._bad(topic, f"{stream} v{data['version']} is more than {self.max_jump} versions past v{state.version}")
        for step in steps:
            try:
                self.catalogue.apply_stream(stream, step.version, snapshot=step.snapshot, data=step.data)
            except StoreError as e:  # a full disk: what is applied is what the store has; central resends
                self._noise.warning("store", "%s v%d not applied: %s", stream, step.version, e.message)
                self.streams[stream] = self._stream(stream)
                return
            log.info("%s %s v%d applied", stream, "snapshot" if step.snapshot else "delta", step.version)

    def _delivery(self, topic: str, ev: envelope.Event) -> None:
        """Central stored our events (``events.confirmed``), or asks for some again
        (``events.replay``: a gap in a basket's seq)."""
        data = ev.data if isinstance(ev.data, dict) else {}
        try:
            if ev.type == "events.confirmed":
                ids = data.get("ids")
                if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                    self._bad(topic, "events.confirmed needs ids: [string]")
                    return
                self.confirmed += self.outbox.confirm(ids)
                return
            subject, seqs = data.get("subject"), data.get("seqs")
            if not (
                isinstance(subject, str)
                and subject.startswith("basket/")
                and isinstance(seqs, list)
                and all(isinstance(n, int) and not isinstance(n, bool) for n in seqs)
                and 0 < len(seqs) <= 1000
            ):
                self._bad(topic, "events.replay needs subject: basket/{id} and seqs: [int]")
                return
            self.replays += 1
            self.publisher.rewind(self.outbox.requeue(subject.removeprefix("basket/"), seqs))
        except StoreError as e:  # a full disk: confirmations come again (the events are re-sent)
            self._noise.warning("store", "%s not recorded: %s", ev.type, e.message)

    def _stream(self, name: str) -> StreamState:
        return StreamState(self.catalogue.stream_version(name), max_jump=self.max_jump)

    def unconfirmed(self) -> tuple[int, float | None]:
        """Events central has not confirmed: how many, and how long the oldest has waited. The
        age runs on the monotonic clock from when that row was first seen as the oldest (then
        aged by its recorded wall-clock time), so a wall clock that jumps does not move it."""
        n, oldest = self.outbox.unconfirmed()
        if oldest is None:
            self._oldest = None
            return n, None
        if self._oldest is None or self._oldest[0] != oldest:
            self._oldest = (oldest, time.monotonic() - max(0.0, time.time() - oldest))
        return n, time.monotonic() - self._oldest[1]

    def delivery_health(self, warn_s: float) -> dict[str, Any]:
        """Unconfirmed events: how many, the oldest's age, and whether that is too old."""
        n, age = self.unconfirmed()
        return {
            "unconfirmed": n,
            "oldest_unconfirmed_s": None if age is None else round(age, 1),
            "ok": age is None or age < warn_s,
            "confirmed": self.confirmed,
            "resent": self.publisher.resent,
            "replays": self.replays,
        }

    def _bad(self, topic: str, why: str) -> None:
        self.bad_messages += 1
        self._noise.warning(topic, "dropped a message on %s: %s (%d so far)", topic, why, self.bad_messages)


def _fields(settings: LinkSettings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in settings.__dataclass_fields__}
