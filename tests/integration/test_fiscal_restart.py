"""A register that comes back blank: the ATOL Web-server simulator in its own process, killed
with -9 after it checked a basket's codes and started again without them, as a ККТ does after
a power loss. The sale goes through with one re-check, one receipt and one capture."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from edge_agent.basket import State
from edge_agent.basket.commands import Checkout as CheckoutCommand
from edge_agent.payment.steps import receipt_uuid
from sim.central.node import CentralNode
from tests.conftest import ROOT
from tests.integration.broker import Mosquitto
from tests.integration.pcscd import free_port_pair
from tests.integration.syncenv import config, rows, run_edge
from tests.integration.test_fiscal import marked_basket, until


def start_kkt(port: int) -> subprocess.Popen[str]:
    args = ["sim", "kkt", "--port", str(port), "--print-ms", "10", "--check-ms", "10"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge_agent.cli", *args], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    json.loads(proc.stdout.readline())  # it listens
    return proc


def printed(url: str, uuid: str) -> bool:
    """Whether the register holds request ``uuid`` as a printed sell receipt."""
    r = httpx.get(f"{url}/api/v2/requests/{uuid}", timeout=2)
    if r.status_code != 200:
        return False
    return all(item.get("status") == "ready" for item in r.json()["results"])


def test_a_register_restarted_blank_mid_sale_costs_one_recheck_not_the_sale(
    mosquitto: Mosquitto, tmp_path: Path, central: CentralNode
) -> None:
    port = free_port_pair(1)
    url = f"http://127.0.0.1:{port}"
    procs = [start_kkt(port)]
    try:

        async def scenario(edge: Any) -> Any:
            basket = marked_basket(edge, n_marked=2, ready=False)
            await until(lambda: all(line.kkt for line in basket.lines.values() if line.marked))  # while scanning
            edge.store.journal.apply(basket, CheckoutCommand())
            procs[0].kill()  # -9: the register loses power with the two codes checked, then comes back blank
            procs[0].wait(10)
            procs.append(await asyncio.to_thread(start_kkt, port))
            outcome = await edge.checkout.pay(basket, "card")
            return basket, outcome, edge.fiscal.desks["lane-1"].rechecks

        basket, outcome, rechecks = run_edge(
            config(mosquitto.port, kkt_url=url, receipt_deadline_s=10.0), tmp_path / "edge.db", scenario
        )
        assert outcome.result == "paid" and basket.state is State.CLOSED
        assert rechecks == 2  # each code checked once more on the register that forgot it
        pid = outcome.payment_id
        tries = [printed(url, receipt_uuid(pid, n)) for n in (1, 2, 3)]
        assert tries == [False, True, False]  # the first request refused (421), the second printed, no third
        payment = rows(central, "SELECT status, amount, captures FROM payments WHERE basket = ?", basket.id)
        assert payment == [("CAPTURED", basket.total, 1)]
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(10)
