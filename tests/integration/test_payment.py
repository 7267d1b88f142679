"""Loyalty and payment with the central simulators over a real Mosquitto: the happy paths
(card two-stage, SBP one-stage), declines, a customer who walks away and pays late, central
faults (500 after commit, lost and doubled answers), cancellation, and kill -9 of the agent
at every step of a payment."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from edge_agent.basket import State
from edge_agent.payment import steps as payment_steps
from edge_agent.sync.rpc import OutcomeUnknown
from sim.central import db, loyalty, payment
from sim.central.node import CentralNode
from tests.conftest import ROOT
from tests.integration.broker import PASSWORD, Mosquitto
from tests.integration.syncenv import BREAD, CIGS, MILK, Edge, config, rows, run_edge, settle, sms_code


def run(mosquitto: Mosquitto, tmp_path: Path, scenario: Any, **checkout: Any) -> Any:
    cfg = config(mosquitto.port)
    if checkout:
        cfg = cfg.model_copy(update={"checkout": cfg.checkout.model_copy(update=checkout)})
    return run_edge(cfg, tmp_path / "edge.db", scenario)


def test_card_sale_with_loyalty_posts_once_and_keeps_tobacco_undiscounted(
    mosquitto: Mosquitto, tmp_path: Path, central: CentralNode
) -> None:
    async def scenario(edge: Edge) -> Any:
        basket = edge.basket("lane-1", [BREAD, MILK, CIGS])
        who = await edge.checkout.identify(basket, "qr", loyalty.app_qr("LOY:C-0002", time.time()))  # possession
        plan = await edge.checkout.redeem(basket)
        outcome = await edge.checkout.pay(basket, "card")
        return basket, who, plan, outcome, edge.store.sold.sold_here(f"01{CIGS.gtin}21S2")

    basket, who, plan, outcome, sold = run(mosquitto, tmp_path, scenario)
    assert who.customer == "C-0002" and outcome.result == "paid" and basket.state is State.CLOSED and sold
    cigs = next(line for line in basket.lines.values() if line.gtin == CIGS.gtin)
    assert cigs.discount == 0 and plan.kopecks == 7_200 == basket.discount  # 50 % of bread + milk, whole roubles
    assert basket.total == 5_500 + 8_990 + 25_000 - 7_200
    payment = rows(central, "SELECT status, amount, captures FROM payments WHERE basket = ?", basket.id)
    assert payment == [("CAPTURED", basket.total, 1)]
    ledger = rows(central, "SELECT kind, points FROM ledger WHERE transaction_id = ? ORDER BY id", basket.id)
    assert ledger == [("spend", -72), ("accrue", 0)]  # magnit_like: no accrual when redeeming
    settle(
        central, lambda: rows(central, "SELECT total FROM transactions WHERE id = ?", basket.id) == [(basket.total,)]
    )
    settle(central, lambda: rows(central, "SELECT COUNT(*) FROM events WHERE type = 'epcis.document'") == [(1,)])
    assert loyalty.ledger_balanced(central.conn)


def test_sbp_is_one_stage_and_a_declined_card_lets_the_customer_pay_another_way(
    mosquitto: Mosquitto, tmp_path: Path, central: CentralNode
) -> None:
    async def scenario(edge: Edge) -> Any:
        basket = edge.basket("lane-1", [BREAD, MILK])
        payment.script_customer(central.conn, basket.id, "decline:insufficient_funds")
        declined = await edge.checkout.pay(basket, "card")
        state_after_decline = basket.state
        paid = await edge.checkout.pay(basket, "sbp")
        return basket, declined, state_after_decline, paid

    basket, declined, after, paid = run(mosquitto, tmp_path, scenario)
    assert declined.result == "declined" and declined.message == "insufficient_funds" and after is State.READY_TO_PAY
    assert paid.result == "paid" and paid.payment is not None and paid.payment.qr and basket.state is State.CLOSED
    assert any(p.code == "PAYMENT_DECLINED" for p in basket.problems.values())  # kept for the record
    sql = "SELECT method, status, reason, captures FROM payments WHERE basket = ? ORDER BY created_at"
    payments = rows(central, sql, basket.id)
    assert payments == [("card", "CANCELED", "insufficient_funds", 0), ("sbp", "CAPTURED", None, 1)]
    assert rows(central, "SELECT COUNT(*) FROM handled WHERE key LIKE '%:capture'") == [(0,)]  # SBP: no capture call


def test_a_wall_clock_jump_while_the_customer_pays_neither_cancels_nor_stretches_the_wait(
    mosquitto: Mosquitto, tmp_path: Path, central: CentralNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The agent's wall clock steps 2 h forward while the kiosk waits (3 s) for a card the
    customer authorises at 1 s: paid and captured once, not cancelled. It steps 2 h back while
    the kiosk waits for a customer who never pays: the wait still ends after 3 s."""
    from edge_agent.payment import flow

    real = time.time

    async def attempt(edge: Edge, instrument: str, jump: float) -> Any:
        basket = edge.basket("lane-1", [BREAD])
        payment.script_customer(central.conn, basket.id, instrument)
        paying = asyncio.create_task(edge.checkout.pay(basket, "card"))
        waiting = lambda: [a.step for a in edge.store.payments.of_basket(basket.id)] == ["pending"]  # noqa: E731
        while not waiting():
            await asyncio.sleep(0.01)
        clock = SimpleNamespace(time=lambda: real() + jump, monotonic=time.monotonic, perf_counter=time.perf_counter)
        monkeypatch.setattr(flow, "time", clock)  # the agent's clock alone: central is another machine
        started = time.monotonic()
        outcome = await asyncio.wait_for(paying, 15)
        monkeypatch.setattr(flow, "time", time)
        return basket, outcome, time.monotonic() - started

    async def scenario(edge: Edge) -> Any:
        return await attempt(edge, "late:1.0", 7200.0), await attempt(edge, "timeout", -7200.0)

    (paid, card, _), (walked, gone, waited) = run(mosquitto, tmp_path, scenario, customer_timeout_s=3.0)
    assert card.result == "paid" and paid.state is State.CLOSED
    assert gone.result == "timeout" and walked.state is State.READY_TO_PAY and waited < 5.0
    captured = rows(central, "SELECT status, captures FROM payments WHERE basket = ?", paid.id)
    assert captured == [("CAPTURED", 1)]


