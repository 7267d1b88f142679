"""One customer's checkout, from an empty basket to a closed sale, that can be killed with -9
after its N-th step and carries on when started again.

A step is a committed SQLite transaction of the agent (journal, request key, payment step)
or a command sent to central. ``CRASH_AT=N`` sends SIGKILL to this process right after step
N. Started again without it, the program restores the basket and the payment from the store
and finishes them. The last line of stdout is a JSON summary (including how many steps ran).

With ``KKT_URL`` set, lane-1 prints its receipts on that ATOL Web-server: the cigarettes are
a marked item (checked on the register at pay time) and each request to the register is a
step too. With ``UTM_URL`` set too, a bottle of vodka with its excise stamp is sold through
that УТМ first, and each cheque sent to it is a step.

Usage: pay_crash.py DATA_DIR BROKER_PORT BASKET_ID
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge_agent.basket import Product, State
from edge_agent.basket.commands import Add, Checkout, Verdict
from edge_agent.basket.customer import BindStamp
from edge_agent.config import Config
from edge_agent.db import Database, Outbox
from edge_agent.egais.utm import UtmClient
from edge_agent.fiscal.atol import AtolRegister
from edge_agent.sync.mqtt import MqttLink
from sim.central.loyalty import app_qr
from tests.integration.syncenv import BREAD, CIGS, MILK, Edge, config

CRASH_AT = int(os.environ.get("CRASH_AT", "0"))
KKT_URL = os.environ.get("KKT_URL")
UTM_URL = os.environ.get("UTM_URL")
VODKA = Product("04600000000077", "Vodka 0.5 l", 49_900, 20, "alcohol", egais=True, volume_ml=500)
MARKED_CIGS = Product(CIGS.gtin, CIGS.name, CIGS.price, CIGS.vat, CIGS.category, group="tobacco", marked=True)
#: steps so far; "quiet" while the publisher does its bookkeeping (not a step: its timing varies)
COUNT = {"steps": 0, "quiet": 0}


def step() -> None:
    COUNT["steps"] += 1
    if COUNT["steps"] == CRASH_AT:
        os.kill(os.getpid(), signal.SIGKILL)


_transaction = Database.transaction
_mark_sent = Outbox.mark_sent
_publish = MqttLink.publish
_post = AtolRegister._post
_utm_send = UtmClient.send


@contextlib.contextmanager
def counted_transaction(self: Database) -> Iterator[Any]:
    with _transaction(self) as conn:
        yield conn
    if not COUNT["quiet"]:
        step()


def quiet_mark_sent(self: Outbox, ids: Any) -> None:
    COUNT["quiet"] += 1
    try:
        _mark_sent(self, ids)
    finally:
        COUNT["quiet"] -= 1


def counted_publish(self: MqttLink, topic: str, payload: Any, qos: int = 1, retain: bool = False) -> Any:
    fut = _publish(self, topic, payload, qos, retain)
    if topic.startswith("svc/"):
        step()
    return fut


async def counted_post(self: AtolRegister, uuid: str, tasks: Any) -> None:
    await _post(self, uuid, tasks)
    step()


async def counted_utm_send(self: UtmClient, xml: bytes) -> Any:
    answer = await _utm_send(self, xml)
    step()
    return answer


AtolRegister._post = counted_post  # type: ignore[method-assign]
UtmClient.send = counted_utm_send  # type: ignore[method-assign]
Database.transaction = counted_transaction  # type: ignore[assignment,method-assign]
Outbox.mark_sent = quiet_mark_sent  # type: ignore[method-assign]
MqttLink.publish = counted_publish  # type: ignore[method-assign]


def with_till(cfg: Config, basket_id: str) -> Config:
    """Each run is another till of the one УТМ (its own database numbers its cheques from 1)."""
    return cfg.model_copy(update={"egais": cfg.egais.model_copy(update={"kassa_prefix": f"{basket_id}-"})})


async def main(data_dir: Path, port: int, basket_id: str) -> dict[str, Any]:
    edge = await Edge(
        with_till(config(port, data_dir=data_dir, kkt_url=KKT_URL, receipt_deadline_s=60, utm_url=UTM_URL), basket_id),
        data_dir / "edge.db",
    ).start()
    found = edge.baskets.get(basket_id)
    closed = edge.store.db.conn.execute("SELECT state FROM baskets WHERE id = ?", (basket_id,)).fetchone()
    if found is None and closed is None:
        edge.basket("lane-1", [], basket_id=basket_id, ready=False)
        found = edge.baskets[basket_id]
    if found is not None:
        basket = found
        products = (BREAD, MILK, MARKED_CIGS if KKT_URL else CIGS, *((VODKA,) if UTM_URL else ()))
        for n, product in enumerate(products):  # lines not there yet
            ki = f"01{product.gtin}21S{n}"
            code = f"{ki}\x1d93ab{n}c" if product.marked else None
            if basket.line_by_key(ki) is None and basket.state in (State.OPEN, State.SCANNING):
                at = datetime(2026, 11, 23, 9, tzinfo=UTC)
                edge.store.journal.apply(basket, Add(product=product, gtin=product.gtin, at=at, ki=ki, mark_code=code))
            line = basket.line_by_key(ki)
            if line is not None and line.marked and line.verdict is None:
                edge.store.journal.apply(
                    basket,
                    Verdict(line_id=line.id, outcome="ALLOWED", fiscal_1265=f"UUID={basket_id}&Time=1764580000000"),
                )
        if UTM_URL and any(line.egais and line.stamp is None for line in basket.lines.values()):
            # the bottle's stamp, one per run: "...-<n>" is the run's number
            stamp = "22N" + "0" * 141 + f"{int(basket_id.rsplit('-', 1)[-1]):06d}"
            edge.store.journal.apply(basket, BindStamp(stamp=stamp, at=datetime(2026, 11, 23, 9, tzinfo=UTC)))
        if basket.state is State.SCANNING:
            edge.store.journal.apply(basket, Checkout())
        while basket.state not in (State.CLOSED, State.CANCELLED):
            if edge.store.payments.unfinished():
                await edge.checkout.resume()
            elif basket.state is State.READY_TO_PAY:
                if basket.customer is None:
                    await edge.checkout.identify(basket, "qr", app_qr("LOY:C-0002", time.time()))
                if basket.hold_id is None:
                    await edge.checkout.redeem(basket)
                await edge.checkout.pay(basket, "card")
            else:
                await asyncio.sleep(0.05)
    await edge.sync.publisher.drained(10)
    row = edge.store.db.conn.execute("SELECT state FROM baskets WHERE id = ?", (basket_id,)).fetchone()
    payments = edge.store.payments.of_basket(basket_id)
    await edge.stop()
    return {
        "basket": basket_id,
        "state": row[0] if row else None,
        "payments": [p.step for p in payments],
        "steps": COUNT["steps"],
    }


if __name__ == "__main__":
    summary = asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]))
    print(json.dumps(summary))
