"""Fiscal receipts on the lane's ККТ: the agent against the ATOL Web-server simulator over
HTTP, central's simulators over a real Mosquitto. Mark codes checked on the register while
scanning and carried on the receipt with tags 2106 and 1260, VAT per category, a register
refusal, paper out, an expired shift, an answer lost after printing, power lost mid-receipt,
a register gone past the deadline (the money goes back), and kill -9 at every step."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from edge_agent.basket import Basket, BasketError, Product, State
from edge_agent.basket.commands import Add, Verdict
from edge_agent.basket.commands import Checkout as CheckoutCommand
from sim.central.node import CentralNode
from tests.conftest import ROOT
from tests.integration.broker import Mosquitto
from tests.integration.kkt import KktThread
from tests.integration.syncenv import AT, BREAD, MILK, Edge, config
from tests.integration.test_payment import central, rows  # noqa: F401  (the central fixture)

CIGS = Product("04600439931256", "Cigarettes", 25_000, 20, "tobacco", group="tobacco", marked=True)
TAG_1265 = "UUID=5d2a3c1e-0000-4000-8000-000000000001&Time=1764580000000"


def code_of(n: int) -> str:
    return f"01{CIGS.gtin}21S{n:06d}\x1d93ab{n % 10}c"


def marked_basket(edge: Edge, n_marked: int = 1, lane: str = "lane-1", ready: bool = True) -> Basket:
    """Bread, milk and ``n_marked`` packs of cigarettes, each pack's code verified (ALLOWED)."""
    basket = edge.basket(lane, [BREAD, MILK], ready=False)
    at = datetime.fromisoformat(AT)
    for n in range(n_marked):
        code = code_of(n)
        line = edge.store.apply(basket, Add(CIGS, CIGS.gtin, at, ki=code.split("\x1d")[0], mark_code=code))
        edge.store.apply(basket, Verdict(line.id, "ALLOWED", fiscal_1265=TAG_1265, source="ts_piot"))
    if ready:
        edge.store.apply(basket, CheckoutCommand())
    return basket


def run(mosquitto: Mosquitto, tmp_path: Path, kkt: KktThread, scenario: Any) -> Any:
    async def main() -> Any:
        edge = await Edge(config(mosquitto.port, kkt_url=kkt.url), tmp_path / "edge.db").start()
        try:
            result = await scenario(edge)
            await edge.sync.publisher.drained(10)
            return result
        finally:
            await edge.stop()

    return asyncio.run(main())


async def until(predicate: Any, timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def test_a_receipt_carries_each_mark_code_with_2106_and_1260_and_vat_per_category(
    mosquitto: Mosquitto, tmp_path: Path, central: CentralNode
) -> None:
    with KktThread(validation_s=0.05) as kkt:

        async def scenario(edge: Edge) -> Any:
            basket = marked_basket(edge, n_marked=2, ready=False)
            await until(lambda: all(line.kkt for line in basket.lines.values() if line.marked))  # while scanning
            edge.store.apply(basket, CheckoutCommand())
            await edge.checkout.identify(basket, "phone", "+79990000002")
            return basket, await edge.checkout.pay(basket, "card")

        basket, outcome = run(mosquitto, tmp_path, kkt, scenario)
        assert outcome.result == "paid" and basket.state is State.CLOSED
        [receipt] = kkt.receipts()
        assert receipt["kind"] == "sell" and round(receipt["total"] * 100) == basket.total
        marked = [i for i in receipt["items"] if "imcParams" in i]
        assert [base64.b64decode(i["imcParams"]["imc"]).decode() for i in marked] == [code_of(0), code_of(1)]
        for item in marked:  # 2106 from the register's own check; 1260 from the permissive mode
            assert item["imcParams"]["itemInfoCheckResult"] == {"imcCheckFlag": True, "imcCheckResult": True,
                                                                "imcStatusInfo": True, "imcEstimatedStatusCorrect": True,
                                                                "ecrStandAloneFlag": False}  # fmt: skip
            assert item["industryInfo"] == [{"fois": "030", "date": "2022.03.26", "number": "477",
                                             "industryAttribute": TAG_1265}]  # fmt: skip
            assert item["tax"] == {"type": "vat22"} and item["paymentObject"] == "commodityWithMarking"
        plain = {i["name"]: i["tax"]["type"] for i in receipt["items"] if "imcParams" not in i}
        assert plain == {"Bread": "vat10", "Milk 1 l": "vat10"}
        assert receipt["client"] == {"emailOrPhone": "+79990000002"}
        assert kkt.call(lambda d: d.checks) == 2  # checked once each, while scanning, none again at pay time
        payment = rows(central, "SELECT status, amount, captures FROM payments WHERE basket = ?", basket.id)
        assert payment == [("CAPTURED", basket.total, 1)]
        paid = [json.loads(r[0]) for r in edge_journal(tmp_path, basket.id, "payment_result")]
        assert paid[-1]["tender"]["receipt"]["fiscalDocumentNumber"] == receipt["fiscalDocumentNumber"]


def edge_journal(tmp_path: Path, basket_id: str, op: str) -> list[tuple[Any, ...]]:
    import sqlite3

    with sqlite3.connect(tmp_path / "edge.db") as conn:
        return conn.execute("SELECT args FROM journal WHERE basket_id = ? AND op = ? ORDER BY seq",
                            (basket_id, op)).fetchall()  # fmt: skip


def test_a_code_the_register_refuses_stops_the_sale(mosquitto: Mosquitto, tmp_path: Path, central: CentralNode) -> None:
    with KktThread() as kkt:
        kkt.call(lambda d: d.stopped.add(code_of(0)))

        async def scenario(edge: Edge) -> Any:
            basket = marked_basket(edge)
            with pytest.raises(BasketError) as refused:
                await edge.checkout.pay(basket, "card")
            return basket, refused.value

        basket, refused = run(mosquitto, tmp_path, kkt, scenario)
        assert refused.code == "open_problems" and basket.state is State.NEEDS_ASSISTANCE
        [problem] = basket.open_problems()
        assert problem.code == "MARKING_REFUSED_BY_REGISTER" and problem.level == "CRITICAL"
        assert "stopped" in problem.message
        assert kkt.receipts() == [] and rows(central, "SELECT COUNT(*) FROM payments") == [(0,)]
