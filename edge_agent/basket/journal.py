"""Baskets as the store keeps them: a basket is its journal (tables ``baskets``, ``journal``,
``verdicts``, ``quarantine``; docs/architecture.md).

Every accepted command is one journal row, written in the same transaction as the outbox rows
that announce it, so after a crash or ``kill -9`` the baskets come back exactly: what was
committed is there once, what was not never happened, and nothing was announced that is not
also in the journal. Restoring a basket replays its journal onto a fresh state machine.

What else a sale writes (the sold set, the chips learnt, the sale's events for central) is not
known here: those packages hand the journal their ``SaleEffect`` when it is built.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from edge_agent.basket.commands import Command, PaymentResult, Verdict, from_journal
from edge_agent.basket.machine import Basket, BasketError, State
from edge_agent.basket.values import Rules
from edge_agent.db import Database, Outbox, StoreError
from edge_agent.wire.events import EVENT_TYPES, OPENED, basket_event


@dataclass(frozen=True, slots=True)
class PaidSale:
    """A basket as the command that paid it left it, with that command's journal row."""

    basket: Basket
    args: Mapping[str, Any]  # the paying command's journal arguments (its tender, its time)
    seq: int  # its journal row: the sale's events carry it


#: written in the transaction that makes a basket PAID
SaleEffect = Callable[[sqlite3.Connection, PaidSale], None]
#: more writes in a command's own transaction (a payment attempt's step, say)
Also = Callable[[sqlite3.Connection], None]

