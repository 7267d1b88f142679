"""What the exit gates judge against and what they raise, as the store keeps it: the sold set
(``sold``), each item's chip (``tid_bindings``) and the gates' alarms (``gate_alarms``).

The sold set and the chips learnt at a sale are written by the sale itself: ``SoldSet.record``
and ``TidBindings.learn`` are effects the basket journal runs in the paying transaction.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace

from edge_agent.basket.journal import PaidSale
from edge_agent.db import Database, Outbox
from edge_agent.wire.events import GATE_ALARM


@dataclass(frozen=True, slots=True)
class GateAlarm:
    """An item that walked out unpaid (``UNPAID``) or on a copied tag (``CLONED_TAG``)."""

    gate: str
    epc: str
    ki: str | None
    gtin: str | None
    name: str | None
    reason: str
    first_read_at: float
    at: float
    crossed_at: float | None = None  # not kept: the event carries it
    id: int | None = None  # None until recorded
    resolved_at: float | None = None
    resolved_by: str | None = None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


_ALARM_COLUMNS = ("id", "gate", "epc", "ki", "gtin", "name", "reason", "first_read_at", "at", "resolved_at")


class GateAlarms:
    def __init__(self, db: Database, outbox: Outbox) -> None:
        self.db, self.outbox = db, outbox

    def record(self, alarm: GateAlarm) -> GateAlarm:
        """The alarm and its event for central (``gate.alarm``), in one transaction; returns it
        with its id."""
        with self.db.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO gate_alarms (gate, epc, ki, gtin, name, reason, first_read_at, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (alarm.gate, alarm.epc, alarm.ki, alarm.gtin, alarm.name, alarm.reason, alarm.first_read_at, alarm.at),
            )
            recorded = replace(alarm, id=int(cur.lastrowid or 0))
            event = {k: v for k, v in recorded.to_dict().items() if k not in ("resolved_at", "resolved_by")}
            self.outbox.append(conn, lane=alarm.gate, type_=GATE_ALARM, data=event)
        return recorded

    def list(self, *, open_only: bool = True) -> list[GateAlarm]:
        where = " WHERE resolved_at IS NULL" if open_only else ""
        cur = self.db.reads.execute(
            f"SELECT {', '.join(_ALARM_COLUMNS)}, resolved_by FROM gate_alarms{where} ORDER BY id"
        )
        return [
            GateAlarm(
                id=i,
                gate=gate,
                epc=epc,
                ki=ki,
                gtin=gtin,
                name=name,
                reason=reason,
                first_read_at=first,
                at=at,
                resolved_at=resolved_at,
                resolved_by=resolved_by,
            )
            for i, gate, epc, ki, gtin, name, reason, first, at, resolved_at, resolved_by in cur
        ]

    def resolve(self, alarm_id: int, staff: str) -> bool:
        with self.db.transaction() as conn:
            cur = conn.execute(
                "UPDATE gate_alarms SET resolved_at = ?, resolved_by = ? WHERE id = ? AND resolved_at IS NULL",
                (time.time(), staff, alarm_id),
            )
            return cur.rowcount == 1


class SoldSet:
    """The serialized items this store sold and has not taken back."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def sold_here(self, ki: str) -> bool:
        return self.db.reads.execute("SELECT 1 FROM sold WHERE ki = ?", (ki,)).fetchone() is not None

    def sold_in(self, ki: str) -> str | None:
        """The basket that sold item ``ki`` here (and has not taken it back)."""
        row = self.db.reads.execute("SELECT basket_id FROM sold WHERE ki = ?", (ki,)).fetchone()
        return None if row is None else str(row[0])

    def record(self, conn: sqlite3.Connection, sale: PaidSale) -> None:
        """A sale's effect: its serialized items are sold."""
        now, basket = time.time(), sale.basket
        conn.executemany(
            "INSERT OR IGNORE INTO sold (ki, basket_id, sold_at) VALUES (?, ?, ?)",
            [(line.key, basket.id, now) for line in basket.lines.values() if line.serialized],
        )

    def unsell(self, kis: Iterable[str], conn: sqlite3.Connection) -> None:
        """Items taken back: out of the sold set (they may be sold again)."""
        conn.executemany("DELETE FROM sold WHERE ki = ?", [(ki,) for ki in kis])


class TidBindings:
    """Each item's EPC bound to its chip's TID: sent by central, or learnt at the item's first
    sale (``[tags] learn_tid_at_sale``), so a copy of the EPC on another chip is told apart."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def bind(self, tids: Mapping[str, str], source: str) -> None:
        """Bind items (КИ) to their chips' TIDs (hex); central's replace, a sale's never overwrite."""
        verb = "INSERT OR REPLACE" if source == "central" else "INSERT OR IGNORE"
        with self.db.transaction() as conn:
            conn.executemany(
                f"{verb} INTO tid_bindings (ki, tid, source, bound_at) VALUES (?, ?, ?, ?)",
                [(ki, tid.upper(), source, time.time()) for ki, tid in tids.items()],
            )

    def from_central(self, conn: sqlite3.Connection, tids: Mapping[str, str], snapshot: bool) -> None:
        """The chips central knows each item's EPC was encoded on (the received-codes stream)."""
        if snapshot:
            conn.execute("DELETE FROM tid_bindings WHERE source = 'central'")
        now = time.time()
        conn.executemany(
            "INSERT OR REPLACE INTO tid_bindings (ki, tid, source, bound_at) VALUES (?, ?, 'central', ?)",
            [(ki, tid.upper(), now) for ki, tid in tids.items()],
        )

    def tid_of(self, ki: str) -> str | None:
        row = self.db.reads.execute("SELECT tid FROM tid_bindings WHERE ki = ?", (ki,)).fetchone()
        return None if row is None else str(row[0])

    def learn(self, conn: sqlite3.Connection, sale: PaidSale) -> None:
        """A sale's effect: the chip each serialized item was sold on (never overwrites)."""
        now, basket = time.time(), sale.basket
        conn.executemany(
            "INSERT OR IGNORE INTO tid_bindings (ki, tid, source, bound_at) VALUES (?, ?, 'sale', ?)",
            [(line.key, line.tid.upper(), now) for line in basket.lines.values() if line.serialized and line.tid],
        )
