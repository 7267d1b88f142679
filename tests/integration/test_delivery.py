"""Nothing lost between store and central, proven end to end (docs/mqtt.md "Delivery
guarantees"): a real Mosquitto with the shipped autosave killed with -9 during a drain, a store
broker bridged to a central one with either cut, and central losing an event it had confirmed.
The agent keeps every event until central's sink confirms it stored it."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

from sim.central.loyalty import app_qr
from sim.central.node import CentralNode
from tests.integration.broker import PASSWORD, Mosquitto, bridge_lines, shipped_autosave_s
from tests.integration.syncenv import Edge, config

N = 5_000


def central_ids(db: Path, type_: str) -> list[str]:
    with sqlite3.connect(db, timeout=30) as conn:
        return [r[0] for r in conn.execute("SELECT id FROM events WHERE type = ?", (type_,))]


def edge_config(port: int, **mqtt: Any) -> Any:
    cfg = config(port)
    settings = {"confirm_timeout_s": 2.0, "unconfirmed_warn_s": 1.0, **mqtt}
    return cfg.model_copy(update={"mqtt": cfg.mqtt.model_copy(update=settings)})


async def until(predicate: Any, timeout_s: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out: {what}"
        await asyncio.sleep(0.02)


def test_the_store_broker_killed_twice_mid_drain_loses_no_event_and_central_keeps_each_once(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path / "mosquitto", autosave_s=shipped_autosave_s()).start()
    central = CentralNode(tmp_path / "central.db", port=broker.port, username="central", password=PASSWORD)
    central.start()
    assert central.ready.wait(10)

    async def main() -> tuple[list[str], list[bool], int, int]:
        edge = await Edge(edge_config(broker.port), tmp_path / "edge.db").start()
        health: list[bool] = []
        try:
            for n in range(N):
                edge.store.outbox.announce("lane-1", "test.event", {"n": n}, basket_id="b-1")
            for at in (N // 4, N // 2):  # two crashes while the backlog drains
                await until(lambda at=at: len(central_ids(tmp_path / "central.db", "test.event")) >= at, what="drain")
                broker.kill()
                await asyncio.sleep(0.5)
                broker.start()
                for _ in range(20):
                    health.append(edge.sync.delivery_health(1.0)["ok"])
                    await asyncio.sleep(0.1)
            assert await edge.sync.publisher.drained(90, confirmed=True), edge.sync.delivery_health(1.0)
            sent = [r[0] for r in edge.store.db.conn.execute("SELECT event_id FROM outbox WHERE confirm = 1")]
            return sent, health, edge.sync.publisher.resent, edge.sync.publisher.messages
        finally:
            await edge.stop()

    try:
        sent, health, resent, messages = asyncio.run(main())
        stored = central_ids(tmp_path / "central.db", "test.event")
    finally:
        central.stop()
        broker.kill()
    assert len(sent) == N and sorted(stored) == sorted(sent)  # 0 missing, 0 twice
    assert False in health  # unconfirmed events turned health degraded while the broker was away
    assert resent > 0  # what the broker had acknowledged and then lost was sent again
    assert messages < (N + resent) / 5  # the backlog went in batches (a lane's waiting events in one message)


def test_a_store_bridged_to_central_loses_nothing_when_the_bridge_or_either_broker_goes_down(tmp_path: Path) -> None:
    central_broker = Mosquitto(tmp_path / "central-mq", bridges=True).start()
    store_broker = Mosquitto(
        tmp_path / "store-mq", autosave_s=shipped_autosave_s(), extra=bridge_lines(central_broker)
    ).start()
    central = CentralNode(tmp_path / "central.db", port=central_broker.port, username="central", password=PASSWORD)
    central.start()
    assert central.ready.wait(10)
    db = tmp_path / "central.db"

    async def main() -> tuple[list[str], dict[str, Any], dict[str, Any]]:
        edge = await Edge(edge_config(store_broker.port), tmp_path / "edge.db").start()
        try:
            # a command and its answer cross the bridge both ways
            qr = {"kind": "qr", "ref": app_qr("LOY:C-0001", time.time())}  # the app's QR: its answer has the balance
            before = await edge.sync.requester.call("loyalty", "identify", qr, None, timeout_s=5)
            for n in range(2_000):
                edge.store.outbox.announce("lane-1", "test.event", {"n": n}, basket_id="b-1")
            await until(lambda: len(central_ids(db, "test.event")) >= 500, what="first events across the bridge")
            central_broker.kill()  # the bridge is cut (central's side is gone) for a few seconds
            await asyncio.sleep(3)
            central_broker.start()
            await until(lambda: len(central_ids(db, "test.event")) >= 1_200, what="the bridge back")
            store_broker.kill()  # then the store broker itself crashes
            await asyncio.sleep(0.5)
            store_broker.start()
            assert await edge.sync.publisher.drained(90, confirmed=True), edge.sync.delivery_health(1.0)
            qr = {"kind": "qr", "ref": app_qr("LOY:C-0001", time.time())}
            after = await edge.sync.requester.call("loyalty", "identify", qr, None, timeout_s=5)
            sent = [r[0] for r in edge.store.db.conn.execute("SELECT event_id FROM outbox WHERE confirm = 1")]
            return sent, before, after
        finally:
            await edge.stop()

    try:
        sent, before, after = asyncio.run(main())
        stored = central_ids(db, "test.event")
    finally:
        central.stop()
        store_broker.kill()
        central_broker.kill()
    assert len(sent) == 2_000 and sorted(stored) == sorted(sent)
    assert before["balance"] == after["balance"] == 500 and before["customer"] == "C-0001"


def test_an_event_central_lost_after_confirming_it_is_asked_for_again_and_replayed(tmp_path: Path) -> None:
    from edge_agent.basket.commands import Identify
    from tests.integration.syncenv import BREAD, MILK

    broker = Mosquitto(tmp_path / "mosquitto").start()
    central = CentralNode(tmp_path / "central.db", port=broker.port, username="central", password=PASSWORD)
    central.start()
    assert central.ready.wait(10)
    db = tmp_path / "central.db"

    def seqs(basket: str) -> set[int]:
        with sqlite3.connect(db, timeout=30) as conn:
            rows = conn.execute("SELECT seq FROM events WHERE subject = ? AND seq > 0", (f"basket/{basket}",))
            return {r[0] for r in rows}

    async def main() -> tuple[set[int], set[int], int]:
        edge = await Edge(edge_config(broker.port), tmp_path / "edge.db").start()
        try:
            basket = edge.basket("lane-1", [BREAD, MILK])  # seq 1, 2 (lines), 3 (checkout)
            assert await edge.sync.publisher.drained(20, confirmed=True)
            with sqlite3.connect(db, timeout=30) as conn:  # central loses seq 2 (a restored backup, say)
                conn.execute("DELETE FROM events WHERE subject = ? AND seq = 2", (f"basket/{basket.id}",))
            lost = seqs(basket.id)
            edge.store.journal.apply(basket, Identify(customer="C-0001"))  # seq 4 arrives: central sees 2 missing
            await until(lambda: 2 in seqs(basket.id), timeout_s=20, what="seq 2 replayed")
            return lost, seqs(basket.id), edge.sync.replays
        finally:
            await edge.stop()

    try:
        lost, healed, replays = asyncio.run(main())
    finally:
        central.stop()
        broker.kill()
    assert lost == {1, 3} and healed == {1, 2, 3, 4} and replays >= 1


def test_with_a_linger_a_lanes_events_arriving_together_cross_as_one_batch_each_confirmed(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path / "mosquitto").start()
    central = CentralNode(tmp_path / "central.db", port=broker.port, username="central", password=PASSWORD)
    central.start()
    assert central.ready.wait(10)

    async def main() -> tuple[list[str], int]:
        edge = await Edge(edge_config(broker.port, linger_ms=300), tmp_path / "edge.db").start()
        try:
            for n in range(8):  # a checkout's events, a few ms apart, within the linger
                edge.store.outbox.announce("lane-1", "test.event", {"n": n}, basket_id="b-1")
                await asyncio.sleep(0.01)
            assert await edge.sync.publisher.drained(20, confirmed=True), edge.sync.delivery_health(1.0)
            sent = [r[0] for r in edge.store.db.conn.execute("SELECT event_id FROM outbox ORDER BY id")]
            return sent, edge.sync.publisher.messages
        finally:
            await edge.stop()

    try:
        sent, messages = asyncio.run(main())
        with sqlite3.connect(tmp_path / "central.db") as conn:
            stored = [r[0] for r in conn.execute("SELECT id FROM events WHERE type = 'test.event' ORDER BY rowid")]
    finally:
        central.stop()
        broker.kill()
    assert messages == 1 and stored == sent and len(sent) == 8  # one message, each event once, in order


def test_health_says_degraded_within_seconds_while_events_go_unconfirmed(tmp_path: Path) -> None:
    """The broker dies with the agent's events on their way: with the shipped settings, health
    turns degraded long before the backlog is two minutes old, and ok again once it drains."""
    broker = Mosquitto(tmp_path / "mosquitto").start()
    central = CentralNode(tmp_path / "central.db", port=broker.port, username="central", password=PASSWORD)
    central.start()
    assert central.ready.wait(10)

    async def main() -> tuple[float, float]:
        edge = await Edge(config(broker.port), tmp_path / "edge.db").start()
        warn_s = edge.cfg.mqtt.unconfirmed_warn_s

        def ok() -> bool:
            return bool(edge.sync.delivery_health(warn_s)["ok"])

        try:
            await until(edge.sync.link.connected.is_set, 10, "connected")
            broker.kill()
            for n in range(200):
                edge.store.outbox.announce("lane-1", "test.event", {"n": n}, basket_id="b-1")
            lost = time.monotonic()
            await until(lambda: not ok(), 60, "degraded")
            degraded_after = time.monotonic() - lost
            broker.start()
            await until(ok, 60, "ok again")
            return degraded_after, warn_s
        finally:
            await edge.stop()

    try:
        degraded_after, warn_s = asyncio.run(main())
    finally:
        central.stop()
        broker.kill()
    assert warn_s <= 15 and degraded_after < 20  # an operator sees it well before two minutes
