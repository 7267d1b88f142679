"""Central enforces loyalty's limits itself, whatever an agent sends (an agent with its own
MQTT credentials, or a store without the agent's own limits): an app QR verifies once, for the
basket it was first shown to; one phone number gets a handful of one-time codes an hour."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from sim.central.loyalty import SMS_PER_HOUR, app_qr
from sim.central.node import CentralNode
from tests.integration.broker import Mosquitto
from tests.integration.syncenv import BREAD, Edge, config, rows, run_edge


def test_central_lets_an_app_qr_verify_once_and_caps_the_codes_texted_to_a_number(
    mosquitto: Mosquitto, tmp_path: Path, central: CentralNode
) -> None:
    from edge_agent.sync.rpc import ServiceError

    qr = app_qr("LOY:C-0001", time.time())

    async def scenario(edge: Edge) -> Any:
        first, second = edge.basket("lane-1", [BREAD]), edge.basket("lane-1", [BREAD])
        who = await edge.checkout.identify(first, "qr", qr)
        again = await edge.checkout.identify(first, "qr", qr)  # a retry for the same basket
        with pytest.raises(ServiceError) as stolen:
            await edge.checkout.identify(second, "qr", qr)
        sent = []
        for _ in range(12):  # a new basket each time: the per-basket cap never applies
            basket = edge.basket("lane-1", [BREAD])
            sent.append((await edge.checkout.identify(basket, "phone", "+79990000001")).code_sent)
        return who, again, stolen.value, sent

    who, again, stolen, sent = run_edge(config(mosquitto.port), tmp_path / "edge.db", scenario)
    assert who.verified and again.verified and stolen.code == "qr_used"
    assert sent.count(True) == SMS_PER_HOUR and sent[SMS_PER_HOUR:] == [False] * (len(sent) - SMS_PER_HOUR)
    assert rows(central, "SELECT COUNT(*) FROM sms WHERE phone = '+79990000001'") == [(SMS_PER_HOUR,)]


def test_points_follow_the_money_back_so_a_refund_mints_nothing(
    mosquitto: Mosquitto, tmp_path: Path, central: CentralNode
) -> None:
    """With one agent's own MQTT credentials: a card payment of 1,000,000 ₽ created, captured,
    accrued to a customer, then refunded in full; then an honest sale refunded in part. The
    customer ends with what the money that stayed earned, and the ledger balances."""
    from sim.central.loyalty import balance, ledger_balanced

    async def call(edge: Edge, service: str, op: str, data: dict[str, Any], key: str | None) -> Any:
        return await edge.sync.requester.call(service, op, data, key, timeout_s=2.0)

    async def scenario(edge: Edge) -> Any:
        before = balance(central.conn, "C-0003")
        txn, amount = "forged-sale-1", 100_000_000
        p = await call(edge, "payment", "create", {"basket": txn, "method": "card", "amount": amount}, "f:create")
        while (await call(edge, "payment", "get", {"id": p["id"]}, None))["status"] != "AUTHORIZED":
            await asyncio.sleep(0.02)
        await call(edge, "payment", "capture", {"id": p["id"]}, "f:capture")
        lines = [{"price": amount, "category": "dairy"}]
        accrual = {"customer": "C-0003", "transaction_id": txn, "lines": lines, "redeemed": False}
        minted = (await call(edge, "loyalty", "accrue", accrual, "f:accrue"))["points"]
        await call(edge, "payment", "refund", {"payment_id": p["id"], "amount": amount}, "f:refund")
        after_forgery = balance(central.conn, "C-0003")
        # an honest sale of 1,000 ₽, accrued, then half of it refunded
        txn = "honest-sale-1"
        p = await call(edge, "payment", "create", {"basket": txn, "method": "card", "amount": 100_000}, "h:create")
        while (await call(edge, "payment", "get", {"id": p["id"]}, None))["status"] != "AUTHORIZED":
            await asyncio.sleep(0.02)
        await call(edge, "payment", "capture", {"id": p["id"]}, "h:capture")
        accrual = accrual | {"transaction_id": txn, "lines": [{"price": 100_000, "category": "dairy"}]}
        earned = (await call(edge, "loyalty", "accrue", accrual, "h:accrue"))["points"]
        await call(edge, "payment", "refund", {"payment_id": p["id"], "amount": 50_000}, "h:refund")
        return before, minted, after_forgery, earned, balance(central.conn, "C-0003")

    before, minted, after_forgery, earned, end = run_edge(config(mosquitto.port), tmp_path / "edge.db", scenario)
    assert minted > 0 and after_forgery == before  # the full refund took the whole accrual back
    assert earned > 0 and end == before + earned - earned // 2  # half the money back: half the points
    assert ledger_balanced(central.conn)
