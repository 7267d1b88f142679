"""Calls to central with their idempotency keys (table ``requests``): a keyed call is written
before its first send and its answer when it comes, so a retry after a crash sends the same
data under the same key, and an answered call is never sent again (docs/mqtt.md)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from edge_agent.db import Database


@dataclass(frozen=True, slots=True)
class RequestRecord:
    key: str
    service: str
    op: str
    data: dict[str, Any]  # the call's data as first sent (wire JSON)
    response: dict[str, Any] | None  # central's whole answer (wire JSON), once it came


class RequestLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, key: str) -> RequestRecord | None:
        row = self.db.reads.execute("SELECT service, op, data, response FROM requests WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        service, op, data, response = row
        return RequestRecord(
            key=key,
            service=service,
            op=op,
            data=json.loads(data),
            response=None if response is None else json.loads(response),
        )

    def record(self, key: str, *, service: str, op: str, data: dict[str, Any], basket_id: str | None) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO requests (key, service, op, data, basket_id, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (key, service, op, json.dumps(data), basket_id, time.time()),
            )

    def answered(self, key: str, response: dict[str, Any]) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE requests SET response = ?, answered_at = ? WHERE key = ?",
                (json.dumps(response), time.time(), key),
            )

    def answers(self, basket_id: str, service: str, op: str) -> list[tuple[str, dict[str, Any]]]:
        """Answered requests of one kind for a basket: (key, response)."""
        rows = self.db.reads.execute(
            "SELECT key, response FROM requests WHERE basket_id = ? AND service = ? AND op = ? "
            "AND response IS NOT NULL ORDER BY created_at",
            (basket_id, service, op),
        )
        return [(k, json.loads(r)) for k, r in rows]
