"""The durable store: SQLite (sqlite-utils) in WAL mode, with migrations.

A basket is its journal: every accepted command is one row, written in the same transaction
as the outbox rows that announce it to other systems (docs/architecture.md). Restoring a basket is
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

import contextlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import sqlite_utils

from edge_agent.basket import Basket, BasketError, Product, Rules
from edge_agent.basket.commands import Command, PaymentResult, Verdict, from_journal
from edge_agent.errors import EdgeError
from edge_agent.wire import envelope
from edge_agent.wire.events import (
    EPCIS,
    EVENT_TYPES,
    GATE_ALARM,
    OPENED,
    POSTED,
    basket_event,
    epcis_sold,
    posted_transaction,
)
from edge_agent.wire.topics import StoreTopics

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
    # 4: baskets whose journal does not replay: kept as they are, out of sale, shown to staff
    """
    CREATE TABLE quarantine (basket_id TEXT PRIMARY KEY, lane TEXT NOT NULL, reason TEXT NOT NULL, at REAL NOT NULL);
    """,
    # 5: returns of past sales at the staff handheld (docs/fiscal.md): the lines, the steps
    """
    CREATE TABLE returns (id TEXT PRIMARY KEY, basket_id TEXT NOT NULL, lane TEXT NOT NULL, lines TEXT NOT NULL,
                          amount INTEGER NOT NULL, step TEXT NOT NULL, staff TEXT NOT NULL,
                          detail TEXT NOT NULL DEFAULT '{}', created_at REAL NOT NULL, updated_at REAL NOT NULL);
    CREATE INDEX returns_open ON returns (basket_id) WHERE step NOT IN ('done', 'failed');
    """,
    # 6: end-to-end confirmation (docs/mqtt.md): a row waits for central's confirmation, by its
    # event id, when it asked for one; rows written before this waited for the PUBACK only
    """
    ALTER TABLE outbox ADD COLUMN event_id TEXT;
    ALTER TABLE outbox ADD COLUMN confirm INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN confirmed_at REAL;
    UPDATE outbox SET event_id = json_extract(payload, '$.id'), confirmed_at = sent_at;
    CREATE INDEX outbox_event ON outbox (event_id);
    CREATE INDEX outbox_unconfirmed ON outbox (id) WHERE confirmed_at IS NULL;
    """,
    # 7: device credentials (docs/security.md): a kiosk is bound to its lane, a handheld to its
    # staff reader; a device may hold several (its browser's cookie, a program's token); only
    # each token's SHA-256 is kept, and an enrolment code is good once
    """
    CREATE TABLE devices (token_sha256 TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, lane TEXT,
                          reader TEXT, enrol_sha256 TEXT UNIQUE, enrol_expires REAL, created_at REAL NOT NULL,
                          revoked_at REAL);
    CREATE INDEX devices_name ON devices (name);
    """,
    # 8: the health of readers, registers, verification and the broker over time (the store
    # dashboard): one row per change of a component's state, not per sample
    """
    CREATE TABLE health (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, component TEXT NOT NULL,
                         ok INTEGER NOT NULL, detail TEXT NOT NULL DEFAULT '');
    CREATE INDEX health_component ON health (component, at);
    """,
    # 9: exit gates and cloned tags (docs/readers.md): each item's EPC bound to its chip's TID
    # (sent by central with the received codes, or learnt at its first sale), and the gates'
    # alarms until staff deal with them
    """
    CREATE TABLE tid_bindings (ki TEXT PRIMARY KEY, tid TEXT NOT NULL, source TEXT NOT NULL, bound_at REAL NOT NULL);
    CREATE TABLE gate_alarms (id INTEGER PRIMARY KEY AUTOINCREMENT, gate TEXT NOT NULL, epc TEXT NOT NULL,
                              ki TEXT, gtin TEXT, name TEXT, reason TEXT NOT NULL, first_read_at REAL NOT NULL,
                              at REAL NOT NULL, resolved_at REAL, resolved_by TEXT);
    CREATE INDEX gate_alarms_open ON gate_alarms (id) WHERE resolved_at IS NULL;
    """,
]


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A basket whose journal does not replay: out of sale until staff deal with it."""

    basket_id: str
    lane: str
    reason: str
    since: float


class StoreError(EdgeError):
    """The database cannot write now (code ``store_unavailable``); nothing of the command stayed."""


