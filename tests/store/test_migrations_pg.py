"""The migrations themselves, on both stores: named and ordered alike, applied once, carrying
existing rows over as SQLite's do."""

from __future__ import annotations

from pathlib import Path

import psycopg

from fiduciary.store.postgres.schema import MIGRATIONS
from fiduciary.store.sqlite.schema import MIGRATIONS as SQLITE
from tests.store.schema_sql import (
    Statement,
    contents,
    migrate_pg,
    migrate_sqlite,
    run_pg,
    run_sqlite,
    sqlite_file,
    transaction_sql,
)


def test_the_migrations_are_named_as_sqlites_and_apply_in_order_once(pg_url: str) -> None:
    names = [name for name, _ in SQLITE]
    assert [name for name, _ in MIGRATIONS] == names
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert migrate_pg(conn) == names
        assert migrate_pg(conn) == []
        assert [row[0] for row in conn.execute("SELECT name FROM migrations ORDER BY applied_at, name")] == names


HOURS = ("2026-01-01T10:15:00.000000Z", "2026-01-01T10:45:00.000000Z", "2026-01-01T11:05:00.000000Z")

OLD = ("counterparty", "acme")

BEFORE_COUNTERS: tuple[Statement, ...] = (
    "INSERT INTO orgs VALUES ('org_a', 'A', 't0')",
    "INSERT INTO projects VALUES ('org_a', 'prj_a', 'A', 't0')",
    "INSERT INTO agents (org_id, project_id, agent_id, name, token_hash, created_at) "
    "VALUES ('org_a', 'prj_a', 'agt_a', 'a', 'hash_a', 't0')",
    transaction_sql("org_a", "prj_a", "txn_1", "agt_a", state="settled", amount=100, created_at=HOURS[0], party=OLD),
    transaction_sql("org_a", "prj_a", "txn_2", "agt_a", state="held", amount=250, created_at=HOURS[1], party=OLD),
    transaction_sql("org_a", "prj_a", "txn_3", "agt_a", state="settled", amount=40, created_at=HOURS[2], party=OLD),
    transaction_sql("org_a", "prj_a", "txn_4", "agt_a", state="denied", amount=999, created_at=HOURS[2], party=OLD),
    transaction_sql(
        "org_a", "prj_a", "txn_5", "agt_a", tool="charge", state="settled", amount=7, created_at=HOURS[2], party=OLD
    ),
    "INSERT INTO kill_switches VALUES ('ks_1', 'org_a', 'org', 'org_a', 'r', 'opr_1', 't0', NULL, NULL)",
    "INSERT INTO kill_switches VALUES ('ks_2', 'org_a', 'platform', '*', 'r', 'opr_1', 't0', 'opr_1', 't1')",
)
"""Rows written before 0004_counters: payments for it to count, and kill switches 0008 carries over."""


def test_the_migrations_carry_existing_rows_over_as_sqlites_do(pg_url: str, tmp_path: Path) -> None:
    lite = sqlite_file(tmp_path / "fiduciary.db")
    migrate_sqlite(lite, SQLITE[:3])
    for statement in BEFORE_COUNTERS:
        run_sqlite(lite, statement)
    migrate_sqlite(lite, SQLITE[3:])
    with psycopg.connect(pg_url, autocommit=True) as conn:
        migrate_pg(conn, MIGRATIONS[:3])
        for statement in BEFORE_COUNTERS:
            run_pg(conn, statement)
        migrate_pg(conn, MIGRATIONS[3:])
        for table in ("spend_buckets", "payee_buckets", "payees", "kill_switches", "transaction_rows"):
            # Subject ids are random: compare the counters per payee by the value they stand for.
            sql = f"SELECT * FROM {table}"
            if table.startswith("payee"):
                sql = f"SELECT t.*, s.value FROM {table} t JOIN subjects s USING (subject_id)"
            drop = {"subject_id", "counterparty_commitment"}
            kept = contents(lite.execute(sql), drop)
            assert kept, table
            assert contents(conn.execute(sql), drop) == kept, table
        buckets = conn.execute("SELECT bucket, amount_minor FROM spend_buckets WHERE tool = 'pay' ORDER BY bucket")
        assert buckets.fetchall() == [("2026-01-01T10:00:00.000000Z", 350), ("2026-01-01T11:00:00.000000Z", 40)]
    lite.close()
