"""MQTT sync against a real Mosquitto: outbox delivery through outages and broker restarts,
request/response on MQTT 5 and 3.1.1, shared subscriptions over two central instances, the
retained status with birth and Last Will, central → edge streams, ACLs and TLS."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from edge_agent.sync.mqtt import LinkSettings, MqttLink
from edge_agent.wire import envelope
from sim.central import db
from sim.central.loyalty import app_qr
from sim.central.node import CentralNode, publish_stream
from tests.conftest import ROOT
from tests.integration.broker import PASSWORD, Mosquitto, make_certs
from tests.integration.syncenv import BREAD, MILK, Edge, config


def central(broker: Mosquitto, path: Path, instance: str = "central-1", **kw: Any) -> CentralNode:
    node = CentralNode(path, port=broker.port, username=instance, password=PASSWORD, instance=instance, **kw)
    node.start()
    assert node.ready.wait(10), "central did not subscribe"
    return node


def events_in(path: Path) -> int:
    conn = db.connect(path)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])
    finally:
        conn.close()


def wait_for(predicate: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_ten_lanes_through_an_outage_and_broker_restarts_deliver_every_event_once(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """10 lanes (one agent each) keep selling through a broker outage compressed from 10 minutes
    (peak 2 events/s per lane → 1,200 events per lane); then, while the backlog drains and the
    lanes keep selling, the broker restarts twice. Central ends with every event exactly once.

    The outage is a kill -9: central's session may die with the broker (saved only at the
    autosave), so what the agents publish before central has subscribed again is acknowledged
    and dropped. The agents re-send what central does not confirm: the test waits for that."""
    node = central(mosquitto, tmp_path / "central.db")

    async def main() -> tuple[int, int, int]:
        edges = [
            await Edge(config(mosquitto.port, f"agent-{i}", confirm_timeout_s=2.0), tmp_path / f"edge-{i}.db").start()
            for i in range(1, 11)
        ]
        baskets = [e.basket(f"lane-{i}", [BREAD], ready=False) for i, e in enumerate(edges, start=1)]
        await asyncio.gather(*(e.sync.publisher.drained(10) for e in edges))
        mosquitto.kill()  # the WAN (or the broker) is gone
        for n in range(1_200):
            for e, b in zip(edges, baskets, strict=True):
                e.store.outbox.announce(b.lane, "basket.heartbeat", {"n": n}, basket_id=b.id)
            if n % 100 == 0:
                await asyncio.sleep(0)
        mosquitto.start()

        async def selling(seconds: float) -> None:  # lanes keep selling: 100 events/s each
            end = time.monotonic() + seconds
            n = 0
            while time.monotonic() < end:
                for e, b in zip(edges, baskets, strict=True):
                    e.store.outbox.announce(b.lane, "basket.heartbeat", {"live": n}, basket_id=b.id)
                n += 1
                await asyncio.sleep(0.01)

        traffic = asyncio.create_task(selling(20.0))
        unacked_at_crash = []
        for _ in range(2):  # restart the broker twice while every lane is connected and selling
            await asyncio.wait_for(asyncio.gather(*(e.sync.link.connected.wait() for e in edges)), 30)
            await asyncio.sleep(0.2)
            await asyncio.to_thread(mosquitto.restart, 0.3)
            unacked_at_crash.append(sum(e.store.outbox.depth() for e in edges))  # sold while it was down
        await asyncio.wait_for(asyncio.gather(*(e.sync.link.connected.wait() for e in edges)), 30)
        traffic.cancel()
        assert all(unacked_at_crash), "nothing was sold while the broker was down: nothing was tested"
        drained = await asyncio.gather(*(e.sync.publisher.drained(90, confirmed=True) for e in edges))
        assert all(drained), "an outbox did not drain, or central did not confirm it"
        total = sum(int(e.store.db.conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]) for e in edges)
        reconnects = sum(e.sync.link.connects for e in edges)
        for e in edges:
            await e.stop()
        return total, reconnects, len(edges)

    total, reconnects, lanes = asyncio.run(main())
    assert total > lanes * (1 + 1 + 1_200)  # opened, line_added, 1,200 in the outage, and live traffic
    wait_for(
        lambda: events_in(tmp_path / "central.db") >= total,
        15,
        f"central to receive {total} events, not {events_in(tmp_path / 'central.db')}",
    )
    time.sleep(0.5)
    assert events_in(tmp_path / "central.db") == total  # none lost, none doubled
    assert reconnects >= lanes * 4  # each agent connected, and reconnected after the outage and each crash
    node.stop()


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_request_response_and_a_graceful_broker_restart_keep_the_session(
    mosquitto: Mosquitto, tmp_path: Path, protocol: str
) -> None:
    node = central(mosquitto, tmp_path / "central.db", protocol=protocol)

    async def main() -> None:
        edge = await Edge(config(mosquitto.port, protocol=protocol), tmp_path / "edge.db").start()
        r = await edge.sync.requester.call("loyalty", "identify", {"kind": "card", "ref": "2900000000024"}, None)
        assert r["customer"] == "C-0002" and r["program"]["name"] == "magnit_like" and "balance" not in r
        mosquitto.restart(down_s=0.5)  # persistence on: sessions and retained status survive
        qr = {"kind": "qr", "ref": app_qr("LOY:C-0002", time.time())}  # the app's signed QR: the balance too
        r = await edge.sync.requester.call("loyalty", "identify", qr, None, timeout_s=3)
        assert r["balance"] == 12_000 and r["verified"] is True
        with pytest.raises(Exception, match="unknown_customer"):
            await edge.sync.requester.call("loyalty", "identify", {"kind": "phone", "ref": "+70000000000"}, None)
        await edge.stop()

    asyncio.run(main())
    node.stop()


def test_two_central_instances_share_the_work_and_handle_each_request_once(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """Two `edge-agent sim central` processes on one database; every payment is created once
    although each request is delivered twice (the second time as a resend with the same key)."""
    dbfile = tmp_path / "central.db"
    procs = []
    for user, name in (("central-1", "east"), ("central-2", "west")):  # a broker user each: ids are user names
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "edge_agent.cli",
                    "sim",
                    "central",
                    "--port",
                    str(mosquitto.port),
                    "--username",
                    user,
                    "--password",
                    PASSWORD,
                    "--db",
                    str(dbfile),
                    "--name",
                    name,
                ],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    for proc in procs:
        assert proc.stdout is not None and json.loads(proc.stdout.readline())["subscribed"] is True

    async def main() -> list[str]:
        edge = await Edge(config(mosquitto.port), tmp_path / "edge.db").start()
        ids = []
        for n in range(100):
            data = {"basket": f"b{n}", "method": "card", "amount": 1_000 + n, "instrument": "ok"}
            first = await edge.sync.requester.call("payment", "create", data, f"b{n}:pay:1:create")
            edge.store.db.conn.execute("UPDATE requests SET response = NULL WHERE key = ?", (f"b{n}:pay:1:create",))
            again = await edge.sync.requester.call("payment", "create", data, f"b{n}:pay:1:create")  # re-delivered
            assert again["id"] == first["id"]
            ids.append(first["id"])
        await edge.stop()
        return ids

    ids = asyncio.run(main())
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    conn = db.connect(dbfile)
    assert conn.execute("SELECT COUNT(*) FROM payments").fetchone()[0] == 100 == len(set(ids))
    by_instance = dict(conn.execute("SELECT instance, COUNT(*) FROM handled GROUP BY instance").fetchall())
    assert set(by_instance) == {"east-1", "west-1"} and sum(by_instance.values()) == 200  # the load is shared
    firsts = conn.execute("SELECT COUNT(*), COUNT(DISTINCT key) FROM handled WHERE replay = 0").fetchone()
    assert tuple(firsts) == (100, 100)  # and each request took effect once, on whichever instance got it
    assert db.counter(conn, "payment.replayed") == 100  # every second delivery answered from the record


def test_birth_and_last_will_on_the_retained_status(mosquitto: Mosquitto, tmp_path: Path) -> None:
    """The status as central sees it on MQTT 5: online at birth, offline by the Last Will and by
    a graceful stop; each message says it is a CloudEvent (the binding's Content Type)."""
    seen: list[dict[str, Any]] = []
    types: list[str | None] = []

    def received(client: Any, userdata: Any, message: paho.MQTTMessage) -> None:
        seen.append(json.loads(message.payload)["data"])
        types.append(getattr(message.properties, "ContentType", None))

    watcher = paho.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    watcher.username_pw_set("central", PASSWORD)
    watcher.on_message = received
    watcher.connect("127.0.0.1", mosquitto.port)
    watcher.subscribe("sco/v1/store-001/agent-1/status", 1)
    watcher.loop_start()
    cfg = tmp_path / "agent.toml"
    cfg.write_text(
        f'[store]\nid = "store-001"\n[agent]\nid = "agent-1"\ndata_dir = "{tmp_path / "var"}"\n'
        f'[http]\nport = 0\n[mqtt]\nport = {mosquitto.port}\nusername = "store-001.agent-1"\n'
        f'password = "{PASSWORD}"\n'
    )
    agent = subprocess.Popen(
        [sys.executable, "-m", "edge_agent.cli", "--config", str(cfg), "run"], cwd=ROOT, stderr=subprocess.DEVNULL
    )
    try:
        wait_for(lambda: any(s["state"] == "online" for s in seen), 20, "the birth message")
        online = next(s for s in seen if s["state"] == "online")
        assert online["version"] and online["readers"] == {}
        agent.send_signal(signal.SIGKILL)  # vanish: the broker publishes the Last Will
        wait_for(lambda: seen[-1]["state"] == "offline", 10, "the Last Will")
        assert seen[-1]["reason"] == "connection lost"
        agent = subprocess.Popen(
            [sys.executable, "-m", "edge_agent.cli", "--config", str(cfg), "run"], cwd=ROOT, stderr=subprocess.DEVNULL
        )
        wait_for(lambda: seen[-1]["state"] == "online", 20, "the birth after restart")
        agent.send_signal(signal.SIGTERM)  # a graceful stop says offline itself
        agent.wait(15)
        wait_for(lambda: seen[-1]["state"] == "offline" and seen[-1].get("reason") == "stopped", 10, "offline")
        assert types and set(types) == {"application/cloudevents+json; charset=UTF-8"}  # the will's too
    finally:
        agent.kill()
        watcher.loop_stop()


def test_catalog_and_codes_arrive_in_order_whatever_the_delivery(mosquitto: Mosquitto, tmp_path: Path) -> None:
    pub = paho.Client(CallbackAPIVersion.VERSION2)
    pub.username_pw_set("central", PASSWORD)
    pub.connect("127.0.0.1", mosquitto.port)
    pub.loop_start()
    milk = {"gtin": MILK.gtin, "name": MILK.name, "price": MILK.price, "vat": 10, "category": "dairy"}
    publish_stream(pub, "store-001", "catalog", kind="snapshot", version=10, data={"products": [milk]})
    ki = "0104610053149777215d/wuU"

    async def main() -> None:
        edge = await Edge(config(mosquitto.port), tmp_path / "edge.db").start()
        # deltas out of order and repeated: 13 before 12 before 11, and 11 twice
        for version, price in ((13, 9_990), (12, 9_490), (11, 9_190), (11, 9_190)):
            publish_stream(
                pub,
                "store-001",
                "catalog",
                kind="delta",
                version=version,
                data={"products": [{**milk, "price": price}]},
            )
        publish_stream(pub, "store-001", "codes", kind="snapshot", version=1, data={"codes": {ki: ki + "\x1d93dGVz"}})
        await asyncio.sleep(0)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and edge.store.catalogue.stream_version("codes") < 1:
            await asyncio.sleep(0.05)
        while time.monotonic() < deadline and edge.store.catalogue.stream_version("catalog") < 13:
            await asyncio.sleep(0.05)
        product = edge.store.catalogue.product(MILK.gtin)
        assert product is not None and product.price == 9_990 and edge.store.catalogue.stream_version("catalog") == 13
        assert edge.store.catalogue.mark_code_for(ki) == ki + "\x1d93dGVz"
        # an old snapshot replayed (retained, after a reconnect) changes nothing
        publish_stream(pub, "store-001", "catalog", kind="snapshot", version=10, data={"products": []})
        await asyncio.sleep(0.5)
        assert edge.store.catalogue.product(MILK.gtin) is not None and edge.sync.streams["catalog"].ignored >= 2
        await edge.stop()

    asyncio.run(main())
    pub.loop_stop()


def test_acl_keeps_each_lane_to_its_own_topics(mosquitto: Mosquitto, tmp_path: Path) -> None:
    node = central(mosquitto, tmp_path / "central.db")

    async def main() -> None:
        stolen: list[str] = []
        intruder = MqttLink(
            LinkSettings(
                port=mosquitto.port,
                client_id="intruder",
                username="store-001.agent-2",
                password=PASSWORD,
                subscriptions=("sco/v1/store-001/agent-1/resp", "sco/v1/store-001/agent-1/#"),
            ),
            on_message=lambda topic, payload: stolen.append(topic),
        )
        received: list[str] = []
        owner = MqttLink(
            LinkSettings(
                port=mosquitto.port,
                client_id="owner",
                username="store-001.agent-1",
                password=PASSWORD,
                subscriptions=("sco/v1/store-001/agent-1/resp",),
            ),
            on_message=lambda topic, payload: received.append(topic),
        )
        for link in (intruder, owner):
            await link.start()
            await link.wait_connected(10)
        ev = envelope.event("sco://store-001/lane-1", "basket.opened", {"basket": "forged"})
        code = await asyncio.wait_for(
            intruder.publish("sco/v1/store-001/lane-1/evt/basket.opened", envelope.encode(ev)), 10
        )
        assert code == 0x87  # MQTT 5 PUBACK: not authorized (publishing as another lane)
        own = envelope.event("sco://store-001/lane-2", "basket.opened", {"basket": "mine"})
        assert await intruder.publish("sco/v1/store-001/lane-2/evt/basket.opened", envelope.encode(own)) in (0, 0x10)
        await asyncio.sleep(0.3)  # both subscriptions are in place
        node.client.publish("sco/v1/store-001/agent-1/resp", b"{}", qos=1)  # central answers agent-1
        deadline = time.monotonic() + 5
        while not received and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        assert received == ["sco/v1/store-001/agent-1/resp"] and stolen == []  # agent-2 cannot read it
        await owner.stop()
        await intruder.stop()
        for user, password in (("store-001.agent-1", "wrong"), (None, None)):
            stranger = MqttLink(
                LinkSettings(port=mosquitto.port, client_id=f"x{user}", username=user, password=password)
            )
            await stranger.start()
            with pytest.raises(TimeoutError):
                await stranger.wait_connected(1.5)  # bad password, anonymous: refused
            await stranger.stop()

    asyncio.run(main())
    wait_for(lambda: events_in(tmp_path / "central.db") == 1, 5, "the lane's own event")
    rows = node.conn.execute("SELECT source FROM events").fetchall()
    assert rows == [("sco://store-001/lane-2",)]  # the forged lane-1 event never reached central
    node.stop()


def test_tls_connection_with_the_store_ca(mosquitto: Mosquitto, tmp_path: Path) -> None:
    node = central(mosquitto, tmp_path / "central.db")

    async def main() -> None:
        cfg = config(mosquitto.tls_port, tls_ca=mosquitto.certs / "ca.crt")
        edge = await Edge(cfg, tmp_path / "edge.db").start()
        qr = {"kind": "qr", "ref": app_qr("LOY:C-0001", time.time())}
        r = await edge.sync.requester.call("loyalty", "identify", qr, None)
        assert r["customer"] == "C-0001"
        await edge.stop()
        other_ca = make_certs(tmp_path / "other-ca") / "ca.crt"
        untrusted = MqttLink(
            LinkSettings(
                port=mosquitto.tls_port, client_id="u", username="store-001.agent-1", password=PASSWORD, tls_ca=other_ca
            )
        )
        await untrusted.start()
        with pytest.raises(TimeoutError):
            await untrusted.wait_connected(1.5)  # a CA that did not sign the broker's certificate
        await untrusted.stop()

    asyncio.run(main())
    node.stop()


def test_the_brokers_tls_takes_aead_suites_only(mosquitto: Mosquitto) -> None:
    """The shipped listener settings: a client offering only CBC-SHA1 suites over TLS 1.2 is
    refused; an AEAD suite is accepted."""
    import ssl as ssl_

    def handshake(ciphers: str) -> bool:
        ctx = ssl_.create_default_context(cafile=str(mosquitto.certs / "ca.crt"))
        ctx.maximum_version = ssl_.TLSVersion.TLSv1_2
        ctx.set_ciphers(ciphers)
        try:
            with (
                socket.create_connection(("127.0.0.1", mosquitto.tls_port), timeout=5) as raw,
                ctx.wrap_socket(raw, server_hostname="127.0.0.1"),
            ):
                return True
        except ssl_.SSLError:
            return False

    assert not handshake("ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:AES128-SHA")
    assert handshake("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256")
