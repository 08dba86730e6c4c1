"""Entries are verified from the canonical bytes stored beside them; entries stored before those
bytes were kept are rebuilt from their columns and verify as before."""

from __future__ import annotations

import sqlite3

import pytest

from fiduciary.control import Tenant, verify_chain
from fiduciary.runtime import Runtime
from fiduciary.settings import Settings

pytestmark = pytest.mark.anyio


async def test_an_entry_is_read_and_verified_from_its_stored_bytes(runtime: Runtime, tenant: Tenant) -> None:
    page = await runtime.store.read.audit_page(tenant.org_id, after_seq=0, limit=100)
    stored = await runtime.store.read.audit_stored(tenant.org_id, after_seq=0, limit=100)
    assert page and [e.canonical for e in page] == [s.canonical for s in stored]
    assert all(e.canonical == e.body.canonical() for e in page), "the stored bytes are the canonical JSON"
    for signatures in (True, False):
        report = await verify_chain(runtime.store.read, tenant.org_id, signatures=signatures)
        assert report.ok and report.checked == len(page)


async def test_entries_stored_without_their_bytes_are_rebuilt_from_the_columns(
    runtime: Runtime, tenant: Tenant, settings: Settings
) -> None:
    with sqlite3.connect(settings.db_path) as db:
        db.execute("DROP TRIGGER audit_append_only_update")
        db.execute("UPDATE audit SET body = NULL")
    page = await runtime.store.read.audit_page(tenant.org_id, after_seq=0, limit=100)
    assert page and all(e.canonical == e.body.canonical() for e in page)
    assert (await verify_chain(runtime.store.read, tenant.org_id)).ok
    assert (await verify_chain(runtime.store.read, tenant.org_id, signatures=False)).ok


async def test_the_hash_walk_finds_a_deleted_or_edited_entry_where_the_full_check_does(
    runtime: Runtime, tenant: Tenant, settings: Settings
) -> None:
    with sqlite3.connect(settings.db_path) as db:
        db.execute("DROP TRIGGER audit_append_only_delete")
        db.execute("DELETE FROM audit WHERE org_id = ? AND seq = 2", (tenant.org_id,))
    for signatures in (True, False):
        report = await verify_chain(runtime.store.read, tenant.org_id, signatures=signatures)
        assert (report.ok, report.checked, report.broken_seq) == (False, 1, 3)
        assert report.reason is not None and report.reason.startswith("sequence jumps from 1 to 3")
