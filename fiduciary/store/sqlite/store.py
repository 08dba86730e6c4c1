"""The SQLite store: one writer connection whose transactions commit in groups, one read-only reader.

WAL journal, `synchronous=FULL` (a committed payment survives power loss), foreign keys on,
STRICT tables, and every write in `BEGIN IMMEDIATE` so concurrent processes (a server and
an operator's CLI) queue on the database lock instead of failing half-way. Errors of sqlite
leave this module only as `StoreError` (a constraint the schema enforces: `ConflictError`).

Where the time goes. A statement on pages SQLite already holds takes microseconds, less than
handing it to a thread and back, so statements run where they are called, on the event loop.
Two things can take long, and leave the loop for a worker thread: the fsync of a COMMIT, and a
BEGIN that finds another process holding the database lock (it waits there, up to
`limits.db_busy_timeout_ms`).

Group commit. `write()` transactions that are ready together share one `BEGIN IMMEDIATE …
COMMIT`, and so one fsync. Each runs inside its own SAVEPOINT: one that fails (a refusal, a
broken constraint, any exception) rolls back to its savepoint alone, and the others' work
stays. The first member of a group (its leader) lets every transaction already waiting for
the writer run, then commits them all; no member returns before that COMMIT is durable, so a
crash loses nothing a caller was told had happened. A COMMIT that fails fails every member.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import anyio.lowlevel

from fiduciary.audit.pii import digest
from fiduciary.domain import limits
from fiduciary.domain.clock import Clock, iso
from fiduciary.domain.errors import ConflictError, StoreError
from fiduciary.store.ports import SignerSource
from fiduciary.store.sqlite.queries import Queries
from fiduciary.store.sqlite.schema import MIGRATIONS
from fiduciary.store.sqlite.writer import Writer


def _connect(path: Path, *, read_only: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, cached_statements=512)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {limits.db_busy_timeout_ms}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = FULL")
    if read_only:
        conn.execute("PRAGMA query_only = ON")
    else:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA secure_delete = ON")  # what a write removes is zeroed, not left in free space
    return conn


@dataclass(slots=True)
class _Group:
    """Write transactions that commit together."""

    done: anyio.Event = field(default_factory=anyio.Event)
    failure: BaseException | None = None


class SqliteStore:
    """The only object in fiduciary that speaks SQL. Implements `fiduciary.store.ports.Store`."""

    def __init__(
        self,
        path: Path,
        writer: sqlite3.Connection,
        reader: sqlite3.Connection,
        *,
        clock: Clock,
        signers: SignerSource,
    ) -> None:
        self.path = path
        self.clock = clock
        self._writer = writer
        self._reader = reader
        self._lock = anyio.Lock()
        """Held while a member runs on the writer, and while a group commits."""
        self._group: _Group | None = None
        """The group whose outer transaction is open on the writer, if any."""
        self._signers = signers
        self.read = Queries(reader)

    @classmethod
    async def open(cls, path: Path, *, clock: Clock, signers: SignerSource, migrate: bool = True) -> SqliteStore:
        """Open (and by default migrate) the database at `path`."""

        def opened() -> tuple[sqlite3.Connection, sqlite3.Connection]:
            writer = _connect(path, read_only=False)
            if migrate:
                _migrate(writer, clock)
            return writer, _connect(path, read_only=True)

        try:
            writer, reader = await anyio.to_thread.run_sync(opened)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the database at {path}") from exc
        return cls(path, writer, reader, clock=clock, signers=signers)

    async def scrub(self) -> bool:
        """Take the page images a wipe left behind out of the WAL: a checkpoint that truncates it
        (`secure_delete` already zeroed them in the database file). False if a reader in another
        process kept the WAL from being truncated."""
        for _ in range(limits.scrub_attempts):
            async with self._lock:  # writers wait meanwhile, so each attempt gives up at once if busy
                if not self._writer.in_transaction:
                    try:
                        self._writer.execute("PRAGMA busy_timeout = 0")
                        busy, _, _ = await anyio.to_thread.run_sync(  # it copies and fsyncs: off the loop
                            lambda: self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                        )
                    except sqlite3.Error as exc:
                        raise StoreError("the database failed to checkpoint") from exc
                    finally:
                        self._writer.execute(f"PRAGMA busy_timeout = {limits.db_busy_timeout_ms}")
                    if busy == 0:
                        return True
            await anyio.sleep(0.05)
        return False

    async def close(self) -> None:
        async with self._lock:
            self._reader.close()
            self._writer.close()

    @asynccontextmanager
    async def write(self, org_id: str | None = None) -> AsyncIterator[Writer]:
        """One write transaction: durable on normal exit, rolled back on any exception. `org_id` (the
        one org it changes) is for stores with several writers; SQLite has one."""
        leader = False
        await self._lock.acquire()
        try:
            if self._group is None:
                await self._begin()
                self._group, leader = _Group(), True
            group = self._group
            self._writer.execute("SAVEPOINT member")
            try:
                yield Writer(self._writer, now=self.clock.now(), signers=self._signers)
            except BaseException as exc:
                self._undo(group)
                mapped = _mapped(exc)
                if mapped is exc:
                    raise
                raise mapped from exc
            self._writer.execute("RELEASE member")
        finally:
            self._lock.release()
            if leader:
                with anyio.CancelScope(shield=True):
                    await self._commit(group)
        await group.done.wait()
        if group.failure is not None:
            raise StoreError("the database failed to commit") from group.failure

    async def _begin(self) -> None:
        """BEGIN IMMEDIATE on the loop when the database lock is free, else waiting for it in a thread."""
        try:
            self._writer.execute("PRAGMA busy_timeout = 0")
            try:
                self._writer.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError:
                pass  # another process writes: wait for it off the loop
            finally:
                self._writer.execute(f"PRAGMA busy_timeout = {limits.db_busy_timeout_ms}")
            await anyio.to_thread.run_sync(self._writer.execute, "BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError("the database refused to start a write") from exc

    def _undo(self, group: _Group) -> None:
        """Roll one member back to its savepoint; if sqlite already dropped the whole transaction,
        the group has failed."""
        try:
            self._writer.execute("ROLLBACK TO member")
            self._writer.execute("RELEASE member")
        except sqlite3.Error as exc:
            group.failure = group.failure or exc
        if not self._writer.in_transaction:
            group.failure = group.failure or StoreError("the transaction was rolled back")

    async def _commit(self, group: _Group) -> None:
        """Let the writers already waiting join `group`, then commit it once for all of them."""
        await anyio.lowlevel.checkpoint()
        async with self._lock:
            self._group = None
            try:
                if group.failure is None:
                    await anyio.to_thread.run_sync(self._writer.execute, "COMMIT")
            except sqlite3.Error as exc:
                group.failure = exc
            finally:
                if self._writer.in_transaction:
                    self._writer.execute("ROLLBACK")
                group.done.set()


def _mapped(exc: BaseException) -> BaseException:
    if isinstance(exc, sqlite3.IntegrityError):
        return ConflictError("the database refused a write that breaks a constraint")
    if isinstance(exc, sqlite3.Error):
        return StoreError("the database failed during a write")
    return exc


def _migrate(conn: sqlite3.Connection, clock: Clock) -> list[str]:
    """Apply pending migrations, each in its own transaction; return the names applied."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS migrations (name TEXT NOT NULL PRIMARY KEY, applied_at TEXT NOT NULL) STRICT"
    )
    done = {row[0] for row in conn.execute("SELECT name FROM migrations").fetchall()}
    add_functions(conn)
    applied = []
    for name, sql in MIGRATIONS:
        if name in done:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(sql):
                conn.execute(statement)
            conn.execute("INSERT INTO migrations VALUES (?, ?)", (name, iso(clock.now())))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        applied.append(name)
    return applied


def add_functions(conn: sqlite3.Connection) -> None:
    """The functions migrations call that SQLite lacks: `fiduciary_commit(salt, value)` commits
    rows made before a migration as `fiduciary.audit.pii` does."""
    conn.create_function("fiduciary_commit", 2, digest, deterministic=True)


def _statements(script: str) -> list[str]:
    """Split a migration into complete statements (trigger bodies contain semicolons)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current.strip())
            current = ""
    assert not current.strip(), "migration ends with an incomplete statement"
    return statements
