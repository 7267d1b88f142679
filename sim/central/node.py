"""One instance of the central services on MQTT: loyalty, payment and the event sink.

Each service consumes its commands through a shared subscription
(``$share/{service}/svc/v1/{service}/cmd/+``), so N instances split the load and each request
reaches one of them; they share one database, and ``db.once`` makes a request that is
delivered twice (or to two instances) take effect once. Responses go to the request's
``replyto`` with its ``correlationid``. The event sink (one instance per deployment: ``events=True``) subscribes
``sco/v1/+/+/evt/#`` and the EPCIS topic with a durable session, keeps each event once by
(source, id) and each ``transaction.posted`` once by transaction id, and counts duplicates.

End-to-end confirmation (docs/mqtt.md): an event that names a ``replyto`` is confirmed there
once its row is committed (``events.confirmed`` with the ids, batched every few ms), a repeat
too; a gap in a basket's ``seq`` (an event n whose 1..n-1 are not all here) is asked for again
with ``events.replay`` after a grace period, and again every few seconds while it stays open.

Why events are not shared: Mosquitto 2.0.11 (Debian 12) does not restore shared
subscriptions from its persistence file, so after a broker restart events published before
the service resubscribes would be dropped; an event has no sender-side retry to cover that.
A lost command is covered: the agent sends it again with the same idempotency key.

Faults armed in the database (``db.arm_fault``) are acted out after the handler commits:
``500`` (answer "internal error, retry"), ``drop`` (no answer), ``duplicate`` (answer twice).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from edge_agent.sync.mqtt import cloudevents_properties, nodelay
from edge_agent.wire import envelope
from edge_agent.wire.topics import BATCH, TopicError, parse_cmd, shared_cmd
from sim.central import db, loyalty, payment

log = logging.getLogger("sim.central")
SERVICES = ("loyalty", "payment")
#: an event that would open more gaps than this opens none (a basket's journal is far shorter)
MAX_GAP = 10_000
EVENT_FILTERS = ("sco/v1/+/+/evt/#", "sco/v1/+/trace/epcis", "sco/v1/+/+/status")


class CentralNode:
    def __init__(  # noqa: PLR0913  (one keyword per setting of the simulated node)
        self,
        db_path: Path | str,
        host: str = "127.0.0.1",
        port: int = 1883,
        *,
        instance: str = "central-1",
        username: str | None = None,
        password: str | None = None,
        program: str = "magnit_like",
        services: tuple[str, ...] = SERVICES,
        events: bool = True,
        protocol: str = "5",
        tls_ca: Path | None = None,
        settings: payment.Settings | None = None,
        shared: bool = True,
    ) -> None:
        self.instance = instance
        self.conn = db.connect(db_path)
        with db.tx(self.conn):
            loyalty.seed(self.conn, program)
        self.settings = settings or payment.Settings()
        self.source = f"central://{instance}"
        # shared: N instances split the commands; plain (one instance) for brokers without
        # shared subscriptions, such as the embedded demo broker
        commands = [shared_cmd(s) if shared else f"svc/v1/{s}/cmd/#" for s in services]
        self.events = events  # this instance sinks the agents' events (and confirms them)
        self.filters = commands + (list(EVENT_FILTERS) if events else [])
        self.handled = 0
        self.ready = threading.Event()
        self._lock = threading.RLock()
        self._halt = threading.Event()
        self._notify_thread: threading.Thread | None = None
        self._confirm_thread: threading.Thread | None = None
        self._confirms: dict[str, list[str]] = {}  # replyto -> event ids stored, not yet confirmed
        self.confirmations_sent = 0
        #: how often stored events are confirmed (a batch per sender each time)
        self.confirm_every_s = 0.005
        self.replays_asked = 0
        #: handler errors passed up, not dropped (none here: paho would lose its network thread)
        self._retry: tuple[type[Exception], ...] = ()
        self.services = services
        v5 = protocol == "5"
        # a persistent session: while an instance is away (or the broker restarts) the broker
        # keeps its share of commands and events instead of dropping them
        self.v5 = v5
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=instance,
            clean_session=None if v5 else False,
            protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        if tls_ca is not None:
            self.client.tls_set(ca_certs=str(tls_ca))
        self.client.max_inflight_messages_set(1000)
        self.client.reconnect_delay_set(1, 2)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self.ready.set()
        self.host, self.port = host, port

    def _notifier(self) -> None:
        """``payment.status_changed`` to the payer when a customer acts (a webhook, relayed).
        The event id is the payment and its state, so a repeat from any instance is a duplicate."""
        while not self._halt.wait(0.02):
            try:
                with self._lock, db.tx(self.conn):
                    changes = payment.changed(self.conn, time.time(), self.settings)
                    twice = bool(changes) and db.take_fault(self.conn, "payment.notify") == "duplicate"
            except sqlite3.Error as e:
                log.warning("%s: notifier: %s", self.instance, e)
                continue
            for topic, p in changes:
                ev = envelope.event("central://payment", "payment.status_changed", p, id_=f"{p['id']}:{p['status']}")
                for _ in range(2 if twice else 1):
                    self._publish(topic, envelope.encode(ev))

    def start(self) -> None:
        props = None
        if self.v5:
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties

            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = 86_400
        self.client.connect_async(
            self.host, self.port, keepalive=30, clean_start=False if self.v5 else 3, properties=props
        )
        self.client.loop_start()
        self._start_workers(self.events)

    def _start_workers(self, events: bool) -> None:
        """The confirmer (when this instance sinks events) and the payment notifier."""
        if events:
            self._confirm_thread = threading.Thread(
                target=self._confirmer, name=f"{self.instance} confirm", daemon=True
            )
            self._confirm_thread.start()
        if "payment" in self.services:
            self._notify_thread = threading.Thread(target=self._notifier, name=f"{self.instance} notify", daemon=True)
            self._notify_thread.start()

    def stop(self) -> None:
        self._stop_workers()
        self.client.disconnect()
        self.client.loop_stop()
        self.conn.close()

    def _stop_workers(self) -> None:
        self._halt.set()
        for thread in (self._notify_thread, self._confirm_thread):
            if thread is not None:
                thread.join(5)

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:  # noqa: PLR0917  (paho-mqtt calls it so)
        if not reason.is_failure:
            nodelay(client)
            client.subscribe([(f, 1) for f in self.filters])

    def _publish(self, topic: str, payload: bytes) -> None:
        """Send one message (QoS 1): the transport's part (MQTT here; AMQP in sim/central/amqp.py)."""
        self.client.publish(topic, payload, qos=1, properties=cloudevents_properties() if self.v5 else None)

    def _on_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        self.handle(msg.topic, bytes(msg.payload))

    def handle(self, topic: str, payload: bytes) -> None:
        """One message on ``topic`` (MQTT's form), whatever it came through; returns once it is
        committed (an AMQP delivery is acknowledged after this)."""
        if topic.endswith(f"/evt/{BATCH}"):
            self._event_batch(topic, payload)
            return
        try:
            ev = envelope.decode(payload)
        except envelope.EnvelopeError as e:
            self._bad(topic, e)
            return
        if topic.startswith("svc/"):
            self._guarded(topic, self._command, ev)
        elif topic.endswith("/status"):
            self._guarded(topic, self._status, ev)
        else:
            self._guarded(topic, self._event, ev)

    def _guarded(self, topic: str, handler: Callable[[str, envelope.Event], None], ev: envelope.Event) -> None:
        """One message through its handler. Whatever a sender puts in it, an exception drops
        that message (its handler's transaction rolled back; logged and counted) and the
        service goes on: one bad message must not stop the consumer, nor be redelivered to
        stop it again. The sender repeats what mattered: an unconfirmed event, an unanswered
        command. ``_retry``: errors to pass up instead (AMQP: not acknowledged, redelivered)."""
        try:
            with self._lock:
                handler(topic, ev)
        except self._retry:
            raise
        except Exception:
            log.exception("%s: dropped %s from %s on %s: its handler failed", self.instance, ev.type, ev.source, topic)
            with self._lock, db.tx(self.conn):
                db.bump(self.conn, "handler_errors")

    def _bad(self, topic: str, e: envelope.EnvelopeError) -> None:
        log.warning("%s: dropped a bad message on %s: %s", self.instance, topic, e)
        with self._lock, db.tx(self.conn):
            db.bump(self.conn, "bad_messages")

    def _event_batch(self, topic: str, payload: bytes) -> None:
        """A lane's batch of events: each is stored, and confirmed once committed, as if it came
        alone (on AMQP the delivery's transaction holds them all); a bad one is dropped and
        counted, the others stand."""
        try:
            items = envelope.decode_batch(payload)
        except envelope.EnvelopeError as e:
            self._bad(topic, e)
            return
        with self._lock:
            for item in items:
                if isinstance(item, envelope.EnvelopeError):
                    self._bad(topic, item)
                else:
                    self._guarded(topic, self._event, item)

    def _status(self, topic: str, ev: envelope.Event) -> None:
        """An agent's retained status: the fleet view's row for it (``sim/central/fleet.py``)."""
        parts = topic.split("/")
        if len(parts) != 5 or not isinstance(ev.data, dict):
            return
        with db.tx(self.conn):
            self.conn.execute(
                "INSERT INTO agents (store, agent, state, data, at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (store, agent) DO UPDATE SET state = excluded.state, data = excluded.data, "
                "at = excluded.at",
                (parts[2], parts[3], str(ev.data.get("state", "?")), json.dumps(ev.data), time.time()),
            )

    def _command(self, topic: str, ev: envelope.Event) -> None:
        """A command, from the caller its topic names: the envelope's ``source`` must be that
        caller, and the handlers check that the objects it touches are its own."""
        try:
            command = parse_cmd(topic)
        except TopicError as e:
            self._refuse("?", topic, ev, code="bad_topic", message=e.message)
            return
        service, op, caller = command.service, command.op, f"{command.store}/{command.agent}"
        own = f"sco/v1/{command.store}/{command.agent}/resp"  # answers go to the caller named, whatever replyto says
        if ev.replyto is not None and ev.replyto != own:
            self._redirect_refused(caller, topic, ev.replyto)
        ev = dataclasses.replace(ev, replyto=own if ev.replyto is not None else None)
        if ev.source != command.source:
            self._refuse(
                caller, topic, ev, code="caller_mismatch", message=f"{ev.source!r} sent a command as {command.source!r}"
            )
            return
        data = ev.data if isinstance(ev.data, dict) else {}
        now = time.time()

        def handler(conn: sqlite3.Connection) -> dict[str, Any]:
            mine = {k: v for k, v in data.items() if not k.startswith("_")} | {"_caller": caller}
            if service == "loyalty":
                return loyalty.handle(conn, op, mine, now)
            # the payer hears of the payment's changes where it hears answers (webhook relay)
            if op == "create" and ev.replyto:
                mine["_notify"] = ev.replyto
            return payment.handle(conn, op, mine, now=now, settings=self.settings)

        key = ev.idempotencykey if op not in ("get", "identify", "quote") else None
        response, fault = db.once(
            self.conn, service, op, key, data=data, instance=self.instance, handler=handler, now=now
        )
        self.handled += 1
        if ev.replyto is None:
            return
        if fault == "drop":
            return
        if fault == "500":
            response = {
                "ok": False,
                "error": {"code": "internal", "message": "internal error (after commit)", "retryable": True},
            }
        reply = envelope.encode(
            envelope.event(self.source, f"{service}.{op}.result", response, correlationid=ev.correlationid)
        )
        self._publish(ev.replyto, reply)
        if fault == "duplicate":
            self._publish(ev.replyto, reply)

    def _refuse(self, caller: str, topic: str, ev: envelope.Event, *, code: str, message: str) -> None:
        """A command refused before any handler: logged, counted, kept in ``refused``, answered."""
        log.warning("%s: refused %s from %s on %s: %s", self.instance, ev.type, caller, topic, message)
        with db.tx(self.conn):
            db.bump(self.conn, "commands.refused")
            self.conn.execute(
                "INSERT INTO refused (caller, topic, code, message, at) VALUES (?, ?, ?, ?, ?)",
                (caller, topic, code, message, time.time()),
            )
        if ev.replyto and ev.correlationid:
            answer = {"ok": False, "error": {"code": code, "message": message, "retryable": False}}
            self._publish(
                ev.replyto,
                envelope.encode(
                    envelope.event(self.source, f"{ev.type}.result", answer, correlationid=ev.correlationid)
                ),
            )

    def _confirmer(self) -> None:
        """Confirm stored events to their senders, batched; ask again for the gaps that stay."""
        last_gaps = 0.0
        while not self._halt.wait(self.confirm_every_s):
            with self._lock:
                batches, self._confirms = self._confirms, {}
            for replyto, ids in batches.items():
                for start in range(0, len(ids), 1000):
                    ev = envelope.event(self.source, "events.confirmed", {"ids": ids[start : start + 1000]})
                    self._publish(replyto, envelope.encode(ev))
                    self.confirmations_sent += 1
            if time.monotonic() - last_gaps > 0.5:
                last_gaps = time.monotonic()
                self._ask_for_gaps()

    def _ask_for_gaps(self, grace_s: float = 1.0, again_s: float = 5.0) -> None:
        now = time.time()
        try:
            with self._lock, db.tx(self.conn):
                self.conn.execute(
                    "DELETE FROM gaps WHERE EXISTS (SELECT 1 FROM events e WHERE e.source = gaps.source "
                    "AND e.subject = gaps.subject AND e.seq = gaps.seq)"
                )
                due = "seen_at < ? AND (asked_at IS NULL OR asked_at < ?)"
                rows = self.conn.execute(
                    f"SELECT source, subject, replyto, group_concat(seq) FROM gaps WHERE {due} "
                    "GROUP BY source, subject, replyto",
                    (now - grace_s, now - again_s),
                ).fetchall()
                self.conn.execute(f"UPDATE gaps SET asked_at = ? WHERE {due}", (now, now - grace_s, now - again_s))
        except sqlite3.Error as e:
            log.warning("%s: gap check: %s", self.instance, e)
            return
        for _source, subject, replyto, seqs in rows:
            ask = {"subject": subject, "seqs": sorted(int(n) for n in str(seqs).split(","))[:1000]}
            self._publish(replyto, envelope.encode(envelope.event(self.source, "events.replay", ask)))
            self.replays_asked += 1

    def _event(self, topic: str, ev: envelope.Event) -> None:
        now = time.time()
        parts = topic.split("/")
        own = f"sco://{parts[2]}/{parts[3]}" if len(parts) == 6 else None  # a lane's event: from that lane
        if (ev.source != own) if own else not ev.source.startswith(f"sco://{parts[2]}/"):
            self._refuse(parts[2], topic, ev, code="source_mismatch", message=f"an event from {ev.source!r} on {topic}")
            return
        if ev.replyto is not None and not self._may_reply(parts, ev.replyto):
            self._redirect_refused(parts[2], topic, ev.replyto)
            ev = dataclasses.replace(ev, replyto=None)  # stored; neither confirmed nor replayed there
        with db.tx(self.conn):
            cur = self.conn.execute(
                "INSERT OR IGNORE INTO events (source, id, type, topic, seq, data, at, subject) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (ev.source, ev.id, ev.type, topic, ev.seq, json.dumps(ev.data), now, ev.subject),
            )
            if cur.rowcount == 0:
                db.bump(self.conn, "events.duplicates_dropped")
            else:
                if ev.seq and ev.subject and ev.replyto:
                    self._note_gaps(ev, now)
                if ev.type == "transaction.posted" and isinstance(ev.data, dict):
                    self._transaction(ev.data, now)
        if ev.replyto:  # committed: confirm it (a repeat too: the first confirmation may have been lost)
            self._confirm(ev.replyto, ev.id)

    def _may_reply(self, parts: list[str], replyto: str) -> bool:
        """Confirmations and replays of a lane's event go only to the response topic of the agent
        whose retained status (a topic only it may write) lists that lane; before any status is
        known, only to an agent of the same store."""
        store = parts[2]
        if not replyto.startswith(f"sco/v1/{store}/") or not replyto.endswith("/resp") or replyto.count("/") != 4:
            return False
        if len(parts) != 6:
            return True  # the store's trace events: any of its agents
        claims = set()
        for agent, data in self.conn.execute("SELECT agent, data FROM agents WHERE store = ?", (store,)):
            try:  # an agent's status is whatever it sent (json.loads takes what SQLite's JSON would not)
                lanes = json.loads(data).get("lanes")
            except (ValueError, AttributeError):
                continue
            if isinstance(lanes, list) and parts[3] in lanes:
                claims.add(f"sco/v1/{store}/{agent}/resp")
        return not claims or replyto in claims

    def _redirect_refused(self, caller: str, topic: str, replyto: str) -> None:
        log.warning("%s: %s asked for answers on %s, not its own topic: ignored", self.instance, caller, replyto)
        with db.tx(self.conn):
            db.bump(self.conn, "replyto_refused")

    def _confirm(self, replyto: str, event_id: str) -> None:
        self._confirms.setdefault(replyto, []).append(event_id)

    def _transaction(self, data: dict[str, Any], now: float) -> None:
        row = (data.get("transactionId"), data.get("lane", ""), data.get("totalKop", 0), json.dumps(data), now)
        if not (
            isinstance(row[0], str)
            and row[0]
            and isinstance(row[1], str)
            and type(row[2]) is int
            and abs(row[2]) <= envelope.MAX_SEQ
        ):
            log.warning(
                "%s: a transaction.posted without a usable transactionId, lane or totalKop: not recorded", self.instance
            )
            db.bump(self.conn, "transactions.malformed")
            return
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO transactions (id, lane, total, data, at) VALUES (?, ?, ?, ?, ?)", row
        )
        if cur.rowcount == 0:
            db.bump(self.conn, "transactions.duplicates_dropped")

    def _note_gaps(self, ev: envelope.Event, now: float) -> None:
        """Event n of a basket arrived: any of 1..n-1 not here is a gap (asked for after a grace).
        The index counts them first, so an event whose stream has no hole costs one range count,
        not a scan of its basket's stream into Python; only a hole is looked for seq by seq."""
        assert ev.seq is not None
        key = (ev.source, ev.subject, ev.seq - 1)
        have = self.conn.execute(
            "SELECT COUNT(*) FROM events WHERE source = ? AND subject = ? AND seq BETWEEN 1 AND ?", key
        ).fetchone()[0]
        if have >= ev.seq - 1:
            return
        if ev.seq - 1 - have > MAX_GAP:  # no basket misses that many: a sender's bug or an attack, not a loss
            log.warning("%s: %s jumped to seq %d on %s: no gaps noted", self.instance, ev.source, ev.seq, ev.subject)
            db.bump(self.conn, "events.seq_jumps")
            return
        rows = self.conn.execute("SELECT seq FROM events WHERE source = ? AND subject = ? AND seq BETWEEN 1 AND ?", key)
        present = {r[0] for r in rows}
        missing = [(ev.source, ev.subject, n, ev.replyto, now) for n in range(1, ev.seq) if n not in present]
        self.conn.executemany(
            "INSERT OR IGNORE INTO gaps (source, subject, seq, replyto, seen_at) VALUES (?, ?, ?, ?, ?)", missing
        )


def publish_stream(
    client: paho.Client, store: str, stream: str, *, kind: str, version: int, data: dict[str, Any]
) -> None:
    """Central → edge: a catalog or codes snapshot (retained) or delta, as a CloudEvent."""
    ev = envelope.event(f"central://{stream}", f"{stream}.{kind}", {"version": version, **data})
    props = cloudevents_properties() if client.protocol == MQTTProtocolVersion.MQTTv5 else None
    client.publish(
        f"sco/v1/{store}/{stream}/{kind}", envelope.encode(ev), qos=1, retain=kind == "snapshot", properties=props
    )
