"""The central loyalty service: identify, verify, quote, hold, commit, release, accrue, reverse.

An immutable points ledger keyed by transaction id (one ``spend`` and one ``accrue`` per sale,
enforced by a unique index), holds with a TTL no longer than the program's, and the program
rules of ``programs.py``. Handlers run inside ``db.once``: one transaction per idempotency key.

Possession (docs/security.md): a phone number or a card identifies a customer for accrual
only; central then texts a one-time code to the phone on file (``sms`` is the simulated SMS
gateway's outbox) and the balance is shown, quoted or held only for a basket where the code
was given back (``verify``), or where the app's signed, short-lived QR was shown. A code has
three tries and five minutes. Every object is its caller's: a hold, a verification, a payment
belong to the agent that made them (``_caller``, from the command topic, checked by the node),
and an accrual needs that agent's captured payment for the sale."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import uuid
from collections.abc import Iterable
from typing import Any, Final

from sim.central.db import Refusal
from sim.central.programs import DEMO_CUSTOMERS, PRESETS, Customer, Program


def seed(conn: sqlite3.Connection, program: str, customers: Iterable[Customer] = DEMO_CUSTOMERS) -> None:
    for c in customers:
        cur = conn.execute(
            "INSERT OR IGNORE INTO customers (id, phone, card, qr, program) VALUES (?, ?, ?, ?, ?)",
            (c.id, c.phone, c.card, c.qr, program),
        )
        if cur.rowcount and c.points:
            conn.execute(
                "INSERT INTO ledger (customer, kind, points, transaction_id, at) VALUES (?, 'opening', ?, ?, 0)",
                (c.id, c.points, f"opening:{c.id}"),
            )


def balance(conn: sqlite3.Connection, customer: str) -> int:
    return int(
        conn.execute("SELECT COALESCE(SUM(points), 0) FROM ledger WHERE customer = ?", (customer,)).fetchone()[0]
    )


def available(conn: sqlite3.Connection, customer: str, now: float) -> int:
    held = conn.execute(
        "SELECT COALESCE(SUM(points), 0) FROM holds WHERE customer = ? AND state = 'held' AND expires_at > ?",
        (customer, now),
    ).fetchone()[0]
    return balance(conn, customer) - int(held)


def _program(conn: sqlite3.Connection, customer: str) -> Program:
    row = conn.execute("SELECT program FROM customers WHERE id = ?", (customer,)).fetchone()
    if row is None:
        raise Refusal("unknown_customer", f"no customer {customer}")
    return PRESETS[row[0]]


def _eligible(lines: list[dict[str, Any]], program: Program) -> int:
    return sum(int(line["price"]) for line in lines if line.get("category", "") not in program.excluded_categories)


#: the loyalty app's signing key (the app and central share it; a real one lives in an HSM)
APP_KEY: Final = b"sim-loyalty-app-key"
QR_TTL_S: Final = 120
#: one-time codes texted to one phone number, per hour and per day, across every store
SMS_PER_HOUR: Final = 5
SMS_PER_DAY: Final = 10
OTP_TTL_S: Final = 300
OTP_TRIES: Final = 3


def app_qr(customer_qr: str, now: float, ttl_s: float = QR_TTL_S) -> str:
    """What the customer's app shows: ``LQ1.{id}.{nonce}.{expires}.{signature}`` (HMAC-SHA256);
    each code it shows is a new one (the nonce), good once (``_use_qr_once``)."""
    body = f"LQ1.{customer_qr}.{secrets.token_hex(4)}.{int(now + ttl_s)}"
    return f"{body}.{hmac.new(APP_KEY, body.encode(), hashlib.sha256).hexdigest()[:32]}"


def _qr_id(ref: str, now: float) -> str:
    parts = ref.rsplit(".", 2)
    if len(parts) != 3 or not parts[0].startswith("LQ1.") or "." not in parts[0][4:] or not parts[1].isdigit():
        raise Refusal("unsigned_qr", "not the app's signed QR code")
    want = hmac.new(APP_KEY, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).hexdigest()[:32]
    if not hmac.compare_digest(want, parts[2]):
        raise Refusal("unsigned_qr", "the QR code's signature is wrong")
    if int(parts[1]) < now or int(parts[1]) > now + 10 * QR_TTL_S:
        raise Refusal("expired_qr", "the QR code expired: the app shows a fresh one")
    return parts[0].removeprefix("LQ1.").rsplit(".", 1)[0]  # the customer's QR id, less the nonce


def _use_qr_once(conn: sqlite3.Connection, ref: str, *, basket: str, caller: str, now: float) -> None:
    """An app QR verifies once, for the basket (and agent) it was first shown to: a photo of it
    shown elsewhere is refused. A retry for the same basket is the same use."""
    digest = hashlib.sha256(ref.encode()).hexdigest()
    conn.execute("DELETE FROM qr_used WHERE at < ?", (now - 10 * QR_TTL_S,))
    row = conn.execute("SELECT basket, owner FROM qr_used WHERE digest = ?", (digest,)).fetchone()
    if row is not None and (row[0], row[1]) != (basket, caller):
        raise Refusal("qr_used", "this QR code was already used: the app shows a fresh one")
    conn.execute("INSERT OR IGNORE INTO qr_used VALUES (?, ?, ?, ?)", (digest, basket, caller, now))


def _verified(conn: sqlite3.Connection, customer: str, data: dict[str, Any]) -> None:
    row = conn.execute(
        "SELECT owner FROM verified WHERE customer = ? AND basket = ?", (customer, str(data.get("basket", "")))
    ).fetchone()
    if row is None or row[0] != data.get("_caller"):
        raise Refusal("not_verified", "the customer has not confirmed with a one-time code or the app's QR")


def _send_code(conn: sqlite3.Connection, customer: str, *, basket: str, caller: str, now: float) -> bool:
    row = conn.execute("SELECT phone FROM customers WHERE id = ?", (customer,)).fetchone()
    sent = conn.execute("SELECT sent FROM otps WHERE customer = ? AND basket = ?", (customer, basket)).fetchone()
    if row is None or not row[0] or (sent is not None and sent[0] >= 3):
        return False  # no phone on file, or three codes for this basket already
    hour, day = (
        conn.execute("SELECT COUNT(*) FROM sms WHERE phone = ? AND at > ?", (row[0], now - span)).fetchone()[0]
        for span in (3600, 86400)
    )
    if hour >= SMS_PER_HOUR or day >= SMS_PER_DAY:
        return False  # the number's cap, whatever the store, lane or basket (SMS bombing)
    code = f"{secrets.randbelow(10**6):06d}"
    conn.execute(
        "INSERT INTO otps (customer, basket, owner, code_sha256, expires_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (customer, basket) DO UPDATE SET code_sha256 = excluded.code_sha256, tries = 0, "
        "expires_at = excluded.expires_at, sent = sent + 1",
        (customer, basket, caller, hashlib.sha256(code.encode()).hexdigest(), now + OTP_TTL_S),
    )
    conn.execute(
        "INSERT INTO sms (phone, text, at) VALUES (?, ?, ?)",
        (row[0], f"Код подтверждения: {code}. Никому его не сообщайте.", now),
    )
    return True


def _verify(conn: sqlite3.Connection, customer: str, data: dict[str, Any], now: float) -> dict[str, Any]:
    basket, code, caller = str(data.get("basket", "")), str(data.get("code", "")), str(data.get("_caller", ""))
    row = conn.execute(
        "SELECT code_sha256, expires_at, tries, owner FROM otps WHERE customer = ? AND basket = ?", (customer, basket)
    ).fetchone()
    if row is None or row[3] != caller:
        raise Refusal("no_code", "no code was sent for this basket")
    digest, expires, tries, _owner = row
    if tries >= OTP_TRIES or expires < now:
        raise Refusal("code_expired", "the code has expired or was tried too often: ask for a new one")
    if not hmac.compare_digest(digest, hashlib.sha256(code.encode()).hexdigest()):
        conn.execute("UPDATE otps SET tries = tries + 1 WHERE customer = ? AND basket = ?", (customer, basket))
        raise Refusal("wrong_code", f"wrong code ({OTP_TRIES - tries - 1} tries left)")
    conn.execute("DELETE FROM otps WHERE customer = ? AND basket = ?", (customer, basket))
    conn.execute(
        "INSERT OR REPLACE INTO verified (customer, basket, owner, how, at) VALUES (?, ?, ?, 'otp', ?)",
        (customer, basket, caller, now),
    )
    return {"customer": customer, "verified": True, "balance": available(conn, customer, now)}


def _captured(conn: sqlite3.Connection, basket: str, caller: str) -> int:
    """What the caller's payments captured for the sale (less refunds)."""
    row = conn.execute(
        "SELECT COALESCE(SUM(amount - refunded), 0), COUNT(*) FROM payments WHERE basket = ? AND "
        "status = 'CAPTURED' AND owner = ?",
        (basket, caller),
    ).fetchone()
    return int(row[0]) if row[1] else -1