def test_a_customer_who_pays_after_the_kiosk_gave_up_is_refunded_and_alerted(
    mosquitto: Mosquitto, tmp_path: Path, central: CentralNode
) -> None:
    async def scenario(edge: Edge) -> Any:
        basket = edge.basket("lane-1", [BREAD])
        payment.script_customer(central.conn, basket.id, "late:1.0")  # pays at 1.0 s; kiosk waits 0.4 s
        sbp = await edge.checkout.pay(basket, "sbp")
        payment.script_customer(central.conn, basket.id, "late:1.0")
        card = await edge.checkout.pay(basket, "card")
        state = basket.state
        await asyncio.sleep(1.2)
        resumed = await edge.checkout.resume()
        return sbp, card, state, resumed, edge.store.payments.of_basket(basket.id)

    sbp, card, state, resumed, attempts = run(mosquitto, tmp_path, scenario, customer_timeout_s=0.4)
    assert sbp.result == card.result == "timeout" and state is State.READY_TO_PAY and resumed == 2
    assert [a.step for a in attempts] == ["refunded", "failed"]  # SBP money came back; the card hold cancelled
    payments = rows(central, "SELECT method, status, refunded, reason FROM payments ORDER BY created_at")
    assert payments == [("sbp", "CAPTURED", BREAD.price, None), ("card", "CANCELED", 0, "canceled_by_merchant")]
    settle(
        central,
        lambda: rows(central, "SELECT COUNT(*) FROM events WHERE type = 'alert.late_payment_refunded'") == [(1,)],
    )


