"""The cheques sent to the УТМ (table ``egais_cheques``): each written before it is sent, so a
crash between the УТМ's answer and the receipt sends the same cheque again (the УТМ answers a
cheque it has already taken as it did the first time) instead of losing it or sending another."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Literal

from edge_agent.db import Database

State = Literal["sending", "accepted", "refused", "not_sent"]


@dataclass(frozen=True, slots=True)
class ChequeRecord:
    id: str  # "<basket>:egais:<n>", a return "<sale id>:return"
    basket_id: str
    kind: Literal["sale", "return"]
    number: int
    xml: bytes
    state: State
    url: str | None = None
    sign: str | None = None
    error: str | None = None
    created_at: float = 0.0


_COLUMNS = "id, basket_id, kind, number, xml, state, url, sign, error, created_at"


class EgaisCheques:
    def __init__(self, db: Database) -> None:
        self.db = db

    def next_number(self, conn: sqlite3.Connection) -> int:
        return int(conn.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM egais_cheques").fetchone()[0])

    def create(self, conn: sqlite3.Connection, record: ChequeRecord) -> None:
        conn.execute(
            f"INSERT INTO egais_cheques ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.id,
                record.basket_id,
                record.kind,
                record.number,
                record.xml,
                record.state,
                record.url,
                record.sign,
                record.error,
                time.time(),
            ),
        )

    def answered(
        self,
        conn: sqlite3.Connection,
        cheque_id: str,
        state: State,
        *,
        url: str | None = None,
        sign: str | None = None,
        error: str | None = None,
    ) -> None:
        conn.execute(
            "UPDATE egais_cheques SET state = ?, url = ?, sign = ?, error = ?, answered_at = ? WHERE id = ?",
            (state, url, sign, error, time.time(), cheque_id),
        )

    def get(self, cheque_id: str) -> ChequeRecord | None:
        row = self.db.reads.execute(f"SELECT {_COLUMNS} FROM egais_cheques WHERE id = ?", (cheque_id,)).fetchone()
        return None if row is None else ChequeRecord(*row)

    def of_basket(self, basket_id: str) -> list[ChequeRecord]:
        rows = self.db.reads.execute(
            f"SELECT {_COLUMNS} FROM egais_cheques WHERE basket_id = ? ORDER BY created_at, id", (basket_id,)
        ).fetchall()
        return [ChequeRecord(*r) for r in rows]

    def unsettled(self) -> list[ChequeRecord]:
        """Cheques whose fate the УТМ has not told (sent, no answer), and accepted sales that
        no return has undone: what the sweeper looks at."""
        rows = self.db.reads.execute(
            f"SELECT {_COLUMNS} FROM egais_cheques c WHERE state = 'sending' OR (kind = 'sale' AND state = 'accepted'"
            " AND NOT EXISTS (SELECT 1 FROM egais_cheques r WHERE r.id = c.id || ':return'"
            " AND r.state IN ('accepted', 'sending')))"
        ).fetchall()
        return [ChequeRecord(*r) for r in rows]
