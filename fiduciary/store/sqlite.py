"""The SQLite store: one writer connection serialised by a lock, one read-only reader.

WAL journal, `synchronous=FULL` (a committed payment survives power loss), foreign keys on,
STRICT tables, and every write in `BEGIN IMMEDIATE` so concurrent processes (a server and
an operator's CLI) queue on the database lock instead of failing half-way.
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
from fiduciary.domain.errors import ConfigError, StoreError
from fiduciary.mandates.keys import Ed25519Signer, KeyPurpose, SealedKey, generate, unlock
from fiduciary.store.queries import Queries
from fiduciary.store.schema import MIGRATIONS
from fiduciary.store.writer import Writer


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
    """The only object in fiduciary that speaks SQL."""

    def __init__(
        self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection, *, clock: Clock, master_key: bytes
    ) -> None:
        self.path = path
        self.clock = clock
        self._writer = writer
        self._reader = reader
        self._lock = asyncio.Lock()
        self._master_key = master_key
        self._signers: dict[tuple[str, KeyPurpose], Ed25519Signer] = {}
        self.read = Queries(reader)

    @classmethod
    async def open(cls, path: Path, *, clock: Clock, master_key: bytes, migrate: bool = True) -> SqliteStore:
        """Open (and by default migrate) the database at `path`."""
        try:
            writer = await _connect(path, read_only=False)
            if migrate:
                await _migrate(writer, clock)
            reader = await _connect(path, read_only=True)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the database at {path}") from exc
        return cls(path, writer, reader, clock=clock, master_key=master_key)

    async def close(self) -> None:
        await self._reader.close()
        await self._writer.close()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Writer]:
        """One write transaction: commits on normal exit, rolls back on any exception."""
        async with self._lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield Writer(self._writer, now=self.clock.now(), signer_for=self._signer)
            except BaseException:
                await self._writer.execute("ROLLBACK")
                raise
            await self._writer.execute("COMMIT")

    async def _signer(self, queries: Queries, org_id: str, purpose: KeyPurpose) -> Ed25519Signer:
        cached = self._signers.get((org_id, purpose))
        if cached is not None:
            return cached
        keys = await queries.sealed_keys(org_id, purpose)
        if not keys:
            raise ConfigError(f"org {org_id} has no {purpose} key")
        signer = unlock(keys[0], master_key=self._master_key)
        self._signers[(org_id, purpose)] = signer
        return signer

    def new_key(self, purpose: KeyPurpose) -> SealedKey:
        """A fresh org key for `purpose`, sealed under this store's master key."""
        return generate(purpose, master_key=self._master_key)

    async def signer(self, org_id: str, purpose: KeyPurpose) -> Ed25519Signer:
        """The org's current signing key for `purpose`, unlocked with the master key."""
        return await self._signer(self.read, org_id, purpose)


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