_FINISHED = (State.CLOSED.value, State.CANCELLED.value)


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A basket whose journal does not replay: out of sale until staff deal with it."""

    basket_id: str
    lane: str
    reason: str
    since: float


class Journal:
    def __init__(self, db: Database, outbox: Outbox, rules: Rules, *, on_sale: Sequence[SaleEffect] = ()) -> None:
        self.db, self.outbox, self.rules = db, outbox, rules
        self.on_sale = tuple(on_sale)
        #: called with the basket after each of its commands is committed (screens refresh)
        self.listeners: list[Callable[[Basket], None]] = []
        self.quarantined: list[Quarantined] = []  # found by the last ``restore()``

    def open_basket(self, basket_id: str, lane: str) -> Basket:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO baskets (id, lane, state, opened_at) VALUES (?, ?, ?, ?)",
                (basket_id, lane, State.OPEN.value, time.time()),
            )
            self.outbox.append(
                conn, lane=lane, type_=OPENED, data={"basket": basket_id, "lane": lane}, basket_id=basket_id
            )
        return Basket(basket_id, lane, self.rules)

    def apply(self, basket: Basket, command: Command, *, announce: bool = True, also: Also | None = None) -> Any:
        """Run one command; if the basket accepts it, journal and announce it atomically, and only
        then does the live basket change (a failed write leaves it as it was).

        ``also`` writes more in the same transaction. A command the basket refuses
        (BasketError) leaves no trace and is re-raised."""
        (result,) = self.apply_many(basket, [command], announce=announce, also=also)
        if isinstance(result, BasketError):
            raise result
        return result

    def apply_many(
        self, basket: Basket, commands: Sequence[Command], *, announce: bool = True, also: Also | None = None
    ) -> list[Any]:
        """Run commands in order in one transaction (a box's burst of arrivals): each one's result,
        or the ``BasketError`` it was refused with (a refused command leaves no trace; the others
        are journaled). The live basket changes only once the transaction has committed."""
        draft = basket.draft()
        results: list[Any] = []
        #: each accepted command, its journal arguments, and (a verdict) its line's key
        accepted: list[tuple[Command, dict[str, Any], str]] = []
        for command in commands:
            try:
                results.append(command.apply(draft))
            except BasketError as e:  # refused before it changed anything
                results.append(e)
                continue
            args = command.args()
            line = draft.lines.get(command.line_id) if isinstance(command, Verdict) else None
            accepted.append((command, args, line.key if line else ""))
        if not accepted:
            return results
        # commands committed together are seen together: each one's event carries the basket's
        # state after all of them (summing thousands of lines once, not once per command)
        after = basket_event(draft, {}) if announce else None
        with self.db.transaction() as conn:
            seq = conn.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM journal WHERE basket_id = ?", (basket.id,)
            ).fetchone()[0]
            closed = time.time() if draft.state.value in _FINISHED else None
            conn.execute(
                "UPDATE baskets SET state = ?, closed_at = ? WHERE id = ?", (draft.state.value, closed, basket.id)
            )
            for command, args, key in accepted:
                seq += 1
                conn.execute(
                    "INSERT INTO journal (basket_id, seq, op, args, at) VALUES (?, ?, ?, ?, ?)",
                    (basket.id, seq, command.op, json.dumps(args), time.time()),
                )
                if isinstance(command, Verdict):
                    self._verdict(conn, basket.id, key, command)
                if after is not None:
                    data = {**after, "args": args}
                    self.outbox.append(
                        conn, lane=basket.lane, type_=EVENT_TYPES[command.op], data=data, basket_id=basket.id, seq=seq
                    )
                if isinstance(command, PaymentResult) and draft.state is State.PAID:
                    sale = PaidSale(basket=draft, args=args, seq=seq)
                    for effect in self.on_sale:
                        effect(conn, sale)
            if also is not None:
                also(conn)
        basket.adopt(draft)
        for listener in self.listeners:
            listener(basket)
        return results

    @staticmethod
    def _verdict(conn: sqlite3.Connection, basket_id: str, key: str, v: Verdict) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                basket_id,
                v.line_id,
                key,
                v.outcome,
                v.source,
                v.req_id,
                v.req_timestamp,
                json.dumps(v.fiscal),
            ),
        )

    # -- reading back -----------------------------------------------------------------------------
    def restore(self) -> list[Basket]:
        """Every basket that is not closed or cancelled, rebuilt from its journal. A basket whose
        journal does not replay is quarantined instead (``quarantined``): kept as it is on disk,
        out of sale, reported; every other basket is restored."""
        baskets: list[Basket] = []
        self.quarantined = []
        reads = self.db.reads
        held = {b: (lane, reason, at) for b, lane, reason, at in reads.execute("SELECT * FROM quarantine")}
        rows = reads.execute(
            "SELECT id, lane FROM baskets WHERE state NOT IN (?, ?) ORDER BY opened_at", _FINISHED
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
                with contextlib.suppress(StoreError), self.db.transaction() as conn:
                    conn.execute(
                        "INSERT OR IGNORE INTO quarantine VALUES (?, ?, ?, ?)", (basket_id, lane, reason, time.time())
                    )
        return baskets

    def _replay(self, basket_id: str, lane: str) -> Basket:
        basket = Basket(basket_id, lane, self.rules)
        rows = self.db.reads.execute("SELECT seq, op, args FROM journal WHERE basket_id = ? ORDER BY seq", (basket_id,))
        for seq, op, args in rows:
            try:
                from_journal(op, json.loads(args)).apply(basket)
            except BasketError as e:
                raise BasketError(e.code, f"journal row {seq} ({op}) does not replay: {e.message}") from e
        return basket

    def sale(self, basket_id: str) -> Basket | None:
        """A closed (paid) basket as it was sold, rebuilt from its journal; None if there is none."""
        row = self.db.reads.execute(
            "SELECT lane FROM baskets WHERE id = ? AND state = ?", (basket_id, State.CLOSED.value)
        ).fetchone()
        return None if row is None else self._replay(basket_id, row[0])

    def verdicts_of(self, ki: str) -> list[tuple[str, str, str | None, str | None, int | None]]:
        """Every verdict an item had here: (basket, outcome, source, reqId, reqTimestamp), oldest first."""
        rows: list[tuple[str, str, str | None, str | None, int | None]] = self.db.reads.execute(
            "SELECT basket_id, outcome, source, req_id, req_timestamp FROM verdicts WHERE ki = ? ORDER BY rowid", (ki,)
        ).fetchall()
        return rows
