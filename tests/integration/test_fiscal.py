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
from edge_agent.payment.return_plan import ReturnError
from edge_agent.payment.returns import Returns
from edge_agent.payment.steps import receipt_uuid
from sim.central.node import CentralNode
from tests.conftest import ROOT
from tests.integration.broker import Mosquitto
from tests.integration.kkt import KktThread
from tests.integration.syncenv import AT, BREAD, MILK, Edge, config, rows, run_edge, settle

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
        line = edge.store.journal.apply(
            basket, Add(product=CIGS, gtin=CIGS.gtin, at=at, ki=code.split("\x1d")[0], mark_code=code)
        )
        edge.store.journal.apply(
            basket, Verdict(line_id=line.id, outcome="ALLOWED", fiscal_1265=TAG_1265, source="ts_piot")
        )
    if ready:
        edge.store.journal.apply(basket, CheckoutCommand())
    return basket


def run(mosquitto: Mosquitto, tmp_path: Path, kkt: KktThread, scenario: Any) -> Any:
    return run_edge(config(mosquitto.port, kkt_url=kkt.url), tmp_path / "edge.db", scenario)


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
            edge.store.journal.apply(basket, CheckoutCommand())
            await edge.checkout.identify(basket, "phone", "+79990000002")
            return basket, await edge.checkout.pay(basket, "card")

        basket, outcome = run(mosquitto, tmp_path, kkt, scenario)
        assert outcome.result == "paid" and basket.state is State.CLOSED
        [receipt] = kkt.receipts()
        assert receipt["kind"] == "sell" and round(receipt["total"] * 100) == basket.total
        marked = [i for i in receipt["items"] if "imcParams" in i]
        assert [base64.b64decode(i["imcParams"]["imc"]).decode() for i in marked] == [code_of(0), code_of(1)]
        for item in marked:  # 2106 from the register's own check; 1260 from the permissive mode
            bits = item["imcParams"]["itemInfoCheckResult"]
            assert bits == {
                "imcCheckFlag": True,
                "imcCheckResult": True,
                "imcStatusInfo": True,
                "imcEstimatedStatusCorrect": True,
                "ecrStandAloneFlag": False,
            }
            assert item["industryInfo"] == [
                {"fois": "030", "date": "2023.11.21", "number": "1944", "industryAttribute": TAG_1265}
            ]
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
        return conn.execute(
            "SELECT args FROM journal WHERE basket_id = ? AND op = ? ORDER BY seq", (basket_id, op)
        ).fetchall()


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


def test_paper_out_stops_new_payments_and_a_paid_basket_waits_for_the_paper(
    mosquitto: Mosquitto, tmp_path: Path, central: CentralNode
) -> None:
    with KktThread(paper=False) as kkt:

        async def scenario(edge: Edge) -> Any:
            desk = edge.fiscal.desks["lane-1"]
            basket = marked_basket(edge)
            await desk.housekeeping()  # the register's state, as the worker reads it every few seconds
            with pytest.raises(BasketError) as refused:
                await edge.checkout.pay(basket, "card")
            health = desk.health()
            kkt.call(lambda d: setattr(d, "paper", True))
            await desk.housekeeping()
            pay = asyncio.create_task(edge.checkout.pay(basket, "card"))
            await until(lambda: kkt.call(lambda d: d.checks) == 1)
            kkt.call(lambda d: setattr(d, "paper", False))  # runs out between the check and the receipt
            await until(lambda: desk.error is not None and desk.error.kind == "paper_out")
            kkt.call(lambda d: setattr(d, "paper", True))  # staff load a roll
            return basket, refused.value, health, await pay

        basket, refused, health, outcome = run(mosquitto, tmp_path, kkt, scenario)
        assert refused.code == "register_unavailable" and "out of paper" in refused.message
        assert health["ok"] is False and health["refuses_payments"]
        assert outcome.result == "paid" and basket.state is State.CLOSED and len(kkt.receipts()) == 1
        assert rows(central, "SELECT status, captures FROM payments") == [("CAPTURED", 1)]


def test_an_expired_shift_is_closed_and_a_new_one_opened_before_the_receipt(
    mosquitto: Mosquitto, tmp_path: Path, central: CentralNode
) -> None:
    with KktThread() as kkt:

        async def scenario(edge: Edge) -> Any:
            first = await edge.checkout.pay(marked_basket(edge), "sbp")
            kkt.call(lambda d: setattr(d, "clock_offset_s", 25 * 3600))  # a day and an hour later
            second = await edge.checkout.pay(marked_basket(edge), "card")
            return first, second

        first, second = run(mosquitto, tmp_path, kkt, scenario)
        assert first.result == second.result == "paid"
        assert [r["shiftNumber"] for r in kkt.receipts()] == [1, 2]
        assert kkt.call(lambda d: d.shifts) == [{"number": 1, "receipts": 1, "fd": 3}]  # Z-report of shift 1


