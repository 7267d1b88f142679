"""The outbox: CloudEvents waiting for the broker and for central's confirmation (docs/mqtt.md).

Any transaction may ``append`` to it, so a fact and its announcement commit together or not at
all; ``sync.publisher`` drains it. A row is sent (the broker's PUBACK) and then confirmed
(central stored it, by event id) when it asked for a confirmation; only confirmed rows are
ever pruned.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from edge_agent.db.database import Database
from edge_agent.wire import envelope
from edge_agent.wire.topics import StoreTopics


class Outbox:
    """The ``outbox`` table. ``topics`` is this store's MQTT layout (a lane's events go to its
    lane's topic); ``confirm_to`` is where central confirms what it stored (the agent's response
    topic), set when end-to-end confirmation is on: None, and a row is delivered on its PUBACK."""

    def __init__(self, db: Database, topics: StoreTopics) -> None:
        self.db, self.topics = db, topics
        self.confirm_to: str | None = None
        #: called after a commit that wrote rows (the publisher wakes up); must not block
        self.listeners: list[Callable[[], None]] = []

    # -- writing, inside any transaction ----------------------------------------------------------
    def append(
        self,
        conn: sqlite3.Connection,
        *,
        lane: str,
        type_: str,
        data: Mapping[str, Any],
        basket_id: str = "",
        seq: int = 0,
        topic: str | None = None,
    ) -> None:
        """One event of ``lane`` in ``conn``'s transaction; ``seq`` is its basket's journal row."""
        self.db.after_commit(self._wake)
        ev = envelope.event(
            self.topics.lane_source(lane),
            type_,
            dict(data),
            subject=f"basket/{basket_id}",
            seq=seq,
            replyto=self.confirm_to,
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
        self,
        lane: str,
        type_: str,
        data: Mapping[str, Any],
        *,
        basket_id: str = "",
        conn: sqlite3.Connection | None = None,
    ) -> None:
        """One event of a lane that is not a journal command (alerts, payment facts), durably
        queued; inside ``conn``'s transaction when given."""
        with self.db.joined(conn) as tx:
            self.append(tx, lane=lane, type_=type_, data=data, basket_id=basket_id)

    def _wake(self) -> None:
        for listener in self.listeners:
            listener()

    # -- draining ---------------------------------------------------------------------------------
    def unsent(self, limit: int = 100, after: int = 0) -> list[tuple[int, str, dict[str, Any]]]:
        """Undelivered rows as (id, topic, the CloudEvent parsed): for tests and tools."""
        return [(i, t, json.loads(p)) for i, t, p in self.unsent_raw(limit, after)]

    def unsent_raw(self, limit: int = 100, after: int = 0) -> list[tuple[int, str, str]]:
        """Undelivered rows with id > ``after``, oldest first: (id, topic, CloudEvent JSON)."""
        rows: list[tuple[int, str, str]] = self.db.reads.execute(
            "SELECT id, topic, payload FROM outbox WHERE sent_at IS NULL AND id > ? ORDER BY id LIMIT ?",
            (after, limit),
        ).fetchall()
        return rows

    def depth(self) -> int:
        return int(self.db.reads.execute("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0])

    def mark_sent(self, ids: Iterable[int]) -> None:
        """The broker acknowledged these rows (PUBACK), never merely sent. A row that asked for
        central's confirmation stays unconfirmed until it comes."""
        with self.db.transaction() as conn:
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
        with self.db.transaction() as conn:
            now = time.time()
            sql = "UPDATE outbox SET confirmed_at = ? WHERE event_id = ? AND confirmed_at IS NULL"
            return sum(conn.execute(sql, (now, i)).rowcount for i in event_ids)

    def requeue_unconfirmed(self, acked_before: float, now: float) -> list[int]:
        """Rows the broker acknowledged before ``acked_before`` that central never confirmed:
        unsent again (the publisher sends them again, same event id). A row acknowledged after
        ``now`` (the wall clock stepped back since) is due too, rather than after the step: a
        copy too many is dropped by central, one too few would wait. Returns their ids."""
        with self.db.transaction() as conn:
            rows = conn.execute(
                "UPDATE outbox SET sent_at = NULL WHERE confirmed_at IS NULL AND sent_at IS NOT NULL "
                "AND (sent_at < ? OR sent_at > ?) RETURNING id",
                (acked_before, now),
            ).fetchall()
        return sorted(r[0] for r in rows)

    def requeue(self, basket_id: str, seqs: Sequence[int]) -> list[int]:
        """Central asks for a basket's events again (a gap in its ``seq``): the rows still kept
        are unsent again. Returns their ids."""
        with self.db.transaction() as conn:
            marks = ",".join("?" * len(seqs))
            rows = conn.execute(
                f"UPDATE outbox SET sent_at = NULL WHERE basket_id = ? AND journal_seq IN ({marks}) RETURNING id",
                (basket_id, *seqs),
            ).fetchall()
        return sorted(r[0] for r in rows)

    def unconfirmed(self) -> tuple[int, float | None]:
        """Events central has not confirmed yet: how many, and when the oldest was written."""
        n, oldest = self.db.reads.execute(
            "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE confirmed_at IS NULL"
        ).fetchone()
        return int(n), oldest

    def prune(self, confirmed_before: float) -> int:
        """Forget confirmed rows older than the retention; never an unconfirmed one."""
        with self.db.transaction() as conn:
            sql = "DELETE FROM outbox WHERE confirmed_at IS NOT NULL AND confirmed_at < ?"
            return conn.execute(sql, (confirmed_before,)).rowcount
