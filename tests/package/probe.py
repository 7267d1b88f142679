"""Run inside the fresh root by the installed package's own Python: what the store holds and
says, as one JSON object on stdout (the test compares it before and after an upgrade)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import sys
import threading

import httpx
import paho.mqtt.client as mqtt

DB = "/var/lib/edge-agent/edge-agent.db"
TOKEN = "/etc/credstore/edge-agent/ops-token"
STATUS = "sco/v1/store-pkg/sco-1/status"


def store() -> dict[str, object]:
    db = sqlite3.connect(f"file:{DB}?mode=ro", uri=True)
    schema = db.execute("PRAGMA user_version").fetchone()[0]
    written_by = None
    with contextlib.suppress(sqlite3.Error):
        row = db.execute("SELECT value FROM meta WHERE key = 'written_by'").fetchone()
        written_by = row[0] if row else None
    baskets = {
        basket: db.execute("SELECT COUNT(*) FROM journal WHERE basket_id = ? AND op = 'add'", (basket,)).fetchone()[0]
        for (basket,) in db.execute("SELECT id FROM baskets WHERE state NOT IN ('CLOSED', 'CANCELLED')")
    }
    unconfirmed = sorted(
        e for (e,) in db.execute("SELECT event_id FROM outbox WHERE confirmed_at IS NULL AND event_id IS NOT NULL")
    )
    return {"schema": schema, "written_by": written_by, "open_baskets": baskets, "unconfirmed": unconfirmed}


def health() -> dict[str, object]:
    with open(TOKEN) as f:
        token = f.read().strip()
    report = httpx.get("http://127.0.0.1:8080/healthz", headers={"authorization": f"Bearer {token}"}, timeout=5)
    data = report.json()
    register = data["fiscal"]["lane-1"]["register"] or {}
    shift = [register.get("shift"), register.get("shift_number")]
    return {"version": data["version"], "start": data["start"], "shift": shift}


def status() -> dict[str, object]:
    got: dict[str, object] = {}
    done = threading.Event()

    def on_message(client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        got.update(json.loads(msg.payload)["data"])
        done.set()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.on_message = on_message
    client.on_connect = lambda c, *_: c.subscribe(STATUS, qos=1)
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    done.wait(10)
    client.loop_stop()
    return {"state": got.get("state"), "version": got.get("version"), "start": got.get("start")}


if __name__ == "__main__":
    parts = {"store": store, "health": health, "status": status}
    print(json.dumps({name: parts[name]() for name in sys.argv[1:]}))
