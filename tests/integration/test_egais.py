"""Strong alcohol through the store's ЕГАИС УТМ (the simulator over HTTP/XML) before the
fiscal receipt (the ATOL simulator over HTTP), with central's simulators on a real Mosquitto:
the УТМ's url and sign on the receipt and in the sale's record; a refusal and a УТМ that is
down refuse the bottle and let the rest be paid; a cheque whose answer was lost is settled by
sending it again (one cheque) and returned when the basket went without it; a bottle brought
back goes to the УТМ at negative prices; the УТМ killed with -9 right after its answer does not
stop the receipt; and kill -9 of the agent at every step leaves one cheque and one receipt."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from edge_agent.basket import Basket, BasketError, Product, State
from edge_agent.basket.commands import Add, Remove, Resolve
from edge_agent.basket.commands import Checkout as CheckoutCommand
from edge_agent.basket.customer import BindStamp
from edge_agent.payment.returns import Returns
from sim.central.node import CentralNode
from tests.conftest import ROOT
from tests.integration.broker import Mosquitto
from tests.integration.kkt import KktThread
from tests.integration.syncenv import AT, BREAD, Edge, config, rows, run_edge
from tests.integration.utm import UtmThread

VODKA = Product(
    "04600000000077", "Водка 0,5 л", 49_900, 20, "alcohol", min_age=18, alcohol=False, egais=True, volume_ml=500
)
STAMP = "22N" + "0" * 20 + "1" + "A" * 123 + "XYZ"  # a current stamp's 150 characters
assert len(STAMP) == 150


def stamp_of(n: int) -> str:
    return STAMP[:-6] + f"{n:06d}"


def vodka_basket(edge: Edge, stamp: str = STAMP, ready: bool = True) -> Basket:
    """Bread and a bottle of vodka whose stamp was scanned; age seen by staff."""
    basket = edge.basket("lane-1", [BREAD], ready=False)
    at = datetime.fromisoformat(AT)
    edge.store.journal.apply(basket, Add(product=VODKA, gtin=VODKA.gtin, at=at, ki=f"01{VODKA.gtin}21V1"))
    edge.store.journal.apply(basket, BindStamp(stamp=stamp, at=at))
    for p in basket.open_problems():  # the age check, approved by staff
        edge.store.journal.apply(basket, Resolve(problem_id=p.id, by="s-1", device="handheld-1", at=at))
    if ready:
        edge.store.journal.apply(basket, CheckoutCommand())
    return basket


def cheques(edge: Edge, basket_id: str) -> list[tuple[str, str, str]]:
    return [(r.kind, r.state, r.id) for r in edge.fiscal.egais.cheques.of_basket(basket_id)]  # type: ignore[union-attr]


def test_a_bottle_is_sold_through_the_utm_its_answer_is_printed_and_a_return_goes_back_negative(
    mosquitto: Mosquitto, tmp_path: Path, central: CentralNode
) -> None:
    with KktThread(validation_s=0.01) as kkt, UtmThread() as utm:

        async def scenario(edge: Edge) -> Any:
            basket = vodka_basket(edge)
            outcome = await edge.checkout.pay(basket, "card")
            returns = Returns(edge.store, edge.sync.requester, edge.cfg.checkout, edge.fiscal)
            line = next(ln.id for ln in basket.lines.values() if ln.egais)
            back = await returns.start(basket.id, [line], "S-01")
            return basket, outcome, back, cheques(edge, basket.id)

        basket, outcome, back, records = run_edge(
            config(mosquitto.port, kkt_url=kkt.url, utm_url=utm.url), tmp_path / "edge.db", scenario
        )
        assert outcome.result == "paid" and basket.state is State.CLOSED
        [sale, ret] = utm.call(lambda u: list(u.cheques))
        assert sale.kind == "sale" and sale.stamps == (STAMP,) and sale.prices == ("499.00",)
        assert ret.kind == "return" and ret.stamps == (STAMP,) and ret.prices == ("-499.00",)
        assert utm.call(lambda u: set(u.sold)) == set()  # sold, then back
        assert basket.egais is not None and basket.egais.url == sale.url and basket.egais.sign == sale.sign
        sell, refund = kkt.receipts()
        for receipt, cheque in ((sell, sale), (refund, ret)):  # the QR and the sign on each receipt
            texts = [i for i in receipt["items"] if i.get("type") == "text"]
            codes = [i for i in receipt["items"] if i.get("type") == "barcode"]
            assert codes == [{"type": "barcode", "barcode": cheque.url, "barcodeType": "QR", "scale": 2}]
            assert texts and texts[0]["text"].replace(" ", "").endswith(cheque.sign)
        assert back.step == "done" and back.amount == VODKA.price
        assert sorted(records) == [  # the return's cheque under the return's id
            ("return", "accepted", f"{back.id}:egais"),
            ("sale", "accepted", f"{basket.id}:egais:1"),
        ]


@pytest.mark.parametrize("fault", ["refused", "down"])
def test_a_refusing_or_dead_utm_refuses_the_bottle_and_the_rest_is_paid(
    mosquitto: Mosquitto, tmp_path: Path, central: CentralNode, fault: str
) -> None:
    with (
        KktThread(validation_s=0.01) as kkt,
        UtmThread(refuse="марка не найдена" if fault == "refused" else None) as utm,
    ):
        url = utm.url if fault == "refused" else "http://127.0.0.1:9"  # nothing listens on port 9

        async def scenario(edge: Edge) -> Any:
            basket = vodka_basket(edge)
            with pytest.raises(BasketError) as refused:
                await edge.checkout.pay(basket, "card")
            problems = [(p.code, p.level) for p in basket.open_problems()]
            bottle = next(ln.id for ln in basket.lines.values() if ln.egais)  # the shopper sets it aside
            edge.store.journal.apply(
                basket, Remove(line_id=bottle, by="customer", device="lane-1", at=datetime.fromisoformat(AT))
            )
            edge.store.journal.apply(basket, CheckoutCommand())
            outcome = await edge.checkout.pay(basket, "card")
            return basket, refused.value, problems, outcome

        basket, refused, problems, outcome = run_edge(
            config(mosquitto.port, kkt_url=kkt.url, utm_url=url), tmp_path / "edge.db", scenario
        )
        code = "EGAIS_REFUSED" if fault == "refused" else "EGAIS_UNAVAILABLE"
        assert refused.code == code.lower() and problems == [(code, "CRITICAL")]
        assert outcome.result == "paid" and basket.total == BREAD.price
        [receipt] = kkt.receipts()
        assert [i["name"] for i in receipt["items"]] == ["Bread"]
        assert utm.call(lambda u: list(u.cheques)) == []


def test_a_cheque_whose_answer_was_lost_is_sent_again_once_and_returned_when_the_basket_went_without_it(
    mosquitto: Mosquitto, tmp_path: Path, central: CentralNode
) -> None:
    with KktThread(validation_s=0.01) as kkt, UtmThread(drop_after_take=1) as utm:

        async def scenario(edge: Edge) -> Any:
            basket = vodka_basket(edge)
            with pytest.raises(BasketError) as lost:
                await edge.checkout.pay(basket, "card")  # the УТМ took it, the answer never came
            bottle = next(ln.id for ln in basket.lines.values() if ln.egais)
            edge.store.journal.apply(
                basket, Remove(line_id=bottle, by="customer", device="lane-1", at=datetime.fromisoformat(AT))
            )
            edge.store.journal.apply(basket, CheckoutCommand())
            await edge.checkout.pay(basket, "card")
            assert edge.fiscal.egais is not None
            sent = await edge.fiscal.egais.settle()  # the housekeeping: learn its fate, undo it
            again = await edge.fiscal.egais.settle()  # nothing left
            return basket, lost.value, sent, again, cheques(edge, basket.id)

        basket, lost, sent, again, records = run_edge(
            config(mosquitto.port, kkt_url=kkt.url, utm_url=utm.url), tmp_path / "edge.db", scenario
        )
        assert lost.code == "egais_unavailable" and basket.state is State.CLOSED
        assert (sent, again) == (2, 0)  # the same cheque once more (its answer), then its return
        kinds = utm.call(lambda u: [c.kind for c in u.cheques])
        assert kinds == ["sale", "return"] and utm.call(lambda u: set(u.sold)) == set()
        assert sorted(records) == [
            ("return", "accepted", f"{basket.id}:egais:1:return"),
            ("sale", "accepted", f"{basket.id}:egais:1"),
        ]


def test_the_utm_killed_with_9_right_after_its_answer_does_not_stop_the_receipt(
    mosquitto: Mosquitto, tmp_path: Path, central: CentralNode
) -> None:
    free_port = _free_port()
    utm = subprocess.Popen(
        [sys.executable, "-m", "edge_agent.cli", "sim", "utm", "--port", str(free_port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert utm.stdout is not None and "utm_sim" in utm.stdout.readline()
        with KktThread(validation_s=0.01, task_s=0.5) as kkt:

            async def scenario(edge: Edge) -> Any:
                basket = vodka_basket(edge)
                paying = asyncio.create_task(edge.checkout.pay(basket, "card"))
                while basket.egais is None:  # the УТМ has answered and the answer is recorded
                    assert not paying.done(), paying
                    await asyncio.sleep(0.005)
                os.kill(utm.pid, signal.SIGKILL)
                return basket, await paying

            basket, outcome = run_edge(
                config(mosquitto.port, kkt_url=kkt.url, utm_url=f"http://127.0.0.1:{free_port}"),
                tmp_path / "edge.db",
                scenario,
            )
            assert utm.wait(5) == -9
            assert outcome.result == "paid" and basket.state is State.CLOSED
            [receipt] = kkt.receipts()
            [code] = [i for i in receipt["items"] if i.get("type") == "barcode"]
            assert basket.egais is not None and code["barcode"] == basket.egais.url
    finally:
        utm.kill()
        utm.wait(5)


def test_kill_9_at_every_step_of_a_sale_with_a_stamp_leaves_one_utm_cheque_and_one_receipt(
    mosquitto: Mosquitto, tmp_path: Path, central: CentralNode
) -> None:
    """Each run is killed after its n-th step (a committed transaction, a command to central, a
    request to the register or to the УТМ), then finished."""
    program = [sys.executable, "-m", "tests.integration.programs.pay_crash"]
    with KktThread() as kkt, UtmThread() as utm:

        def attempt(n: int, crash_at: int) -> subprocess.CompletedProcess[str]:
            env = {**os.environ, "CRASH_AT": str(crash_at), "KKT_URL": kkt.url, "UTM_URL": utm.url}
            args = [str(tmp_path / f"run-{n}"), str(mosquitto.port), f"egais-{n}"]
            return subprocess.run(
                [*program, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
            )

        n = 0
        while True:
            n += 1
            assert n <= 150, "a checkout that never ends"
            killed = attempt(n, n)
            done = killed if killed.returncode == 0 else attempt(n, 0)
            assert killed.returncode in (0, -9), f"step {n}: {killed.stderr[-1000:]}"
            assert done.returncode == 0, f"step {n}: {done.stderr[-2000:]}"
            summary = json.loads(done.stdout.splitlines()[-1])
            assert summary["state"] == "CLOSED" and summary["payments"][-1] == "done", f"step {n}: {summary}"
            if killed.returncode == 0:
                break
        assert n > 30
        sales = utm.call(lambda u: [c for c in u.cheques if c.kind == "sale"])
        receipts = kkt.receipts()
        till = Counter(c.key.split("-lane-1")[0] for c in utm.call(lambda u: list(u.cheques)))
        twice = {run: count for run, count in till.items() if count > 1}  # a run with more than its one cheque
        assert len(sales) == n and len(receipts) == n and not twice, twice  # one cheque, one receipt per run
        assert utm.call(lambda u: [c.kind for c in u.cheques if c.kind != "sale"]) == []
        assert sorted(c.stamps[0][-6:] for c in sales) == [f"{k:06d}" for k in range(1, n + 1)]
        urls = {c.url for c in sales}
        for receipt in receipts:  # each receipt carries its own cheque's QR
            [code] = [i for i in receipt["items"] if i.get("type") == "barcode"]
            assert code["barcode"] in urls
        assert rows(central, "SELECT COUNT(*) FROM payments WHERE status = 'CAPTURED'") == [(n,)]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
