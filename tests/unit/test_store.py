"""The store: migrations, atomic journal + outbox, exact restore, codes and the sold set."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge_agent.basket import BasketError, Product, State
from edge_agent.store import MIGRATIONS, Store

MSK = ZoneInfo("Europe/Moscow")
AT = "2026-11-23T09:00:00+00:00"
MILK = Product("04610053149777", "Milk 1 l", 8_990, 10, "dairy", "milk", marked=True)
KI = "0104610053149777215d/wuU"


def product_args(p: Product) -> dict[str, object]:
    return {f: getattr(p, f) for f in p.__dataclass_fields__}


def test_migrations_run_once_and_the_catalog_round_trips(tmp_path: Path) -> None:
    store = Store(tmp_path / "a.db", MSK)
    assert store.migrate() == len(MIGRATIONS)
    store.upsert_products([MILK])
    again = Store(tmp_path / "a.db", MSK)  # reopening migrates nothing and keeps the data
    assert again.product(MILK.gtin) == MILK and again.product("04699999999993") is None


def test_a_refused_command_leaves_no_trace(tmp_path: Path) -> None:
    store = Store(tmp_path / "a.db", MSK)
    basket = store.open_basket("b1", "lane-1", "t")
    with pytest.raises(BasketError):
        store.apply(basket, "checkout", {}, "t")  # empty basket
    assert store.db.conn.execute("SELECT COUNT(*) FROM journal").fetchone()[0] == 0
    assert [p["type"] for _, _, p in store.unsent()] == ["basket.opened"]


def test_restore_rebuilds_lines_problems_and_state_exactly(tmp_path: Path) -> None:
    store = Store(tmp_path / "a.db", MSK)
    basket = store.open_basket("b1", "lane-1", "sco/v1/s/lane-1/evt")
    line = store.apply(basket, "add", {"product": product_args(MILK), "gtin": MILK.gtin, "ki": KI, "at": AT}, "t")
    store.apply(basket, "verdict", {"line_id": line.id, "outcome": "BLOCKED", "reason": "RPN"}, "t")
    store.apply(basket, "add", {"product": None, "gtin": "04699999999993", "at": AT}, "t")
    (restored,) = Store(tmp_path / "a.db", MSK).restore()
    assert restored.lines == basket.lines and restored.problems == basket.problems
    assert restored.state is basket.state is State.NEEDS_ASSISTANCE


def test_paid_basket_enters_the_sold_set_and_closed_ones_are_not_restored(tmp_path: Path) -> None:
    store = Store(tmp_path / "a.db", MSK)
    basket = store.open_basket("b1", "lane-1", "t")
    line = store.apply(basket, "add", {"product": product_args(MILK), "gtin": MILK.gtin, "ki": KI, "at": AT}, "t")
    store.apply(basket, "verdict", {"line_id": line.id, "outcome": "ALLOWED"}, "t")
    for op, args in [("checkout", {}), ("start_payment", {"payment_id": "p1"}),
                     ("payment_result", {"approved": True, "at": AT})]:  # fmt: skip
        store.apply(basket, op, args, "t")
    assert store.sold_here(KI)
    store.apply(basket, "close", {}, "t")
    assert store.restore() == []


def test_received_codes_give_the_full_mark_code_for_an_epc(tmp_path: Path) -> None:
    store = Store(tmp_path / "a.db", MSK)
    store.receive_codes([(KI, KI + "\x1d93dGVz")])
    assert store.mark_code_for(KI) == KI + "\x1d93dGVz" and store.mark_code_for("01x") is None


def test_outbox_drains_in_order(tmp_path: Path) -> None:
    store = Store(tmp_path / "a.db", MSK)
    store.open_basket("b1", "lane-1", "t1")
    store.open_basket("b2", "lane-2", "t2")
    rows = store.unsent()
    assert [t for _, t, _ in rows] == ["t1", "t2"]
    store.mark_sent([rows[0][0]])
    assert [t for _, t, _ in store.unsent()] == ["t2"]
