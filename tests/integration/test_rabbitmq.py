"""Central on a three-node RabbitMQ cluster (Debian's rabbitmq-server 3.10 with rabbitmq_mqtt),
started here: the agent speaks MQTT 3.1.1 to one node, three central processes consume the
quorum queues over AMQP from different nodes, and one node is killed with -9 mid-stream."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge_agent.basket import State
from sim.central import loyalty
from tests.conftest import ROOT
from tests.integration.broker import PASSWORD
from tests.integration.rabbit import RabbitCluster
from tests.integration.syncenv import BREAD, MILK, Edge, config

AGENT = "store-001.agent-1"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitCluster]:
    c = RabbitCluster(tmp_path_factory.mktemp("rabbit"), ["central", AGENT], PASSWORD).start()
    deadline = time.monotonic() + 60
    while len(c.running()) < 3:  # formed by classic peer discovery
        assert time.monotonic() < deadline, "the cluster did not form"
        time.sleep(0.5)
    yield c
    c.stop()


def consumers(cluster: RabbitCluster, db: Path, n: int = 3) -> list[subprocess.Popen[str]]:
    addresses = ",".join(f"127.0.0.1:{p}" for p in cluster.amqp_ports)
    procs = [
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
        for i in range(n)
    ]
    for proc in procs:
        assert proc.stdout is not None
        assert json.loads(proc.stdout.readline())["subscribed"], "a central consumer did not start"
    return procs


def count(db: Path, sql: str, *args: Any) -> Any:
    with sqlite3.connect(db, timeout=30) as conn:
        return conn.execute(sql, args).fetchall()


def test_one_node_killed_mid_stream_loses_no_event_and_every_command_takes_effect_once(
    cluster: RabbitCluster, tmp_path: Path
) -> None:
    db = tmp_path / "central.db"
    procs = consumers(cluster, db)
    cfg = config(cluster.mqtt_ports[0], protocol="3.1.1")
    cfg = cfg.model_copy(update={"mqtt": cfg.mqtt.model_copy(update={"confirm_timeout_s": 3.0})})

    async def main() -> tuple[list[str], list[Any]]:
        edge = await Edge(cfg, tmp_path / "edge.db").start()
        try:
            for n in range(3_000):
                edge.store.outbox.announce("lane-1", "test.event", {"n": n}, basket_id="b-1")
            sales = []
            for i in range(6):
                basket = edge.basket("lane-1", [BREAD, MILK])
                await edge.checkout.identify(basket, "qr", loyalty.app_qr("LOY:C-0002", time.time()))
                if i == 2:  # a node goes down while events and payments are in flight
                    while count(db, "SELECT COUNT(*) FROM events WHERE type = 'test.event'")[0][0] < 500:
                        await asyncio.sleep(0.05)
                    cluster.kill(2)
                await edge.checkout.redeem(basket, points=10)
                sales.append((basket, await edge.checkout.pay(basket, "card")))
            assert await edge.sync.publisher.drained(120, confirmed=True), edge.sync.delivery_health(1.0)
            sql = "SELECT event_id FROM outbox WHERE confirm = 1 AND json_extract(payload, '$.type') = 'test.event'"
            sent = [r[0] for r in edge.store.db.conn.execute(sql)]
            assert edge.sync.publisher.messages < 3_000 / 5  # the backlog crossed the cluster in batches
            return sent, sales
        finally:
            await edge.stop()

    try:
        sent, sales = asyncio.run(main())
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(20)
        cluster.start([2])  # back for the next test
    stored = [r[0] for r in count(db, "SELECT id FROM events WHERE type = 'test.event'")]
    assert len(sent) == 3_000 and sorted(stored) == sorted(sent)  # 0 missing, 0 twice
    for basket, outcome in sales:
        assert outcome.result == "paid" and basket.state is State.CLOSED
        assert count(db, "SELECT captures FROM payments WHERE basket = ? AND status = 'CAPTURED'", basket.id) == [(1,)]
    twice = count(db, "SELECT service, key FROM handled WHERE replay = 0 GROUP BY service, key HAVING COUNT(*) > 1")
    assert twice == []  # every command with a key took effect once, whichever consumer got it
    assert len(count(db, "SELECT DISTINCT instance FROM handled")) >= 2  # the consumers competed
    with sqlite3.connect(db) as conn:
        assert loyalty.ledger_balanced(conn)


def test_a_poisoned_event_is_dropped_once_not_redelivered_for_ever(cluster: RabbitCluster, tmp_path: Path) -> None:
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

    from edge_agent.wire import envelope

    db = tmp_path / "central.db"
    procs = consumers(cluster, db, n=1)
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=AGENT, protocol=MQTTProtocolVersion.MQTTv311)
    client.username_pw_set(AGENT, PASSWORD)
    client.connect("127.0.0.1", cluster.mqtt_ports[0])
    client.loop_start()
    try:
        # a sale whose fields are not a sale's: it once raised in the consumer's batch, which was
        # then never acknowledged and came back to raise again, holding up every store's events
        poison = envelope.event("sco://store-001/lane-1", "transaction.posted", {"transactionId": {"$gt": ""}})
        good = envelope.event("sco://store-001/lane-1", "basket.opened", {"basket": "b-1"})
        for ev in (poison, good):
            client.publish("sco/v1/store-001/lane-1/evt/" + ev.type, envelope.encode(ev), qos=1).wait_for_publish(10)
        deadline = time.monotonic() + 30
        while not count(db, "SELECT 1 FROM events WHERE id = ?", good.id) or cluster.queue_depths()["central.events"]:
            assert time.monotonic() < deadline, "the events queue is stuck behind the poisoned event"
            time.sleep(0.2)
        assert count(db, "SELECT value FROM counters WHERE name = 'transactions.malformed'") == [(1,)]
        assert procs[0].poll() is None  # the consumer is still there
    finally:
        client.loop_stop()
        client.disconnect()
        for proc in procs:
            proc.terminate()
            proc.wait(20)
