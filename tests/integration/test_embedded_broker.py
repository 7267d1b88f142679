"""The embedded demo broker (amqtt, MQTT 3.1.1): the agent and the central simulators work on
it as on Mosquitto, with plain subscriptions (it has no shared ones)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from edge_agent.basket import State
from edge_agent.sync.embedded import EmbeddedBroker
from sim.central.node import CentralNode
from tests.integration.pcscd import free_port_pair
from tests.integration.syncenv import BREAD, MILK, Edge, config


def test_a_sale_through_the_embedded_broker(tmp_path: Path) -> None:
    port = free_port_pair(1)

    async def main() -> tuple[State, str, int]:
        broker = await EmbeddedBroker("127.0.0.1", port).start()
        node = CentralNode(tmp_path / "central.db", port=port, protocol="3.1.1", shared=False)
        node.start()
        assert await asyncio.to_thread(node.ready.wait, 10)
        cfg = config(port, protocol="3.1.1")
        cfg = cfg.model_copy(update={"mqtt": cfg.mqtt.model_copy(update={"username": None, "password": None})})
        edge = await Edge(cfg, tmp_path / "edge.db").start()
        basket = edge.basket("lane-1", [BREAD, MILK])
        await edge.checkout.identify(basket, "phone", "+79990000001")
        outcome = await edge.checkout.pay(basket, "sbp")
        assert await edge.sync.publisher.drained(10)
        deadline = time.monotonic() + 10
        posted = 0
        while time.monotonic() < deadline and not posted:
            posted = node.conn.execute("SELECT COUNT(*) FROM transactions WHERE id = ?", (basket.id,)).fetchone()[0]
            await asyncio.sleep(0.05)
        await edge.stop()
        node.stop()
        await broker.stop()
        return basket.state, outcome.result, posted

    state, result, posted = asyncio.run(main())
    assert state is State.CLOSED and result == "paid" and posted == 1
