"""Payment attempts and returns as the store keeps them (tables ``payments`` and ``returns``).

A row is written before the step it names is tried, so a restart carries each on from where it
stood (``payment/flow.py``, ``payment/returns.py``). Each step's data is typed here and kept as
JSON in the ``detail`` column, in the shape earlier versions wrote (so older rows read unchanged).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from edge_agent.clock import Mono
from edge_agent.db import Database
from edge_agent.fiscal.document import FiscalDocument
from edge_agent.fiscal.marks import MarkCheck
from edge_agent.payment.provider import ProviderPayment, Refund


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceiptRequest:
    """A receipt being printed: the request's uuid (the ``attempt``-th one, so a retry after a
    failure at the register is a new request), failures so far, since when (epoch s), and the
    fiscal document once printed."""

    uuid: str
    attempt: int = 1
    failures: int = 0
    since: float | None = None
    since_mono: Mono | None = None  # ``since`` on the monotonic clock (the deadline runs on it)
    fiscal: FiscalDocument | None = None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"uuid": self.uuid, "try": self.attempt, "failures": self.failures}
        if self.since is not None:
            out["since"] = self.since
        if self.since_mono is not None:
            out["since_mono"] = self.since_mono.to_json()
        if self.fiscal is not None:
            out["fiscal"] = self.fiscal.to_json()
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> ReceiptRequest:
        fiscal, since = data.get("fiscal"), data.get("since")
        return cls(
            uuid=str(data["uuid"]),
            attempt=_int(data.get("try", 1)),
            failures=_int(data.get("failures", 0)),
            since=float(since) if isinstance(since, int | float) else None,
            since_mono=Mono.from_json(data.get("since_mono")),
            fiscal=FiscalDocument.from_json(fiscal) if isinstance(fiscal, Mapping) and fiscal else None,
        )


def _int(value: object) -> int:
    return value if isinstance(value, int) else int(str(value))


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentRecord:
    id: str
    basket_id: str
    method: str
    amount: int  # kopecks
    step: str
    started: float = 0.0  # epoch s
    started_mono: Mono | None = None  # ``started`` on the monotonic clock (the customer's time runs on it)
    payment: ProviderPayment | None = None  # the provider's payment, as last seen
    message: str = ""
    receipt: ReceiptRequest | None = None

    @property
    def provider_id(self) -> str | None:
        return self.payment.id if self.payment else None

    @property
    def status(self) -> str | None:
        return self.payment.status if self.payment else None

    def detail(self) -> dict[str, object]:
        out: dict[str, object] = {"started": self.started}
        if self.started_mono is not None:
            out["started_mono"] = self.started_mono.to_json()
        if self.payment is not None:
            out["payment"] = self.payment.to_json()
        if self.message:
            out["message"] = self.message
        if self.receipt is not None:
            out["receipt"] = self.receipt.to_json()
        return out

    @classmethod
    def from_row(cls, row: tuple[str, str, str, int, str], detail: Mapping[str, object]) -> PaymentRecord:
        payment, receipt, started = detail.get("payment"), detail.get("receipt"), detail.get("started", 0.0)
        return cls(
            id=row[0],
            basket_id=row[1],
            method=row[2],
            amount=row[3],
            step=row[4],
            started=float(started) if isinstance(started, int | float) else 0.0,
            started_mono=Mono.from_json(detail.get("started_mono")),
            payment=ProviderPayment.from_json(payment) if isinstance(payment, Mapping) and payment else None,
            message=str(detail.get("message", "")),
            receipt=ReceiptRequest.from_json(receipt) if isinstance(receipt, Mapping) else None,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ReturnDetail:
    payment: str  # the provider's id of the sale's captured payment
    checks: Mapping[int, MarkCheck] = field(default_factory=dict)  # line → the register's check
    receipt: ReceiptRequest | None = None
    refund: Refund | None = None
    message: str | None = None  # why it failed
    waiting: str | None = None  # why it waits (the register or central did not answer)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "payment": self.payment,
            "checks": {str(line): check.to_dict() for line, check in self.checks.items()},
        }
        if self.receipt is not None:
            out["receipt"] = self.receipt.to_json()
        if self.refund is not None:
            out["refund"] = self.refund.to_json()
        if self.message is not None:
            out["message"] = self.message
        if self.waiting is not None:
            out["waiting"] = self.waiting
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> ReturnDetail:
        checks, receipt, refund = data.get("checks"), data.get("receipt"), data.get("refund")
        message, waiting = data.get("message"), data.get("waiting")
        return cls(
            payment=str(data["payment"]),
            checks={int(k): MarkCheck.from_dict(v) for k, v in checks.items()} if isinstance(checks, Mapping) else {},
            receipt=ReceiptRequest.from_json(receipt) if isinstance(receipt, Mapping) else None,
            refund=Refund.from_json(refund) if isinstance(refund, Mapping) else None,
            message=message if isinstance(message, str) else None,
            waiting=waiting if isinstance(waiting, str) else None,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ReturnRecord:
    id: str
    basket_id: str
    lane: str
    lines: tuple[int, ...]
    amount: int  # kopecks
    step: str
    staff: str
    detail: ReturnDetail


_PAYMENT = "id, basket_id, method, amount, step, detail"
_PAYMENT_COLUMNS = "id, basket_id, method, amount, step, provider_id, status, detail"
_RETURN = "id, basket_id, lane, lines, amount, step, staff, detail"


class PaymentRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _many(self, where: str, args: tuple[object, ...]) -> list[PaymentRecord]:
        cur = self.db.reads.execute(f"SELECT {_PAYMENT} FROM payments WHERE {where} ORDER BY created_at", args)
        return [PaymentRecord.from_row((i, b, m, a, s), json.loads(d)) for i, b, m, a, s, d in cur]

    def get(self, payment_id: str) -> PaymentRecord | None:
        rows = self._many("id = ?", (payment_id,))
        return rows[0] if rows else None

    def of_basket(self, basket_id: str) -> list[PaymentRecord]:
        return self._many("basket_id = ?", (basket_id,))

    def unfinished(self) -> list[PaymentRecord]:
        return self._many("step NOT IN ('done', 'failed', 'refunded')", ())

    def save(self, record: PaymentRecord, conn: sqlite3.Connection | None = None) -> None:
        """Insert or move a payment attempt; inside ``conn``'s transaction when given."""
        now, r = time.time(), record
        provider_id, status = (r.payment.id, r.payment.status) if r.payment else (None, None)
        with self.db.joined(conn) as tx:
            tx.execute(
                f"INSERT INTO payments ({_PAYMENT_COLUMNS}, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(id) DO UPDATE SET step = excluded.step,"
                " provider_id = COALESCE(excluded.provider_id, provider_id),"
                " status = COALESCE(excluded.status, status),"
                " detail = excluded.detail, updated_at = excluded.updated_at",
                (
                    r.id,
                    r.basket_id,
                    r.method,
                    r.amount,
                    r.step,
                    provider_id,
                    status,
                    json.dumps(r.detail()),
                    now,
                    now,
                ),
            )


class ReturnRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _many(self, where: str, args: tuple[object, ...]) -> list[ReturnRecord]:
        cur = self.db.reads.execute(f"SELECT {_RETURN} FROM returns WHERE {where} ORDER BY created_at", args)
        return [
            ReturnRecord(
                id=i,
                basket_id=b,
                lane=lane,
                lines=tuple(json.loads(lines)),
                amount=a,
                step=s,
                staff=staff,
                detail=ReturnDetail.from_json(json.loads(d)),
            )
            for i, b, lane, lines, a, s, staff, d in cur
        ]

    def get(self, return_id: str) -> ReturnRecord | None:
        rows = self._many("id = ?", (return_id,))
        return rows[0] if rows else None

    def of_basket(self, basket_id: str) -> list[ReturnRecord]:
        return self._many("basket_id = ?", (basket_id,))

    def unfinished(self) -> list[str]:
        return [r.id for r in self._many("step NOT IN ('done', 'failed')", ())]

    def save(self, record: ReturnRecord, conn: sqlite3.Connection | None = None) -> None:
        """Insert or move a return; inside ``conn``'s transaction when given."""
        now, r = time.time(), record
        with self.db.joined(conn) as tx:
            tx.execute(
                f"INSERT INTO returns ({_RETURN}, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(id) DO UPDATE SET step = excluded.step, detail = excluded.detail,"
                " updated_at = excluded.updated_at",
                (
                    r.id,
                    r.basket_id,
                    r.lane,
                    json.dumps(list(r.lines)),
                    r.amount,
                    str(r.step),
                    r.staff,
                    json.dumps(r.detail.to_json()),
                    now,
                    now,
                ),
            )
