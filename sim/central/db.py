"""The central services' database: one SQLite file that every instance of a service shares,
as a real service's instances share one database. ``once`` runs a handler exactly once per
idempotency key, in one transaction, and answers a repeat with the first answer."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS idem (service TEXT NOT NULL, key TEXT NOT NULL, op TEXT NOT NULL, digest TEXT NOT NULL,
                                 response TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (service, key));
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS faults (op TEXT PRIMARY KEY, kind TEXT NOT NULL, remaining INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS handled (service TEXT NOT NULL, key TEXT NOT NULL, instance TEXT NOT NULL, at REAL NOT NULL,
                                    replay INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS customers (id TEXT PRIMARY KEY, phone TEXT UNIQUE, card TEXT UNIQUE, qr TEXT UNIQUE,
                                      program TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ledger (id INTEGER PRIMARY KEY AUTOINCREMENT, customer TEXT NOT NULL, kind TEXT NOT NULL,
                                   points INTEGER NOT NULL, transaction_id TEXT, hold_id TEXT, at REAL NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS ledger_once ON ledger (kind, transaction_id) WHERE transaction_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS holds (id TEXT PRIMARY KEY, customer TEXT NOT NULL, points INTEGER NOT NULL,
                                  basket TEXT NOT NULL, state TEXT NOT NULL, expires_at REAL NOT NULL,
                                  transaction_id TEXT, owner TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS otps (customer TEXT NOT NULL, basket TEXT NOT NULL, owner TEXT NOT NULL,
                                 code_sha256 TEXT NOT NULL, expires_at REAL NOT NULL, tries INTEGER NOT NULL DEFAULT 0,
                                 sent INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (customer, basket));
CREATE TABLE IF NOT EXISTS sms (id INTEGER PRIMARY KEY AUTOINCREMENT, phone TEXT NOT NULL, text TEXT NOT NULL,
                                at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS sms_by_phone ON sms (phone, at);
CREATE TABLE IF NOT EXISTS qr_used (digest TEXT PRIMARY KEY, basket TEXT NOT NULL, owner TEXT NOT NULL,
                                    at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS verified (customer TEXT NOT NULL, basket TEXT NOT NULL, owner TEXT NOT NULL,
                                     how TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (customer, basket));
CREATE TABLE IF NOT EXISTS refused (id INTEGER PRIMARY KEY AUTOINCREMENT, caller TEXT NOT NULL, topic TEXT NOT NULL,
                                    code TEXT NOT NULL, message TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS payments (id TEXT PRIMARY KEY, basket TEXT NOT NULL, method TEXT NOT NULL,
                                     amount INTEGER NOT NULL, instrument TEXT NOT NULL, status TEXT NOT NULL,
                                     reason TEXT, created_at REAL NOT NULL, expires_at REAL NOT NULL,
                                     captured_at REAL, captures INTEGER NOT NULL DEFAULT 0,
                                     refunded INTEGER NOT NULL DEFAULT 0, qr TEXT, notify TEXT,
                                     notified TEXT, owner TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS customer_scripts (id INTEGER PRIMARY KEY AUTOINCREMENT, basket_prefix TEXT NOT NULL,
                                             instrument TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS refunds (id TEXT PRIMARY KEY, payment_id TEXT NOT NULL, amount INTEGER NOT NULL,
                                    status TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS events (source TEXT NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL, topic TEXT NOT NULL,
                                   seq INTEGER, data TEXT NOT NULL, at REAL NOT NULL, subject TEXT,
                                   PRIMARY KEY (source, id));
CREATE INDEX IF NOT EXISTS events_stream ON events (source, subject, seq);
CREATE TABLE IF NOT EXISTS agents (store TEXT NOT NULL, agent TEXT NOT NULL, state TEXT NOT NULL, data TEXT NOT NULL,
                                   at REAL NOT NULL, PRIMARY KEY (store, agent));
CREATE TABLE IF NOT EXISTS gaps (source TEXT NOT NULL, subject TEXT NOT NULL, seq INTEGER NOT NULL,
                                 replyto TEXT NOT NULL, seen_at REAL NOT NULL, asked_at REAL,
                                 PRIMARY KEY (source, subject, seq));
CREATE TABLE IF NOT EXISTS transactions (id TEXT PRIMARY KEY, lane TEXT NOT NULL, total INTEGER NOT NULL,
                                         data TEXT NOT NULL, at REAL NOT NULL);
"""


