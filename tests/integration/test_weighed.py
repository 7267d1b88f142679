"""Weighed and part-pack marked goods on the lane's ККТ (the ATOL Web-server simulator over
HTTP): a cheese sold by the weight its mark code carries (``itemDryForSale``, kilograms) and
three yogurts of a pack of ten (tag 1291 as ``itemFractionalAmount`` "3/10"), each checked on
the register for that quantity while scanning, printed so, and returned in part. The register
refuses what the law does: a weighed item sold as a piece, a part that is not less than its pack."""

from __future__ import annotations

import asyncio
import base64
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from edge_agent.basket import Basket, Product, State
from edge_agent.basket.commands import Add, Verdict
from edge_agent.basket.commands import Checkout as CheckoutCommand
from edge_agent.basket.customer import SetPart
from edge_agent.fiscal.atol import AtolRegister
from edge_agent.fiscal.marks import Measure
from edge_agent.payment.returns import Returns
from sim.central.node import CentralNode
from tests.integration.broker import Mosquitto
from tests.integration.kkt import KktThread
from tests.integration.syncenv import AT, BREAD, Edge, config, rows, run_edge

CHEESE = Product(
    "04600000000053", "Сыр весовой", 129_000, 10, "dairy", group="milk", marked=True, sold_by="weight"
)  # 1 290,00 ₽ a kilogram
YOGURT = Product(
    "04600000000060", "Йогурт, упаковка 10 шт.", 50_000, 10, "dairy", group="milk", marked=True, pack_units=10
)
TAG_1265 = "UUID=5d2a3c1e-0000-4000-8000-000000000002&Time=1764580000000"
CHEESE_CODE = f"01{CHEESE.gtin}21CH0001\x1d93ab1c\x1d3103000352"  # 0,352 kg
YOGURT_CODE = f"01{YOGURT.gtin}21YG0001\x1d93ab2c"


