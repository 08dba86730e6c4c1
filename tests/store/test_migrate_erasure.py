"""Migration 0015 carries rows that named counterparties in clear into the vault, on both stores."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from fiduciary.audit.pii import commit, digest
from fiduciary.store.postgres.schema import MIGRATIONS
from fiduciary.store.sqlite.schema import MIGRATIONS as SQLITE
from tests.store.schema_sql import (
    Statement,
    migrate_pg,
    migrate_sqlite,
    run_pg,
    run_sqlite,
    sqlite_file,
    transaction_sql,
)

BEFORE = SQLITE.index(next(m for m in SQLITE if m[0] == "0015_erasure"))
OLD_COMMITMENT = commit("acct:maria")

LEGACY: tuple[Statement, ...] = (
    "INSERT INTO orgs VALUES ('org_a', 'A', 't0')",
    "INSERT INTO projects VALUES ('org_a', 'prj_a', 'A', 't0')",
    "INSERT INTO agents (org_id, project_id, agent_id, name, token_hash, created_at) "
    "VALUES ('org_a', 'prj_a', 'agt_a', 'a', 'hash_a', 't0')",
    transaction_sql("org_a", "prj_a", "txn_1", "agt_a", state="settled", party=("counterparty", "acct:maria")),
    transaction_sql("org_a", "prj_a", "txn_2", "agt_a", state="settled", party=("counterparty", "acct:maria")),
    ("INSERT INTO pii VALUES ('org_a', ?, ?, 'acct:maria', 't0')", (OLD_COMMITMENT.commitment, OLD_COMMITMENT.salt)),
    "INSERT INTO fundings VALUES ('fnd_1', 'org_a', 'prj_a', 'agt_a', 'sandbox', 'cus:ana', 100, 'USD', 'credited', "
    "NULL, 'opr_1', 't0', 't0')",
    "INSERT INTO payees VALUES ('org_a', 'prj_a', 'agt_a', 'acct:maria', 2, 't0', 't1')",
    "INSERT INTO payee_buckets VALUES ('org_a', 'prj_a', 'agt_a', 'acct:maria', 'pay', 'USD', 't0', 200, 2)",
    "INSERT INTO closed_mandates VALUES ('org_a', 'prj_a', 'mdt_c', 'txn_1', 'mdt_o', 'eyJ.acct:maria.sig', 't0', "
    "'t1', 't0')",
)
"""Rows as the schema before 0015 kept them: every one names the counterparty in clear."""


def _check(select: Callable[[str], list[tuple[Any, ...]]]) -> None:
    rows = select(
        "SELECT t.transaction_id, t.counterparty, p.salt, t.counterparty_commitment FROM transaction_rows t "
        "JOIN pii p ON p.org_id = t.org_id AND p.commitment = t.counterparty_commitment ORDER BY 1"
    )
    assert [(r[0], r[1]) for r in rows] == [("txn_1", "acct:maria"), ("txn_2", "acct:maria")]
    assert all(digest(bytes(r[2]), "acct:maria") == r[3] for r in rows), "each row's commitment opens to its value"
    assert rows[0][3] != rows[1][3], "each row has its own salt"
    assert select("SELECT counterparty FROM funding_rows") == [("cus:ana",)]
    subjects = dict(select("SELECT value, subject_id FROM subjects"))
    assert set(subjects) == {"acct:maria", "cus:ana"}
    assert select("SELECT subject_id, payments FROM payees") == [(subjects["acct:maria"], 2)]
    assert select("SELECT subject_id, amount_minor FROM payee_buckets") == [(subjects["acct:maria"], 200)]
    assert select("SELECT subject_id FROM pii WHERE commitment = ?") == [(subjects["acct:maria"],)]
    assert select("SELECT token FROM closed_mandates") == [("",)], "a token that named it in clear is dropped"


def test_sqlite_carries_clear_counterparties_into_the_vault(tmp_path: Path) -> None:
    lite = sqlite_file(tmp_path / "fiduciary.db")
    migrate_sqlite(lite, SQLITE[:BEFORE])
    for statement in LEGACY:
        run_sqlite(lite, statement)
    migrate_sqlite(lite, SQLITE[BEFORE:])

    def select(sql: str) -> list[tuple[Any, ...]]:
        params = (OLD_COMMITMENT.commitment,) if "?" in sql else ()
        return [tuple(r) for r in lite.execute(sql, params).fetchall()]

    _check(select)
    tables = [r[0] for r in lite.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in set(tables) - {"subjects"}:
        for row in lite.execute(f"SELECT * FROM {table}"):
            assert not any(isinstance(c, str) and ("acct:maria" in c or "cus:ana" in c) for c in row), table
    lite.close()


def test_postgresql_carries_clear_counterparties_into_the_vault(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        migrate_pg(conn, MIGRATIONS[:BEFORE])
        for statement in LEGACY:
            run_pg(conn, statement)
        migrate_pg(conn, MIGRATIONS[BEFORE:])

        def select(sql: str) -> list[tuple[Any, ...]]:
            params = (OLD_COMMITMENT.commitment,) if "?" in sql else None
            return [tuple(r) for r in conn.execute(sql.replace("?", "%s"), params).fetchall()]

        _check(select)
        assert "counterparty" not in {
            r[0] for r in conn.execute("SELECT column_name FROM information_schema.columns WHERE table_name IN "
                                       "('transactions', 'fundings', 'payees', 'payee_buckets', 'pii')")
        }  # fmt: skip
