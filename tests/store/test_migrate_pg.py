"""The PostgreSQL migrations apply once each, in order, however many instances migrate at once."""

from __future__ import annotations

import anyio
import psycopg
import pytest

from fiduciary.domain.clock import FakeClock
from fiduciary.domain.errors import StoreError
from fiduciary.store.postgres.migrate import migrate
from fiduciary.store.postgres.schema import MIGRATIONS

pytestmark = pytest.mark.anyio
NAMES = [name for name, _ in MIGRATIONS]


async def applied(url: str) -> list[str]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cursor = await conn.execute("SELECT name FROM migrations ORDER BY name")
        return [row[0] for row in await cursor.fetchall()]


async def test_a_fresh_database_gets_every_migration_once_and_a_second_run_nothing(pg_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        assert await migrate(conn, FakeClock()) == NAMES
        assert await migrate(conn, FakeClock()) == []
    assert await applied(pg_url) == sorted(NAMES)


async def test_instances_that_migrate_at_the_same_moment_apply_each_migration_once(pg_url: str) -> None:
    runs: list[list[str]] = []

    async def instance() -> None:
        async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
            runs.append(await migrate(conn, FakeClock()))

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(instance)
    assert sorted(name for run in runs for name in run) == sorted(NAMES), "each applied by exactly one"
    assert await applied(pg_url) == sorted(NAMES)


async def test_a_database_that_refuses_a_migration_is_a_store_error_and_keeps_what_applied(pg_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        await conn.execute("CREATE TABLE orgs (taken_by_someone_else TEXT)")  # the first migration cannot create it
        with pytest.raises(StoreError, match="refused a migration"):
            await migrate(conn, FakeClock())
        cursor = await conn.execute("SELECT count(*) FROM migrations")
        assert (await cursor.fetchone()) == (0,), "the failed migration rolled back whole"
