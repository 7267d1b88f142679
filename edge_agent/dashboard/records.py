"""What the dashboard reads: baskets with their journals and verdicts since a time, and the
health log (table ``health``: one row per change of a component's state, not per sample)."""

from __future__ import annotations

from collections.abc import Sequence

from edge_agent.dashboard.figures import BasketRecord
from edge_agent.db import Database


class HealthLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, changes: Sequence[tuple[str, bool, str]], at: float, keep_s: float) -> None:
        """Write each component whose state changed; forget rows older than ``keep_s``."""
        with self.db.transaction() as conn:
            conn.executemany(
                "INSERT INTO health (at, component, ok, detail) VALUES (?, ?, ?, ?)",
                [(at, c, int(ok), detail) for c, ok, detail in changes],
            )
            conn.execute(
                "DELETE FROM health WHERE at < ? AND id NOT IN (SELECT MAX(id) FROM health GROUP BY component)",
                (at - keep_s,),
            )

    def rows(self, since: float) -> list[tuple[str, float, bool, str]]:
        """Each component's state at ``since`` (its last change before it) and every change after."""
        cur = self.db.reads.execute(
            "SELECT component, at, ok, detail FROM health h WHERE at >= ? OR id = "
            "(SELECT MAX(id) FROM health p WHERE p.component = h.component AND p.at < ?) "
            "ORDER BY at, id",
            (since, since),
        )
        return [(c, at, bool(ok), d) for c, at, ok, d in cur]


def baskets_since(db: Database, since: float) -> tuple[list[BasketRecord], list[tuple[str, str | None]]]:
    """Baskets opened since ``since`` with their journals, and their verdicts (outcome, source)."""
    reads = db.reads
    journals: dict[str, list[tuple[str, str, float]]] = {}
    for basket_id, op, args, at in reads.execute(
        "SELECT j.basket_id, j.op, j.args, j.at FROM journal j JOIN baskets b ON b.id = j.basket_id "
        "WHERE b.opened_at >= ? ORDER BY j.basket_id, j.seq",
        (since,),
    ):
        journals.setdefault(basket_id, []).append((op, args, at))
    baskets = [
        BasketRecord(i, lane, state, opened, journals.get(i, []))
        for i, lane, state, opened in reads.execute(
            "SELECT id, lane, state, opened_at FROM baskets WHERE opened_at >= ? ORDER BY opened_at", (since,)
        )
    ]
    verdicts = reads.execute(
        "SELECT v.outcome, v.source FROM verdicts v JOIN baskets b ON b.id = v.basket_id WHERE b.opened_at >= ?",
        (since,),
    ).fetchall()
    return baskets, [(str(o), s) for o, s in verdicts]
