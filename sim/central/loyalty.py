"""The central loyalty service: identify, quote, hold, commit, release, accrue, reverse, balance.

An immutable points ledger keyed by transaction id (one ``spend`` and one ``accrue`` per sale,
enforced by a unique index), holds with a TTL, and the program rules of ``programs.py``.
Handlers run inside ``db.once``: one transaction per idempotency key."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterable
from typing import Any

from sim.central.db import Refusal
from sim.central.programs import DEMO_CUSTOMERS, PRESETS, Customer, Program


def seed(conn: sqlite3.Connection, program: str, customers: Iterable[Customer] = DEMO_CUSTOMERS) -> None:
    for c in customers:
        cur = conn.execute("INSERT OR IGNORE INTO customers (id, phone, card, qr, program) VALUES (?, ?, ?, ?, ?)",
                           (c.id, c.phone, c.card, c.qr, program))  # fmt: skip
        if cur.rowcount and c.points:
            conn.execute("INSERT INTO ledger (customer, kind, points, transaction_id, at) "
                         "VALUES (?, 'opening', ?, ?, 0)",
                         (c.id, c.points, f"opening:{c.id}"))  # fmt: skip


def balance(conn: sqlite3.Connection, customer: str) -> int:
    return int(
        conn.execute("SELECT COALESCE(SUM(points), 0) FROM ledger WHERE customer = ?", (customer,)).fetchone()[0]
    )


def available(conn: sqlite3.Connection, customer: str, now: float) -> int:
    held = conn.execute("SELECT COALESCE(SUM(points), 0) FROM holds WHERE customer = ? AND state = 'held' AND "
                        "expires_at > ?", (customer, now)).fetchone()[0]  # fmt: skip
    return balance(conn, customer) - int(held)


def _program(conn: sqlite3.Connection, customer: str) -> Program:
    row = conn.execute("SELECT program FROM customers WHERE id = ?", (customer,)).fetchone()
    if row is None:
        raise Refusal("unknown_customer", f"no customer {customer}")
    return PRESETS[row[0]]


def _eligible(lines: list[dict[str, Any]], program: Program) -> int:
    return sum(int(line["price"]) for line in lines if line.get("category", "") not in program.excluded_categories)


def handle(conn: sqlite3.Connection, op: str, data: dict[str, Any], now: float) -> dict[str, Any]:
    if op == "identify":
        kind, ref = data.get("kind"), str(data.get("ref", ""))
        if kind not in ("phone", "card", "qr"):
            raise Refusal("bad_request", "kind is phone, card or qr")
        row = conn.execute(f"SELECT id FROM customers WHERE {kind} = ?", (ref,)).fetchone()
        if row is None:
            raise Refusal("unknown_customer", f"no customer with that {kind}")
        program = _program(conn, row[0])
        return {"customer": row[0], "balance": available(conn, row[0], now), "program": program.public()}
    customer = str(data.get("customer", ""))
    if op == "balance":
        _program(conn, customer)
        return {"customer": customer, "balance": balance(conn, customer), "available": available(conn, customer, now)}
    if op == "quote":
        program = _program(conn, customer)
        lines = list(data.get("lines", []))
        eligible = _eligible(lines, program)
        cap_kop = eligible * program.max_redeem_pct // 100
        points = min(available(conn, customer, now), cap_kop // program.point_value_kop)
        total = sum(int(line["price"]) for line in lines)
        return {"customer": customer, "balance": available(conn, customer, now), "max_redeem_points": max(points, 0),
                "program": program.public(), "expected_accrual": program.accrual(eligible, total, False)}  # fmt: skip
    if op == "hold":
        program = _program(conn, customer)
        points = int(data.get("points", 0))
        if points < program.min_redeem_points:
            raise Refusal("too_few_points", f"at least {program.min_redeem_points} points")
        if points > available(conn, customer, now):
            raise Refusal("not_enough_points", "the balance does not cover the hold")
        hold_id = f"H-{uuid.uuid4().hex[:12]}"
        expires = now + int(data.get("ttl_s", program.hold_ttl_s))
        conn.execute("INSERT INTO holds (id, customer, points, basket, state, expires_at) "
                         "VALUES (?, ?, ?, ?, 'held', ?)",
                     (hold_id, customer, points, str(data.get("basket", "")), expires))  # fmt: skip
        return {"hold_id": hold_id, "points": points, "expires_at": expires}
    if op in ("commit", "release"):
        hold_id = str(data.get("hold_id", ""))
        row = conn.execute("SELECT customer, points, state, expires_at FROM holds WHERE id = ?", (hold_id,)).fetchone()
        if row is None:
            raise Refusal("unknown_hold", f"no hold {hold_id}")
        cust, points, state, expires = row
        if op == "release":
            if state == "held":
                conn.execute("UPDATE holds SET state = 'released' WHERE id = ?", (hold_id,))
            return {"hold_id": hold_id, "state": "committed" if state == "committed" else "released"}
        if state not in {"held", "committed"}:
            raise Refusal("hold_released", f"hold {hold_id} was released")
        txn = str(data.get("transaction_id", ""))
        if state == "held":  # a hold past its TTL is still honoured once the sale is paid
            conn.execute("UPDATE holds SET state = 'committed', transaction_id = ? WHERE id = ?", (txn, hold_id))
            conn.execute("INSERT INTO ledger (customer, kind, points, transaction_id, hold_id, at) "
                         "VALUES (?, 'spend', ?, ?, ?, ?)", (cust, -points, txn, hold_id, now))  # fmt: skip
        return {"hold_id": hold_id, "state": "committed", "points": points, "balance": balance(conn, cust)}
    if op == "accrue":
        program = _program(conn, customer)
        txn = str(data.get("transaction_id", ""))
        lines = list(data.get("lines", []))
        eligible = _eligible(lines, program)
        total = sum(int(line["price"]) for line in lines)
        points = program.accrual(eligible, total, bool(data.get("redeemed")))
        exists = conn.execute(
            "SELECT points FROM ledger WHERE kind = 'accrue' AND transaction_id = ?", (txn,)
        ).fetchone()
        if exists is None:
            conn.execute("INSERT INTO ledger (customer, kind, points, transaction_id, at) "
                         "VALUES (?, 'accrue', ?, ?, ?)",
                         (customer, points, txn, now))  # fmt: skip
        else:
            points = int(exists[0])
        return {"transaction_id": txn, "points": points, "balance": balance(conn, customer)}
    if op == "reverse":
        txn = str(data.get("transaction_id", ""))
        rows = conn.execute("SELECT customer, kind, points FROM ledger WHERE transaction_id = ? AND kind IN "
                            "('accrue', 'spend')", (txn,)).fetchall()  # fmt: skip
        for cust, kind, points in rows:
            conn.execute("INSERT OR IGNORE INTO ledger (customer, kind, points, transaction_id, at) "
                         "VALUES (?, ?, ?, ?, ?)",
                         (cust, f"reverse_{kind}", -points, txn, now))  # fmt: skip
        return {"transaction_id": txn, "reversed": len(rows)}
    raise Refusal("unknown_op", f"loyalty has no operation {op!r}")


def ledger_balanced(conn: sqlite3.Connection) -> bool:
    """Every customer's balance is the sum of their immutable entries and never negative; no
    transaction has more than one spend or accrue; every committed hold has its spend."""
    negative = conn.execute("SELECT COUNT(*) FROM (SELECT customer, SUM(points) s FROM ledger GROUP BY customer) "
                            "WHERE s < 0").fetchone()[0]  # fmt: skip
    doubled = conn.execute("SELECT COUNT(*) FROM (SELECT kind, transaction_id FROM ledger WHERE transaction_id IS NOT "
                           "NULL GROUP BY kind, transaction_id HAVING COUNT(*) > 1)").fetchone()[0]  # fmt: skip
    orphan = conn.execute("SELECT COUNT(*) FROM holds h WHERE state = 'committed' AND NOT EXISTS (SELECT 1 FROM ledger "
                          "l WHERE l.kind = 'spend' AND l.hold_id = h.id)").fetchone()[0]  # fmt: skip
    return bool(negative == 0 and doubled == 0 and orphan == 0)
