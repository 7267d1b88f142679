"""The store under kill -9: a checkout process killed at random instants, 50 times."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from edge_agent.basket import Product, State
from edge_agent.basket.commands import Add
from edge_agent.repositories import open_repositories
from edge_agent.wire.events import EVENT_TYPES
from tests.conftest import ROOT

MSK = ZoneInfo("Europe/Moscow")


def test_kill_9_at_random_instants_loses_and_doubles_nothing(tmp_path: Path) -> None:
    db = tmp_path / "edge.db"
    rng = random.Random(20261123)
    runs = 50
    for run in range(runs):
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.programs.checkout_loop", str(db), str(run)], cwd=ROOT
        )
        time.sleep(rng.uniform(0.15, 0.4))  # some runs die while starting, most mid-checkout
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert proc.returncode == -signal.SIGKILL  # it was still running: the kill really interrupted it

    store = open_repositories(db, tz=MSK)
    conn = store.db.conn
    restored = store.journal.restore()  # every open basket replays from its journal
    assert len(restored) <= runs  # at most one open basket per killed run
    journal = conn.execute("SELECT basket_id, seq, op FROM journal").fetchall()
    rows = conn.execute("SELECT basket_id, journal_seq, payload FROM outbox WHERE journal_seq > 0").fetchall()
    outbox = [r for r in rows if json.loads(r[2])["type"].startswith("basket.")]
    posted = [(b, s) for b, s, p in rows if json.loads(p)["type"] == "transaction.posted"]
    # every journal row announced exactly once, nothing announced that is not journaled
    assert sorted((b, s) for b, s, _ in journal) == sorted((b, s) for b, s, _ in outbox)
    assert all(
        json.loads(p)["type"] == EVENT_TYPES[op]
        for (_, _, op), (_, _, p) in zip(sorted(journal), sorted(outbox, key=lambda r: (r[0], r[1])), strict=True)
    )
    # and each paid basket's sale is posted once, with the journal row that made it PAID
    paid = [
        (b, s)
        for b, s, op in journal
        if op == "payment_result"
        and json.loads(conn.execute("SELECT args FROM journal WHERE basket_id = ? AND seq = ?", (b, s)).fetchone()[0])[
            "approved"
        ]
    ]
    assert sorted(posted) == sorted(paid)
    # no serialized line doubled, in any basket, restored or finished
    for basket in restored:
        keys = [line.key for line in basket.lines.values() if line.serialized]
        assert len(keys) == len(set(keys))
        assert basket.state is not State.PAID or not basket.open_problems()
    # the sold set is exactly the serialized lines of paid baskets
    paid = {b for (b,) in conn.execute("SELECT id FROM baskets WHERE state IN ('PAID', 'CLOSED')")}
    sold = {(b, ki) for ki, b in conn.execute("SELECT ki, basket_id FROM sold")}
    assert {b for b, _ in sold} <= paid and len(paid) > 10
    # and the store keeps working after all that
    basket = store.journal.open_basket("after", "lane-1")
    store.journal.apply(basket, Add(product=BREAD, gtin=BREAD.gtin, at=datetime(2026, 11, 23, 12, tzinfo=UTC)))
    assert store.journal.restore()[-1].total == BREAD.price


BREAD = Product("04600000000017", "Bread", 5_500, 10, "bakery")
