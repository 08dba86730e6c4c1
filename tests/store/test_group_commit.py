"""Group commit: write transactions ready together share one COMMIT, and one member's failure
rolls back that member alone; nothing returns before its group is durable."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import anyio
import pytest

from fiduciary.domain.clock import FakeClock
from fiduciary.domain.errors import ConflictError, StoreError
from fiduciary.keyring import Keyring
from fiduciary.mandates.keys import new_master_key
from fiduciary.store.sqlite import SqliteStore

pytestmark = pytest.mark.anyio


class Refused(Exception):
    """A member that gives up half-way, as a refused payment would."""


async def opened(tmp_path: Path) -> SqliteStore:
    return await SqliteStore.open(tmp_path / "db.sqlite", clock=FakeClock(), signers=Keyring(new_master_key()))


def orgs(tmp_path: Path) -> set[str]:
    with sqlite3.connect(tmp_path / "db.sqlite") as conn:  # another connection: only what was committed
        return {row[0] for row in conn.execute("SELECT org_id FROM orgs")}


async def test_concurrent_writes_share_commits_and_a_failed_member_takes_no_other_down(tmp_path: Path) -> None:
    store = await opened(tmp_path)
    commits: list[str] = []
    store._writer.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    outcomes: dict[int, str] = {}
    durable_when_returned: dict[int, bool] = {}

    async def member(i: int) -> None:
        try:
            async with store.write() as w:
                await w.insert_org(f"org_{i}", f"org {i}")
                if i % 7 == 3:
                    await w.insert_org("org_0", "a second org_0")  # breaks the primary key: this member only
                if i % 7 == 5:
                    raise Refused
        except ConflictError:
            outcomes[i] = "conflict"
        except Refused:
            outcomes[i] = "refused"
        else:
            outcomes[i] = "committed"
            durable_when_returned[i] = f"org_{i}" in orgs(tmp_path)

    async with anyio.create_task_group() as tg:
        for i in range(28):
            tg.start_soon(member, i)
    await store.close()

    committed = {i for i, what in outcomes.items() if what == "committed"}
    assert orgs(tmp_path) == {f"org_{i}" for i in committed}, "exactly the members that returned normally"
    assert {i for i, what in outcomes.items() if what != "committed"} == {i for i in range(28) if i % 7 in (3, 5)}
    assert all(durable_when_returned.values()) and len(durable_when_returned) == len(committed)
    assert len(commits) < len(committed), f"{len(commits)} commits for {len(committed)} transactions"


async def test_a_commit_that_fails_fails_every_member_of_its_group_and_the_store_goes_on(tmp_path: Path) -> None:
    store = await opened(tmp_path)
    async with store.write() as w:
        await w.insert_org("org_a", "a")
    results: dict[int, str] = {}

    async def member(i: int) -> None:
        try:
            async with store.write() as w:
                if i == 0:
                    await w._all("PRAGMA defer_foreign_keys = ON")  # the orphan below is found only at COMMIT
                    await w.insert_project("org_missing", "prj_orphan", "p")
                else:
                    await w.insert_project("org_a", f"prj_{i}", "p")
        except StoreError:
            results[i] = "failed"
        else:
            results[i] = "committed"

    async with anyio.create_task_group() as tg:
        for i in range(6):
            tg.start_soon(member, i)
    async with store.write() as w:
        await w.insert_project("org_a", "prj_after", "p")
    await store.close()
    with sqlite3.connect(tmp_path / "db.sqlite") as conn:
        projects = {row[0] for row in conn.execute("SELECT project_id FROM projects")}
    assert results[0] == "failed"
    assert projects == {f"prj_{i}" for i, what in results.items() if what == "committed"} | {"prj_after"}