def test_central_faults_never_move_money_twice(mosquitto: Mosquitto, tmp_path: Path, central: CentralNode) -> None:
    db.arm_fault(central.conn, "payment.capture", "500", 1)  # committed, then "internal error, retry"
    db.arm_fault(central.conn, "payment.create", "drop", 1)  # committed, answer lost
    db.arm_fault(central.conn, "loyalty.commit", "duplicate", 1)  # the answer arrives twice

    async def scenario(edge: Edge) -> Any:
        basket = edge.basket("lane-1", [BREAD, MILK])
        sent = await edge.checkout.identify(basket, "card", "2900000000024")  # a card alone: accrual only
        assert sent.code_sent and not basket.verified
        await edge.checkout.verify(basket, sms_code(central, "+79990000002"))  # the code texted to the phone on file
        await edge.checkout.redeem(basket, points=50)
        outcome = await edge.checkout.pay(basket, "card")
        return basket, outcome, edge.sync.requester.retries, edge.sync.requester.late

    basket, outcome, retries, late = run(mosquitto, tmp_path, scenario)
    assert outcome.result == "paid" and basket.state is State.CLOSED and retries >= 2 and late >= 1
    assert rows(central, "SELECT COUNT(*), SUM(captures) FROM payments") == [(1, 1)]
    assert db.counter(central.conn, "payment.replayed") >= 2  # the re-sends were answered from the record
    ledger = rows(central, "SELECT kind, points FROM ledger WHERE transaction_id = ? ORDER BY id", basket.id)
    assert ledger == [("spend", -50), ("accrue", 0)]


def test_payment_notifications_wake_the_kiosk_and_a_doubled_one_is_dropped(
    mosquitto: Mosquitto, tmp_path: Path, central: CentralNode
) -> None:
    """Central relays the payment's webhook as ``payment.status_changed``: the kiosk learns of
    the customer's tap at once, not at its next poll (5 s here), and a repeat is dropped."""
    db.arm_fault(central.conn, "payment.notify", "duplicate", 1)

    async def scenario(edge: Edge) -> Any:
        basket = edge.basket("lane-1", [BREAD])
        started = time.monotonic()
        outcome = await edge.checkout.pay(basket, "card")
        return outcome, time.monotonic() - started, edge.checkout.notifications, edge.sync.deduper.duplicates

    outcome, seconds, notifications, duplicates = run(mosquitto, tmp_path, scenario, poll_s=5.0)
    assert outcome.result == "paid" and seconds < 2.0  # the poll alone would have taken 5 s
    assert notifications >= 1 and duplicates == 1


def test_cancel_releases_the_hold_and_the_points_come_back(
    mosquitto: Mosquitto, tmp_path: Path, central: CentralNode
) -> None:
    async def scenario(edge: Edge) -> Any:
        basket = edge.basket("lane-1", [MILK])
        await edge.checkout.identify(basket, "qr", loyalty.app_qr("LOY:C-0001", time.time()))
        await edge.checkout.redeem(basket)
        held = loyalty.available(central.conn, "C-0001", time.time())  # central's ledger and holds
        await edge.checkout.cancel(basket)
        after = loyalty.available(central.conn, "C-0001", time.time())
        return basket, held, after

    basket, held, after = run(mosquitto, tmp_path, scenario)
    assert basket.state is State.CANCELLED and held == 500 - 44 and after == 500
    assert rows(central, "SELECT state FROM holds") == [("released",)]
    assert rows(central, "SELECT COUNT(*) FROM ledger WHERE kind = 'spend'") == [(0,)]


