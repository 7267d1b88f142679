"""The durable store: SQLite (sqlite-utils) in WAL mode, with migrations.

A basket is its journal: every accepted command is one row, written in the same transaction
as the outbox rows that announce it to other systems (DESIGN.md §2.4). Restoring a basket is
replaying its journal onto a fresh state machine (the machine is pure and every command
carries its time), so after a crash or ``kill -9`` the baskets come back exactly: what was
committed is there once, what was not never happened, and nothing was announced that is not
also in the journal.

Tables: ``catalog``, ``received_codes`` (КИ → КМ), ``baskets``, ``journal``, ``verdicts``,
``sold`` (the store's sold set), ``outbox`` (CloudEvents, drained by ``sync.publisher``),
``audit`` (staff actions), ``requests`` (calls to central with their idempotency keys,
written before the first send), ``payments`` (where each payment attempt stands) and
``sync_state`` (the version of each central → edge stream applied).

When a basket is paid, the same transaction writes its ``transaction.posted`` event (the
sale as central records it) and an EPCIS 2.0 ``retail_sold`` document to the outbox.
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
from edge_agent.sync import envelope
from edge_agent.sync.topics import event_topic, source_of

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
    # 2: sync with central: requests with idempotency keys, payment attempts, stream versions
    """
    CREATE TABLE requests (key TEXT PRIMARY KEY, service TEXT NOT NULL, op TEXT NOT NULL, data TEXT NOT NULL,
                           basket_id TEXT, created_at REAL NOT NULL, answered_at REAL, response TEXT);
    CREATE TABLE payments (id TEXT PRIMARY KEY, basket_id TEXT NOT NULL, method TEXT NOT NULL,
                           amount INTEGER NOT NULL, step TEXT NOT NULL, provider_id TEXT, status TEXT,
                           detail TEXT NOT NULL DEFAULT '{}', created_at REAL NOT NULL, updated_at REAL NOT NULL);
    CREATE INDEX payments_open ON payments (basket_id) WHERE step NOT IN ('done', 'failed', 'refunded');
    CREATE TABLE sync_state (stream TEXT PRIMARY KEY, version INTEGER NOT NULL, updated_at REAL NOT NULL);
    """,
    # 3: the price with a loyalty card (shown on the product page)
    """
    ALTER TABLE catalog ADD COLUMN loyalty_price INTEGER;
    """,
]

#: journal op -> the event type announcing it on ``sco/v1/{store}/{lane}/evt/{type}``
EVENT_TYPES: Final[dict[str, str]] = {
    "add": "basket.line_added", "remove": "basket.line_voided", "verdict": "basket.line_verified",
    "resolve": "basket.problem_resolved", "checkout": "basket.checkout", "identify": "basket.customer_identified",
    "discount": "basket.discount_applied", "drop_discount": "basket.discount_dropped",
    "start_payment": "basket.payment_started", "payment_result": "basket.payment_result",
    "close": "basket.closed", "cancel": "basket.cancelled",
}  # fmt: skip

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
    "identify": lambda b, a: b.identify(a["customer"]),
    "discount": lambda b, a: b.apply_discount({int(k): v for k, v in a["allocation"].items()}, a["hold_id"]),
    "drop_discount": lambda b, a: b.drop_discount(),
    "close": lambda b, a: b.close(),
    "cancel": lambda b, a: b.cancel(),
}  # fmt: skip


class Store:
    def __init__(self, path: Path | str, tz: ZoneInfo, rules: Rules | None = None, epcis_topic: str | None = None,
                 read_point: str = "") -> None:  # fmt: skip
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")  # a committed sale survives a power cut, not only a crash
        conn.execute("PRAGMA foreign_keys=ON")
        self.db = sqlite_utils.Database(conn)
        self.tz = tz
        self.rules = rules or Rules(tz)
        self.epcis_topic = epcis_topic  # where EPCIS documents of sales go (None: not published)
        self.read_point = read_point  # the EPCIS readPoint/bizLocation id of this store
        #: called after a commit that wrote outbox rows (the publisher wakes up); must not block
        self.outbox_listeners: list[Callable[[], None]] = []
        #: called with the basket after each of its commands is committed (screens refresh)
        self.basket_listeners: list[Callable[[Basket], None]] = []
        self._announced = False
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
        self._announced = False
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        if self._announced:
            for listener in self.outbox_listeners:
                listener()

    # -- catalog and codes ------------------------------------------------------------------
    def upsert_products(self, products: Iterable[Product]) -> None:
        rows = [{"gtin": p.gtin, "name": p.name, "price": p.price, "vat": p.vat, "category": p.category,
                 "grp": p.group, "marked": int(p.marked), "min_age": p.min_age, "alcohol": int(p.alcohol),
                 "qty_limit": p.qty_limit, "loyalty_price": p.loyalty_price} for p in products]  # fmt: skip
        with self.transaction():
            self.db.table("catalog").upsert_all(rows, pk="gtin")

    def product(self, gtin: str) -> Product | None:
        row = self.db.conn.execute("SELECT * FROM catalog WHERE gtin = ?", (gtin,)).fetchone()
        if row is None:
            return None
        gtin_, name, price, vat, category, grp, marked, min_age, alcohol, qty_limit, loyalty_price = row
        return Product(gtin_, name, price, vat, category, grp, bool(marked), min_age, bool(alcohol), qty_limit,
                       loyalty_price)  # fmt: skip

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
            self._announce(conn, topic, "basket.opened", {"basket": basket_id, "lane": lane}, basket_id, 0)
        return Basket(basket_id, lane, self.rules)

    def apply(self, basket: Basket, op: str, args: dict[str, Any], topic: str, announce: bool = True,
              also: Callable[[sqlite3.Connection], None] | None = None) -> Any:  # fmt: skip
        """Apply one command; if the basket accepts it, journal it and announce it atomically.

        ``also`` writes more in the same transaction (a payment attempt's step, say). A command
        the basket refuses (BasketError) leaves no trace and is re-raised."""
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
            paid = op == "payment_result" and basket.state.value == "PAID"
            if paid:
                conn.executemany("INSERT OR IGNORE INTO sold (ki, basket_id, sold_at) VALUES (?, ?, ?)",
                                 [(line.key, basket.id, time.time()) for line in basket.lines.values()
                                  if line.serialized])  # fmt: skip
            if announce:
                data = {"basket": basket.id, "state": basket.state.value, "args": args, "total": basket.total}
                self._announce(conn, topic, EVENT_TYPES[op], data, basket.id, seq)
            if paid:
                self._announce(conn, topic, "transaction.posted", posted_transaction(basket, args), basket.id, seq)
                if self.epcis_topic is not None and any(line.serialized for line in basket.lines.values()):
                    doc = epcis_sold(basket, self.tz, self.read_point)
                    self._announce(conn, topic, "epcis.document", doc, basket.id, seq, self.epcis_topic)
            if also is not None:
                also(conn)
        for listener in self.basket_listeners:
            listener(basket)
        return result

    def _announce(self, conn: sqlite3.Connection, lane_prefix: str, type_: str, data: dict[str, Any], basket_id: str,
                  seq: int, topic: str | None = None) -> None:  # fmt: skip
        self._announced = True
        ev = envelope.event(source_of(lane_prefix), type_, data, subject=f"basket/{basket_id}", seq=seq)
        conn.execute("INSERT INTO outbox (topic, payload, basket_id, journal_seq, created_at) VALUES (?, ?, ?, ?, ?)",
                     (topic or event_topic(lane_prefix, type_), envelope.encode(ev).decode(), basket_id, seq,
                      time.time()))  # fmt: skip

    def announce(self, lane_prefix: str, type_: str, data: dict[str, Any], basket_id: str = "") -> None:
        """One event that is not a journal command (alerts, payment facts), durably queued."""
        with self.transaction() as conn:
            self._announce(conn, lane_prefix, type_, data, basket_id, 0)

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
    def unsent(self, limit: int = 100, after: int = 0) -> list[tuple[int, str, dict[str, Any]]]:
        return [(i, t, json.loads(p)) for i, t, p in self.unsent_raw(limit, after)]

    def unsent_raw(self, limit: int = 100, after: int = 0) -> list[tuple[int, str, str]]:
        """Undelivered outbox rows with id > ``after``, oldest first: (id, topic, CloudEvent JSON)."""
        rows: list[tuple[int, str, str]] = self.db.conn.execute(
            "SELECT id, topic, payload FROM outbox WHERE sent_at IS NULL AND id > ? ORDER BY id LIMIT ?",
            (after, limit),
        ).fetchall()
        return rows

    def outbox_depth(self) -> int:
        return int(self.db.conn.execute("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0])

    def mark_sent(self, ids: Iterable[int]) -> None:
        """Delivered: the broker acknowledged these rows (PUBACK), never merely sent."""
        with self.transaction() as conn:
            now = time.time()
            conn.executemany("UPDATE outbox SET sent_at = ? WHERE id = ?", [(now, i) for i in ids])

    # -- requests to central (idempotency keys persisted before the first send) ------------------
    def request_record(self, key: str) -> tuple[str, str, dict[str, Any], dict[str, Any] | None] | None:
        row = self.db.conn.execute("SELECT service, op, data, response FROM requests WHERE key = ?",
                                   (key,)).fetchone()  # fmt: skip
        if row is None:
            return None
        service, op, data, response = row
        return service, op, json.loads(data), None if response is None else json.loads(response)

    def record_request(self, key: str, service: str, op: str, data: dict[str, Any], basket_id: str | None) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO requests (key, service, op, data, basket_id, created_at) "
                         "VALUES (?, ?, ?, ?, ?, ?)",
                         (key, service, op, json.dumps(data), basket_id, time.time()))  # fmt: skip

    def record_response(self, key: str, response: dict[str, Any]) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE requests SET response = ?, answered_at = ? WHERE key = ?",
                         (json.dumps(response), time.time(), key))  # fmt: skip

    def answers(self, basket_id: str, service: str, op: str) -> list[tuple[str, dict[str, Any]]]:
        """Answered requests of one kind for a basket: (key, response)."""
        rows = self.db.conn.execute(
            "SELECT key, response FROM requests WHERE basket_id = ? AND service = ? AND op = ? "
            "AND response IS NOT NULL ORDER BY created_at", (basket_id, service, op))  # fmt: skip
        return [(k, json.loads(r)) for k, r in rows]

    # -- payment attempts ------------------------------------------------------------------
    def payment_row(self, payment_id: str) -> dict[str, Any] | None:
        row = self.db.conn.execute("SELECT id, basket_id, method, amount, step, provider_id, status, detail "
                                   "FROM payments WHERE id = ?", (payment_id,)).fetchone()  # fmt: skip
        if row is None:
            return None
        keys = ("id", "basket_id", "method", "amount", "step", "provider_id", "status", "detail")
        out = dict(zip(keys, row, strict=True))
        out["detail"] = json.loads(out["detail"])
        return out

    def payments_of(self, basket_id: str) -> list[dict[str, Any]]:
        ids = [r[0] for r in self.db.conn.execute("SELECT id FROM payments WHERE basket_id = ? ORDER BY created_at",
                                                  (basket_id,))]  # fmt: skip
        return [row for i in ids if (row := self.payment_row(i)) is not None]

    def open_payments(self) -> list[dict[str, Any]]:
        ids = [r[0] for r in self.db.conn.execute(
            "SELECT id FROM payments WHERE step NOT IN ('done', 'failed', 'refunded') "
            "ORDER BY created_at")]  # fmt: skip
        return [row for i in ids if (row := self.payment_row(i)) is not None]

    def save_payment(self, payment_id: str, basket_id: str, method: str, amount: int, step: str,
                     provider_id: str | None = None, status: str | None = None,
                     detail: dict[str, Any] | None = None, conn: sqlite3.Connection | None = None) -> None:  # fmt: skip
        """Insert or move a payment attempt; inside ``conn``'s transaction when given."""
        if conn is None:
            with self.transaction() as tx:
                self.save_payment(payment_id, basket_id, method, amount, step, provider_id, status, detail, tx)
            return
        now = time.time()
        conn.execute(
            "INSERT INTO payments (id, basket_id, method, amount, step, provider_id, status, detail, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET step = excluded.step,"
            " provider_id = COALESCE(excluded.provider_id, provider_id), status = COALESCE(excluded.status, status),"
            " detail = excluded.detail, updated_at = excluded.updated_at",
            (payment_id, basket_id, method, amount, step, provider_id, status, json.dumps(detail or {}), now, now),
        )

    # -- central → edge streams ------------------------------------------------------------
    def stream_version(self, stream: str) -> int:
        row = self.db.conn.execute("SELECT version FROM sync_state WHERE stream = ?", (stream,)).fetchone()
        return -1 if row is None else int(row[0])

    def apply_stream(self, stream: str, version: int, snapshot: bool, data: dict[str, Any]) -> None:
        """Catalog or received codes, snapshot (replaces) or delta, with its version: one transaction."""
        with self.transaction() as conn:
            if stream == "catalog":
                if snapshot:
                    conn.execute("DELETE FROM catalog")
                for gtin in data.get("delete", []):
                    conn.execute("DELETE FROM catalog WHERE gtin = ?", (gtin,))
                rows = [Product(**p) for p in data.get("products", [])]
                conn.executemany(
                    "INSERT OR REPLACE INTO catalog (gtin, name, price, vat, category, grp, marked, min_age, alcohol,"
                    " qty_limit, loyalty_price) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(p.gtin, p.name, p.price, p.vat, p.category, p.group, int(p.marked), p.min_age, int(p.alcohol),
                      p.qty_limit, p.loyalty_price) for p in rows],
                )  # fmt: skip
            else:
                if snapshot:
                    conn.execute("DELETE FROM received_codes")
                now = time.time()
                conn.executemany("INSERT OR REPLACE INTO received_codes (ki, mark_code, received_at) VALUES (?, ?, ?)",
                                 [(ki, km, now) for ki, km in data.get("codes", {}).items()])  # fmt: skip
            conn.execute("INSERT OR REPLACE INTO sync_state (stream, version, updated_at) VALUES (?, ?, ?)",
                         (stream, version, time.time()))  # fmt: skip


