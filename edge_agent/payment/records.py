"""Payment attempts and returns as the store keeps them (tables ``payments`` and ``returns``).

A row is written before the step it names is tried, so a restart carries each on from where it
stood (``payment/flow.py``, ``payment/returns.py``). ``detail`` is the step's own data, kept
as JSON.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

from edge_agent.db import Database


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    id: str
    basket_id: str
    method: str
    amount: int  # kopecks
    step: str
    provider_id: str | None = None
    status: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReturnRecord:
    id: str
    basket_id: str
    lane: str
    lines: tuple[int, ...]
    amount: int  # kopecks
    step: str
    staff: str
    detail: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> ReturnRecord:
        """From ``to_dict``'s shape (the return flow moves a return through its steps as one)."""
        return cls(
            id=row["id"],
            basket_id=row["basket_id"],
            lane=row["lane"],
            lines=tuple(row["lines"]),
            amount=row["amount"],
            step=str(row["step"]),
            staff=row["staff"],
            detail=row["detail"],
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "basket_id": self.basket_id,
            "lane": self.lane,
            "lines": list(self.lines),
            "amount": self.amount,
            "step": self.step,
            "staff": self.staff,
            "detail": self.detail,
        }


_PAYMENT = "id, basket_id, method, amount, step, provider_id, status, detail"
_RETURN = "id, basket_id, lane, lines, amount, step, staff, detail"


class PaymentRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _many(self, where: str, args: tuple[object, ...]) -> list[PaymentRecord]:
        cur = self.db.reads.execute(f"SELECT {_PAYMENT} FROM payments WHERE {where} ORDER BY created_at", args)
        return [
            PaymentRecord(
                id=i,
                basket_id=b,
                method=m,
                amount=a,
                step=s,
                provider_id=p,
                status=st,
                detail=json.loads(d),
            )
            for i, b, m, a, s, p, st, d in cur
        ]

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
        with self.db.joined(conn) as tx:
            tx.execute(
                f"INSERT INTO payments ({_PAYMENT}, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
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
                    r.provider_id,
                    r.status,
                    json.dumps(r.detail),
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
                detail=json.loads(d),
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
                    json.dumps(r.detail),
                    now,
                    now,
                ),
            )