def test_kill_9_at_every_step_of_a_payment_captures_once_and_books_points_once(
    mosquitto: Mosquitto, tmp_path: Path, central: CentralNode
) -> None:
    program = [sys.executable, "-m", "tests.integration.programs.pay_crash"]

    def attempt(n: int, crash_at: int) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "CRASH_AT": str(crash_at)}
        args = [str(tmp_path / f"run-{n}"), str(mosquitto.port), f"crash-{n}"]
        return subprocess.run(
            [*program, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
        )

    baseline = attempt(0, 0)
    assert baseline.returncode == 0, baseline.stderr[-2000:]
    # a kill after every step a run has; how many that is varies a little (the payment is polled
    # until the customer pays), so the kills go on until a run ends before its kill
    n = 0
    while True:
        n += 1
        assert n <= 100, "a checkout that never ends"
        killed = attempt(n, n)
        if killed.returncode == 0:  # this run had fewer than n steps: every step was killed once
            summary = json.loads(killed.stdout.splitlines()[-1])
            assert summary["state"] == "CLOSED" and summary["payments"][-1] == "done", f"step {n}: {summary}"
            break
        assert killed.returncode == -9, f"step {n}: {killed.stderr[-1000:]}"
        done = attempt(n, 0)
        assert done.returncode == 0, f"step {n}: {done.stderr[-2000:]}"
        summary = json.loads(done.stdout.splitlines()[-1])
        assert summary["state"] == "CLOSED" and summary["payments"][-1] == "done", f"step {n}: {summary}"
    total = n
    assert total > 25  # open, 3 lines, checkout, identify, hold, discount, create, capture, commit, accrue, close
    for n in range(total + 1):
        basket = f"crash-{n}"
        captured = rows(central, "SELECT captures FROM payments WHERE basket = ? AND status = 'CAPTURED'", basket)
        assert captured == [(1,)], f"step {n}: {captured}"  # one capture, whatever the instant of the kill
        other = rows(central, "SELECT status FROM payments WHERE basket = ? AND status != 'CAPTURED'", basket)
        assert all(s == ("CANCELED",) for s in other)
        ledger = rows(central, "SELECT kind, COUNT(*) FROM ledger WHERE transaction_id = ? GROUP BY kind", basket)
        assert sorted(ledger) == [("accrue", 1), ("spend", 1)], f"step {n}: {ledger}"
    assert loyalty.ledger_balanced(central.conn)
    # each sale reached central's records once, however often a restart sent it again
    sales = [f"crash-{n}" for n in range(total + 1)]
    marks = ",".join("?" * len(sales))
    settle(
        central,
        lambda: rows(central, f"SELECT COUNT(*) FROM transactions WHERE id IN ({marks})", *sales) == [(len(sales),)],
    )
    holds = rows(central, "SELECT state, COUNT(*) FROM holds GROUP BY state")
    assert dict(holds).get("held", 0) == 0  # no points left blocked by a crash


def _restart(tmp_path: Path, mosquitto: Mosquitto) -> CentralNode:
    """Central's payment service back after an outage: the same database, a new process's node."""
    node = CentralNode(tmp_path / "central.db", port=mosquitto.port, username="central", password=PASSWORD)
    node.start()
    assert node.ready.wait(10)
    return node


def test_a_payment_service_silent_mid_payment_frees_the_shopper_and_the_late_card_is_cancelled(
    mosquitto: Mosquitto, tmp_path: Path, central: CentralNode
) -> None:
    """Central answers the create, then goes silent while the card terminal waits: past
    ``answer_s`` the shopper is free (the basket may be paid again or cancelled), staff alerted;
    the card the customer tapped meanwhile is cancelled once central is back, never captured."""
    nodes: list[CentralNode] = []

    async def scenario(edge: Edge) -> Any:
        basket = edge.basket("lane-1", [BREAD])
        payment.script_customer(central.conn, basket.id, "late:1.5")  # taps at 1.5 s, with central down
        paying = asyncio.create_task(edge.checkout.pay(basket, "card"))
        while (
            not edge.store.payments.of_basket(basket.id)
            or edge.store.payments.of_basket(basket.id)[-1].step != "pending"
        ):
            await asyncio.sleep(0.02)
        await asyncio.to_thread(central.stop)
        started = time.monotonic()
        outcome = await paying
        freed_after = time.monotonic() - started
        state, silent = basket.state, edge.checkout.central_silent_since is not None
        nodes.append(await asyncio.to_thread(_restart, tmp_path, mosquitto))
        while await edge.checkout.resume() and edge.store.payments.of_basket(basket.id)[-1].step != "failed":
            await asyncio.sleep(0.1)
        return outcome, freed_after, state, silent, edge.store.payments.of_basket(basket.id)[-1], edge.checkout

    try:
        outcome, freed_after, state, silent, attempt, flow = run(
            mosquitto, tmp_path, scenario, request_timeout_s=0.3, request_attempts=2, answer_s=1.0
        )
        _freed_and_cancelled(tmp_path, outcome, freed_after, state, silent, attempt, flow)
    finally:
        for node in nodes:
            node.stop()


def _freed_and_cancelled(
    tmp_path: Path, outcome: Any, freed_after: float, state: State, silent: bool, attempt: Any, flow: Any
) -> None:
    assert outcome.result == "unknown" and outcome.message == payment_steps.NO_ANSWER and state is State.READY_TO_PAY
    assert freed_after < 1.0 + 2 * 0.6 + 1.0  # the deadline, one round of unanswered tries, slack
    assert silent and flow.central_silent_since is None  # a lane fault while silent, gone once central answers
    assert attempt.step == "failed" and attempt.message == "authorized after the kiosk gave up: cancelled"
    central = SimpleNamespace(conn=db.connect(tmp_path / "central.db"))  # the restarted node's records
    assert rows(central, "SELECT status, reason, captures FROM payments") == [("CANCELED", "canceled_by_merchant", 0)]
    settle(
        central, lambda: rows(central, "SELECT COUNT(*) FROM events WHERE type = 'alert.payment_unanswered'") == [(1,)]
    )


def test_a_payment_service_down_before_the_create_is_resolved_by_the_same_create_later(
    mosquitto: Mosquitto, tmp_path: Path, central: CentralNode
) -> None:
    """The create was never answered: the shopper is freed past the deadline, and the attempt is
    resolved with the same idempotency key once central is back (its payment lapses unpaid)."""
    nodes: list[CentralNode] = []

    async def scenario(edge: Edge) -> Any:
        basket = edge.basket("lane-1", [MILK])
        payment.script_customer(central.conn, basket.id, "timeout")
        await asyncio.to_thread(central.stop)
        first = await edge.checkout.pay(basket, "card")
        while basket.state is State.PAYMENT_PENDING:  # the housekeeping's rounds
            await edge.checkout.resume()
        nodes.append(await asyncio.to_thread(_restart, tmp_path, mosquitto))
        await edge.checkout.resume()
        return first, basket.state, edge.store.payments.of_basket(basket.id)

    try:
        first, state, attempts = run(
            mosquitto, tmp_path, scenario, request_timeout_s=0.3, request_attempts=2, answer_s=1.0
        )
    finally:
        for node in nodes:
            node.stop()
    assert first.result == "unknown" and state is State.READY_TO_PAY
    assert len(attempts) == 1 and attempts[0].step == "abandoned" and attempts[0].payment is not None
    central = SimpleNamespace(conn=db.connect(tmp_path / "central.db"))  # the restarted node's records
    assert rows(central, "SELECT COUNT(*), SUM(captures) FROM payments") == [(1, 0)]  # one create, never captured


def test_the_shopper_cancels_a_card_payment_the_terminal_waits_for(
    mosquitto: Mosquitto, tmp_path: Path, central: CentralNode
) -> None:
    async def scenario(edge: Edge) -> Any:
        basket = edge.basket("lane-1", [BREAD])
        payment.script_customer(central.conn, basket.id, "timeout")  # never taps
        paying = asyncio.create_task(edge.checkout.pay(basket, "card"))
        while (
            basket.state is not State.PAYMENT_PENDING or edge.store.payments.of_basket(basket.id)[-1].step != "pending"
        ):
            await asyncio.sleep(0.02)
        started = time.monotonic()
        assert edge.checkout.cancel_payment(basket)
        outcome = await paying
        took = time.monotonic() - started
        after = basket.state
        again = edge.checkout.cancel_payment(basket)  # nothing waits any more
        await edge.checkout.cancel(basket)
        return outcome, took, after, again, basket.state

    outcome, took, after, again, final = run(mosquitto, tmp_path, scenario, customer_timeout_s=60.0, poll_s=5.0)
    assert outcome.result == "cancelled" and took < 2.0 and after is State.READY_TO_PAY  # not the 60 s wait
    assert again is False and final is State.CANCELLED
    assert rows(central, "SELECT captures FROM payments") == [(0,)]


def test_payments_down_ends_when_central_answers_again_though_nobody_pays(
    mosquitto: Mosquitto, tmp_path: Path, central: CentralNode
) -> None:
    """A loyalty look-up went unanswered (central down): the lanes' "payments down" fault is on
    and the kiosks take no payment, so no payment would ever ask central again; the housekeeping's
    probe does, and the fault ends once central is back."""
    nodes: list[CentralNode] = []

    async def scenario(edge: Edge) -> Any:
        basket = edge.basket("lane-1", [BREAD])
        await asyncio.to_thread(central.stop)
        with pytest.raises(OutcomeUnknown):
            await edge.checkout.identify(basket, "phone", "+79990000001")
        down = edge.checkout.central_silent_since is not None
        still_down = await edge.checkout.probe_central()
        nodes.append(await asyncio.to_thread(_restart, tmp_path, mosquitto))
        back = await edge.checkout.probe_central()
        return down, still_down, back, edge.checkout.central_silent_since

    try:
        down, still_down, back, since = run(mosquitto, tmp_path, scenario, request_timeout_s=0.3, request_attempts=2)
    finally:
        for node in nodes:
            node.stop()
    assert down and not still_down and back and since is None
