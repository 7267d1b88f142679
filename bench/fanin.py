"""Fan-in through a three-node RabbitMQ cluster: many stores' events to central, confirmed.

``--stores`` light publishers (one MQTT 3.1.1 connection per store, as a store's agent or bridge
has; not full daemons), spread over publisher processes and over two of the cluster's nodes,
each sending CloudEvents at its share of ``--rate`` with ``replyto`` its own response topic and
counting central's ``events.confirmed``; three central processes (``sim/central/amqp.py``)
consume the quorum queues over AMQP, store each event once and confirm it. Figures, one JSON
line each:

- ``fanin_confirmed``: events/s confirmed back to the stores: the median second while every
  store sends (``confirmed_per_s_steady``) and over the whole run until the last confirmation
  (``confirmed_per_s``), and whether every event was confirmed; target ≥ 5,000/s, all confirmed;
- ``fanin_node_killed``: the same with the third node (queue replicas and a consumer's
  connection, no store's) killed with -9 halfway: events/s over the run, every event
  confirmed, and the recovery: seconds from the kill until confirmations run at ≥ 90 % of the
  offered rate again.

Run: ``make bench`` or ``.venv/bin/python bench/fanin.py [--stores 200 --rate 5000 --seconds 20]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "fanin-bench"


def publisher(ports: list[int], first: int, count: int, rate: float, seconds: float) -> None:
    """One process: ``count`` stores from ``first``, each on its own MQTT connection."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

    from edge_agent.wire import envelope

    confirmed: dict[str, float] = {}
    lock = threading.Lock()
    clients = []
    subscribed = threading.Semaphore(0)

    def on_message(client: Any, userdata: Any, msg: Any) -> None:
        ev = envelope.decode(bytes(msg.payload))
        if ev.type == "events.confirmed":
            now = time.time()
            with lock:
                for i in ev.data["ids"]:
                    confirmed.setdefault(i, now)

    for n in range(first, first + count):
        store = f"store-{n:04d}"
        c = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"{store}.agent-1", clean_session=False,
                        protocol=MQTTProtocolVersion.MQTTv311)  # fmt: skip
        c.username_pw_set("fanin", PASSWORD)
        c.max_inflight_messages_set(1000)
        c.max_queued_messages_set(0)
        c.on_message = on_message
        c.on_subscribe = lambda *a: subscribed.release()
        resp = f"sco/v1/{store}/agent-1/resp"
        c.on_connect = lambda cl, u, f, rc, p, resp=resp: cl.subscribe(resp, 1)
        c.connect("127.0.0.1", ports[n % len(ports)], keepalive=30)
        c.loop_start()
        clients.append((c, store, resp))
    for _ in clients:
        subscribed.acquire(timeout=30)
    print(json.dumps({"ready": True}), flush=True)
    sys.stdin.readline()  # go
    run_id = uuid.uuid4().hex[:8]
    stamp = envelope.now_iso()
    template = (
        '{"specversion": "1.0", "id": "%s", "source": "sco://%s/lane-1", "type": "bench.fanin", '
        f'"time": "{stamp}", "datacontenttype": "application/json", "replyto": "%s", "data": {{"k": %d}}}}'
    )
    sent: dict[str, float] = {}
    messages: dict[str, tuple[Any, str, bytes]] = {}
    per_store = rate / max(1, count)
    start = time.time()
    k = 0
    while time.time() - start < seconds:
        due = int((time.time() - start) * per_store) + 1
        while k < due:
            for c, store, resp in clients:  # a CloudEvent from a template: the publishers share the cores
                event_id = f"{store}-{run_id}-{k}"
                payload = template % (event_id, store, resp, k)
                sent[event_id] = time.time()
                messages[event_id] = (c, f"sco/v1/{store}/lane-1/evt/bench.fanin", payload.encode())
                c.publish(*messages[event_id][1:], qos=1)
            k += 1
        time.sleep(0.005)
    deadline, resent = time.time() + 90, 0
    while time.time() < deadline:  # as the agent does: what stays unconfirmed goes again (same id)
        with lock:
            missing = [i for i in sent if i not in confirmed]
        if not missing:
            break
        for i in missing:
            if time.time() - sent[i] > 10.0:
                c, topic, payload = messages[i]
                sent[i] = time.time()
                c.publish(topic, payload, qos=1)
                resent += 1
        time.sleep(0.2)
    with lock:
        done = dict(confirmed)
    for c, _, _ in clients:
        c.disconnect()
        c.loop_stop()
    buckets: dict[int, int] = {}
    for at in done.values():
        buckets[int(at - start)] = buckets.get(int(at - start), 0) + 1
    print(json.dumps({"sent": len(sent), "confirmed": len(set(done) & set(sent)), "start": start, "resent": resent,
                      "per_second": buckets}), flush=True)  # fmt: skip


