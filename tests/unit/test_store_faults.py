"""The store when it cannot write (SQLite's own "database or disk is full", by a page limit), and
a journal that does not replay: nothing shown that is not journaled, and nothing bricked."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge_agent.basket import Product, State
from edge_agent.basket.commands import Add
from edge_agent.config import LaneSettings
from edge_agent.db import StoreError
from edge_agent.lanes import LaneController
from edge_agent.pipeline import Arrived, Departed
from edge_agent.reads import TagRead
from edge_agent.repositories import Repositories, open_repositories

MSK = ZoneInfo("Europe/Moscow")
AT = datetime(2026, 12, 1, 9, tzinfo=UTC)
BREAD = Product("04600000000015", "Bread", 5_500, 10, "bakery")


def fill(store: Repositories) -> None:
    """No page more, and the journal's and outbox's last pages packed by another lane's items:
    SQLite answers the next item with "database or disk is full", as on a full disk."""
    pages = store.db.conn.execute("PRAGMA page_count").fetchone()[0]
    store.db.conn.execute(f"PRAGMA max_page_count = {pages + 1}")
    other = store.journal.open_basket("filler", "lane-9")
    n = 0
    while store.db.fault is None:
        n += 1
        try:
            store.journal.apply(other, Add(product=BREAD, gtin=BREAD.gtin, at=AT, ki=f"01{BREAD.gtin}21F{n:05d}"))
        except StoreError:
            break


def free(store: Repositories) -> None:
    store.db.conn.execute("PRAGMA max_page_count = 1073741823")


def add(n: int) -> Add:
    return Add(
        product=BREAD, gtin=BREAD.gtin, at=AT, ki=f"01{BREAD.gtin}21S{n:04d}" + "x" * 400
    )  # long keys: pages fill fast


def test_a_write_the_disk_refuses_changes_nothing_and_the_store_says_so_once(tmp_path: Path) -> None:
    store = open_repositories(tmp_path / "a.db", tz=MSK)
    changes: list[str | None] = []
    store.db.fault_listeners.append(changes.append)
    basket = store.journal.open_basket("b1", "lane-1")
    fill(store)
    with pytest.raises(StoreError) as info:
        for n in range(1000):
            store.journal.apply(basket, add(n))
    assert info.value.code == "store_unavailable" and "full" in info.value.message
    journaled = store.db.conn.execute("SELECT COUNT(*) FROM journal WHERE basket_id = 'b1'").fetchone()[0]
    assert len(basket.lines) == journaled  # the basket shows exactly what the journal has
    for n in range(1000, 1010):  # more refused writes are no more state changes
        with pytest.raises(StoreError):
            store.journal.apply(basket, add(n))
    assert store.db.fault is not None and changes == [store.db.fault]
    assert not store.db.probe()
    free(store)
    assert store.db.probe() and store.db.fault is None and changes[-1] is None and len(changes) == 2
    store.journal.apply(basket, add(2000))
    assert len(basket.lines) == journaled + 1


def test_a_lane_holds_arrivals_while_the_store_cannot_write_and_records_them_in_order_after(tmp_path: Path) -> None:
    store = open_repositories(tmp_path / "a.db", tz=MSK)
    store.catalogue.upsert_products([BREAD])
    lane = LaneController(LaneSettings(id="lane-1"), store, None)
    from edge_agent.codes import encode_sgtin198

    def arrival(serial: str) -> Arrived:
        epc = encode_sgtin198(BREAD.gtin, serial, 7)
        return Arrived("lane-1", ("epc", epc), TagRead("box", 1, "epc", epc, -50))

    lane.arrived(arrival("A1"))
    basket = lane.basket
    assert basket is not None and len(basket.lines) == 1
    fill(store)
    for serial in ("B2", "C3", "D4"):
        assert lane.arrived(arrival(serial)) is None
    lane.departed(Departed("lane-1", arrival("C3").key, 0.0))  # came and went while nothing was written
    assert len(basket.lines) == 1 and lane.paused is not None and lane.paused["code"] == "store_unavailable"
    free(store)
    assert store.db.probe()
    lane.retry()
    assert [line.key[-2:] for line in basket.lines.values()] == ["A1", "B2", "D4"] and lane.paused is None
    assert basket.state is State.SCANNING


def test_a_journal_that_does_not_replay_quarantines_its_basket_and_the_others_start(tmp_path: Path) -> None:
    store = open_repositories(tmp_path / "a.db", tz=MSK)
    good, bad = store.journal.open_basket("good", "lane-1"), store.journal.open_basket("bad", "lane-2")
    store.journal.apply(good, add(1))
    store.journal.apply(bad, add(2))
    store.db.conn.execute(  # a void of a line that never was (what a phantom line left behind)
        "INSERT INTO journal (basket_id, seq, op, args, at) VALUES ('bad', 99, 'remove', ?, 0)",
        (json.dumps({"line_id": 11, "by": "s-1", "device": "handheld", "at": AT.isoformat()}),),
    )
    again = open_repositories(tmp_path / "a.db", tz=MSK)
    (restored,) = again.journal.restore()
    assert restored.id == "good" and len(restored.lines) == 1
    (held,) = again.journal.quarantined
    assert (held.basket_id, held.lane) == ("bad", "lane-2") and "no_line" in held.reason
    third = open_repositories(tmp_path / "a.db", tz=MSK)
    assert [b.id for b in third.journal.restore()] == ["good"]
    assert [q.basket_id for q in third.journal.quarantined] == ["bad"]  # still reported after every start
    kept = third.db.conn.execute("SELECT COUNT(*) FROM journal WHERE basket_id = 'bad'").fetchone()[0]
    assert kept == 2  # its journal is kept as it was (the line, the bad void), for staff to look at


def test_a_misuse_of_the_database_is_a_bug_raised_as_such_not_a_full_disk(tmp_path: Path) -> None:
    import sqlite3

    store = open_repositories(tmp_path / "a.db", tz=MSK)
    with (
        pytest.raises(sqlite3.OperationalError, match="within a transaction"),
        store.db.transaction(),
        store.db.transaction(),
    ):
        pass
    assert store.db.fault is None  # the store did not pretend the disk was full
    basket = store.journal.open_basket("b1", "lane-1")  # and it still works
    assert store.journal.apply(basket, add(1)) is not None