def handle(conn: sqlite3.Connection, op: str, data: dict[str, Any], now: float) -> dict[str, Any]:
    caller = str(data.get("_caller", ""))
    if op == "identify":
        kind, ref = data.get("kind"), str(data.get("ref", ""))
        if kind not in ("phone", "card", "qr"):
            raise Refusal("bad_request", "kind is phone, card or qr")
        if kind == "qr":
            signed = ref
            ref = _qr_id(signed, now)
            _use_qr_once(conn, signed, basket=str(data.get("basket", "")), caller=caller, now=now)
        row = conn.execute(f"SELECT id FROM customers WHERE {kind} = ?", (ref,)).fetchone()
        if row is None:
            raise Refusal("unknown_customer", f"no customer with that {kind}")
        program, basket = _program(conn, row[0]), str(data.get("basket", ""))
        if kind == "qr":  # the app's signed QR proves possession: no code needed
            conn.execute(
                "INSERT OR REPLACE INTO verified (customer, basket, owner, how, at) VALUES (?, ?, ?, 'qr', ?)",
                (row[0], basket, caller, now),
            )
            return {
                "customer": row[0],
                "verified": True,
                "balance": available(conn, row[0], now),
                "program": program.public(),
            }
        sent = _send_code(conn, row[0], basket=basket, caller=caller, now=now)
        return {"customer": row[0], "verified": False, "code_sent": sent, "program": program.public()}
    customer = str(data.get("customer", ""))
    if op == "verify":
        return _verify(conn, customer, data, now)
    if op == "quote":
        _verified(conn, customer, data)
        program = _program(conn, customer)
        lines = list(data.get("lines", []))
        eligible = _eligible(lines, program)
        cap_kop = eligible * program.max_redeem_pct // 100
        points = min(available(conn, customer, now), cap_kop // program.point_value_kop)
        total = sum(int(line["price"]) for line in lines)
        return {
            "customer": customer,
            "balance": available(conn, customer, now),
            "max_redeem_points": max(points, 0),
            "program": program.public(),
            "expected_accrual": program.accrual(eligible, total, False),
        }
    if op == "hold":
        program = _program(conn, customer)
        _verified(conn, customer, data)
        ttl = int(data.get("ttl_s", program.hold_ttl_s))
        if not 0 < ttl <= program.hold_ttl_s:
            raise Refusal("bad_ttl", f"a hold lasts at most {program.hold_ttl_s} s")
        points = int(data.get("points", 0))
        if points < program.min_redeem_points:
            raise Refusal("too_few_points", f"at least {program.min_redeem_points} points")
        if points > available(conn, customer, now):
            raise Refusal("not_enough_points", "the balance does not cover the hold")
        hold_id = f"H-{uuid.uuid4().hex[:12]}"
        expires = now + ttl
        conn.execute(
            "INSERT INTO holds (id, customer, points, basket, state, expires_at, owner) "
            "VALUES (?, ?, ?, ?, 'held', ?, ?)",
            (hold_id, customer, points, str(data.get("basket", "")), expires, caller),
        )
        return {"hold_id": hold_id, "points": points, "expires_at": expires}
    if op in ("commit", "release"):
        hold_id = str(data.get("hold_id", ""))
        row = conn.execute(
            "SELECT customer, points, state, expires_at, owner FROM holds WHERE id = ?", (hold_id,)
        ).fetchone()
        if row is None:
            raise Refusal("unknown_hold", f"no hold {hold_id}")
        cust, points, state, expires, owner = row
        if owner != caller:
            raise Refusal("not_yours", f"hold {hold_id} belongs to another caller")
        if op == "release":
            if state == "held":
                conn.execute("UPDATE holds SET state = 'released' WHERE id = ?", (hold_id,))
            return {"hold_id": hold_id, "state": "committed" if state == "committed" else "released"}
        if state not in {"held", "committed"}:
            raise Refusal("hold_released", f"hold {hold_id} was released")
        txn = str(data.get("transaction_id", ""))
        if state == "held":  # a hold past its TTL is still honoured once the sale is paid
            conn.execute("UPDATE holds SET state = 'committed', transaction_id = ? WHERE id = ?", (txn, hold_id))
            conn.execute(
                "INSERT INTO ledger (customer, kind, points, transaction_id, hold_id, at) "
                "VALUES (?, 'spend', ?, ?, ?, ?)",
                (cust, -points, txn, hold_id, now),
            )
        return {"hold_id": hold_id, "state": "committed", "points": points, "balance": balance(conn, cust)}
    if op == "accrue":
        program = _program(conn, customer)
        txn = str(data.get("transaction_id", ""))
        lines = list(data.get("lines", []))
        eligible = _eligible(lines, program)
        total = sum(int(line["price"]) for line in lines)
        points = program.accrual(eligible, total, bool(data.get("redeemed")))
        paid = _captured(conn, txn, caller)
        spent = -int(
            conn.execute(
                "SELECT COALESCE(SUM(points), 0) FROM ledger WHERE kind = 'spend' AND transaction_id = ?", (txn,)
            ).fetchone()[0]
        )
        if paid < 0 or total > paid + spent * program.point_value_kop:
            raise Refusal("no_such_sale", f"no payment of yours captured {total} kop for sale {txn}")
        exists = conn.execute(
            "SELECT points FROM ledger WHERE kind = 'accrue' AND transaction_id = ?", (txn,)
        ).fetchone()
        if exists is None:
            conn.execute(
                "INSERT INTO ledger (customer, kind, points, transaction_id, at) VALUES (?, 'accrue', ?, ?, ?)",
                (customer, points, txn, now),
            )
        else:
            points = int(exists[0])
        return {"transaction_id": txn, "points": points}
    if op == "reverse":
        txn = str(data.get("transaction_id", ""))
        if conn.execute("SELECT 1 FROM payments WHERE basket = ? AND owner != ?", (txn, caller)).fetchone():
            raise Refusal("not_yours", f"sale {txn} is another caller's")
        rows = conn.execute(
            "SELECT customer, kind, points FROM ledger WHERE transaction_id = ? AND kind IN ('accrue', 'spend')", (txn,)
        ).fetchall()
        for cust, kind, points in rows:
            conn.execute(
                "INSERT OR IGNORE INTO ledger (customer, kind, points, transaction_id, at) VALUES (?, ?, ?, ?, ?)",
                (cust, f"reverse_{kind}", -points, txn, now),
            )
        return {"transaction_id": txn, "reversed": len(rows)}
    raise Refusal("unknown_op", f"loyalty has no operation {op!r}")


def follow_refund(
    conn: sqlite3.Connection, basket: str, *, refunded: int, paid: int, refund_id: str, now: float
) -> None:
    """Points follow the money: once ``refunded`` of the sale's ``paid`` kopecks have gone back
    (this refund and every earlier one), the same share of the points it spent is given back and
    of the points it earned taken back; an accrual is taken back only as far as the customer
    still holds points (those spent since are not turned into a debt)."""
    if paid <= 0:
        return
    share = min(refunded, paid)

    def so_far(kind: str) -> int:
        return int(
            conn.execute(
                "SELECT COALESCE(SUM(points), 0) FROM ledger WHERE kind = ? AND transaction_id LIKE ?",
                (kind, f"{basket}:refund:%"),
            ).fetchone()[0]
        )

    def write(customer: str, kind: str, points: int) -> None:
        conn.execute(
            "INSERT OR IGNORE INTO ledger (customer, kind, points, transaction_id, at) VALUES (?, ?, ?, ?, ?)",
            (customer, kind, points, f"{basket}:refund:{refund_id}", now),
        )

    spent = conn.execute("SELECT customer, -points FROM ledger WHERE kind = 'spend' AND transaction_id = ?", (basket,))
    if (row := spent.fetchone()) is not None and (back := row[1] * share // paid - so_far("refund_spend")) > 0:
        write(row[0], "refund_spend", back)
    earned = conn.execute("SELECT customer, points FROM ledger WHERE kind = 'accrue' AND transaction_id = ?", (basket,))
    if (row := earned.fetchone()) is not None:
        due = row[1] * share // paid + so_far("refund_accrue")  # so_far is negative
        if (take := min(due, max(0, available(conn, row[0], now)))) > 0:
            write(row[0], "refund_accrue", -take)


def ledger_balanced(conn: sqlite3.Connection) -> bool:
    """Every customer's balance is the sum of their immutable entries and never negative; no
    transaction has more than one spend or accrue; every committed hold has its spend."""
    negative = conn.execute(
        "SELECT COUNT(*) FROM (SELECT customer, SUM(points) s FROM ledger GROUP BY customer) WHERE s < 0"
    ).fetchone()[0]
    doubled = conn.execute(
        "SELECT COUNT(*) FROM (SELECT kind, transaction_id FROM ledger WHERE transaction_id IS NOT "
        "NULL GROUP BY kind, transaction_id HAVING COUNT(*) > 1)"
    ).fetchone()[0]
    orphan = conn.execute(
        "SELECT COUNT(*) FROM holds h WHERE state = 'committed' AND NOT EXISTS (SELECT 1 FROM ledger "
        "l WHERE l.kind = 'spend' AND l.hold_id = h.id)"
    ).fetchone()[0]
    return bool(negative == 0 and doubled == 0 and orphan == 0)
