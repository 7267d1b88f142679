"""The catalogue and the received mark codes as the store keeps them (tables ``catalog``,
``received_codes`` and ``sync_state``), and central's streams applied to them in order."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from edge_agent.basket import Product
from edge_agent.db import Database
from edge_agent.gate.records import TidBindings

#: each column and the Product field it holds (booleans as 0/1)
_FIELDS = {
    "gtin": "gtin",
    "name": "name",
    "price": "price",
    "vat": "vat",
    "category": "category",
    "grp": "group",
    "marked": "marked",
    "min_age": "min_age",
    "alcohol": "alcohol",
    "qty_limit": "qty_limit",
    "loyalty_price": "loyalty_price",
    "sold_by": "sold_by",
    "pack_units": "pack_units",
    "egais": "egais",
    "volume_ml": "volume_ml",
    "image": "image",
}
_COLUMNS = ", ".join(_FIELDS)
_INSERT = f"INSERT OR REPLACE INTO catalog ({_COLUMNS}) VALUES ({', '.join('?' * len(_FIELDS))})"
_BOOLEANS = frozenset({"marked", "alcohol", "egais"})


def _row(p: Product) -> tuple[object, ...]:
    return tuple(int(v) if isinstance(v := getattr(p, f), bool) else v for f in _FIELDS.values())


class Catalogue:
    def __init__(self, db: Database, tids: TidBindings) -> None:
        self.db, self.tids = db, tids

    def upsert_products(self, products: Iterable[Product]) -> None:
        with self.db.transaction() as conn:
            conn.executemany(_INSERT, [_row(p) for p in products])

    def product(self, gtin: str) -> Product | None:
        row = self.db.reads.execute(f"SELECT {_COLUMNS} FROM catalog WHERE gtin = ?", (gtin,)).fetchone()
        if row is None:
            return None
        values: dict[str, Any] = {
            f: bool(v) if f in _BOOLEANS else v for f, v in zip(_FIELDS.values(), row, strict=True)
        }
        return Product(**values)

    def receive_codes(self, pairs: Iterable[tuple[str, str]]) -> None:
        now = time.time()
        with self.db.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO received_codes (ki, mark_code, received_at) VALUES (?, ?, ?)",
                [(ki, km, now) for ki, km in pairs],
            )

    def mark_code_for(self, ki: str) -> str | None:
        row = self.db.reads.execute("SELECT mark_code FROM received_codes WHERE ki = ?", (ki,)).fetchone()
        return None if row is None else str(row[0])

    # -- central → edge streams ------------------------------------------------------------
    def stream_version(self, stream: str) -> int:
        row = self.db.reads.execute("SELECT version FROM sync_state WHERE stream = ?", (stream,)).fetchone()
        return -1 if row is None else int(row[0])

    def apply_stream(self, stream: str, version: int, *, snapshot: bool, data: Mapping[str, Any]) -> None:
        """Catalog or received codes, snapshot (replaces) or delta, with its version: one transaction."""
        with self.db.transaction() as conn:
            if stream == "catalog":
                if snapshot:
                    conn.execute("DELETE FROM catalog")
                conn.executemany("DELETE FROM catalog WHERE gtin = ?", [(g,) for g in data.get("delete", [])])
                rows = [_row(Product(**p)) for p in data.get("products", [])]
                conn.executemany(_INSERT, rows)
            else:
                if snapshot:
                    conn.execute("DELETE FROM received_codes")
                now = time.time()
                conn.executemany(
                    "INSERT OR REPLACE INTO received_codes (ki, mark_code, received_at) VALUES (?, ?, ?)",
                    [(ki, km, now) for ki, km in data.get("codes", {}).items()],
                )
                self.tids.from_central(conn, {ki: str(tid) for ki, tid in data.get("tids", {}).items()}, snapshot)
            conn.execute(
                "INSERT OR REPLACE INTO sync_state (stream, version, updated_at) VALUES (?, ?, ?)",
                (stream, version, time.time()),
            )