#: SQLite primary result codes that mean the storage cannot take writes now (full, I/O error,
#: read-only, cannot open, busy or locked past the timeout, out of memory, corrupt, not a database)
STORAGE_FAULTS: Final = frozenset({13, 10, 8, 14, 5, 6, 7, 11, 26})
PROBE_BYTES: Final = 32_768  # what a probe write needs room for: more than a basket command takes


class Store:
    """The store's SQLite database. ``topics`` is this store's MQTT layout: a basket's events
    go to its lane's topic, sales' EPCIS documents to the store's trace topic."""

    def __init__(
        self,
        path: Path | str,
        tz: ZoneInfo,
        topics: StoreTopics | None = None,
        *,
        rules: Rules | None = None,
        read_point: str = "",
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db = sqlite_utils.Database(conn)
        #: why the database cannot be written right now (a full disk, say), and since when
        self.fault: str | None = None
        self.fault_since: float | None = None
        #: called with the new fault (None: writable again) on every change, never per write
        self.fault_listeners: list[Callable[[str | None], None]] = []
        self.tz = tz
        self.topics = topics or StoreTopics("local")
        self.rules = rules or Rules(tz)
        self.read_point = read_point  # the EPCIS readPoint/bizLocation id of this store
        #: bind each sold item's EPC to the TID it was read with ([tags] learn_tid_at_sale)
        self.learn_tids = False
        #: where central confirms the events it stored (the agent's response topic), set by sync when
        #: end-to-end confirmation is on; None: an event is delivered on its PUBACK
        self.confirm_to: str | None = None
        #: called after a commit that wrote outbox rows (the publisher wakes up); must not block
        self.outbox_listeners: list[Callable[[], None]] = []
        #: called with the basket after each of its commands is committed (screens refresh)
        self.basket_listeners: list[Callable[[Basket], None]] = []
        self._announced = False
        self._opened = False
        self._snapshot: sqlite3.Connection | None = None
        self.quarantined: list[Quarantined] = []  # found by the last ``restore()``
        with contextlib.suppress(StoreError):  # a full disk at start-up: health is served, sales refused
            self._open()

    def _open(self) -> None:
        conn = self.db.conn
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")  # a committed sale survives a power cut, not only a crash
            conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.OperationalError as e:
            self._failed(e)
        self.migrate()
        self._opened = True
        if self._snapshot is not None:  # reads go to the database again
            self._snapshot.close()
            self._snapshot = None

    @property
    def _reads(self) -> sqlite3.Connection:
        """Where reads go: the database, or, when it could not even be opened for writing (a full
        disk at start-up leaves no room for SQLite's WAL index), a read-only snapshot of it, so
        the baskets are still shown and health still answers."""
        if self._opened:
            return self.db.conn
        if self._snapshot is None:
            snapshot = sqlite3.connect(f"file:{self.path}?immutable=1", uri=True, check_same_thread=False)
            try:
                version = snapshot.execute("PRAGMA user_version").fetchone()[0]
            except sqlite3.DatabaseError:
                version = 0
            if version < len(MIGRATIONS):  # never created (the first start, on a full disk): empty
                snapshot.close()
                snapshot = sqlite3.connect(":memory:", check_same_thread=False)
                for script in MIGRATIONS:
                    snapshot.executescript(script)
            self._snapshot = snapshot
        return self._snapshot

    # -- faults ---------------------------------------------------------------------------------
    def _failed(self, error: sqlite3.OperationalError) -> None:
        if (getattr(error, "sqlite_errorcode", 0) & 0xFF) not in STORAGE_FAULTS:
            raise error  # a misuse (a transaction within a transaction, say): a bug, not a full disk
        reason = str(error) or type(error).__name__
        if self.fault != reason:
            self.fault, self.fault_since = reason, self.fault_since or time.time()
            for listener in self.fault_listeners:
                listener(reason)
        raise StoreError("store_unavailable", f"the store cannot write: {reason}") from error

    def _recovered(self) -> None:
        if self.fault is not None:
            self.fault = self.fault_since = None
            for listener in self.fault_listeners:
                listener(None)

    def probe(self) -> bool:
        """Try a small write (and finish opening the database if it never could); True when the
        store can write again. Called now and then while ``fault`` is set, never per read."""
        try:
            if not self._opened:
                self._open()
            with self.transaction() as conn:  # room for a few commands' worth, then given back
                conn.execute("CREATE TABLE IF NOT EXISTS probe (room BLOB)")
                conn.execute("INSERT INTO probe VALUES (zeroblob(?))", (PROBE_BYTES,))
                conn.execute("DELETE FROM probe")
        except StoreError:
            return False
        return True

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
        """One write transaction. A database that cannot write (``sqlite3.OperationalError``:
        a full disk, an I/O error) raises ``StoreError`` and sets ``fault``; the next commit
        that succeeds clears it."""
        conn = self.db.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            self._failed(e)
        self._announced = False
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as e:
            with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back already
                conn.execute("ROLLBACK")
            if isinstance(e, sqlite3.OperationalError):
                self._failed(e)
            raise
        self._recovered()
        if self._announced:
            for listener in self.outbox_listeners:
                listener()

    # -- catalog and codes ------------------------------------------------------------------
    def upsert_products(self, products: Iterable[Product]) -> None:
        rows = [
            {
                "gtin": p.gtin,
                "name": p.name,
                "price": p.price,
                "vat": p.vat,
                "category": p.category,
                "grp": p.group,
                "marked": int(p.marked),
                "min_age": p.min_age,
                "alcohol": int(p.alcohol),
                "qty_limit": p.qty_limit,
                "loyalty_price": p.loyalty_price,
            }
            for p in products
        ]
        with self.transaction():
            self.db.table("catalog").upsert_all(rows, pk="gtin")

    def product(self, gtin: str) -> Product | None:
        row = self._reads.execute("SELECT * FROM catalog WHERE gtin = ?", (gtin,)).fetchone()
        if row is None:
            return None
        gtin_, name, price, vat, category, grp, marked, min_age, alcohol, qty_limit, loyalty_price = row
        return Product(
            gtin_, name, price, vat, category, grp, bool(marked), min_age, bool(alcohol), qty_limit, loyalty_price
        )

    def receive_codes(self, pairs: Iterable[tuple[str, str]]) -> None:
        now = time.time()
        with self.transaction():
            self.db.table("received_codes").upsert_all(
                [{"ki": ki, "mark_code": km, "received_at": now} for ki, km in pairs], pk="ki"
            )

    def mark_code_for(self, ki: str) -> str | None:
        row = self._reads.execute("SELECT mark_code FROM received_codes WHERE ki = ?", (ki,)).fetchone()
        return None if row is None else str(row[0])

    def verdicts_of(self, ki: str) -> list[tuple[str, str, str | None, str | None, int | None]]:
        """Every verdict an item had here: (basket, outcome, source, reqId, reqTimestamp), oldest first."""
        rows: list[tuple[str, str, str | None, str | None, int | None]] = self._reads.execute(
            "SELECT basket_id, outcome, source, req_id, req_timestamp FROM verdicts WHERE ki = ? ORDER BY rowid", (ki,)
        ).fetchall()
        return rows

    def bind_tids(self, tids: Mapping[str, str], source: str) -> None:
        """Bind items (КИ) to their chips' TIDs (hex); central's replace, a sale's never overwrite."""
        verb = "INSERT OR REPLACE" if source == "central" else "INSERT OR IGNORE"
        with self.transaction() as conn:
            conn.executemany(
                f"{verb} INTO tid_bindings (ki, tid, source, bound_at) VALUES (?, ?, ?, ?)",
                [(ki, tid.upper(), source, time.time()) for ki, tid in tids.items()],
            )

    def tid_of(self, ki: str) -> str | None:
        row = self._reads.execute("SELECT tid FROM tid_bindings WHERE ki = ?", (ki,)).fetchone()
        return None if row is None else str(row[0])

    def record_gate_alarm(self, alarm: dict[str, Any]) -> int:
        """A gate alarm and its event for central (``gate.alarm``), in one transaction."""
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO gate_alarms (gate, epc, ki, gtin, name, reason, first_read_at, at) "
                "VALUES (:gate, :epc, :ki, :gtin, :name, :reason, :first_read_at, :at)",
                alarm,
            )
            alarm_id = int(cur.lastrowid or 0)
            self._announce(conn, alarm["gate"], GATE_ALARM, {**alarm, "id": alarm_id}, "", 0)
        return alarm_id

    def gate_alarms(self, open_only: bool = True) -> list[dict[str, Any]]:
        keys = (
            "id",
            "gate",
            "epc",
            "ki",
            "gtin",
            "name",
            "reason",
            "first_read_at",
            "at",
            "resolved_at",
            "resolved_by",
        )
        where = " WHERE resolved_at IS NULL" if open_only else ""
        cur = self._reads.execute(f"SELECT {', '.join(keys)} FROM gate_alarms{where} ORDER BY id")
        return [dict(zip(keys, row, strict=True)) for row in cur]

    def resolve_gate_alarm(self, alarm_id: int, staff: str) -> bool:
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE gate_alarms SET resolved_at = ?, resolved_by = ? WHERE id = ? AND resolved_at IS NULL",
                (time.time(), staff, alarm_id),
            )
            return cur.rowcount == 1

    def sold_here(self, ki: str) -> bool:
        return self._reads.execute("SELECT 1 FROM sold WHERE ki = ?", (ki,)).fetchone() is not None

    # -- baskets ----------------------------------------------------------------------------
    def open_basket(self, basket_id: str, lane: str) -> Basket:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO baskets (id, lane, state, opened_at) VALUES (?, ?, 'OPEN', ?)",
                (basket_id, lane, time.time()),
            )
            self._announce(conn, lane, OPENED, {"basket": basket_id, "lane": lane}, basket_id, 0)
        return Basket(basket_id, lane, self.rules)

    def apply(
        self,
        basket: Basket,
        command: Command,
        announce: bool = True,
        also: Callable[[sqlite3.Connection], None] | None = None,
    ) -> Any:
        """Run one command; if the basket accepts it, journal and announce it atomically, and only
        then does the live basket change (a failed write leaves it as it was).

        ``also`` writes more in the same transaction (a payment attempt's step, say). A command
        the basket refuses (BasketError) leaves no trace and is re-raised."""
        draft = basket.draft()
        result = command.apply(draft)  # may raise BasketError: then nothing is written
        args = command.args()
        with self.transaction() as conn:
            seq = conn.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM journal WHERE basket_id = ?", (basket.id,)
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO journal (basket_id, seq, op, args, at) VALUES (?, ?, ?, ?, ?)",
                (basket.id, seq, command.op, json.dumps(args), time.time()),
            )
            closed = time.time() if draft.state.value in ("CLOSED", "CANCELLED") else None
            conn.execute(
                "UPDATE baskets SET state = ?, closed_at = ? WHERE id = ?", (draft.state.value, closed, basket.id)
            )
            if isinstance(command, Verdict):
                line = draft.lines.get(command.line_id)
                row = (
                    basket.id,
                    command.line_id,
                    line.key if line else "",
                    command.outcome,
                    command.source,
                    command.req_id,
                    command.req_timestamp,
                    json.dumps(command.fiscal),
                )
                conn.execute("INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
            paid = isinstance(command, PaymentResult) and draft.state.value == "PAID"
            if paid:
                conn.executemany(
                    "INSERT OR IGNORE INTO sold (ki, basket_id, sold_at) VALUES (?, ?, ?)",
                    [(line.key, basket.id, time.time()) for line in draft.lines.values() if line.serialized],
                )
                if self.learn_tids:  # the chip each item was sold on: a copy of its EPC is told apart later
                    conn.executemany(
                        "INSERT OR IGNORE INTO tid_bindings (ki, tid, source, bound_at) VALUES (?, ?, 'sale', ?)",
                        [
                            (line.key, line.tid.upper(), time.time())
                            for line in draft.lines.values()
                            if line.serialized and line.tid
                        ],
                    )
            if announce:
                self._announce(conn, basket.lane, EVENT_TYPES[command.op], basket_event(draft, args), basket.id, seq)
            if paid:
                tender = args.get("tender")
                self._announce(
                    conn, basket.lane, POSTED, posted_transaction(draft, tender, args.get("at")), basket.id, seq
                )
                if any(line.serialized for line in draft.lines.values()):
                    doc = epcis_sold(draft, self.tz, self.read_point)
                    self._announce(conn, basket.lane, EPCIS, doc, basket.id, seq, self.topics.epcis)
            if also is not None:
                also(conn)
        basket.adopt(draft)
        for listener in self.basket_listeners:
            listener(basket)
        return result

    def _announce(
        self,
        conn: sqlite3.Connection,
        lane: str,
        type_: str,
        data: dict[str, Any],
        basket_id: str,
        seq: int,
        topic: str | None = None,
    ) -> None:
        self._announced = True
        ev = envelope.event(
            self.topics.lane_source(lane), type_, data, subject=f"basket/{basket_id}", seq=seq, replyto=self.confirm_to
        )
        conn.execute(
            "INSERT INTO outbox (topic, payload, basket_id, journal_seq, created_at, event_id, confirm) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                topic or self.topics.lane_event(lane, type_),
                envelope.encode(ev).decode(),
                basket_id,
                seq,
                time.time(),
                ev.id,
                self.confirm_to is not None,
            ),
        )

    def announce(
        self, lane: str, type_: str, data: dict[str, Any], basket_id: str = "", conn: sqlite3.Connection | None = None
    ) -> None:
        """One event of a lane that is not a journal command (alerts, payment facts), durably
        queued; inside ``conn``'s transaction when given."""
        if conn is not None:
            self._announce(conn, lane, type_, data, basket_id, 0)
            return
        with self.transaction() as tx:
            self._announce(tx, lane, type_, data, basket_id, 0)

    def restore(self) -> list[Basket]:
        """Every basket that is not closed or cancelled, rebuilt from its journal. A basket whose
        journal does not replay is quarantined instead (``quarantined``): kept as it is on disk,
        out of sale, reported; every other basket is restored."""
        baskets: list[Basket] = []
        self.quarantined = []
        held = {b: (lane, reason, at) for b, lane, reason, at in self._reads.execute("SELECT * FROM quarantine")}
        rows = self._reads.execute(
            "SELECT id, lane FROM baskets WHERE state NOT IN ('CLOSED', 'CANCELLED') ORDER BY opened_at"
        ).fetchall()
        for basket_id, lane in rows:
            if basket_id in held:
                self.quarantined.append(Quarantined(basket_id, *held[basket_id]))
                continue
            try:
                baskets.append(self._replay(basket_id, lane))
            except (BasketError, KeyError, ValueError, TypeError) as e:  # a journal this code did not write
                reason = f"{type(e).__name__}: {e}"
                self.quarantined.append(Quarantined(basket_id, lane, reason, time.time()))
                with contextlib.suppress(StoreError), self.transaction() as conn:
                    conn.execute(
                        "INSERT OR IGNORE INTO quarantine VALUES (?, ?, ?, ?)", (basket_id, lane, reason, time.time())
                    )
        return baskets

    def _replay(self, basket_id: str, lane: str) -> Basket:
        basket = Basket(basket_id, lane, self.rules)
        rows = self._reads.execute("SELECT seq, op, args FROM journal WHERE basket_id = ? ORDER BY seq", (basket_id,))
        for seq, op, args in rows:
            try:
                from_journal(op, json.loads(args)).apply(basket)
            except BasketError as e:
                raise BasketError(e.code, f"journal row {seq} ({op}) does not replay: {e.message}") from e
        return basket

    # -- the manager's dashboard (dashboard.py) ---------------------------------------------------
    def dashboard_rows(self, since: float) -> tuple[list[Any], list[tuple[str, str | None]]]:
        """Baskets opened since ``since`` with their journals, and their verdicts."""
        from edge_agent.dashboard import BasketRecord

        reads = self._reads
        journals: dict[str, list[tuple[str, str, float]]] = {}
        for basket_id, op, args, at in reads.execute(
            "SELECT j.basket_id, j.op, j.args, j.at FROM journal j JOIN baskets b ON b.id = j.basket_id "
            "WHERE b.opened_at >= ? ORDER BY j.basket_id, j.seq",
            (since,),
        ):
            journals.setdefault(basket_id, []).append((op, args, at))
        baskets = [
            BasketRecord(i, lane, state, opened, journals.get(i, []))
            for i, lane, state, opened in reads.execute(
                "SELECT id, lane, state, opened_at FROM baskets WHERE opened_at >= ? ORDER BY opened_at", (since,)
            )
        ]
        verdicts = reads.execute(
            "SELECT v.outcome, v.source FROM verdicts v JOIN baskets b ON b.id = v.basket_id WHERE b.opened_at >= ?",
            (since,),
        ).fetchall()
        return baskets, [(str(o), s) for o, s in verdicts]

    # -- device credentials (security/devices.py) -------------------------------------------------
    def put_device(self, row: dict[str, Any]) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO devices (name, kind, lane, reader, token_sha256, enrol_sha256, "
                "enrol_expires, created_at) VALUES (:name, :kind, :lane, :reader, :token_sha256, "
                ":enrol_sha256, :enrol_expires, :created_at)",
                row,
            )

    def device(self, column: str, digest: str) -> dict[str, Any] | None:
        """The live device whose token (``token_sha256``) or enrolment code (``enrol_sha256``) this is."""
        assert column in ("token_sha256", "enrol_sha256")
        cur = self._reads.execute(
            f"SELECT name, kind, lane, reader, enrol_expires FROM devices WHERE {column} = ? AND revoked_at IS NULL",
            (digest,),
        )
        row = cur.fetchone()
        return None if row is None else dict(zip(("name", "kind", "lane", "reader", "enrol_expires"), row, strict=True))

    def enrolled(self, enrol_sha256: str, token_sha256: str) -> bool:
        """Spend an enrolment code on the token its browser gets: the code is good once."""
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE devices SET token_sha256 = ?, enrol_sha256 = NULL, enrol_expires = NULL "
                "WHERE enrol_sha256 = ? AND revoked_at IS NULL",
                (token_sha256, enrol_sha256),
            )
            return cur.rowcount == 1

    def revoke_device(self, name: str) -> bool:
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE devices SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", (time.time(), name)
            )
            return cur.rowcount > 0

    def devices(self) -> list[dict[str, Any]]:
        cur = self._reads.execute(
            "SELECT name, kind, lane, reader, MIN(created_at), COUNT(*), MAX(revoked_at) "
            "FROM devices GROUP BY name, kind, lane, reader ORDER BY name"
        )
        keys = ("name", "kind", "lane", "reader", "created_at", "credentials", "revoked_at")
        return [dict(zip(keys, r, strict=True)) for r in cur]

    def audit(self, staff: str, device: str, action: str, basket_id: str | None, detail: dict[str, Any]) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO audit (at, staff, device, action, basket_id, detail) VALUES (?, ?, ?, ?, ?, ?)",
                (time.time(), staff, device, action, basket_id, json.dumps(detail)),
            )

    # -- component health over time (dashboard.py: availability) ---------------------------
    def record_health(self, changes: Sequence[tuple[str, bool, str]], at: float, keep_s: float) -> None:
        """Write each component whose state changed; forget rows older than ``keep_s``."""
        with self.transaction() as conn:
            conn.executemany(
                "INSERT INTO health (at, component, ok, detail) VALUES (?, ?, ?, ?)",
                [(at, c, int(ok), detail) for c, ok, detail in changes],
            )
            conn.execute(
                "DELETE FROM health WHERE at < ? AND id NOT IN (SELECT MAX(id) FROM health GROUP BY component)",
                (at - keep_s,),
            )

    def health_rows(self, since: float) -> list[tuple[str, float, bool, str]]:
        """Each component's state at ``since`` (its last change before it) and every change after."""
        cur = self._reads.execute(
            "SELECT component, at, ok, detail FROM health h WHERE at >= ? OR id = "
            "(SELECT MAX(id) FROM health p WHERE p.component = h.component AND p.at < ?) "
            "ORDER BY at, id",
            (since, since),
        )
        return [(c, at, bool(ok), d) for c, at, ok, d in cur]

    # -- outbox ----------------------------------------------------------------------------
    def unsent(self, limit: int = 100, after: int = 0) -> list[tuple[int, str, dict[str, Any]]]:
        return [(i, t, json.loads(p)) for i, t, p in self.unsent_raw(limit, after)]

    def unsent_raw(self, limit: int = 100, after: int = 0) -> list[tuple[int, str, str]]:
        """Undelivered outbox rows with id > ``after``, oldest first: (id, topic, CloudEvent JSON)."""
        rows: list[tuple[int, str, str]] = self._reads.execute(
            "SELECT id, topic, payload FROM outbox WHERE sent_at IS NULL AND id > ? ORDER BY id LIMIT ?",
            (after, limit),
        ).fetchall()
        return rows

    def outbox_depth(self) -> int:
        return int(self._reads.execute("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0])

    def mark_sent(self, ids: Iterable[int]) -> None:
        """The broker acknowledged these rows (PUBACK), never merely sent. A row that asked for
        central's confirmation stays unconfirmed until it comes."""
        with self.transaction() as conn:
            now = time.time()
            conn.executemany(
                "UPDATE outbox SET sent_at = ?, confirmed_at = CASE WHEN confirm = 0 THEN ? "
                "ELSE confirmed_at END WHERE id = ?",
                [(now, now, i) for i in ids],
            )

    def confirm(self, event_ids: Sequence[str]) -> int:
        """Central stored these events: their rows are confirmed (kept for replays until pruned)."""
        if not event_ids:
            return 0
        with self.transaction() as conn:
            now = time.time()
            return sum(
                conn.execute(
                    "UPDATE outbox SET confirmed_at = ? WHERE event_id = ? AND confirmed_at IS NULL", (now, i)
                ).rowcount
                for i in event_ids
            )

    def requeue_unconfirmed(self, acked_before: float) -> list[int]:
        """Rows the broker acknowledged before ``acked_before`` that central never confirmed:
        unsent again (the publisher sends them again, same event id). Returns their ids."""
        with self.transaction() as conn:
            rows = conn.execute(
                "UPDATE outbox SET sent_at = NULL WHERE confirmed_at IS NULL AND sent_at IS NOT NULL "
                "AND sent_at < ? RETURNING id",
                (acked_before,),
            ).fetchall()
        return sorted(r[0] for r in rows)

    def requeue(self, basket_id: str, seqs: Sequence[int]) -> list[int]:
        """Central asks for a basket's events again (a gap in its ``seq``): the rows still kept
        are unsent again. Returns their ids."""
        with self.transaction() as conn:
            marks = ",".join("?" * len(seqs))
            rows = conn.execute(
                f"UPDATE outbox SET sent_at = NULL WHERE basket_id = ? AND journal_seq IN ({marks}) RETURNING id",
                (basket_id, *seqs),
            ).fetchall()
        return sorted(r[0] for r in rows)

    def unconfirmed(self) -> tuple[int, float | None]:
        """Events central has not confirmed yet: how many, and when the oldest was written."""
        n, oldest = self._reads.execute(
            "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE confirmed_at IS NULL"
        ).fetchone()
        return int(n), oldest

    def prune_outbox(self, confirmed_before: float) -> int:
        """Forget confirmed rows older than the retention; never an unconfirmed one."""
        with self.transaction() as conn:
            return conn.execute(
                "DELETE FROM outbox WHERE confirmed_at IS NOT NULL AND confirmed_at < ?", (confirmed_before,)
            ).rowcount

    # -- requests to central (idempotency keys persisted before the first send) ------------------
    def request_record(self, key: str) -> tuple[str, str, dict[str, Any], dict[str, Any] | None] | None:
        row = self._reads.execute("SELECT service, op, data, response FROM requests WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        service, op, data, response = row
        return service, op, json.loads(data), None if response is None else json.loads(response)

    def record_request(self, key: str, service: str, op: str, data: dict[str, Any], basket_id: str | None) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO requests (key, service, op, data, basket_id, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (key, service, op, json.dumps(data), basket_id, time.time()),
            )

    def record_response(self, key: str, response: dict[str, Any]) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE requests SET response = ?, answered_at = ? WHERE key = ?",
                (json.dumps(response), time.time(), key),
            )

    def answers(self, basket_id: str, service: str, op: str) -> list[tuple[str, dict[str, Any]]]:
        """Answered requests of one kind for a basket: (key, response)."""
        rows = self._reads.execute(
            "SELECT key, response FROM requests WHERE basket_id = ? AND service = ? AND op = ? "
            "AND response IS NOT NULL ORDER BY created_at",
            (basket_id, service, op),
        )
        return [(k, json.loads(r)) for k, r in rows]

    # -- past sales and their returns -------------------------------------------------------
    def sale(self, basket_id: str) -> Basket | None:
        """A closed (paid) basket as it was sold, rebuilt from its journal; None if there is none."""
        row = self._reads.execute("SELECT lane FROM baskets WHERE id = ? AND state = 'CLOSED'", (basket_id,)).fetchone()
        return None if row is None else self._replay(basket_id, row[0])

    def sold_in(self, ki: str) -> str | None:
        """The basket that sold item ``ki`` here (and has not taken it back)."""
        row = self._reads.execute("SELECT basket_id FROM sold WHERE ki = ?", (ki,)).fetchone()
        return None if row is None else str(row[0])

    def return_row(self, return_id: str) -> dict[str, Any] | None:
        row = self._reads.execute(
            "SELECT id, basket_id, lane, lines, amount, step, staff, detail FROM returns WHERE id = ?", (return_id,)
        ).fetchone()
        if row is None:
            return None
        out = dict(zip(("id", "basket_id", "lane", "lines", "amount", "step", "staff", "detail"), row, strict=True))
        out["lines"], out["detail"] = json.loads(out["lines"]), json.loads(out["detail"])
        return out

    def returns_of(self, basket_id: str) -> list[dict[str, Any]]:
        ids = [
            r[0]
            for r in self._reads.execute("SELECT id FROM returns WHERE basket_id = ? ORDER BY created_at", (basket_id,))
        ]
        return [row for i in ids if (row := self.return_row(i)) is not None]

    def open_returns(self) -> list[str]:
        return [
            r[0]
            for r in self._reads.execute(
                "SELECT id FROM returns WHERE step NOT IN ('done', 'failed') ORDER BY created_at"
            )
        ]

    def save_return(self, r: dict[str, Any], conn: sqlite3.Connection | None = None) -> None:
        """Insert or move a return (``return_row``'s shape); inside ``conn``'s transaction when given."""
        if conn is None:
            with self.transaction() as tx:
                self.save_return(r, tx)
            return
        now = time.time()
        conn.execute(
            "INSERT INTO returns (id, basket_id, lane, lines, amount, step, staff, detail, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET step = excluded.step,"
            " detail = excluded.detail, updated_at = excluded.updated_at",
            (
                r["id"],
                r["basket_id"],
                r["lane"],
                json.dumps(r["lines"]),
                r["amount"],
                r["step"],
                r["staff"],
                json.dumps(r["detail"]),
                now,
                now,
            ),
        )

    def unsell(self, kis: Iterable[str], conn: sqlite3.Connection) -> None:
        """Items taken back: out of the sold set (they may be sold again)."""
        conn.executemany("DELETE FROM sold WHERE ki = ?", [(ki,) for ki in kis])

    # -- payment attempts ------------------------------------------------------------------
    def payment_row(self, payment_id: str) -> dict[str, Any] | None:
        row = self._reads.execute(
            "SELECT id, basket_id, method, amount, step, provider_id, status, detail FROM payments WHERE id = ?",
            (payment_id,),
        ).fetchone()
        if row is None:
            return None
        keys = ("id", "basket_id", "method", "amount", "step", "provider_id", "status", "detail")
        out = dict(zip(keys, row, strict=True))
        out["detail"] = json.loads(out["detail"])
        return out

    def payments_of(self, basket_id: str) -> list[dict[str, Any]]:
        ids = [
            r[0]
            for r in self._reads.execute(
                "SELECT id FROM payments WHERE basket_id = ? ORDER BY created_at", (basket_id,)
            )
        ]
        return [row for i in ids if (row := self.payment_row(i)) is not None]

    def open_payments(self) -> list[dict[str, Any]]:
        ids = [
            r[0]
            for r in self._reads.execute(
                "SELECT id FROM payments WHERE step NOT IN ('done', 'failed', 'refunded') ORDER BY created_at"
            )
        ]
        return [row for i in ids if (row := self.payment_row(i)) is not None]

    def save_payment(
        self,
        payment_id: str,
        basket_id: str,
        method: str,
        amount: int,
        step: str,
        provider_id: str | None = None,
        status: str | None = None,
        detail: dict[str, Any] | None = None,
        conn: sqlite3.Connection | None = None,
    ) -> None:
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
        row = self._reads.execute("SELECT version FROM sync_state WHERE stream = ?", (stream,)).fetchone()
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
                    [
                        (
                            p.gtin,
                            p.name,
                            p.price,
                            p.vat,
                            p.category,
                            p.group,
                            int(p.marked),
                            p.min_age,
                            int(p.alcohol),
                            p.qty_limit,
                            p.loyalty_price,
                        )
                        for p in rows
                    ],
                )
            else:
                if snapshot:
                    conn.execute("DELETE FROM received_codes")
                now = time.time()
                conn.executemany(
                    "INSERT OR REPLACE INTO received_codes (ki, mark_code, received_at) VALUES (?, ?, ?)",
                    [(ki, km, now) for ki, km in data.get("codes", {}).items()],
                )
                if snapshot:  # the chips central knows each item's EPC was encoded on
                    conn.execute("DELETE FROM tid_bindings WHERE source = 'central'")
                conn.executemany(
                    "INSERT OR REPLACE INTO tid_bindings (ki, tid, source, bound_at) VALUES (?, ?, 'central', ?)",
                    [(ki, str(tid).upper(), now) for ki, tid in data.get("tids", {}).items()],
                )
            conn.execute(
                "INSERT OR REPLACE INTO sync_state (stream, version, updated_at) VALUES (?, ?, ?)",
                (stream, version, time.time()),
            )