async def until(predicate: Any, timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def weighed_basket(edge: Edge) -> Basket:
    basket = edge.basket("lane-1", [BREAD], ready=False)
    at = datetime.fromisoformat(AT)
    journal = edge.store.journal
    cheese = journal.apply(
        basket,
        Add(
            product=CHEESE,
            gtin=CHEESE.gtin,
            at=at,
            ki=CHEESE_CODE.split("\x1d", maxsplit=1)[0],
            mark_code=CHEESE_CODE,
            grams=352,
        ),
    )
    pack = journal.apply(
        basket,
        Add(
            product=YOGURT, gtin=YOGURT.gtin, at=at, ki=YOGURT_CODE.split("\x1d", maxsplit=1)[0], mark_code=YOGURT_CODE
        ),
    )
    journal.apply(basket, SetPart(line_id=pack.id, units=3))  # the shopper takes three of the ten
    for line in (cheese, pack):
        journal.apply(basket, Verdict(line_id=line.id, outcome="ALLOWED", fiscal_1265=TAG_1265, source="ts_piot"))
    return basket


def test_a_weighed_cheese_and_part_of_a_pack_are_checked_printed_and_returned_for_their_quantity(
    mosquitto: Mosquitto, tmp_path: Path, central: CentralNode
) -> None:
    with KktThread(validation_s=0.02) as kkt:

        async def scenario(edge: Edge) -> Any:
            basket = weighed_basket(edge)
            await until(lambda: all(line.kkt for line in basket.lines.values() if line.marked))  # while scanning
            edge.store.journal.apply(basket, CheckoutCommand())
            outcome = await edge.checkout.pay(basket, "card")
            returns = Returns(edge.store, edge.sync.requester, edge.cfg.checkout, edge.fiscal)
            basket_id, cheese = returns.find(CHEESE_CODE)
            _, pack = returns.find(YOGURT_CODE)
            done = await returns.start(basket_id, [cheese, pack], "S-01")
            return basket, outcome, done

        basket, outcome, done = run_edge(config(mosquitto.port, kkt_url=kkt.url), tmp_path / "edge.db", scenario)
        cheese_kop, part_kop = (129_000 * 352 + 500) // 1000, (50_000 * 3 + 5) // 10
        assert outcome.result == "paid" and basket.state is State.CLOSED
        assert basket.total == BREAD.price + cheese_kop + part_kop
        sell, back = kkt.receipts()
        by_name = {i["name"]: i for i in sell["items"]}
        cheese, yogurt = by_name[CHEESE.name], by_name[YOGURT.name]
        # the cheese: kilograms, its price per kilogram, its checked weight and the weighed status
        assert (cheese["measurementUnit"], cheese["quantity"], cheese["price"]) == ("kilogram", 0.352, 1290.0)
        assert round(cheese["amount"] * 100) == cheese_kop
        imc = cheese["imcParams"]
        assert base64.b64decode(imc["imc"]).decode() == CHEESE_CODE
        assert (imc["itemEstimatedStatus"], imc["itemQuantity"], imc["itemUnits"]) == (
            "itemDryForSale",
            0.352,
            "kilogram",
        )
        assert "itemFractionalAmount" not in imc
        # three of ten: one position of quantity 1 at the part's price, with 3/10 (tag 1291)
        assert (yogurt["measurementUnit"], yogurt["quantity"], round(yogurt["amount"] * 100)) == ("piece", 1, part_kop)
        imc = yogurt["imcParams"]
        assert (imc["itemEstimatedStatus"], imc["itemFractionalAmount"]) == ("itemPieceSold", "3/10")
        for item in (cheese, yogurt):  # the register's check said the planned status was right
            assert item["imcParams"]["itemInfoCheckResult"]["imcEstimatedStatusCorrect"] is True
        # the return: the same quantities, returned
        assert done.step == "done" and done.amount == cheese_kop + part_kop
        returned = {i["name"]: i["imcParams"] for i in back["items"]}
        assert returned[CHEESE.name]["itemEstimatedStatus"] == "itemDryReturn"
        assert returned[CHEESE.name]["itemQuantity"] == 0.352
        assert returned[YOGURT.name]["itemEstimatedStatus"] == "itemPieceReturn"
        assert returned[YOGURT.name]["itemFractionalAmount"] == "3/10"
        payment = rows(central, "SELECT status, amount, refunded FROM payments WHERE basket = ?", basket.id)
        assert payment == [("CAPTURED", basket.total, cheese_kop + part_kop)]


def test_the_register_refuses_a_weighed_item_sold_as_a_piece_and_a_part_that_is_not_a_part() -> None:
    with KktThread(validation_s=0.01) as kkt:

        async def scenario() -> Any:
            register = AtolRegister(kkt.url, operator={"name": "SCO"}, poll_s=0.01)
            try:
                as_piece = await register.check_mark(CHEESE_CODE)  # what the lane did before: 2003 wrong
                by_weight = await register.check_mark(CHEESE_CODE, "itemDryForSale", Measure(grams=352))
            finally:
                await register.aclose()
            async with httpx.AsyncClient() as http:  # a client that sends a part as big as its pack
                task = {
                    "type": "beginMarkingCodeValidation",
                    "params": {
                        "imcType": "auto",
                        "imc": base64.b64encode(YOGURT_CODE.encode()).decode(),
                        "itemEstimatedStatus": "itemPieceSold",
                        "itemQuantity": 1,
                        "itemUnits": "piece",
                        "itemFractionalAmount": "10/10",
                    },
                }
                r = await http.post(f"{kkt.url}/api/v2/requests", json={"uuid": "bad-part", "request": [task]})
                r.raise_for_status()
                for _ in range(100):
                    body = (await http.get(f"{kkt.url}/api/v2/requests/bad-part")).json()
                    if body["results"][0]["status"] not in ("wait", "inProgress"):
                        break
                    await asyncio.sleep(0.02)
            return as_piece, by_weight, body["results"][0]

        as_piece, by_weight, bad_part = asyncio.run(scenario())
        assert as_piece.refusal() is not None and "status incorrect" in as_piece.refusal()
        assert as_piece.bits["imcEstimatedStatusCorrect"] is False
        assert by_weight.refusal() is None
        assert bad_part["status"] == "error" and "0 < n < d" in bad_part["error"]["description"]


def test_a_part_taken_while_the_register_checks_the_whole_pack_is_checked_again_for_the_part(
    mosquitto: Mosquitto, tmp_path: Path, central: CentralNode
) -> None:
    """The register's check of the whole pack comes back after the shopper chose three of ten:
    that answer is not the part's, so the part is checked again and the receipt prints."""
    with KktThread(validation_s=0.3) as kkt:

        async def scenario(edge: Edge) -> Any:
            basket = edge.basket("lane-1", [BREAD], ready=False)
            at = datetime.fromisoformat(AT)
            ki = YOGURT_CODE.split("\x1d", maxsplit=1)[0]
            pack = edge.store.journal.apply(
                basket, Add(product=YOGURT, gtin=YOGURT.gtin, at=at, ki=ki, mark_code=YOGURT_CODE)
            )
            await until(lambda: kkt.call(lambda d: d.validating is not None))  # the whole pack, being checked
            edge.store.journal.apply(basket, SetPart(line_id=pack.id, units=3))
            edge.store.journal.apply(basket, Verdict(line_id=pack.id, outcome="ALLOWED", fiscal_1265=TAG_1265))
            await until(lambda: basket.lines[pack.id].kkt is not None)
            checks = kkt.call(lambda d: d.checks)
            edge.store.journal.apply(basket, CheckoutCommand())
            return basket, checks, await edge.checkout.pay(basket, "card")

        basket, checks, outcome = run_edge(config(mosquitto.port, kkt_url=kkt.url), tmp_path / "edge.db", scenario)
        assert checks == 2 and outcome.result == "paid" and basket.state is State.CLOSED  # whole, then the part
        [receipt] = kkt.receipts()
        [yogurt] = [i for i in receipt["items"] if i.get("name") == YOGURT.name]
        assert yogurt["imcParams"]["itemFractionalAmount"] == "3/10"