class Refusal(Exception):
    """A handler's "no": stored under the key like any answer (``retryable`` ones are not)."""

    def __init__(self, code: str, message: str, result: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.result = code, message, result


def connect(path: Path | str) -> sqlite3.Connection:
    """Open (and create) the database; instances starting together may race to create it."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    for attempt in range(50):
        try:
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA journal_mode=WAL")  # needs a moment alone with a new file
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(SCHEMA)
            return conn
        except sqlite3.OperationalError:
            if attempt == 49:
                raise
            time.sleep(0.05)
    return conn


@contextmanager
def tx(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One transaction; inside another (a consumer's batch), a savepoint of it."""
    if conn.in_transaction:
        conn.execute("SAVEPOINT inner")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK TO inner")
            conn.execute("RELEASE inner")
            raise
        conn.execute("RELEASE inner")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def bump(conn: sqlite3.Connection, name: str, by: int = 1) -> None:
    conn.execute(
        "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + ?",
        (name, by, by),
    )


def counter(conn: sqlite3.Connection, name: str) -> int:
    row = conn.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
    return 0 if row is None else int(row[0])


def take_fault(conn: sqlite3.Connection, op: str) -> str | None:
    """A fault armed for ``op`` (tests arm them with ``arm_fault``), used up one at a time."""
    row = conn.execute("SELECT kind FROM faults WHERE op = ? AND remaining > 0", (op,)).fetchone()
    if row is None:
        return None
    conn.execute("UPDATE faults SET remaining = remaining - 1 WHERE op = ?", (op,))
    return str(row[0])


def arm_fault(conn: sqlite3.Connection, op: str, kind: str, times: int = 1) -> None:
    conn.execute("INSERT OR REPLACE INTO faults (op, kind, remaining) VALUES (?, ?, ?)", (op, kind, times))


def once(
    conn: sqlite3.Connection,
    service: str,
    op: str,
    key: str | None,
    *,
    data: Any,
    instance: str,
    handler: Callable[[sqlite3.Connection], dict[str, Any]],
    now: float,
) -> tuple[dict[str, Any], str | None]:
    """Run ``handler`` once per (service, key); returns (response, fault to act out or None)."""
    digest = hashlib.sha256(json.dumps([op, data], sort_keys=True).encode()).hexdigest()
    with tx(conn):
        if key is not None:
            row = conn.execute(
                "SELECT op, digest, response FROM idem WHERE service = ? AND key = ?", (service, key)
            ).fetchone()
            if row is not None:
                bump(conn, f"{service}.replayed")
                conn.execute(
                    "INSERT INTO handled (service, key, instance, at, replay) VALUES (?, ?, ?, ?, 1)",
                    (service, key, instance, now),
                )
                if (row[0], row[1]) != (op, digest):
                    return _error("key_reused", f"idempotency key {key} was used for other data"), None
                return dict(json.loads(row[2])), None
        try:
            response = {"ok": True, "result": handler(conn)}
        except Refusal as e:
            response = _error(e.code, e.message, e.result)
        if key is not None:
            conn.execute(
                "INSERT INTO idem (service, key, op, digest, response, at) VALUES (?, ?, ?, ?, ?, ?)",
                (service, key, op, digest, json.dumps(response), now),
            )
            conn.execute(
                "INSERT INTO handled (service, key, instance, at) VALUES (?, ?, ?, ?)", (service, key, instance, now)
            )
        fault = take_fault(conn, f"{service}.{op}")
    return response, fault


def _error(code: str, message: str, result: dict[str, Any] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if result is not None:
        error["result"] = result
    return {"ok": False, "error": error}
