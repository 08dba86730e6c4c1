"""Apply the PostgreSQL migrations: each pending one once, in order, each in its own transaction.

Several instances may start (and migrate) at the same moment: a session advisory lock lets one
of them apply what is pending while the others wait, then find nothing left to do. A migration
that fails rolls back whole (PostgreSQL's DDL is transactional) and stops the run; the ones
before it stay applied and recorded.
"""

from __future__ import annotations

from typing import Any

import psycopg

from fiduciary.domain.clock import Clock, iso
from fiduciary.domain.errors import StoreError
from fiduciary.store.postgres.schema import MIGRATIONS

MIGRATION_LOCK = 0x6669_6475_6369_6172
"""The advisory lock key every instance takes to migrate ("fiduciar" in ASCII)."""

MIGRATIONS_TABLE = (
    'CREATE TABLE IF NOT EXISTS migrations (name TEXT COLLATE "C" NOT NULL PRIMARY KEY, '
    'applied_at TEXT COLLATE "C" NOT NULL)'
)


async def migrate(conn: psycopg.AsyncConnection[Any], clock: Clock) -> list[str]:
    """Apply every pending migration on `conn` (in autocommit mode); return the names applied."""
    applied: list[str] = []
    try:
        await conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        try:
            await conn.execute(MIGRATIONS_TABLE)
            cursor = await conn.execute("SELECT name FROM migrations")
            done = {row[0] for row in await cursor.fetchall()}
            for name, sql in MIGRATIONS:
                if name in done:
                    continue
                async with conn.transaction():
                    await conn.execute(sql.encode())
                    await conn.execute("INSERT INTO migrations VALUES (%s, %s)", (name, iso(clock.now())))
                applied.append(name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
    except psycopg.Error as exc:
        raise StoreError(f"the database refused a migration ({type(exc).__name__})") from exc
    return applied