@pytest.mark.parametrize("fault", ["lose_answer", "power_loss"])
def test_a_lost_answer_or_power_lost_mid_receipt_still_prints_exactly_one(
    mosquitto: Mosquitto, tmp_path: Path, central: CentralNode, fault: str
) -> None:
    with KktThread() as kkt:

        async def scenario(edge: Edge) -> Any:
            await edge.checkout.pay(marked_basket(edge), "sbp")  # opens the shift
            kkt.call(lambda d: setattr(d, fault, 1))
            basket = marked_basket(edge)
            return basket, await edge.checkout.pay(basket, "card")

        basket, outcome = run(mosquitto, tmp_path, kkt, scenario)
        assert outcome.result == "paid" and basket.state is State.CLOSED
        receipts = kkt.receipts()
        assert len(receipts) == 2 and round(receipts[1]["total"] * 100) == basket.total
        assert rows(central, "SELECT method, status, captures FROM payments ORDER BY created_at") == [
            ("sbp", "CAPTURED", 1),
            ("card", "CAPTURED", 1),
        ]


@pytest.mark.parametrize("method", ["card", "sbp"])
def test_a_register_gone_past_the_deadline_gives_the_money_back_and_alerts_staff(
    mosquitto: Mosquitto, tmp_path: Path, central: CentralNode, method: str
) -> None:
    with KktThread() as kkt:

        async def scenario(edge: Edge) -> Any:
            basket = marked_basket(edge)
            await edge.fiscal.desks["lane-1"].check_rest(basket)
            kkt.call(lambda d: setattr(d, "offline", True))  # unplugged after the codes were checked
            return basket, await edge.checkout.pay(basket, method), edge.store.payments.of_basket(basket.id)

        basket, outcome, attempts = run(mosquitto, tmp_path, kkt, scenario)
        assert kkt.receipts() == [] and basket.state is State.READY_TO_PAY  # nothing sold, nothing printed
        total = BREAD.price + MILK.price + CIGS.price
        expected = {"card": ("declined", "failed", "CANCELED", 0), "sbp": ("refunded", "refunded", "CAPTURED", total)}
        result, step, status, refunded = expected[method]
        assert outcome.result == result and attempts[-1].step == step
        assert "receipt could not be printed" in outcome.message
        assert rows(central, "SELECT status, refunded FROM payments") == [(status, refunded)]
        alerts = "SELECT COUNT(*) FROM events WHERE type = 'alert.receipt_failed'"
        settle(central, lambda: rows(central, alerts) == [(1,)])  # staff and central know


