"""The SQLite store: one writer connection serialised by a lock, one read-only reader.

WAL journal, `synchronous=FULL` (a committed payment survives power loss), foreign keys on,
STRICT tables, and every write in `BEGIN IMMEDIATE` so concurrent processes (a server and
an operator's CLI) queue on the database lock instead of failing half-way. Errors of sqlite
leave this module only as `StoreError` (a constraint the schema enforces: `ConflictError`).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from fiduciary.domain import limits
from fiduciary.domain.clock import Clock, iso
from fiduciary.domain.errors import ConflictError, StoreError
from fiduciary.store.ports import SignerSource
from fiduciary.store.sqlite.queries import Queries
from fiduciary.store.sqlite.schema import MIGRATIONS
from fiduciary.store.sqlite.writer import Writer


async def _connect(path: Path, *, read_only: bool) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = aiosqlite.Row
    await conn.execute(f"PRAGMA busy_timeout = {limits.db_busy_timeout_ms}")
    await conn.execute("PRAGMA foreign_keys = ON")
    await conn.execute("PRAGMA synchronous = FULL")
    if read_only:
        await conn.execute("PRAGMA query_only = ON")
    else:
        await conn.execute("PRAGMA journal_mode = WAL")
    return conn


class SqliteStore:
    """The only object in fiduciary that speaks SQL. Implements `fiduciary.store.ports.Store`."""

    def __init__(
        self,
        path: Path,
        writer: aiosqlite.Connection,
        reader: aiosqlite.Connection,
        *,
        clock: Clock,
        signers: SignerSource,
    ) -> None:
        self.path = path
        self.clock = clock
        self._writer = writer
        self._reader = reader
        self._lock = asyncio.Lock()
        self._signers = signers
        self.read = Queries(reader)

    @classmethod
    async def open(cls, path: Path, *, clock: Clock, signers: SignerSource, migrate: bool = True) -> SqliteStore:
        """Open (and by default migrate) the database at `path`."""
        try:
            writer = await _connect(path, read_only=False)
            if migrate:
                await _migrate(writer, clock)
            reader = await _connect(path, read_only=True)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the database at {path}") from exc
        return cls(path, writer, reader, clock=clock, signers=signers)

    async def close(self) -> None:
        await self._reader.close()
        await self._writer.close()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Writer]:
        """One write transaction: commits on normal exit, rolls back on any exception."""
        async with self._lock:
            try:
                await self._writer.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError("the database refused to start a write") from exc
            try:
                yield Writer(self._writer, now=self.clock.now(), signers=self._signers)
            except BaseException as exc:
                await self._writer.execute("ROLLBACK")
                if isinstance(exc, sqlite3.IntegrityError):
                    raise ConflictError("the database refused a write that breaks a constraint") from exc
                if isinstance(exc, sqlite3.Error):
                    raise StoreError("the database failed during a write") from exc
                raise
            try:
                await self._writer.execute("COMMIT")
            except sqlite3.Error as exc:
                raise StoreError("the database failed to commit") from exc


async def _migrate(conn: aiosqlite.Connection, clock: Clock) -> list[str]:
    """Apply pending migrations, each in its own transaction; return the names applied."""
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS migrations (name TEXT NOT NULL PRIMARY KEY, applied_at TEXT NOT NULL) STRICT"
    )
    async with conn.execute("SELECT name FROM migrations") as cursor:
        done = {row[0] for row in await cursor.fetchall()}
    applied = []
    for name, sql in MIGRATIONS:
        if name in done:
            continue
        await conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(sql):
                await conn.execute(statement)
            await conn.execute("INSERT INTO migrations VALUES (?, ?)", (name, iso(clock.now())))
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        await conn.execute("COMMIT")
        applied.append(name)
    return applied


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
