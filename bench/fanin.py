"""Fan-in through a three-node RabbitMQ cluster: many stores' events to central, confirmed.

``--stores`` light publishers (one MQTT 3.1.1 connection per store, as a store's agent or bridge
has; not full daemons: asyncio, a few MQTT packets written by hand), spread over two publisher
processes and over two of the cluster's nodes, each sending CloudEvents at its share of
``--rate`` with ``replyto`` its own response topic and counting central's ``events.confirmed``.
Each store sends as the agent's outbox does with ``mqtt.linger_ms = --linger-ms``: an event
waits that long and goes with the lane's others of the meantime, packed by the agent's own
``wire.batches.pack`` (a CloudEvents batch on ``…/evt/batch``). Three central processes
(``sim/central/amqp.py``) consume the quorum queues over AMQP, store each event once and
confirm it. A store re-sends what stays unconfirmed for 30 s (same id), as the agent does. Figures, one JSON line
each, all in one run against one cluster:

- ``fanin_one_per_message``: the same offer with no linger (each event its own message, as
  before batches), for the ratio;
- ``fanin_confirmed``: events/s confirmed back to the stores: the median second while every
  store sends (``confirmed_per_s_steady``) and over the whole run until the last confirmation
  (``confirmed_per_s``), whether every event was confirmed, events per message, and from an
  event sent to its confirmation back at its store (p50/p99); target ≥ 5,000/s sustained, all
  confirmed; ``ratio``: ``confirmed_per_s`` against ``fanin_one_per_message``'s (a lower bound
  when the batched run keeps up with the offer: it cannot confirm faster than it is offered);
- ``fanin_node_killed``: the same with the third node (queue replicas and a consumer's
  connection, no store's) killed with -9 halfway: events/s over the run, every event
  confirmed, and the recovery: seconds from the kill until confirmations run at ≥ 90 % of the
  offered rate again.

Run: ``make bench`` or ``.venv/bin/python bench/fanin.py [--stores 200 --rate 8000 --seconds 20
--linger-ms 100]``.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edge_agent.wire import envelope  # noqa: E402
from edge_agent.wire.batches import pack  # noqa: E402

PASSWORD = "fanin-bench"
PUBLISHERS = 2  # processes, each an asyncio loop with its share of the stores
RESEND_S = 30.0  # unconfirmed this long: sent again, as the agent's mqtt.confirm_timeout_s


def _packet(kind: int, body: bytes) -> bytes:
    """An MQTT 3.1.1 control packet: the fixed header's type and flags, the remaining length
    (7 bits a byte, high bit "more") and the body."""
    head, n = bytearray([kind]), len(body)
    while True:
        n, digit = divmod(n, 128)
        head.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(head) + body


def _utf8(s: str) -> bytes:
    b = s.encode()
    return len(b).to_bytes(2, "big") + b


class Store(asyncio.Protocol):
    """One store's MQTT 3.1.1 connection, as light as a store can be: CONNECT with a persistent
    session, SUBSCRIBE to its response topic at QoS 1, PUBLISH at QoS 1 (PUBACK frees the
    packet id), PUBACK for what central sends, PINGREQ. ``events.confirmed`` ids are counted."""

    def __init__(self, name: str, confirmed: dict[str, float]) -> None:
        self.name, self.confirmed = name, confirmed
        self.resp = f"sco/v1/{name}/agent-1/resp"
        self.topic = f"sco/v1/{name}/lane-1/evt/bench.fanin"
        self.pending: list[tuple[int, str, bytes]] = []  # events waiting for their batch (``--linger-ms``)
        self.pending_since = 0.0
        self.messages = 0
        self.buf = bytearray()
        self.next_id = 0
        self.transport: asyncio.Transport | None = None
        self.connected: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.subscribed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.lost: BaseException | None = None
        self.confirmations = 0  # events.confirmed messages received

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        body = _utf8("MQTT") + bytes([4, 0xC0, 0, 30])  # 3.1.1; user, password, persistent session; 30 s
        body += _utf8(f"{self.name}.agent-1") + _utf8("fanin") + _utf8(PASSWORD)
        transport.write(_packet(0x10, body))

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost = exc or ConnectionError("closed by the broker")
        for f in (self.connected, self.subscribed):
            if not f.done():
                f.set_exception(self.lost)

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        while len(buf) >= 2:
            n, shift, i = 0, 0, 1
            while True:  # the remaining length
                if i >= len(buf):
                    return
                n |= (buf[i] & 0x7F) << shift
                shift += 7
                i += 1
                if not buf[i - 1] & 0x80:
                    break
            if len(buf) < i + n:
                return
            kind, body = buf[0], bytes(buf[i : i + n])
            del buf[: i + n]
            self._packet(kind, body)

    def _packet(self, kind: int, body: bytes) -> None:
        t = kind >> 4
        if t == 3:  # PUBLISH from central: a confirmation
            length = int.from_bytes(body[:2], "big")
            at = 2 + length
            if kind & 0x06:  # QoS 1: acknowledge it
                assert self.transport is not None
                self.transport.write(b"\x40\x02" + body[at : at + 2])
                at += 2
            ev = json.loads(body[at:])
            if ev.get("type") == "events.confirmed":
                self.confirmations += 1
                now = time.time()
                for i in ev["data"]["ids"]:
                    self.confirmed.setdefault(i, now)
        elif t == 2:  # CONNACK
            if body[1] != 0:
                self.connected.set_exception(ConnectionError(f"{self.name}: CONNACK return code {body[1]}"))
            else:
                self.connected.set_result(None)
        elif t == 9 and not self.subscribed.done():  # SUBACK
            ok = body[2] != 0x80
            self.subscribed.set_result(None) if ok else self.subscribed.set_exception(ConnectionError("SUBACK"))

    def subscribe(self) -> None:
        assert self.transport is not None
        self.transport.write(_packet(0x82, b"\x00\x01" + _utf8(self.resp) + b"\x01"))

    def publish(self, topic: str, payload: bytes | str) -> None:
        if self.lost is not None:
            raise ConnectionError(f"{self.name}: {self.lost}")
        self.next_id = self.next_id % 65535 + 1
        self.messages += 1
        data = payload.encode() if isinstance(payload, str) else payload
        assert self.transport is not None
        self.transport.write(_packet(0x32, _utf8(topic) + self.next_id.to_bytes(2, "big") + data))

    def add(self, payload: bytes, linger_s: float, now: float) -> None:
        """An event to send, as the agent's outbox does: after ``linger_s`` (``mqtt.linger_ms``)
        with the lane's others that came meanwhile, packed by the agent's own ``pack``."""
        if not self.pending:
            self.pending_since = now
        self.pending.append((len(self.pending), self.topic, payload))
        self.flush(linger_s, now)

    def flush(self, linger_s: float, now: float) -> None:
        if self.pending and now - self.pending_since >= linger_s:
            for message in pack(self.pending):
                self.publish(message.topic, message.payload)
            self.pending = []

    def ping(self) -> None:
        if self.transport is not None and self.lost is None:
            self.transport.write(b"\xc0\x00")


def keepalive(stores: list[Store], last: float) -> float:
    """PINGREQ on every connection each 10 s (the keepalive is 30 s); when it last went."""
    if time.time() - last < 10:
        return last
    for store in stores:
        store.ping()
    return time.time()


def publisher(ports: list[int], first: int, count: int, *, rate: float, seconds: float, linger_s: float) -> None:
    """One process: ``count`` stores from ``first``, each on its own MQTT connection."""
    asyncio.run(_publisher(ports, first, count, rate=rate, seconds=seconds, linger_s=linger_s))


async def _publisher(ports: list[int], first: int, count: int, *, rate: float, seconds: float, linger_s: float) -> None:
    loop = asyncio.get_running_loop()
    confirmed: dict[str, float] = {}
    stores: list[Store] = []
    for n in range(first, first + count):
        make = functools.partial(Store, f"store-{n:04d}", confirmed)
        _, store = await loop.create_connection(make, "127.0.0.1", ports[n % len(ports)])
        stores.append(store)
    for store in stores:
        await asyncio.wait_for(store.connected, 30)
        store.subscribe()
    for store in stores:
        await asyncio.wait_for(store.subscribed, 30)
    print(json.dumps({"ready": True}), flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)  # go
    run_id = uuid.uuid4().hex[:8]
    stamp = envelope.now_iso()
    template = (
        '{"specversion": "1.0", "id": "%s", "source": "sco://%s/lane-1", "type": "bench.fanin", '
        f'"time": "{stamp}", "datacontenttype": "application/json", "replyto": "%s", "data": {{"k": %d}}}}'
    )
    sent: dict[str, float] = {}  # when last sent
    first_sent: dict[str, float] = {}
    messages: dict[str, tuple[Store, bytes]] = {}
    per_store = rate / max(1, count)
    start = last_ping = time.time()
    k = 0
    while time.time() - start < seconds:
        due = int((time.time() - start) * per_store) + 1
        while k < due:
            for store in stores:  # a CloudEvent from a template: the publishers share the cores
                event_id = f"{store.name}-{run_id}-{k}"
                payload = (template % (event_id, store.name, store.resp, k)).encode()
                sent[event_id] = first_sent[event_id] = time.time()
                messages[event_id] = (store, payload)
                store.add(payload, linger_s, sent[event_id])
            k += 1
        now = time.time()
        for store in stores:
            store.flush(linger_s, now)
        last_ping = keepalive(stores, last_ping)
        await asyncio.sleep(0.005)
    for store in stores:
        store.flush(0, time.time())
    deadline, resent = time.time() + 150, 0
    while time.time() < deadline:  # as the agent does: what stays unconfirmed goes again (same id)
        missing = [i for i in sent if i not in confirmed]
        if not missing:
            break
        for i in missing:
            if time.time() - sent[i] > RESEND_S:
                store, payload = messages[i]
                sent[i] = time.time()
                store.publish(store.topic, payload)
                resent += 1
        last_ping = keepalive(stores, last_ping)
        await asyncio.sleep(0.2)
    for store in stores:
        if store.transport is not None:
            store.transport.write(b"\xe0\x00")  # DISCONNECT
            store.transport.close()
    waits = sorted(confirmed[i] - first_sent[i] for i in first_sent if i in confirmed)
    buckets: dict[int, int] = {}
    for at in confirmed.values():
        buckets[int(at - start)] = buckets.get(int(at - start), 0) + 1
    print(
        json.dumps(
            {
                "sent": len(sent),
                "confirmed": len(set(confirmed) & set(sent)),
                "start": start,
                "resent": resent,
                "confirmations": sum(s.confirmations for s in stores),
                "messages": sum(s.messages for s in stores),
                "per_second": buckets,
                "waits": waits[:: max(1, len(waits) // 2000)],
            }
        ),
        flush=True,
    )


def run(
    cluster: Any, tmp: Path, stores: int, *, rate: float, seconds: float, kill_at: float | None, linger_s: float
) -> dict[str, Any]:
    db = tmp / f"central-{uuid.uuid4().hex[:8]}.db"  # each run its own central
    addresses = ",".join(f"127.0.0.1:{p}" for p in cluster.amqp_ports)
    central = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "edge_agent.cli",
                "sim",
                "central",
                "--amqp",
                addresses,
                "--first-node",
                str(i),
                "--name",
                f"central-{i + 1}",
                "--username",
                "central",
                "--password",
                PASSWORD,
                "--db",
                str(db),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    for c in central:
        assert c.stdout is not None and json.loads(c.stdout.readline())["subscribed"]
    procs, per = [], max(1, -(-stores // PUBLISHERS))
    ports = json.dumps(cluster.mqtt_ports[:2])  # the stores use two nodes; the third is the one killed
    for first in range(0, stores, per):
        n = min(per, stores - first)
        argv = [ports, str(first), str(n), str(rate * n / stores), str(seconds), str(linger_s)]
        procs.append(
            subprocess.Popen(
                [sys.executable, __file__, "--publisher", *argv],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    for p in procs:
        assert p.stdout is not None and json.loads(p.stdout.readline())["ready"]
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    killed = None
    if kill_at is not None:
        time.sleep(kill_at)
        killed = time.time()
        cluster.kill(2)
    results = [json.loads(p.communicate(timeout=seconds + 180)[0].splitlines()[-1]) for p in procs]
    deadline = time.time() + 120
    while time.time() < deadline and cluster.queue_depths().get("central.events", 0) > 0:
        time.sleep(0.5)  # repeats still queued: consumed here, not by the next run's consumers
    for c in central:
        c.terminate()
        c.wait(20)
    with sqlite3.connect(db) as conn:  # what central holds: each event once, and the repeats it dropped
        stored = conn.execute("SELECT COUNT(*) FROM events WHERE type = 'bench.fanin'").fetchone()[0]
        repeats = conn.execute("SELECT value FROM counters WHERE name = 'events.duplicates_dropped'").fetchone()
    sent = sum(r["sent"] for r in results)
    resent = sum(r["resent"] for r in results)
    confirmations = sum(r["confirmations"] for r in results)
    messages = sum(r["messages"] for r in results)
    waits = sorted(w for r in results for w in r["waits"])
    confirmed = sum(r["confirmed"] for r in results)
    start = min(r["start"] for r in results)
    per_second: dict[int, int] = {}
    for r in results:
        for sec, n in r["per_second"].items():
            key = int(float(sec) + r["start"] - start)
            per_second[key] = per_second.get(key, 0) + n
    elapsed = max(per_second) + 1 if per_second else int(seconds)
    window = sorted(per_second.get(sec, 0) for sec in range(2, int(seconds)))  # while every store sends
    steady = window[len(window) // 2] if window else 0
    out = {
        "stores": stores,
        "offered_per_s": rate,
        "seconds": seconds,
        "sent": sent,
        "confirmed": confirmed,
        "confirmed_per_s_steady": steady,
        "confirmed_per_s": round(confirmed / max(elapsed, seconds)),
        "all_confirmed": confirmed == sent,
        "resent_unconfirmed": resent,
        "events_per_message": round(sent / max(1, messages), 1),
        "confirmed_ms_p50": round(1000 * waits[len(waits) // 2]) if waits else None,
        "confirmed_ms_p99": round(1000 * waits[int(len(waits) * 0.99)]) if waits else None,
        "ids_per_confirmation": round(confirmed / max(1, confirmations), 1),
        "central_stored": stored,
        "central_repeats_dropped": repeats[0] if repeats else 0,
    }
    if killed is not None:
        after = int(killed - start)
        back = next((s for s in range(after + 1, elapsed + 1) if per_second.get(s, 0) >= 0.9 * rate), None)
        out["recovery_s"] = None if back is None else round(back - (killed - start), 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stores", type=int, default=200)
    ap.add_argument("--rate", type=float, default=8000, help="events/s offered by all stores together")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument(
        "--linger-ms",
        type=float,
        default=100,
        help="each store batches what it has this long, as the agent's mqtt.linger_ms (0: one per message)",
    )
    ap.add_argument("--publisher", nargs=6, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.publisher:
        ports, first, count, rate, seconds, linger_s = args.publisher
        publisher(
            json.loads(ports),
            int(first),
            int(count),
            rate=float(rate),
            seconds=float(seconds),
            linger_s=float(linger_s),
        )
        return
    from tests.integration.rabbit import RabbitCluster

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        cluster = RabbitCluster(tmp / "rabbit", ["central", "fanin"], PASSWORD).start()
        try:
            while len(cluster.running()) < 3:
                time.sleep(0.5)
            linger_s = args.linger_ms / 1000
            steady = run(
                cluster, tmp, args.stores, rate=args.rate, seconds=args.seconds, kill_at=None, linger_s=linger_s
            )
            alone = run(cluster, tmp, args.stores, rate=args.rate, seconds=args.seconds, kill_at=None, linger_s=0.0)
            print(json.dumps({"figure": "fanin_one_per_message", "unit": "events/s", **alone}), flush=True)
            # until the last confirmation: a system that falls behind still confirms in bursts later
            ratio = round(steady["confirmed_per_s"] / max(1, alone["confirmed_per_s"]), 2)
            print(
                json.dumps(
                    {
                        "figure": "fanin_confirmed",
                        "unit": "events/s",
                        "linger_ms": args.linger_ms,
                        **steady,
                        "ratio": ratio,
                        "target": 5000,
                    }
                ),
                flush=True,
            )
            killed = run(
                cluster,
                tmp,
                args.stores,
                rate=args.rate,
                seconds=args.seconds,
                kill_at=args.seconds / 2,
                linger_s=linger_s,
            )
            print(
                json.dumps({"figure": "fanin_node_killed", "unit": "events/s", "linger_ms": args.linger_ms, **killed}),
                flush=True,
            )
        finally:
            cluster.stop()
        os.sync()


if __name__ == "__main__":
    main()
