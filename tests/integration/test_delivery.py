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

from sim.central.node import CentralNode
from tests.integration.broker import PASSWORD, Mosquitto, shipped_autosave_s
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

    async def main() -> tuple[list[str], list[bool], int]:
        edge = await Edge(edge_config(broker.port), tmp_path / "edge.db").start()
        health: list[bool] = []
        try:
            for n in range(N):
                edge.store.announce("lane-1", "test.event", {"n": n}, "b-1")
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
            return sent, health, edge.sync.publisher.resent
        finally:
            await edge.stop()

    try:
        sent, health, resent = asyncio.run(main())
        stored = central_ids(tmp_path / "central.db", "test.event")
    finally:
        central.stop()
        broker.kill()
    assert len(sent) == N and sorted(stored) == sorted(sent)  # 0 missing, 0 twice
    assert False in health  # unconfirmed events turned health degraded while the broker was away
    assert resent > 0  # what the broker had acknowledged and then lost was sent again
