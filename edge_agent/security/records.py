"""Device credentials and the staff audit log as the store keeps them (tables ``devices`` and
``audit``; docs/security.md). Only SHA-256 digests of tokens and enrolment codes are kept."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from edge_agent.db import Database

Column = Literal["token_sha256", "enrol_sha256", "spent_sha256"]


@dataclass(frozen=True, slots=True)
class Credential:
    """One credential of a device: a token's digest, or a pending enrolment code's."""

    name: str
    kind: str
    lane: str | None
    reader: str | None
    token_sha256: str
    enrol_sha256: str | None = None
    enrol_expires: float | None = None  # set while the credential waits for its browser
    created_at: float = 0.0
    used_at: float | None = None  # last seen in use (a credential unused too long has expired)


@dataclass(frozen=True, slots=True)
class DeviceSummary:
    """A device as ``edge-agent device list`` shows it: its first credential and how many."""

    name: str
    kind: str
    lane: str | None
    reader: str | None
    created_at: float
    credentials: int
    revoked_at: float | None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class DeviceRecords:
    def __init__(self, db: Database) -> None:
        self.db = db

    def put(self, c: Credential) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO devices (name, kind, lane, reader, token_sha256, enrol_sha256, enrol_expires, created_at,"
                " used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    c.name,
                    c.kind,
                    c.lane,
                    c.reader,
                    c.token_sha256,
                    c.enrol_sha256,
                    c.enrol_expires,
                    c.created_at,
                    c.created_at,
                ),
            )

    def find(self, column: Column, digest: str) -> Credential | None:
        """The live credential whose token (``token_sha256``), pending enrolment code
        (``enrol_sha256``) or spent one (``spent_sha256``) this is."""
        assert column in ("token_sha256", "enrol_sha256", "spent_sha256")
        row = self.db.reads.execute(
            "SELECT name, kind, lane, reader, token_sha256, enrol_sha256, enrol_expires, created_at, used_at "
            f"FROM devices WHERE {column} = ? AND revoked_at IS NULL",
            (digest,),
        ).fetchone()
        if row is None:
            return None
        name, kind, lane, reader, token, enrol, expires, created, used = row
        return Credential(
            name=name,
            kind=kind,
            lane=lane,
            reader=reader,
            token_sha256=token,
            enrol_sha256=enrol,
            enrol_expires=expires,
            created_at=created,
            used_at=used,
        )

    def enrolled(self, enrol_sha256: str, token_sha256: str) -> bool:
        """Spend an enrolment code on the token its browser gets: the code is good once."""
        with self.db.transaction() as conn:
            cur = conn.execute(
                "UPDATE devices SET token_sha256 = ?, spent_sha256 = enrol_sha256, enrol_sha256 = NULL, "
                "enrol_expires = NULL, used_at = ? WHERE enrol_sha256 = ? AND revoked_at IS NULL",
                (token_sha256, time.time(), enrol_sha256),
            )
            return cur.rowcount == 1

    def used(self, token_sha256: str, at: float) -> None:
        """The credential was used at ``at``: its expiry starts again."""
        with self.db.transaction() as conn:
            conn.execute("UPDATE devices SET used_at = ? WHERE token_sha256 = ?", (at, token_sha256))

    def revoke(self, name: str) -> bool:
        with self.db.transaction() as conn:
            cur = conn.execute(
                "UPDATE devices SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", (time.time(), name)
            )
            return cur.rowcount > 0

    def summaries(self) -> list[DeviceSummary]:
        cur = self.db.reads.execute(
            "SELECT name, kind, lane, reader, MIN(created_at), COUNT(*), MAX(revoked_at) "
            "FROM devices GROUP BY name, kind, lane, reader ORDER BY name"
        )
        return [
            DeviceSummary(
                name=name,
                kind=kind,
                lane=lane,
                reader=reader,
                created_at=created,
                credentials=n,
                revoked_at=revoked,
            )
            for name, kind, lane, reader, created, n, revoked in cur
        ]


class AuditLog:
    """What staff did, on which device, to which basket: one row each, never changed."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, staff: str, device: str, action: str, *, basket_id: str | None, detail: Mapping[str, Any]) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO audit (at, staff, device, action, basket_id, detail) VALUES (?, ?, ?, ?, ?, ?)",
                (time.time(), staff, device, action, basket_id, json.dumps(dict(detail))),
            )
