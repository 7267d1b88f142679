"""The database core: one SQLite connection in WAL mode, write transactions, migrations, and
what happens when the disk cannot take a write (docs/adr/0015-faults-refuse-visibly-hold-and-resume.md).

It knows no table but ``probe``: each package keeps its own tables in a repository (its
``records.py``) that takes a ``Database``; a write that spans packages (a sale: the journal,
the sold set, the outbox) is one ``transaction()`` handed to each of them.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from edge_agent import __version__
from edge_agent.db.migrations import MIGRATIONS
from edge_agent.errors import EdgeError


class StoreError(EdgeError):
    """The database cannot write now (code ``store_unavailable``); nothing of the command stayed."""


class NewerDatabase(Exception):
    """The database has migrations this code does not know: a newer edge-agent wrote it (a
    downgrade). Opening it would let old code write rows it does not understand; the daemon
    refuses to start instead (``edge-agent run`` exits with ``EXIT_NEWER_DATABASE``)."""

    def __init__(self, path: Path, schema: int, known: int, written_by: str | None) -> None:
        self.path, self.schema, self.known, self.written_by = path, schema, known, written_by
        by = f"edge-agent {written_by}" if written_by else "a newer edge-agent"
        super().__init__(
            f"the database {path} has schema {schema}, written by {by}; this edge-agent knows schema {known}: "
            f"install that version or newer again, or move the database away to start empty"
        )


#: SQLite primary result codes that mean the storage cannot take writes now (full, I/O error,
#: read-only, cannot open, busy or locked past the timeout, out of memory, corrupt, not a database)
STORAGE_FAULTS: Final = frozenset({13, 10, 8, 14, 5, 6, 7, 11, 26})
PROBE_BYTES: Final = 32_768  # what a probe write needs room for: more than a basket command takes


class Database:
    """The store's SQLite file. ``fault`` says why it cannot be written right now (a full disk,
    say) and ``fault_since`` since when; ``fault_listeners`` hear every change of it."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.fault: str | None = None
        self.fault_since: float | None = None
        #: called with the new fault (None: writable again) on every change, never per write
        self.fault_listeners: list[Callable[[str | None], None]] = []
        self._after_commit: list[Callable[[], None]] = []
        self._opened = False
        self._snapshot: sqlite3.Connection | None = None
        with contextlib.suppress(StoreError):  # a full disk at start-up: health is served, sales refused
            self._open()

    def _open(self) -> None:
        try:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")  # a committed sale survives a power cut, not only a crash
            self.conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.OperationalError as e:
            self._failed(e)
        self.migrate()
        self._opened = True
        if self._snapshot is not None:  # reads go to the database again
            self._snapshot.close()
            self._snapshot = None

    def close(self) -> None:
        self.conn.close()

    @property
    def reads(self) -> sqlite3.Connection:
        """Where reads go: the database, or, when it could not even be opened for writing (a full
        disk at start-up leaves no room for SQLite's WAL index), a read-only snapshot of it, so
        the baskets are still shown and health still answers."""
        if self._opened:
            return self.conn
        if self._snapshot is None:
            snapshot = sqlite3.connect(f"file:{self.path}?immutable=1", uri=True, check_same_thread=False)
            try:
                version = snapshot.execute("PRAGMA user_version").fetchone()[0]
            except sqlite3.DatabaseError:
                version = 0
            if version < len(MIGRATIONS):  # never created (the first start, on a full disk): empty
                snapshot.close()
                snapshot = sqlite3.connect(":memory:", check_same_thread=False)
                for script in MIGRATIONS:
                    snapshot.executescript(script)
            self._snapshot = snapshot
        return self._snapshot

    # -- faults ---------------------------------------------------------------------------------
    def _failed(self, error: sqlite3.OperationalError) -> None:
        if (getattr(error, "sqlite_errorcode", 0) & 0xFF) not in STORAGE_FAULTS:
            raise error  # a misuse (a transaction within a transaction, say): a bug, not a full disk
        reason = str(error) or type(error).__name__
        if self.fault != reason:
            self.fault, self.fault_since = reason, self.fault_since or time.time()
            for listener in self.fault_listeners:
                listener(reason)
        raise StoreError("store_unavailable", f"the store cannot write: {reason}") from error

    def _recovered(self) -> None:
        if self.fault is not None:
            self.fault = self.fault_since = None
            for listener in self.fault_listeners:
                listener(None)

    def probe(self) -> bool:
        """Try a small write (and finish opening the database if it never could); True when the
        store can write again. Called now and then while ``fault`` is set, never per read."""
        try:
            if not self._opened:
                self._open()
            with self.transaction() as conn:  # room for a few commands' worth, then given back
                conn.execute("CREATE TABLE IF NOT EXISTS probe (room BLOB)")
                conn.execute("INSERT INTO probe VALUES (zeroblob(?))", (PROBE_BYTES,))
                conn.execute("DELETE FROM probe")
        except StoreError:
            return False
        return True

    # -- schema -----------------------------------------------------------------------------
    def migrate(self) -> int:
        """Apply the migrations the database has not had yet; returns the schema's version."""
        conn = self.conn
        version: int = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise NewerDatabase(self.path, version, len(MIGRATIONS), self._written_by())
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction():
                for statement in filter(str.strip, script.split(";")):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")
        if self._written_by() != __version__:  # once per upgrade, not per start
            with self.transaction():
                conn.execute(
                    "INSERT INTO meta VALUES ('written_by', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (__version__,),
                )
        return len(MIGRATIONS)

    def _written_by(self) -> str | None:
        """The version of edge-agent that last opened the database, where it says (schema 11 on)."""
        try:
            row = self.conn.execute("SELECT value FROM meta WHERE key = 'written_by'").fetchone()
        except sqlite3.Error:
            return None
        return str(row[0]) if row else None

    # -- transactions ---------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction. A database that cannot write (``sqlite3.OperationalError``:
        a full disk, an I/O error) raises ``StoreError`` and sets ``fault``; the next commit
        that succeeds clears it."""
        conn = self.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            self._failed(e)
        self._after_commit = []
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as e:
            with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back already
                conn.execute("ROLLBACK")
            self._after_commit = []
            if isinstance(e, sqlite3.OperationalError):
                self._failed(e)
            raise
        self._recovered()
        done, self._after_commit = self._after_commit, []
        for callback in done:
            callback()

    @contextmanager
    def joined(self, conn: sqlite3.Connection | None) -> Iterator[sqlite3.Connection]:
        """``conn``, inside the caller's transaction, when given; else a transaction of its own."""
        if conn is not None:
            yield conn
            return
        with self.transaction() as tx:
            yield tx

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the current transaction commits (once, however often it is
        asked for); never if it rolls back. It must not block."""
        if callback not in self._after_commit:
            self._after_commit.append(callback)