def test_kill_9_at_every_step_of_pay_and_fiscalize_ends_with_one_receipt_and_one_capture(
    mosquitto: Mosquitto, tmp_path: Path, central: CentralNode
) -> None:
    """The payment kill test with a register: each run is killed after its n-th step (a
    committed transaction, a command to central, a request to the register), then finished."""
    program = [sys.executable, "-m", "tests.integration.programs.pay_crash"]
    with KktThread() as kkt:

        def attempt(n: int, crash_at: int) -> subprocess.CompletedProcess[str]:
            env = {**os.environ, "CRASH_AT": str(crash_at), "KKT_URL": kkt.url}
            args = [str(tmp_path / f"run-{n}"), str(mosquitto.port), f"fiscal-{n}"]
            return subprocess.run(
                [*program, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
            )

        def finished(run: subprocess.CompletedProcess[str], n: int) -> None:
            assert run.returncode == 0, f"step {n}: {run.stderr[-2000:]}"
            summary = json.loads(run.stdout.splitlines()[-1])
            assert summary["state"] == "CLOSED" and summary["payments"][-1] == "done", f"step {n}: {summary}"

        n = 0
        while True:
            n += 1
            assert n <= 120, "a checkout that never ends"
            killed = attempt(n, n)
            if killed.returncode == 0:  # fewer than n steps: every step was killed once
                finished(killed, n)
                break
            assert killed.returncode == -9, f"step {n}: {killed.stderr[-1000:]}"
            finished(attempt(n, 0), n)
        assert n > 30
        receipts = kkt.receipts()
        for k in range(1, n + 1):
            basket = f"fiscal-{k}"
            uuids = {receipt_uuid(f"{basket}:pay:{p}", t) for p in range(1, 4) for t in range(1, 6)}
            printed = [r for r in receipts if r["uuid"] in uuids]
            captured = rows(
                central, "SELECT amount, captures FROM payments WHERE basket = ? AND status = 'CAPTURED'", basket
            )
            assert len(printed) == 1 and printed[0]["kind"] == "sell", f"step {k}: {printed}"
            assert captured == [(round(printed[0]["total"] * 100), 1)], f"step {k}: {captured}"
        assert len(receipts) == n  # and nothing else was printed


def test_a_partial_return_prints_one_return_receipt_refunds_once_and_unsells_the_item(
    mosquitto: Mosquitto, tmp_path: Path, central: CentralNode
) -> None:
    with KktThread() as kkt:

        async def scenario(edge: Edge) -> Any:
            returns = Returns(edge.store, edge.sync.requester, edge.cfg.checkout, edge.fiscal)
            basket = marked_basket(edge, n_marked=2)
            await edge.checkout.pay(basket, "card")
            basket_id, cig = returns.find(code_of(1))  # the staff handheld taps the pack
            bread = next(line.id for line in basket.lines.values() if line.gtin == BREAD.gtin)
            done = await returns.start(basket_id, [cig, bread], "S-01")
            with pytest.raises(ReturnError) as again:
                await returns.start(basket_id, [cig], "S-01")
            with pytest.raises(ReturnError) as gone:
                returns.find(code_of(1))
            resumed = await returns.resume()
            return (
                basket,
                done,
                again.value,
                gone.value,
                resumed,
                edge.store.sold.sold_here(code_of(1).split("\x1d")[0]),
            )

        basket, done, again, gone, resumed, still_sold = run(mosquitto, tmp_path, kkt, scenario)
        assert done.step == "done" and done.amount == CIGS.price + BREAD.price
        assert again.code == "already_returned" and gone.code == "not_sold_here" and resumed == 0 and not still_sold
        sell, back = kkt.receipts()
        assert sell["kind"] == "sell"
        assert back["kind"] == "sellReturn" and round(back["total"] * 100) == CIGS.price + BREAD.price
        [marked] = [i for i in back["items"] if "imcParams" in i]
        assert marked["imcParams"]["itemEstimatedStatus"] == "itemPieceReturn"
        assert base64.b64decode(marked["imcParams"]["imc"]).decode() == code_of(1)
        refunds = rows(central, "SELECT status, refunded, captures FROM payments WHERE basket = ?", basket.id)
        assert refunds == [("CAPTURED", CIGS.price + BREAD.price, 1)]  # refunded once, for what came back
        returned = "SELECT COUNT(*) FROM events WHERE type = 'transaction.returned'"
        settle(central, lambda: rows(central, returned) == [(1,)])
        epcis = "SELECT topic FROM events WHERE type = 'epcis.document'"
        settle(central, lambda: len(rows(central, epcis)) == 2)  # the sale and the return
        assert {topic for (topic,) in rows(central, epcis)} == {"sco/v1/store-001/trace/epcis"}  # as docs/mqtt.md says


def test_the_desk_opens_the_shift_before_the_first_sale_closes_an_expired_one_and_the_day_ends_with_a_z_report(
    tmp_path: Path,
) -> None:
    from datetime import time as dtime
    from zoneinfo import ZoneInfo

    from edge_agent.fiscal.atol import AtolRegister
    from edge_agent.fiscal.desk import DeskSettings, FiscalDesk
    from edge_agent.repositories import open_repositories
    from edge_agent.wire.topics import StoreTopics

    msk = ZoneInfo("Europe/Moscow")
    store = open_repositories(tmp_path / "edge.db", tz=msk, topics=StoreTopics("store-001"))

    async def day(kkt: KktThread, settings: DeskSettings) -> list[str]:
        desk = FiscalDesk("lane-1", AtolRegister(kkt.url), store.journal, tz=msk, settings=settings)
        seen = []
        try:
            await desk.housekeeping()
            assert desk.state is not None
            seen.append(f"{desk.state.shift.state}:{desk.state.shift.number}")
            kkt.call(lambda d: setattr(d, "clock_offset_s", d.clock_offset_s + 25 * 3600))  # a day later
            await desk.housekeeping()
            seen.append(f"{desk.state.shift.state}:{desk.state.shift.number}")
        finally:
            await desk.register.aclose()
        return seen

    with KktThread() as kkt:  # no closing time: open at once; an expired shift closed and the next opened
        assert asyncio.run(day(kkt, DeskSettings())) == ["opened:1", "opened:2"]
        assert [s["number"] for s in kkt.call(lambda d: d.shifts)] == [1]
    with KktThread() as kkt:  # closing at 00:00: it is always after closing time today
        now = datetime.now(msk)
        since_midnight = (now - now.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds()
        kkt.call(lambda d: setattr(d, "clock_offset_s", -(since_midnight + 3600)))  # the shift began yesterday

        async def yesterday() -> None:
            register = AtolRegister(kkt.url)
            await register.open_shift()
            await register.aclose()

        asyncio.run(yesterday())
        kkt.call(lambda d: setattr(d, "clock_offset_s", 0.0))
        seen = asyncio.run(day(kkt, DeskSettings(close_shift_at=dtime(0, 0))))
        assert seen[0] == "closed:1"  # yesterday's shift got its Z-report, and none opens after closing time
        assert [s["number"] for s in kkt.call(lambda d: d.shifts)] == [1]
    store.db.conn.close()
