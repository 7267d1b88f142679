"""MQTT sync against a real Mosquitto on loopback, the central simulator in its own process.

Figures (one JSON line each):

- ``event_to_central``: an event committed to the agent's outbox until central has stored it
  (outbox → publisher → Mosquitto → central's sink → its SQLite), paced at 200 events/s;
  side by side with the bare broker path (a paho client publishing QoS 1 to a topic it is
  subscribed to itself): p50/p99 and the ratio of the p99s; target p99 ≤ 20 ms;
- ``confirmed_latency``: the same events, committed until central's confirmation is back at
  the agent (the end-to-end guarantee: the row may be forgotten only then), side by side with
  committed until the broker's PUBACK (what "delivered" meant before), as a ratio of the p99s;
  target p99 ≤ 25 ms;
- ``request_roundtrip``: a request to the central payment service until its answer is back
  (``payment.get``): p50/p99;
- ``outbox_drain``: 100,000 events queued during an outage, drained once the broker is back:
  events/s until the last PUBACK (in batches, as the agent sends a backlog; the MQTT messages
  it took), beside a bare paho QoS 1 publish loop of the same events one per message (no
  SQLite, no bookkeeping) as a ratio; target ≥ 5,000/s;
- ``backlog_delivered``: how many of those 100,000 central stored (target: all, once each).

Run: ``make bench`` or ``.venv/bin/python bench/sync.py [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edge_agent.config import Agent, Config, Mqtt  # noqa: E402
from edge_agent.repositories import open_repositories  # noqa: E402
from edge_agent.sync.agent import Sync  # noqa: E402
from edge_agent.sync.mqtt import nodelay  # noqa: E402
from edge_agent.wire.topics import StoreTopics  # noqa: E402
from tests.integration.broker import PASSWORD, Mosquitto  # noqa: E402

LANE = "sco/v1/store-001/lane-1/evt"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))]


def bare_roundtrip(port: int, n: int) -> list[float]:
    """The broker path alone: publish QoS 1 to our own subscription, time to delivery."""
    got = threading.Event()
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-bare")
    client.username_pw_set("bench", PASSWORD)
    client.on_message = lambda c, u, m: got.set()
    client.connect("127.0.0.1", port)
    client.subscribe("bench/echo", 1)
    nodelay(client)  # the same socket tuning as the agent: a fair baseline
    client.loop_start()
    time.sleep(0.3)
    times = []
    for _ in range(n):
        got.clear()
        t = time.perf_counter()
        client.publish("bench/echo", b"x" * 400, qos=1)
        got.wait(5)
        times.append((time.perf_counter() - t) * 1000)
        time.sleep(0.005)
    client.loop_stop()
    client.disconnect()
    return times


def bare_publish_rate(port: int, payloads: list[bytes]) -> float:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-rate")
    client.username_pw_set("store-001.agent-1", PASSWORD)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    nodelay(client)
    client.loop_start()
    t = time.perf_counter()
    window: list[paho.MQTTMessageInfo] = []
    for payload in payloads:  # a sliding window like the publisher's (MQTT ids wrap at 65,535)
        window.append(client.publish(LANE + "/bench.backlog", payload, qos=1))
        if len(window) >= 2_000:
            window.pop(0).wait_for_publish(60)
    for info in window:
        info.wait_for_publish(60)
    rate = len(payloads) / (time.perf_counter() - t)
    client.loop_stop()
    client.disconnect()
    return rate


def central_count(path: Path, type_: str) -> tuple[int, float]:
    conn = sqlite3.connect(path, timeout=30)
    try:
        n, last = conn.execute("SELECT COUNT(*), MAX(at) FROM events WHERE type = ?", (type_,)).fetchone()
        return int(n), float(last or 0)
    finally:
        conn.close()


async def agent_figures(broker: Mosquitto, tmp: Path, central_db: Path, *, paced: int, backlog: int) -> list[dict]:
    cfg = Config(
        agent=Agent(id="agent-1", data_dir=tmp),
        mqtt=Mqtt(port=broker.port, username="store-001.agent-1", password=PASSWORD),
    )
    store = open_repositories(tmp / "edge.db", tz=ZoneInfo("UTC"), topics=StoreTopics("store-001"))
    sync = Sync(cfg, outbox=store.outbox, requests=store.requests, catalogue=store.catalogue)
    await sync.start()
    await sync.link.wait_connected(10)
    out = []

    # 1. event → central stored, paced
    sent: list[float] = []
    for i in range(paced):
        sent.append(time.time())
        store.outbox.announce("lane-1", "bench.paced", {"i": i, "pad": "x" * 300}, basket_id="bench")
        await asyncio.sleep(0.005)
    await sync.publisher.drained(30)
    deadline = time.monotonic() + 30
    while central_count(central_db, "bench.paced")[0] < paced and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    conn = sqlite3.connect(central_db, timeout=30)
    rows = conn.execute("SELECT data, at FROM events WHERE type = 'bench.paced'").fetchall()
    conn.close()
    lat = [(at - sent[json.loads(data)["i"]]) * 1000 for data, at in rows]
    bare = await asyncio.to_thread(bare_roundtrip, broker.port, min(paced, 1000))
    out.append(
        {
            "figure": "event_to_central",
            "unit": "ms",
            "n": len(lat),
            "p50": round(pct(lat, 50), 2),
            "p99": round(pct(lat, 99), 2),
            "bare_broker_p50": round(pct(bare, 50), 2),
            "bare_broker_p99": round(pct(bare, 99), 2),
            "ratio_p99": round(pct(lat, 99) / pct(bare, 99), 1),
            "target_p99": 20,
        }
    )

    # 1b. the same events: committed → central's confirmation back at the agent, next to
    # committed → the broker's PUBACK (what "delivered" meant before end-to-end confirmation)
    await sync.publisher.drained(30, confirmed=True)
    rows = store.db.conn.execute(
        "SELECT created_at, sent_at, confirmed_at FROM outbox WHERE json_extract(payload, '$.type') = 'bench.paced'"
    ).fetchall()
    puback = [(sent - made) * 1000 for made, sent, _ in rows]
    confirmed = [(conf - made) * 1000 for made, _, conf in rows if conf is not None]
    out.append(
        {
            "figure": "confirmed_latency",
            "unit": "ms",
            "n": len(confirmed),
            "p50": round(pct(confirmed, 50), 2),
            "p99": round(pct(confirmed, 99), 2),
            "puback_p50": round(pct(puback, 50), 2),
            "puback_p99": round(pct(puback, 99), 2),
            "ratio_p99": round(pct(confirmed, 99) / pct(puback, 99), 1),
            "all_confirmed": len(confirmed) == paced,
            "target_p99": 25,
        }
    )

    # 2. request → answer
    created = await sync.requester.call(
        "payment", "create", {"basket": "bench", "method": "card", "amount": 100}, "bench:create"
    )
    rtt = []
    for _ in range(min(paced, 500)):
        t = time.perf_counter()
        await sync.requester.call("payment", "get", {"id": created["id"]}, None)
        rtt.append((time.perf_counter() - t) * 1000)
    out.append(
        {
            "figure": "request_roundtrip",
            "unit": "ms",
            "n": len(rtt),
            "p50": round(pct(rtt, 50), 2),
            "p99": round(pct(rtt, 99), 2),
        }
    )

    # 3. the outage backlog
    await sync.stop()
    for start in range(0, backlog, 5_000):
        with store.db.transaction() as conn_:
            for i in range(start, min(start + 5_000, backlog)):
                store.outbox.announce(
                    "lane-1", "bench.backlog", {"i": i, "pad": "x" * 300}, basket_id="bench", conn=conn_
                )
    payloads = [r[2].encode() for r in store.outbox.unsent_raw(backlog)]
    sync = Sync(cfg, outbox=store.outbox, requests=store.requests, catalogue=store.catalogue)
    t = time.perf_counter()
    await sync.start()
    drained = await sync.publisher.drained(600)
    ours = backlog / (time.perf_counter() - t)
    messages = sync.publisher.messages  # a lane's backlog goes in batches (docs/mqtt.md "Batches")
    await sync.stop()
    deadline = time.monotonic() + 300
    while central_count(central_db, "bench.backlog")[0] < backlog and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    n, _ = central_count(central_db, "bench.backlog")
    # the same messages again, bare, to the same topic: central receives them too (and drops them
    # as duplicates), so the broker and the machine do the same work as for ours
    bare_rate = await asyncio.to_thread(bare_publish_rate, broker.port, payloads)
    out.append(
        {
            "figure": "outbox_drain",
            "unit": "events/s",
            "ours": round(ours),
            "bare_paho": round(bare_rate),
            "ratio": round(ours / bare_rate, 2),
            "events": backlog,
            "mqtt_messages": messages,
            "drained": drained,
            "target": 5000,
        }
    )
    out.append({"figure": "backlog_delivered", "unit": "events", "ours": n, "sent": backlog, "complete": n == backlog})
    store.db.conn.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller runs (the smoke test)")
    args = ap.parse_args()
    paced, backlog = (200, 5_000) if args.quick else (2_000, 100_000)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        broker = Mosquitto(tmp / "mosquitto").start()
        central_db = tmp / "central.db"
        central = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "edge_agent.cli",
                "sim",
                "central",
                "--port",
                str(broker.port),
                "--username",
                "central",
                "--password",
                PASSWORD,
                "--db",
                str(central_db),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert central.stdout is not None and json.loads(central.stdout.readline())["subscribed"]
            for line in asyncio.run(agent_figures(broker, tmp, central_db, paced=paced, backlog=backlog)):
                print(json.dumps(line), flush=True)
        finally:
            central.terminate()
            central.wait(10)
            broker.stop()


if __name__ == "__main__":
    main()
