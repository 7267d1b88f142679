"""The central payment service, YooKassa-shaped (docs/sources.md §3.2).

Normalized states CREATED → PENDING_CUSTOMER → AUTHORIZED → CAPTURED | CANCELED, with the
provider's names beside them (pending, waiting_for_capture, succeeded, canceled) and
cancellation reasons. Cards are two-stage (capture or cancel an authorization); SBP is
one-stage with a QR payload and a one-hour life; refunds are child objects of a captured
payment. The customer is simulated by the payment's ``instrument``: ``ok`` (pays after
``customer_delay_s``), ``decline:<reason>``, ``timeout`` (never pays), ``late:<seconds>``
(pays after that long, even if the kiosk gave up). A test or the demo scripts the next
customer of a lane with ``script_customer`` (the agent never sends an instrument: a real
terminal has none); a request may also carry one. States advance lazily when a payment is read,
so every instance sees the same payment."""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any, Final

from sim.central import loyalty
from sim.central.db import Refusal, bump

PROVIDER: Final = {
    "PENDING_CUSTOMER": "pending",
    "AUTHORIZED": "waiting_for_capture",
    "CAPTURED": "succeeded",
    "CANCELED": "canceled",
}
REASONS: Final = frozenset(
    {
        "3d_secure_failed",
        "call_issuer",
        "card_expired",
        "country_forbidden",
        "fraud_suspected",
        "general_decline",
        "identification_required",
        "insufficient_funds",
        "invalid_card_number",
        "invalid_csc",
        "issuer_unavailable",
        "payment_method_limit_exceeded",
        "payment_method_restricted",
        "permission_revoked",
        "internal_timeout",
        "canceled_by_merchant",
        "expired_on_confirmation",
        "expired_on_capture",
    }
)
SBP_LIFETIME_S: Final = 3600.0
_COLS: Final = (
    "id",
    "basket",
    "method",
    "amount",
    "instrument",
    "status",
    "reason",
    "created_at",
    "expires_at",
    "captured_at",
    "captures",
    "refunded",
    "qr",
    "owner",
)


class Settings:
    customer_delay_s: float = 0.05
    card_confirmation_s: float = 120.0  # an unpaid card payment expires (expired_on_confirmation)


def _row(conn: sqlite3.Connection, payment_id: str) -> dict[str, Any]:
    row = conn.execute(f"SELECT {', '.join(_COLS)} FROM payments WHERE id = ?", (payment_id,)).fetchone()
    if row is None:
        raise Refusal("not_found", f"no payment {payment_id}")
    return dict(zip(_COLS, row, strict=True))


def _advance(conn: sqlite3.Connection, p: dict[str, Any], now: float, settings: Settings) -> dict[str, Any]:
    """Let the simulated customer act: what they did by ``now`` becomes the stored state."""
    if p["status"] != "PENDING_CUSTOMER":
        return p
    kind, _, arg = p["instrument"].partition(":")
    paid_at = p["created_at"] + (float(arg) if kind == "late" else settings.customer_delay_s)
    new, reason = None, None
    if kind in ("ok", "late") and now >= paid_at:
        new = "CAPTURED" if p["method"] == "sbp" else "AUTHORIZED"
    elif kind == "decline" and now >= p["created_at"] + settings.customer_delay_s:
        new, reason = "CANCELED", arg if arg in REASONS else "general_decline"
    elif now >= p["expires_at"]:
        new, reason = "CANCELED", "expired_on_confirmation"
    if new is None:
        return p
    captured = now if new == "CAPTURED" else None
    conn.execute(
        "UPDATE payments SET status = ?, reason = ?, captured_at = ?, captures = captures + ? WHERE id = ?",
        (new, reason, captured, int(new == "CAPTURED"), p["id"]),
    )
    if new == "CAPTURED":
        bump(conn, "payment.captures")
    return _row(conn, p["id"])


def public(p: dict[str, Any]) -> dict[str, Any]:
    out = {
        "id": p["id"],
        "basket": p["basket"],
        "method": p["method"],
        "amount": p["amount"],
        "status": p["status"],
        "provider_status": PROVIDER[p["status"]],
        "paid": p["status"] in ("AUTHORIZED", "CAPTURED"),
        "refunded_amount": p["refunded"],
        "created_at": p["created_at"],
        "expires_at": p["expires_at"],
    }
    if p["reason"]:
        party = "merchant" if p["reason"] == "canceled_by_merchant" else "payment_network"
        out["cancellation_details"] = {"party": party, "reason": p["reason"]}
    if p["qr"]:
        out["confirmation"] = {"type": "qr", "confirmation_data": p["qr"]}
    return out


def changed(conn: sqlite3.Connection, now: float, settings: Settings) -> list[tuple[str, dict[str, Any]]]:
    """Payments whose state moved since the payer was last told: (topic, payment), each once
    per state (the caller publishes ``payment.status_changed``)."""
    out = []
    rows = conn.execute(
        "SELECT id FROM payments WHERE notify IS NOT NULL AND "
        "(notified IS NULL OR notified != status OR status = 'PENDING_CUSTOMER')"
    ).fetchall()
    for (payment_id,) in rows:
        p = _advance(conn, _row(conn, payment_id), now, settings)
        row = conn.execute("SELECT notify, notified FROM payments WHERE id = ?", (payment_id,)).fetchone()
        if row[1] != p["status"] and p["status"] != "PENDING_CUSTOMER":
            conn.execute("UPDATE payments SET notified = ? WHERE id = ?", (p["status"], payment_id))
            out.append((row[0], public(p)))
    return out