def posted_transaction(basket: Basket, args: dict[str, Any]) -> dict[str, Any]:
    """The sale as central records it (POSLog-inspired names, flows.md §4.1): lines with their
    discounts and mark codes, the tender, the loyalty customer and hold."""
    lines = [{"lineSeq": line.id, "gtin": line.gtin, "ki": line.key if line.serialized else None, "name": line.name,
              "category": line.category, "unitPriceKop": line.price, "discountKop": line.discount,
              "extendedKop": line.amount, "markingCode": line.mark_code, "fiscal1265": line.fiscal_1265}
             for line in basket.lines.values()]  # fmt: skip
    return {"transactionId": basket.id, "lane": basket.lane, "lines": lines, "totalKop": basket.total,
            "discountKop": basket.discount, "tender": args.get("tender"), "customer": basket.customer,
            "loyaltyHold": basket.hold_id, "paidAt": args.get("at")}  # fmt: skip


def epcis_sold(basket: Basket, tz: ZoneInfo, read_point: str) -> dict[str, Any]:
    """An EPCIS 2.0 document with one ObjectEvent: the basket's serialized items are retail_sold
    (flows.md §4.2). Items are named by GS1 Digital Link URIs, which EPCIS 2.0 accepts."""
    from urllib.parse import quote

    now = datetime.now(tz)
    stamp = now.isoformat(timespec="milliseconds")
    epcs = [f"https://id.gs1.org/01/{line.gtin}/21/{quote(line.key[18:], safe='')}"
            for line in basket.lines.values() if line.serialized]  # fmt: skip
    event: dict[str, Any] = {
        "type": "ObjectEvent", "eventID": f"urn:uuid:{envelope.new_id()}", "eventTime": stamp,
        "eventTimeZoneOffset": stamp[-6:], "action": "OBSERVE", "bizStep": "retail_selling",
        "disposition": "retail_sold", "epcList": epcs,
        "bizTransactionList": [{"type": "urn:edge-agent:btt:sale",
                                "bizTransaction": f"urn:edge-agent:sale:{basket.id}"}],
    }  # fmt: skip
    if read_point:
        event["readPoint"] = {"id": f"{read_point}.{basket.lane}"}
        event["bizLocation"] = {"id": read_point}
    return {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"], "type": "EPCISDocument",
            "schemaVersion": "2.0", "creationDate": stamp, "epcisBody": {"eventList": [event]}}  # fmt: skip
