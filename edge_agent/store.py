"""The durable store: SQLite (sqlite-utils) in WAL mode, with migrations.

A basket is its journal: every accepted command is one row, written in the same transaction
as the outbox rows that announce it to other systems (DESIGN.md §2.4). Restoring a basket is
replaying its journal onto a fresh state machine (the machine is pure and every command
carries its time), so after a crash or ``kill -9`` the baskets come back exactly: what was
committed is there once, what was not never happened, and nothing was announced that is not
also in the journal.

Tables: ``catalog``, ``received_codes`` (КИ → КМ), ``baskets``, ``journal``, ``verdicts``,
``sold`` (the store's sold set), ``outbox``, ``audit`` (staff actions).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import sqlite_utils

from edge_agent.basket import Basket, BasketError, Product, Rules

MIGRATIONS: Final[list[str]] = [
    # 1: the first schema
    """
    CREATE TABLE catalog (gtin TEXT PRIMARY KEY, name TEXT NOT NULL, price INTEGER NOT NULL, vat INTEGER NOT NULL,
                          category TEXT NOT NULL DEFAULT '', grp TEXT, marked INTEGER NOT NULL DEFAULT 0,
                          min_age INTEGER NOT NULL DEFAULT 0, alcohol INTEGER NOT NULL DEFAULT 0, qty_limit INTEGER);
    CREATE TABLE received_codes (ki TEXT PRIMARY KEY, mark_code TEXT NOT NULL, received_at REAL NOT NULL);
    CREATE TABLE baskets (id TEXT PRIMARY KEY, lane TEXT NOT NULL, state TEXT NOT NULL, opened_at REAL NOT NULL,
                          closed_at REAL);
    CREATE TABLE journal (basket_id TEXT NOT NULL REFERENCES baskets(id), seq INTEGER NOT NULL, op TEXT NOT NULL,
                          args TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (basket_id, seq));
    CREATE TABLE verdicts (basket_id TEXT NOT NULL, line_id INTEGER NOT NULL, ki TEXT NOT NULL, outcome TEXT NOT NULL,
                           source TEXT, req_id TEXT, req_timestamp INTEGER, fiscal TEXT,
                           PRIMARY KEY (basket_id, line_id));
    CREATE TABLE sold (ki TEXT PRIMARY KEY, basket_id TEXT NOT NULL, sold_at REAL NOT NULL);
    CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, payload TEXT NOT NULL,
                         basket_id TEXT, journal_seq INTEGER, created_at REAL NOT NULL, sent_at REAL);
    CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;
    CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, staff TEXT NOT NULL,
                        device TEXT NOT NULL, action TEXT NOT NULL, basket_id TEXT, detail TEXT NOT NULL);
    """,
]

# journal op -> how to apply it to a Basket (args are JSON: times as ISO strings)
_OPS: Final[dict[str, Callable[[Basket, dict[str, Any]], Any]]] = {
    "add": lambda b, a: b.add(
        Product(**a["product"]) if a.get("product") else None, a["gtin"], datetime.fromisoformat(a["at"]),
        ki=a.get("ki"), mark_code=a.get("mark_code"), sold_here=a.get("sold_here", False),
    ),
    "remove": lambda b, a: b.remove(a["line_id"], a["by"], a["device"], datetime.fromisoformat(a["at"])),
    "verdict": lambda b, a: b.verdict(a["line_id"], a["outcome"], a.get("reason", ""), a.get("fiscal_1265")),
    "resolve": lambda b, a: b.resolve(a["problem_id"], a["by"], a["device"], datetime.fromisoformat(a["at"])),
    "checkout": lambda b, a: b.checkout(),
    "start_payment": lambda b, a: b.start_payment(a["payment_id"]),
    "payment_result": lambda b, a: b.payment_result(a["approved"], datetime.fromisoformat(a["at"]),
                                                    a.get("message", "")),
    "close": lambda b, a: b.close(),
    "cancel": lambda b, a: b.cancel(),
}  # fmt: skip


class Store:
    def __init__(self, path: Path | str, tz: ZoneInfo, rules: Rules | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")  # a committed sale survives a power cut, not only a crash
        conn.execute("PRAGMA foreign_keys=ON")
        self.db = sqlite_utils.Database(conn)
        self.tz = tz
        self.rules = rules or Rules(tz)
        self.migrate()

    # -- schema -----------------------------------------------------------------------------
    def migrate(self) -> int:
        """Apply the migrations this file has that the database has not; returns the version."""
        conn = self.db.conn
        version: int = conn.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction():
                for statement in filter(str.strip, script.split(";")):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")
        return len(MIGRATIONS)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # -- catalog and codes ------------------------------------------------------------------
    def upsert_products(self, products: Iterable[Product]) -> None:
        rows = [{"gtin": p.gtin, "name": p.name, "price": p.price, "vat": p.vat, "category": p.category,
                 "grp": p.group, "marked": int(p.marked), "min_age": p.min_age, "alcohol": int(p.alcohol),
                 "qty_limit": p.qty_limit} for p in products]  # fmt: skip
        with self.transaction():
            self.db.table("catalog").upsert_all(rows, pk="gtin")

    def product(self, gtin: str) -> Product | None:
        row = self.db.conn.execute("SELECT * FROM catalog WHERE gtin = ?", (gtin,)).fetchone()
        if row is None:
            return None
        gtin_, name, price, vat, category, grp, marked, min_age, alcohol, qty_limit = row
        return Product(gtin_, name, price, vat, category, grp, bool(marked), min_age, bool(alcohol), qty_limit)

    def receive_codes(self, pairs: Iterable[tuple[str, str]]) -> None:
        now = time.time()
        with self.transaction():
            self.db.table("received_codes").upsert_all(
                [{"ki": ki, "mark_code": km, "received_at": now} for ki, km in pairs], pk="ki"
            )

    def mark_code_for(self, ki: str) -> str | None:
        row = self.db.conn.execute("SELECT mark_code FROM received_codes WHERE ki = ?", (ki,)).fetchone()
        return None if row is None else str(row[0])

    def sold_here(self, ki: str) -> bool:
        return self.db.conn.execute("SELECT 1 FROM sold WHERE ki = ?", (ki,)).fetchone() is not None

    # -- baskets ----------------------------------------------------------------------------
    def open_basket(self, basket_id: str, lane: str, topic: str) -> Basket:
        with self.transaction() as conn:
            conn.execute("INSERT INTO baskets (id, lane, state, opened_at) VALUES (?, ?, 'OPEN', ?)",
                         (basket_id, lane, time.time()))  # fmt: skip
            self._announce(conn, topic, {"type": "basket.opened", "basket": basket_id, "lane": lane}, basket_id, 0)
        return Basket(basket_id, lane, self.rules)

    def apply(self, basket: Basket, op: str, args: dict[str, Any], topic: str, announce: bool = True) -> Any:
        """Apply one command; if the basket accepts it, journal it and announce it atomically.

        A command the basket refuses (BasketError) leaves no trace and is re-raised."""
        result = _OPS[op](basket, args)  # may raise BasketError: then nothing is written
        with self.transaction() as conn:
            seq = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM journal WHERE basket_id = ?",
                               (basket.id,)).fetchone()[0]  # fmt: skip
            conn.execute("INSERT INTO journal (basket_id, seq, op, args, at) VALUES (?, ?, ?, ?, ?)",
                         (basket.id, seq, op, json.dumps(args), time.time()))  # fmt: skip
            closed = time.time() if basket.state.value in ("CLOSED", "CANCELLED") else None
            conn.execute("UPDATE baskets SET state = ?, closed_at = ? WHERE id = ?",
                         (basket.state.value, closed, basket.id))  # fmt: skip
            if op == "verdict":
                line = basket.lines.get(args["line_id"])
                row = (basket.id, args["line_id"], line.key if line else "", args["outcome"], args.get("source"),
                       args.get("req_id"), args.get("req_timestamp"), json.dumps(args.get("fiscal")))  # fmt: skip
                conn.execute("INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
            if op == "payment_result" and basket.state.value == "PAID":
                conn.executemany("INSERT OR IGNORE INTO sold (ki, basket_id, sold_at) VALUES (?, ?, ?)",
                                 [(line.key, basket.id, time.time()) for line in basket.lines.values()
                                  if line.serialized])  # fmt: skip
            if announce:
                payload = {"type": f"basket.{op}", "basket": basket.id, "seq": seq, "state": basket.state.value,
                           "args": args, "total": basket.total}  # fmt: skip
                self._announce(conn, topic, payload, basket.id, seq)
        return result

    @staticmethod
    def _announce(conn: sqlite3.Connection, topic: str, payload: dict[str, Any], basket_id: str, seq: int) -> None:
        conn.execute("INSERT INTO outbox (topic, payload, basket_id, journal_seq, created_at) VALUES (?, ?, ?, ?, ?)",
                     (topic, json.dumps(payload), basket_id, seq, time.time()))  # fmt: skip

    def restore(self) -> list[Basket]:
        """Every basket that is not closed or cancelled, rebuilt from its journal."""
        baskets = []
        rows = self.db.conn.execute(
            "SELECT id, lane FROM baskets WHERE state NOT IN ('CLOSED', 'CANCELLED') ORDER BY opened_at"
        ).fetchall()
        for basket_id, lane in rows:
            basket = Basket(basket_id, lane, self.rules)
            for op, args in self.db.conn.execute(
                "SELECT op, args FROM journal WHERE basket_id = ? ORDER BY seq", (basket_id,)
            ):
                try:
                    _OPS[op](basket, json.loads(args))
                except BasketError as e:  # cannot happen for a journal this code wrote
                    raise RuntimeError(f"journal of {basket_id} does not replay: {op}: {e}") from e
            baskets.append(basket)
        return baskets

    def audit(self, staff: str, device: str, action: str, basket_id: str | None, detail: dict[str, Any]) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT INTO audit (at, staff, device, action, basket_id, detail) VALUES (?, ?, ?, ?, ?, ?)",
                         (time.time(), staff, device, action, basket_id, json.dumps(detail)))  # fmt: skip

    # -- outbox ----------------------------------------------------------------------------
    def unsent(self, limit: int = 100) -> list[tuple[int, str, dict[str, Any]]]:
        rows = self.db.conn.execute(
            "SELECT id, topic, payload FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT ?", (limit,)
        ).fetchall()
        return [(i, t, json.loads(p)) for i, t, p in rows]

    def mark_sent(self, ids: Iterable[int]) -> None:
        with self.transaction() as conn:
            conn.executemany("UPDATE outbox SET sent_at = ? WHERE id = ?", [(time.time(), i) for i in ids])