def run(cluster: Any, tmp: Path, stores: int, rate: float, seconds: float, kill_at: float | None) -> dict[str, Any]:
    db = tmp / f"central-{kill_at}.db"
    addresses = ",".join(f"127.0.0.1:{p}" for p in cluster.amqp_ports)
    central = [subprocess.Popen([sys.executable, "-m", "edge_agent.cli", "sim", "central", "--amqp", addresses,
                                 "--first-node", str(i), "--name", f"central-{i + 1}", "--username", "central",
                                 "--password", PASSWORD, "--db", str(db)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
               for i in range(3)]  # fmt: skip
    for c in central:
        assert c.stdout is not None and json.loads(c.stdout.readline())["subscribed"]
    procs, per = [], max(1, stores // 4)
    ports = json.dumps(cluster.mqtt_ports[:2])  # the stores use two nodes; the third is the one killed
    for first in range(0, stores, per):
        n = min(per, stores - first)
        procs.append(subprocess.Popen([sys.executable, __file__, "--publisher", ports, str(first), str(n),
                                       str(rate * n / stores), str(seconds)], cwd=ROOT, stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True))  # fmt: skip
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
    results = [json.loads(p.communicate(timeout=seconds + 120)[0].splitlines()[-1]) for p in procs]
    for c in central:
        c.terminate()
        c.wait(20)
    sent = sum(r["sent"] for r in results)
    resent = sum(r["resent"] for r in results)
    confirmed = sum(r["confirmed"] for r in results)
    start = min(r["start"] for r in results)
    per_second: dict[int, int] = {}
    for r in results:
        for sec, n in r["per_second"].items():
            key = int(float(sec) + r["start"] - start)
            per_second[key] = per_second.get(key, 0) + n
    elapsed = max(per_second) + 1 if per_second else seconds
    window = sorted(per_second.get(sec, 0) for sec in range(2, int(seconds)))  # while every store sends
    steady = window[len(window) // 2] if window else 0
    out = {"stores": stores, "offered_per_s": rate, "seconds": seconds, "sent": sent, "confirmed": confirmed,
           "confirmed_per_s_steady": steady, "confirmed_per_s": round(confirmed / max(elapsed, seconds)),
           "all_confirmed": confirmed == sent, "resent_unconfirmed": resent}  # fmt: skip
    if killed is not None:
        after = int(killed - start)
        back = next((s for s in range(after + 1, elapsed + 1) if per_second.get(s, 0) >= 0.9 * rate), None)
        out["recovery_s"] = None if back is None else round(back - (killed - start), 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stores", type=int, default=200)
    ap.add_argument("--rate", type=float, default=5000, help="events/s offered by all stores together")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--publisher", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.publisher:
        ports, first, count, rate, seconds = args.publisher
        publisher(json.loads(ports), int(first), int(count), float(rate), float(seconds))
        return
    from tests.integration.rabbit import RabbitCluster

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        cluster = RabbitCluster(tmp / "rabbit", ["central", "fanin"], PASSWORD).start()
        try:
            while len(cluster.running()) < 3:
                time.sleep(0.5)
            steady = run(cluster, tmp, args.stores, args.rate, args.seconds, None)
            print(json.dumps({"figure": "fanin_confirmed", "unit": "events/s", **steady, "target": 5000}), flush=True)
            killed = run(cluster, tmp, args.stores, args.rate, args.seconds, args.seconds / 2)
            print(json.dumps({"figure": "fanin_node_killed", "unit": "events/s", **killed}), flush=True)
        finally:
            cluster.stop()
        os.sync()


if __name__ == "__main__":
    main()
