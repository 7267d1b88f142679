"""The MQTT connection: paho-mqtt on its own network thread, bridged to asyncio.

``MqttLink.publish`` returns a future that resolves when the broker acknowledges the message
(PUBACK for QoS 1) with the reason code, so callers can mark a row delivered only then. While
the connection is down paho keeps the unacknowledged messages and sends them again after it
reconnects (with backoff), so a future outlives a broker restart. MQTT 3.1.1 and 5, TLS,
username/password, a Last Will, a persistent session (the broker queues responses for us
while we are away) and a birth message published on every (re)connect.

Threads: paho calls back on its thread; everything user-visible (futures, ``on_message``,
``connected``) happens on the asyncio loop through ``call_soon_threadsafe``. PUBACKs are
handed over in batches, so a fast stream costs one loop wake-up per batch, not per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge_agent.logthrottle import ThrottledLog

log = logging.getLogger("edge_agent.sync.mqtt")
#: what every payload of this contract is (docs/mqtt.md): a CloudEvent in the JSON event format
CLOUDEVENTS_JSON: Final = "application/cloudevents+json; charset=UTF-8"


def cloudevents_properties(packet: int = PacketTypes.PUBLISH) -> Properties:
    """MQTT 5 properties of a structured-mode CloudEvent: the Content Type the CloudEvents MQTT
    binding requires (on MQTT 3.1.1 there is nowhere to say it; the payload says it itself)."""
    props = Properties(packet)  # type: ignore[no-untyped-call]
    props.ContentType = CLOUDEVENTS_JSON
    return props


Message = tuple[str, bytes, bool]  # topic, payload, retain


@dataclass(frozen=True, slots=True)
class LinkSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str = "edge-agent"
    username: str | None = None
    password: str | None = None
    protocol: Literal["3.1.1", "5"] = "5"
    keepalive_s: int = 30
    #: keep the session (subscriptions, queued QoS 1 messages) across reconnects
    persistent: bool = True
    session_expiry_s: int = 86_400
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_insecure: bool = False  # skip host name check (tests with IP-only certificates only)
    will: Message | None = None
    reconnect_min_s: float = 0.1
    reconnect_max_s: float = 5.0
    max_inflight: int = 1000
    subscriptions: Sequence[str] = field(default_factory=tuple)


def nodelay(client: paho.Client) -> None:
    """Send small packets at once. paho leaves Nagle on, and Nagle plus the peer's delayed ACK
    holds a request or a PUBACK for ~40 ms whenever an earlier packet is still unacknowledged."""
    sock = client.socket()
    if sock is not None and hasattr(sock, "setsockopt"):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class MqttLink:
    def __init__(
        self,
        settings: LinkSettings,
        on_message: Callable[[str, bytes], None] | None = None,
        birth: Callable[[], list[Message]] | None = None,
    ) -> None:
        self.settings = settings
        self.on_message = on_message
        self.birth = birth
        self.connected = asyncio.Event()
        self.connects = 0  # successful connections: 1 + reconnects
        self.disconnects = 0
        self.refused: dict[int, int] = {}  # PUBACK reason code >= 0x80 -> count
        self._denied = ThrottledLog(log)
        self.suback: list[list[int]] = []  # granted QoS / reason codes of each SUBSCRIBE
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: dict[int, asyncio.Future[int]] = {}
        self._acked: list[tuple[int, int]] = []
        self._acked_lock = threading.Lock()
        self._scheduled = False
        v5 = settings.protocol == "5"
        #: MQTT 5 says what each payload is (the CloudEvents MQTT binding, structured mode)
        self._props = cloudevents_properties() if v5 else None
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.client_id,
            protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
            clean_session=None if v5 else not settings.persistent,
        )
        c = self._client
        c.max_inflight_messages_set(settings.max_inflight)
        c.max_queued_messages_set(0)
        c.reconnect_delay_set(settings.reconnect_min_s, settings.reconnect_max_s)  # type: ignore[arg-type]
        if settings.username is not None:
            c.username_pw_set(settings.username, settings.password)
        if settings.tls_ca is not None:
            c.tls_set(
                ca_certs=str(settings.tls_ca),
                certfile=str(settings.tls_cert) if settings.tls_cert else None,
                keyfile=str(settings.tls_key) if settings.tls_key else None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
            c.tls_insecure_set(settings.tls_insecure)
        if settings.will is not None:
            topic, payload, retain = settings.will
            will_props = cloudevents_properties(PacketTypes.WILLMESSAGE) if v5 else None
            c.will_set(topic, payload, qos=1, retain=retain, properties=will_props)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_publish = self._on_publish
        c.on_message = self._on_message
        c.on_subscribe = self._on_subscribe

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Connect in the background: returns at once; ``connected`` is set when the broker is there."""
        self._loop = asyncio.get_running_loop()
        s = self.settings
        props = None
        clean_start: Any = paho.MQTT_CLEAN_START_FIRST_ONLY
        if s.protocol == "5":
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = s.session_expiry_s if s.persistent else 0
            clean_start = not s.persistent
        self._client.connect_async(s.host, s.port, keepalive=s.keepalive_s, clean_start=clean_start, properties=props)
        self._client.loop_start()

    async def wait_connected(self, timeout_s: float) -> None:
        await asyncio.wait_for(self.connected.wait(), timeout_s)

    async def stop(self, last: Sequence[Message] = (), timeout_s: float = 2.0) -> None:
        """Publish ``last`` (e.g. the offline status), wait briefly for their PUBACKs, disconnect.

        A clean disconnect does not fire the Last Will; ``last`` says the same thing on purpose."""
        if self.connected.is_set():
            futures = [self.publish(t, p, retain=r) for t, p, r in last]
            if futures:
                await asyncio.wait(futures, timeout=timeout_s)
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)
        for fut in self._pending.values():
            if not fut.done():
                fut.cancel()
        self._pending.clear()
        self.connected.clear()

    # -- publishing ---------------------------------------------------------------------------
    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> asyncio.Future[int]:
        """Queue one message; the future resolves with the PUBACK reason code (0 = accepted)."""
        assert self._loop is not None, "start() first"
        fut: asyncio.Future[int] = self._loop.create_future()
        info = self._client.publish(topic, payload, qos=qos, retain=retain, properties=self._props)
        if qos == 0:
            fut.set_result(0)
        elif info.rc not in (paho.MQTT_ERR_SUCCESS, paho.MQTT_ERR_NO_CONN):
            fut.set_exception(ConnectionError(f"publish to {topic} refused locally: {paho.error_string(info.rc)}"))
        else:
            self._pending[info.mid] = fut  # the PUBACK is handed to this thread later: no race
        return fut

    @property
    def inflight(self) -> int:
        return len(self._pending)

    def subscribe(self, topics: Sequence[str]) -> None:
        if topics:
            self._client.subscribe([(t, 1) for t in topics])

    # -- paho callbacks (paho's thread) -----------------------------------------------------
    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:  # noqa: PLR0917  (paho-mqtt calls it so)
        if reason.is_failure:
            log.warning("MQTT %s:%d refused the connection: %s", self.settings.host, self.settings.port, reason)
            return
        self.connects += 1
        nodelay(client)
        log.info(
            "MQTT connected to %s:%d (%s)",
            self.settings.host,
            self.settings.port,
            "resumed session" if flags.session_present else "new session",
        )
        if self.settings.subscriptions:
            client.subscribe([(t, 1) for t in self.settings.subscriptions])
        if self.birth is not None:
            for topic, payload, retain in self.birth():
                client.publish(topic, payload, qos=1, retain=retain, properties=self._props)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.connected.set)

    def _on_disconnect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:  # noqa: PLR0917  (paho-mqtt calls it so)
        self.disconnects += 1
        log.warning("MQTT disconnected from %s:%d: %s", self.settings.host, self.settings.port, reason)
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.connected.clear)

    def _on_subscribe(self, client: paho.Client, userdata: Any, mid: int, reasons: Any, props: Any) -> None:  # noqa: PLR0917  (paho-mqtt calls it so)
        self.suback.append([r.value for r in reasons])

    def _on_publish(self, client: paho.Client, userdata: Any, mid: int, reason: Any, props: Any) -> None:  # noqa: PLR0917  (paho-mqtt calls it so)
        with self._acked_lock:
            self._acked.append((mid, reason.value))
            if self._scheduled or self._loop is None:
                return
            self._scheduled = True
        self._loop.call_soon_threadsafe(self._drain_acks)

    def _on_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        if self.on_message is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self.on_message, msg.topic, bytes(msg.payload))

    # -- the loop's side --------------------------------------------------------------------
    def _drain_acks(self) -> None:
        with self._acked_lock:
            acked, self._acked, self._scheduled = self._acked, [], False
        for mid, code in acked:
            fut = self._pending.pop(mid, None)
            if code >= 0x80:
                self.refused[code] = self.refused.get(code, 0) + 1
                if code == 0x87:  # the broker's ACL said no: our configuration and its ACL disagree
                    self._denied.warning(
                        "acl", "the broker's ACL refused a publish (PUBACK 0x87, %d so far)", self.refused[code]
                    )
            if fut is not None and not fut.done():
                fut.set_result(code)
