"""The store: migrations, atomic journal + outbox, exact restore, codes and the sold set."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge_agent.basket import BasketError, Product, State
from edge_agent.basket.commands import (
    Add,
    Checkout,
    Close,
    Discount,
    Identify,
    PaymentResult,
    StartPayment,
    Verdict,
    from_journal,
)
from edge_agent.db.migrations import MIGRATIONS
from edge_agent.repositories import open_repositories
from edge_agent.wire.topics import StoreTopics

MSK = ZoneInfo("Europe/Moscow")
AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
MILK = Product("04610053149777", "Milk 1 l", 8_990, 10, "dairy", "milk", marked=True)
KI = "0104610053149777215d/wuU"


def product_args(p: Product) -> dict[str, object]:
    return {f: getattr(p, f) for f in p.__dataclass_fields__}


def add_milk() -> Add:
    return Add(product=MILK, gtin=MILK.gtin, at=AT, ki=KI)


def test_migrations_run_once_and_the_catalog_round_trips(tmp_path: Path) -> None:
    store = open_repositories(tmp_path / "a.db", tz=MSK)
    assert store.db.migrate() == len(MIGRATIONS)
    store.catalogue.upsert_products([MILK])
    again = open_repositories(tmp_path / "a.db", tz=MSK)  # reopening migrates nothing and keeps the data
    assert again.catalogue.product(MILK.gtin) == MILK and again.catalogue.product("04699999999993") is None


def test_an_older_database_is_migrated_keeping_its_rows_and_names_its_new_writer(tmp_path: Path) -> None:
    import sqlite3

    from edge_agent import __version__
    from edge_agent.db import Database

    old = sqlite3.connect(tmp_path / "old.db")  # what 0.2.0 left: schema 10, no meta
    for number, script in enumerate(MIGRATIONS[:10], start=1):
        old.executescript(script)
        old.execute(f"PRAGMA user_version = {number}")
    old.execute("INSERT INTO baskets (id, lane, state, opened_at) VALUES ('b-open', 'lane-1', 'OPEN', 1.0)")
    old.commit()
    old.close()
    db = Database(tmp_path / "old.db")
    assert db.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) >= 11
    assert db.conn.execute("SELECT value FROM meta WHERE key = 'written_by'").fetchone() == (__version__,)
    assert db.conn.execute("SELECT id, state FROM baskets").fetchall() == [("b-open", "OPEN")]


def test_a_refused_command_leaves_no_trace(tmp_path: Path) -> None:
    store = open_repositories(tmp_path / "a.db", tz=MSK)
    basket = store.journal.open_basket("b1", "lane-1")
    with pytest.raises(BasketError):
        store.journal.apply(basket, Checkout())  # empty basket
    assert store.db.conn.execute("SELECT COUNT(*) FROM journal").fetchone()[0] == 0
    assert [p["type"] for _, _, p in store.outbox.unsent()] == ["basket.opened"]


def test_restore_rebuilds_lines_problems_and_state_exactly(tmp_path: Path) -> None:
    store = open_repositories(tmp_path / "a.db", tz=MSK)
    basket = store.journal.open_basket("b1", "lane-1")
    line = store.journal.apply(basket, add_milk())
    store.journal.apply(basket, Verdict(line_id=line.id, outcome="BLOCKED", reason="RPN"))
    store.journal.apply(basket, Add(product=None, gtin="04699999999993", at=AT))
    (restored,) = open_repositories(tmp_path / "a.db", tz=MSK).journal.restore()
    assert restored.lines == basket.lines and restored.problems == basket.problems
    assert restored.state is basket.state is State.NEEDS_ASSISTANCE


def test_paid_basket_enters_the_sold_set_and_closed_ones_are_not_restored(tmp_path: Path) -> None:
    store = open_repositories(tmp_path / "a.db", tz=MSK)
    basket = store.journal.open_basket("b1", "lane-1")
    line = store.journal.apply(basket, add_milk())
    store.journal.apply(basket, Verdict(line_id=line.id, outcome="ALLOWED"))
    for command in (Checkout(), StartPayment("p1"), PaymentResult(approved=True, at=AT)):
        store.journal.apply(basket, command)
    assert store.sold.sold_here(KI)
    store.journal.apply(basket, Close())
    assert store.journal.restore() == []


def test_received_codes_give_the_full_mark_code_for_an_epc(tmp_path: Path) -> None:
    store = open_repositories(tmp_path / "a.db", tz=MSK)
    store.catalogue.receive_codes([(KI, KI + "\x1d93dGVz")])
    assert store.catalogue.mark_code_for(KI) == KI + "\x1d93dGVz" and store.catalogue.mark_code_for("01x") is None


def test_outbox_drains_in_order(tmp_path: Path) -> None:
    store = open_repositories(tmp_path / "a.db", tz=MSK, topics=StoreTopics("s1"))
    store.journal.open_basket("b1", "lane-1")
    store.journal.open_basket("b2", "lane-2")
    rows = store.outbox.unsent()
    assert [t for _, t, _ in rows] == ["sco/v1/s1/lane-1/evt/basket.opened", "sco/v1/s1/lane-2/evt/basket.opened"]
    store.outbox.mark_sent([rows[0][0]])
    assert [t for _, t, _ in store.outbox.unsent()] == [
        "sco/v1/s1/lane-2/evt/basket.opened"
    ] and store.outbox.depth() == 1


def test_outbox_rows_are_cloudevents_and_a_paid_basket_posts_its_sale_and_epcis(tmp_path: Path) -> None:
    from edge_agent.wire import envelope

    store = open_repositories(
        tmp_path / "a.db", tz=MSK, topics=StoreTopics("s1"), read_point="urn:epc:id:sgln:4600000.00042.0"
    )
    lane = "sco/v1/s1/lane-1/evt"
    woken: list[int] = []
    store.outbox.listeners.append(lambda: woken.append(1))
    basket = store.journal.open_basket("b1", "lane-1")
    line = store.journal.apply(basket, add_milk())
    store.journal.apply(basket, Verdict(line_id=line.id, outcome="ALLOWED"))
    store.journal.apply(basket, Checkout())
    store.journal.apply(basket, Identify(customer="C-0001"))
    store.journal.apply(basket, Discount(allocation={line.id: 990}, hold_id="H-1"))
    assert basket.total == 8_000
    store.journal.apply(basket, StartPayment("pay-1"))
    tender = {"method": "card", "payment_id": "P-1", "amount": 8_000}
    store.journal.apply(basket, PaymentResult(approved=True, at=AT, tender=tender))
    rows = store.outbox.unsent(limit=100)
    events = [envelope.decode(json.dumps(p)) for _, _, p in rows]
    assert len(woken) == 8  # one wake-up per commit that wrote outbox rows (open + 7 commands)
    assert len({e.id for e in events}) == len(events)  # every event has its own id
    assert all(e.source == "sco://s1/lane-1" for e in events)
    topics = [t for _, t, _ in rows]
    assert topics[-3:] == [f"{lane}/basket.payment_result", f"{lane}/transaction.posted", "sco/v1/s1/trace/epcis"]
    posted = events[-2].data
    assert posted["transactionId"] == "b1" and posted["totalKop"] == 8_000 and posted["discountKop"] == 990
    assert posted["lines"][0]["markingCode"] is None and posted["tender"] == tender
    doc = events[-1].data
    event = doc["epcisBody"]["eventList"][0]
    assert doc["schemaVersion"] == "2.0" and event["bizStep"] == "retail_selling"
    assert event["disposition"] == "retail_sold" and event["epcList"] == [
        "https://id.gs1.org/01/04610053149777/21/5d%2FwuU"
    ]
    assert [e.seq for e in events[1:]] == sorted(e.seq for e in events[1:])  # seq follows the journal
    restored = open_repositories(tmp_path / "a.db", tz=MSK).journal.restore()
    assert restored[0].total == 8_000 and restored[0].customer == "C-0001"  # discount and customer replay


def test_catalog_and_codes_streams_replace_on_snapshot_and_patch_on_delta(tmp_path: Path) -> None:
    store = open_repositories(tmp_path / "a.db", tz=MSK)
    assert store.catalogue.stream_version("catalog") == -1
    store.catalogue.apply_stream("catalog", 3, snapshot=True, data={"products": [product_args(MILK)]})
    store.catalogue.apply_stream(
        "catalog", 4, snapshot=False, data={"products": [{**product_args(MILK), "price": 9_490}]}
    )
    assert store.catalogue.product(MILK.gtin).price == 9_490 and store.catalogue.stream_version("catalog") == 4  # type: ignore[union-attr]
    store.catalogue.apply_stream("catalog", 5, snapshot=False, data={"delete": [MILK.gtin]})
    assert store.catalogue.product(MILK.gtin) is None
    store.catalogue.apply_stream("codes", 1, snapshot=True, data={"codes": {KI: KI + "\x1d93dGVz"}})
    store.catalogue.apply_stream("codes", 2, snapshot=True, data={"codes": {}})  # a snapshot replaces everything
    assert store.catalogue.mark_code_for(KI) is None and store.catalogue.stream_version("codes") == 2


def test_a_failed_journal_write_leaves_the_live_basket_as_it_was(tmp_path: Path) -> None:
    store = open_repositories(tmp_path / "a.db", tz=MSK)
    basket = store.journal.open_basket("b1", "lane-1")
    store.journal.apply(basket, add_milk())
    store.db.conn.execute(
        "CREATE TRIGGER no_room BEFORE INSERT ON journal BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
    )
    with pytest.raises(sqlite3.IntegrityError):
        store.journal.apply(basket, Add(product=None, gtin="04699999999993", at=AT))
    assert len(basket.lines) == 1 and not basket.problems  # the kiosk shows what the journal has
    assert basket.state is State.SCANNING
    (restored,) = open_repositories(tmp_path / "a.db", tz=MSK).journal.restore()
    assert restored.lines == basket.lines


def test_journal_rows_of_earlier_versions_replay_as_typed_commands() -> None:
    """The journal's JSON is the contract between versions: the forms written before commands
    were typed still read back."""
    old = {
        "product": product_args(MILK),
        "gtin": MILK.gtin,
        "ki": KI,
        "mark_code": None,
        "sold_here": False,
        "at": "2026-11-23T09:00:00+00:00",
    }
    assert from_journal("add", old) == add_milk()
    assert from_journal("add", old).args() == old
    paid = {"approved": True, "at": "2026-11-23T09:00:00+00:00", "tender": {"payment_id": "P-1"}}
    assert from_journal("payment_result", paid).args() == paid
    assert from_journal("discount", {"allocation": {"3": 990}, "hold_id": "H-1"}) == Discount(
        allocation={3: 990}, hold_id="H-1"
    )
