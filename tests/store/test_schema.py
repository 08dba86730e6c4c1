"""The schema itself refuses what must never happen, even if code tried."""

from __future__ import annotations

import sqlite3

import pytest

from fiduciary.control import Tenant
from fiduciary.settings import Settings

pytestmark = pytest.mark.anyio


def connect(settings: Settings) -> sqlite3.Connection:
    conn = sqlite3.connect(settings.db_path)
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


async def test_the_database_runs_in_wal_with_strict_tables(settings: Settings, tenant: Tenant) -> None:
    conn = connect(settings)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name != 'sqlite_sequence'")
    for name, sql in tables:
        assert sql.rstrip().endswith("STRICT"), name
    assert [r[0] for r in conn.execute("SELECT name FROM migrations")] == [
        "0001_initial",
        "0002_screening",
        "0003_control",
        "0004_counters",
        "0005_operator_web",
        "0006_rails",
        "0007_rail_references",
        "0008_rail_freeze",
        "0009_requested_rail",
        "0010_fundings",
        "0011_audit_bytes",
        "0012_evidence",
        "0013_sinks",
        "0014_checkpoint_frontier",
        "0015_erasure",
    ]


async def test_a_wallet_balance_can_never_go_negative(settings: Settings, tenant: Tenant) -> None:
    conn = connect(settings)
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        conn.execute("UPDATE wallets SET available_minor = -1 WHERE agent_id = ?", (tenant.agent_id,))
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        conn.execute("UPDATE wallets SET held_minor = -1 WHERE agent_id = ?", (tenant.agent_id,))


async def test_a_hold_or_debit_without_a_closed_mandate_is_refused(settings: Settings, tenant: Tenant) -> None:
    conn = connect(settings)
    for kind in ("hold", "debit"):
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            conn.execute(
                "INSERT INTO ledger (org_id, project_id, agent_id, currency, kind, amount_minor, created_at) "
                "VALUES (?, ?, ?, 'USD', ?, 100, 'now')",
                (tenant.org_id, tenant.project_id, tenant.agent_id, kind),
            )


async def test_a_hold_naming_a_mandate_of_another_tenant_is_refused(settings: Settings, tenant: Tenant) -> None:
    conn = connect(settings)
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        conn.execute(
            "INSERT INTO ledger (org_id, project_id, agent_id, currency, kind, amount_minor, closed_mandate_id, "
            "created_at) VALUES (?, ?, ?, 'USD', 'hold', 100, 'mdt_of_someone_else', 'now')",
            (tenant.org_id, tenant.project_id, tenant.agent_id),
        )


async def test_a_row_cannot_point_into_another_tenant(settings: Settings, tenant: Tenant) -> None:
    conn = connect(settings)
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        conn.execute(
            "INSERT INTO wallets VALUES ('org_platform', ?, ?, 'EUR', 0, 0, 'now')",
            (tenant.project_id, tenant.agent_id),
        )


async def test_the_audit_chain_and_ledger_refuse_update_and_delete(settings: Settings, tenant: Tenant) -> None:
    conn = connect(settings)
    for sql in (
        "UPDATE audit SET actor = 'someone-else'",
        "DELETE FROM audit",
        "UPDATE ledger SET amount_minor = 1",
        "DELETE FROM ledger",
    ):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(sql)


async def test_the_agent_token_is_stored_only_as_a_hash(settings: Settings, tenant: Tenant) -> None:
    raw = settings.db_path.read_bytes() + b"".join(p.read_bytes() for p in settings.home.glob("*.db-wal"))
    assert tenant.agent_token.encode() not in raw
    assert (settings.master_key_path.stat().st_mode & 0o777) == 0o600


async def test_no_operator_approves_the_same_payment_twice_and_votes_never_change(
    settings: Settings, tenant: Tenant
) -> None:
    conn = sqlite3.connect(settings.db_path)  # foreign keys off: the votes table's own rules, apart from its parents
    operator = conn.execute("SELECT operator_id FROM operators").fetchone()[0]
    conn.execute(
        "INSERT INTO approvals (org_id, project_id, approval_id, transaction_id, args_hash, policy_version, status, "
        "requested_at, expires_at) VALUES ('o', 'p', 'apr_x', 'txn_x', 'h', 'v', 'pending', 't0', 't1')"
    )
    conn.execute("INSERT INTO approval_votes VALUES ('apr_x', ?, '2026-01-01T00:00:00Z')", (operator,))
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        conn.execute("INSERT INTO approval_votes VALUES ('apr_x', ?, '2026-01-01T00:00:01Z')", (operator,))
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE approval_votes SET operator_id = 'opr_other'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM approval_votes")
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        conn.execute("UPDATE approvals SET approvers_required = 0")
