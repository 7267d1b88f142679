"""An agent's sync side (store, MQTT link, outbox publisher, checkout) against a real broker
and the central simulators, for the integration tests and the crash program."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from edge_agent.basket import Basket, Product
from edge_agent.basket.commands import Add
from edge_agent.basket.commands import Checkout as CheckoutCommand
from edge_agent.config import (
    Agent,
    CheckoutSettings,
    Config,
    FiscalSettings,
    LaneSettings,
    Mqtt,
    StoreSettings,
)
from edge_agent.egais.sales import EgaisSettings
from edge_agent.fiscal.atol import AtolSettings
from edge_agent.fiscal.desk import fiscal_from_config
from edge_agent.payment.flow import CheckoutFlow
from edge_agent.repositories import open_repositories
from edge_agent.sync.agent import Sync
from edge_agent.wire.topics import StoreTopics
from sim.central.node import CentralNode
from tests.integration.broker import PASSWORD

MSK = ZoneInfo("Europe/Moscow")
AT = "2026-11-23T09:00:00+00:00"
BREAD = Product("04607001234560", "Bread", 5_500, 10, "bakery")
MILK = Product("04610053149777", "Milk 1 l", 8_990, 10, "dairy")
CIGS = Product("04600439931256", "Cigarettes", 25_000, 20, "tobacco")


def config(
    port: int,
    agent: str = "agent-1",
    protocol: str = "5",
    data_dir: Path | None = None,
    kkt_url: str | None = None,
    receipt_deadline_s: float = 3.0,
    utm_url: str | None = None,
    **mqtt: Any,
) -> Config:
    """The agent's configuration; ``kkt_url``: lane-1 prints its receipts on that ATOL Web-server;
    ``utm_url``: stamped bottles are sold through that УТМ."""
    fiscal = FiscalSettings()
    if kkt_url:
        fiscal = FiscalSettings(
            registers=[AtolSettings(lane="lane-1", url=kkt_url)],
            vat={"bakery": "vat10", "dairy": "vat10"},
            receipt_deadline_s=receipt_deadline_s,
            task_deadline_s=2.0,
            request_timeout_s=1.0,
        )
    egais = EgaisSettings(enabled=True, utm_url=utm_url, timeout_s=1.0) if utm_url else EgaisSettings()
    return Config(
        egais=egais,
        fiscal=fiscal,
        lanes=[LaneSettings(id="lane-1")],
        store=StoreSettings(id="store-001"),
        agent=Agent(id=agent, data_dir=data_dir or Path("var")),
        mqtt=Mqtt(port=port, username=f"store-001.{agent}", password=PASSWORD, protocol=protocol, **mqtt),  # type: ignore[arg-type]
        checkout=CheckoutSettings(customer_timeout_s=3.0, request_timeout_s=1.0, request_attempts=4, poll_s=0.02),
    )


class Edge:
    def __init__(self, cfg: Config, db: Path) -> None:
        self.cfg = cfg
        topics = StoreTopics(cfg.store.id)
        self.store = open_repositories(db, tz=MSK, topics=topics)
        self.sync = Sync(cfg, outbox=self.store.outbox, requests=self.store.requests, catalogue=self.store.catalogue)
        self.baskets: dict[str, Basket] = {}
        self.fiscal = fiscal_from_config(cfg, self.store.journal, self.lane_basket, live=self.baskets.get)
        self.checkout = CheckoutFlow(
            self.store, self.sync.requester, settings=cfg.checkout, lookup=self.baskets.get, fiscal=self.fiscal
        )
        self.sync.on_notification = self.checkout.notified
        self.topics = topics
        for basket in self.store.journal.restore():
            self.baskets[basket.id] = basket

    def lane_basket(self, lane: str) -> Basket | None:
        live = [b for b in self.baskets.values() if b.lane == lane and b.state.value not in ("CLOSED", "CANCELLED")]
        return live[-1] if live else None

    async def start(self, connected: bool = True) -> Edge:
        self._desks = [asyncio.create_task(desk.run()) for desk in self.fiscal.desks.values()]
        await self.sync.start()
        if connected:
            await self.sync.link.wait_connected(10)
            # subscribed too: another client's messages must not race our SUBSCRIBE at the broker
            deadline = time.monotonic() + 10
            while not self.sync.link.suback and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        return self

    async def stop(self) -> None:
        for task in self._desks:
            task.cancel()
        await asyncio.gather(*self._desks, return_exceptions=True)
        for desk in self.fiscal.desks.values():
            await desk.register.aclose()
        if self.fiscal.egais is not None:
            await self.fiscal.egais.aclose()
        await self.sync.stop()
        self.store.db.conn.close()

    def basket(self, lane: str, products: list[Product], basket_id: str | None = None, ready: bool = True) -> Basket:
        basket = self.store.journal.open_basket(basket_id or f"{lane}-{uuid.uuid4().hex[:10]}", lane)
        for n, p in enumerate(products):
            self.store.journal.apply(
                basket, Add(product=p, gtin=p.gtin, at=datetime.fromisoformat(AT), ki=f"01{p.gtin}21S{n}")
            )
        if ready:
            self.store.journal.apply(basket, CheckoutCommand())
        self.baskets[basket.id] = basket
        return basket


def rows(node: CentralNode, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    return node.conn.execute(sql, args).fetchall()


def sms_code(node: CentralNode, phone: str) -> str:
    """The one-time code in central's last (simulated) SMS to ``phone``."""
    import re

    text = rows(node, "SELECT text FROM sms WHERE phone = ? ORDER BY id DESC LIMIT 1", phone)[0][0]
    return str(re.findall(r"\d{6}", text)[0])


def settle(node: CentralNode, predicate: Any, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not predicate():
        time.sleep(0.05)
    assert predicate()


def run_edge(cfg: Config, db: Path, scenario: Any) -> Any:
    """Start an agent's sync side, run ``await scenario(edge)``, drain the outbox, stop."""

    async def main() -> Any:
        edge = await Edge(cfg, db).start()
        try:
            result = await scenario(edge)
            await edge.sync.publisher.drained(10)
            return result
        finally:
            await edge.stop()

    return asyncio.run(main())