def _mine(p: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """Only the agent that created a payment may ask for it, capture, cancel or refund it."""
    if p["owner"] and p["owner"] != data.get("_caller"):
        raise Refusal("not_yours", f"payment {p['id']} belongs to another caller")
    return p


def script_customer(conn: sqlite3.Connection, basket_prefix: str, instrument: str) -> None:
    """The next payment created for a basket whose id starts with ``basket_prefix`` (a lane's
    baskets: ``lane-1-``) behaves as ``instrument`` says; scripts are used once, in order."""
    with conn:
        conn.execute(
            "INSERT INTO customer_scripts (basket_prefix, instrument) VALUES (?, ?)", (basket_prefix, instrument)
        )


def _scripted(conn: sqlite3.Connection, basket: str) -> str | None:
    row = conn.execute(
        "SELECT id, instrument FROM customer_scripts WHERE ? LIKE basket_prefix || '%' ORDER BY id LIMIT 1", (basket,)
    ).fetchone()
    if row is None:
        return None
    conn.execute("DELETE FROM customer_scripts WHERE id = ?", (row[0],))
    return str(row[1])


def handle(
    conn: sqlite3.Connection, op: str, data: dict[str, Any], *, now: float, settings: Settings
) -> dict[str, Any]:
    if op == "create":
        method, amount = data.get("method"), data.get("amount")
        if method not in ("card", "sbp"):
            raise Refusal("bad_request", "method is card or sbp")
        if not isinstance(amount, int) or amount <= 0 or (method == "sbp" and not 100 <= amount <= 70_000_000):
            raise Refusal("bad_request", "amount is a positive number of kopecks (SBP: 1-700,000 RUB)")
        payment_id = f"P-{uuid.uuid4().hex[:16]}"
        lifetime = SBP_LIFETIME_S if method == "sbp" else settings.card_confirmation_s
        qr = (
            f"https://qr.nspk.ru/AD{uuid.uuid4().hex[:30].upper()}?type=02&sum={amount}&cur=RUB"
            if method == "sbp"
            else None
        )
        conn.execute(
            "INSERT INTO payments (id, basket, method, amount, instrument, status, created_at, expires_at, "
            "qr, notify, owner) "
            "VALUES (?, ?, ?, ?, ?, 'PENDING_CUSTOMER', ?, ?, ?, ?, ?)",
            (
                payment_id,
                str(data.get("basket", "")),
                method,
                amount,
                str(data.get("instrument") or _scripted(conn, str(data.get("basket", ""))) or "ok"),
                now,
                now + lifetime,
                qr,
                data.get("_notify"),
                str(data.get("_caller", "")),
            ),
        )
        return public(_row(conn, payment_id))
    if op == "refund":
        p = _advance(conn, _mine(_row(conn, str(data.get("payment_id", ""))), data), now, settings)
        amount = int(data.get("amount", p["amount"] - p["refunded"]))
        if p["status"] != "CAPTURED":
            raise Refusal(
                "invalid_state", f"only a succeeded payment is refunded; this one is {p['status']}", public(p)
            )
        if not 0 < amount <= p["amount"] - p["refunded"]:
            raise Refusal("bad_request", "refund amount exceeds what is left", public(p))
        refund_id = f"R-{uuid.uuid4().hex[:16]}"
        conn.execute(
            "INSERT INTO refunds (id, payment_id, amount, status, at) VALUES (?, ?, ?, 'succeeded', ?)",
            (refund_id, p["id"], amount, now),
        )
        conn.execute("UPDATE payments SET refunded = refunded + ? WHERE id = ?", (amount, p["id"]))
        # loyalty follows the money: the refunded share of the sale's points goes back too
        loyalty.follow_refund(
            conn, p["basket"], refunded=p["refunded"] + amount, paid=p["amount"], refund_id=refund_id, now=now
        )
        return {
            "id": refund_id,
            "payment_id": p["id"],
            "amount": amount,
            "status": "succeeded",
            "payment": public(_row(conn, p["id"])),
        }
    p = _advance(conn, _mine(_row(conn, str(data.get("id", ""))), data), now, settings)
    if op == "get":
        return public(p)
    if op == "capture":
        if p["status"] == "CAPTURED" and p["method"] == "card":
            return public(p)  # capturing a captured card payment again changes nothing
        if p["status"] != "AUTHORIZED":
            raise Refusal(
                "invalid_state", f"capture needs waiting_for_capture; it is {PROVIDER[p['status']]}", public(p)
            )
        conn.execute(
            "UPDATE payments SET status = 'CAPTURED', captured_at = ?, captures = captures + 1 WHERE id = ?",
            (now, p["id"]),
        )
        bump(conn, "payment.captures")
        return public(_row(conn, p["id"]))
    if op == "cancel":
        if p["status"] == "CANCELED":
            return public(p)
        if p["status"] != "AUTHORIZED":  # YooKassa cancels only waiting_for_capture
            raise Refusal(
                "invalid_state", f"cancel needs waiting_for_capture; it is {PROVIDER[p['status']]}", public(p)
            )
        conn.execute(
            "UPDATE payments SET status = 'CANCELED', reason = 'canceled_by_merchant' WHERE id = ?", (p["id"],)
        )
        return public(_row(conn, p["id"]))
    raise Refusal("unknown_op", f"payment has no operation {op!r}")
