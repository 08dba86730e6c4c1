"""PostgreSQL's schema refuses what SQLite's refuses, row for row (the shape: test_schema_pg_shape.py).

Each refusal is shown in both databases, bypassing any code: the same rows are written into a
migrated SQLite file and a migrated PostgreSQL database, and the same statement is refused by both.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors

from tests.pg import Cluster
from tests.store.schema_sql import (
    AUDIT,
    CHECK,
    FOREIGN_KEY,
    HASH,
    LEDGER,
    NOT_NULL,
    OPEN,
    UNIQUE,
    VOTES,
    Refusal,
    Statement,
    append_only,
    audit_sql,
    contents,
    flag_sql,
    ledger_sql,
    migrate_pg,
    migrate_sqlite,
    rolled_back,
    run_pg,
    run_sqlite,
    session_sql,
    sqlite_file,
    transaction_sql,
)

SEED: tuple[Statement, ...] = (
    "INSERT INTO orgs VALUES ('org_a', 'A', 't0'), ('org_b', 'B', 't0')",
    "INSERT INTO projects VALUES ('org_a', 'prj_a', 'A', 't0'), ('org_b', 'prj_b', 'B', 't0')",
    "INSERT INTO agents (org_id, project_id, agent_id, name, token_hash, created_at) VALUES "
    "('org_a', 'prj_a', 'agt_a', 'a', 'hash_a', 't0'), ('org_b', 'prj_b', 'agt_b', 'b', 'hash_b', 't0')",
    "INSERT INTO wallets VALUES ('org_a', 'prj_a', 'agt_a', 'USD', 1000, 0, 't0'), "
    "('org_b', 'prj_b', 'agt_b', 'USD', 1000, 0, 't0')",
    ("INSERT INTO org_keys VALUES ('org_a', 'kid_a', 'audit', ?, ?, 't0', NULL)", (HASH, b"sealed")),
    "INSERT INTO operators (operator_id, name, role, token_hash, created_by, created_at) VALUES "
    "('opr_1', 'alice', 'admin', 'op_hash_1', 'cli', 't0'), ('opr_2', 'bob', 'approver', 'op_hash_2', 'cli', 't0')",
    "INSERT INTO open_mandates (org_id, project_id, mandate_id, agent_id, token, status, issued_by, issued_at) "
    "VALUES ('org_a', 'prj_a', 'omd_a', 'agt_a', 'tok', 'active', 'opr_1', 't0'), "
    "('org_b', 'prj_b', 'omd_b', 'agt_b', 'tok', 'active', 'opr_1', 't0')",
    transaction_sql("org_a", "prj_a", "txn_a", "agt_a", open_mandate="omd_a"),
    transaction_sql("org_b", "prj_b", "txn_b", "agt_b", open_mandate="omd_b"),
    transaction_sql("org_b", "prj_b", "txn_b2", "agt_b"),
    transaction_sql("org_a", "prj_a", "txn_r", "agt_a", tool="refund", state="settled", original="txn_a"),
    "INSERT INTO closed_mandates (org_id, project_id, mandate_id, transaction_id, parent_id, token, issued_at, "
    "expires_at) VALUES ('org_a', 'prj_a', 'cmd_a', 'txn_a', 'omd_a', 'tok', 't0', 't1'), "
    "('org_b', 'prj_b', 'cmd_b', 'txn_b', 'omd_b', 'tok', 't0', 't1')",
    "INSERT INTO approvals (org_id, project_id, approval_id, transaction_id, args_hash, policy_version, status, "
    "requested_at, expires_at) VALUES ('org_a', 'prj_a', 'apr_a', 'txn_a', 'h', 'v1', 'pending', 't0', 't1')",
    "INSERT INTO approval_votes VALUES ('apr_a', 'opr_1', 't0')",
    ledger_sql("fund", mandate=None, amount=1000, txn="txn_r"),
    ledger_sql("hold", mandate="cmd_a"),
    audit_sql("org_a", 1, "prj_a"),
    audit_sql("org_a", 2, None, body=b"{}"),
    flag_sql("flg_0", ("opr_1", "t1", "seen")),
    flag_sql("flg_1", OPEN),
    "INSERT INTO kill_switches VALUES ('ks_1', 'org_a', 'rail', 'sandbox', 'r', 'opr_1', 't0', NULL, NULL)",
    "INSERT INTO operator_sessions VALUES ('sess_1', 'opr_1', '2026-01-01T00:00:00.000000Z', "
    "'2026-01-02T00:00:00.000000Z', NULL)",
    "INSERT INTO alert_outbox (delivery_id, alert_id, org_id, url, body, next_at) "
    "VALUES ('dlv_1', 'alr_1', 'org_a', 'https://example.test', '{}', 't0')",
)
"""Rows both schemas accept: two tenants, each with an agent, a wallet, a payment and its mandates."""


@pytest.fixture(scope="module")
def seeded_pg(pg_cluster: Cluster) -> str:
    url = pg_cluster.create_database(f"schema_pg_{os.getpid()}")
    with psycopg.connect(url, autocommit=True) as conn:
        migrate_pg(conn)
        for statement in SEED:
            run_pg(conn, statement)
    return url


@pytest.fixture(scope="module")
def seeded_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("schema") / "fiduciary.db"
    conn = sqlite_file(path)
    migrate_sqlite(conn)
    for statement in SEED:
        run_sqlite(conn, statement)
    conn.close()
    return path


@pytest.fixture
def pg(seeded_pg: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(seeded_pg, autocommit=True) as conn:
        yield conn


@pytest.fixture
def lite(seeded_sqlite: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite_file(seeded_sqlite)
    yield conn
    conn.close()


# What both refuse.


def _case(case_id: str, statement: Statement, refusal: Refusal) -> Any:
    return pytest.param(statement, refusal, id=case_id)


BALANCES = [
    _case("available-negative", "UPDATE wallets SET available_minor = -1 WHERE agent_id = 'agt_a'", CHECK),
    _case("held-negative", "UPDATE wallets SET held_minor = -1 WHERE agent_id = 'agt_a'", CHECK),
    _case("new-wallet-negative", "INSERT INTO wallets VALUES ('org_a', 'prj_a', 'agt_a', 'EUR', -5, 0, 't0')", CHECK),
]

LEDGER_ROWS = [
    _case("hold-without-closed-mandate", ledger_sql("hold", mandate=None), CHECK),
    _case("debit-without-closed-mandate", ledger_sql("debit", mandate=None), CHECK),
    _case("hold-naming-another-tenants-mandate", ledger_sql("hold", mandate="cmd_b"), FOREIGN_KEY),
    _case("hold-naming-no-mandate", ledger_sql("hold", mandate="mdt_of_someone_else"), FOREIGN_KEY),
    _case("unknown-kind", ledger_sql("skim", mandate="cmd_a"), CHECK),
    _case("zero-amount", ledger_sql("fund", mandate=None, amount=0), CHECK),
    _case("no-such-wallet", ledger_sql("fund", mandate=None, currency="EUR"), FOREIGN_KEY),
    _case("another-tenants-transaction", ledger_sql("fund", mandate=None, txn="txn_b"), FOREIGN_KEY),
]

TENANCY = [
    _case(
        "wallet-in-another-org",
        "INSERT INTO wallets VALUES ('org_b', 'prj_a', 'agt_a', 'EUR', 0, 0, 't0')",
        FOREIGN_KEY,
    ),
    _case(
        "agent-in-another-orgs-project",
        "INSERT INTO agents (org_id, project_id, agent_id, name, token_hash, created_at) "
        "VALUES ('org_b', 'prj_a', 'agt_x', 'x', 'hash_x', 't0')",
        FOREIGN_KEY,
    ),
    _case("project-of-no-org", "INSERT INTO projects VALUES ('org_none', 'prj_x', 'X', 't0')", FOREIGN_KEY),
    _case("payment-by-another-tenants-agent", transaction_sql("org_a", "prj_a", "txn_x", "agt_b"), FOREIGN_KEY),
    _case(
        "payment-under-another-tenants-open-mandate",
        transaction_sql("org_a", "prj_a", "txn_x", "agt_a", open_mandate="omd_b"),
        FOREIGN_KEY,
    ),
    _case(
        "refund-of-another-tenants-payment",
        transaction_sql("org_a", "prj_a", "txn_x", "agt_a", tool="refund", original="txn_b"),
        FOREIGN_KEY,
    ),
    _case(
        "closed-mandate-for-another-tenants-payment",
        "INSERT INTO closed_mandates (org_id, project_id, mandate_id, transaction_id, parent_id, token, issued_at, "
        "expires_at) VALUES ('org_a', 'prj_a', 'cmd_x', 'txn_b2', 'omd_a', 'tok', 't0', 't1')",
        FOREIGN_KEY,
    ),
    _case(
        "approval-for-another-tenants-payment",
        "INSERT INTO approvals (org_id, project_id, approval_id, transaction_id, args_hash, policy_version, status, "
        "requested_at, expires_at) VALUES ('org_a', 'prj_a', 'apr_x', 'txn_b', 'h', 'v1', 'pending', 't0', 't1')",
        FOREIGN_KEY,
    ),
    _case("audit-in-another-orgs-project", audit_sql("org_b", 1, "prj_a"), FOREIGN_KEY),
    _case(
        "taint-on-another-tenants-agent",
        "INSERT INTO taints (org_id, project_id, agent_id, taint_id, source, reference, created_at) "
        "VALUES ('org_a', 'prj_a', 'agt_b', 'tnt_x', 's', 'r', 't0')",
        FOREIGN_KEY,
    ),
    _case(
        "spending-of-another-tenants-agent",
        "INSERT INTO spend_buckets VALUES ('org_a', 'prj_a', 'agt_b', 'pay', 'USD', 't0', 1)",
        FOREIGN_KEY,
    ),
    _case(
        "funding-of-another-tenants-agent",
        "INSERT INTO fundings VALUES ('fnd_x', 'org_a', 'prj_a', 'agt_b', 'sandbox', 100, 'USD', 'pending', "
        "NULL, 'opr_1', 't0', 't0', 'c0')",
        FOREIGN_KEY,
    ),
    _case("vote-on-no-approval", "INSERT INTO approval_votes VALUES ('apr_none', 'opr_1', 't0')", FOREIGN_KEY),
    _case("vote-by-no-operator", "INSERT INTO approval_votes VALUES ('apr_a', 'opr_none', 't0')", FOREIGN_KEY),
    _case(
        "session-of-no-operator",
        "INSERT INTO operator_sessions VALUES ('sess_x', 'opr_none', 't0', 't1', NULL)",
        FOREIGN_KEY,
    ),
]

APPEND_ONLY = [
    _case("update-audit", "UPDATE audit SET actor = 'someone-else'", append_only(AUDIT)),
    _case("delete-audit", "DELETE FROM audit", append_only(AUDIT)),
    _case("update-ledger", "UPDATE ledger SET amount_minor = 1", append_only(LEDGER)),
    _case("delete-ledger", "DELETE FROM ledger", append_only(LEDGER)),
    _case("update-vote", "UPDATE approval_votes SET operator_id = 'opr_2'", append_only(VOTES)),
    _case("delete-vote", "DELETE FROM approval_votes", append_only(VOTES)),
]

DUPLICATES = [
    _case("second-vote-by-one-operator", "INSERT INTO approval_votes VALUES ('apr_a', 'opr_1', 't1')", UNIQUE),
    _case(
        "idempotency-key-reused",
        transaction_sql("org_a", "prj_a", "txn_x", "agt_a", idempotency_key="idem_txn_a"),
        UNIQUE,
    ),
    _case("transaction-id-reused-by-another-tenant", transaction_sql("org_b", "prj_b", "txn_a", "agt_b"), UNIQUE),
    _case(
        "agent-token-hash-reused",
        "INSERT INTO agents (org_id, project_id, agent_id, name, token_hash, created_at) "
        "VALUES ('org_a', 'prj_a', 'agt_x', 'x', 'hash_b', 't0')",
        UNIQUE,
    ),
    _case("project-id-reused-by-another-org", "INSERT INTO projects VALUES ('org_b', 'prj_a', 'X', 't0')", UNIQUE),
    _case(
        "operator-name-reused",
        "INSERT INTO operators (operator_id, name, role, token_hash, created_by, created_at) "
        "VALUES ('opr_x', 'alice', 'auditor', 'op_hash_x', 'cli', 't0')",
        UNIQUE,
    ),
    _case(
        "second-closed-mandate-for-a-payment",
        "INSERT INTO closed_mandates (org_id, project_id, mandate_id, transaction_id, parent_id, token, issued_at, "
        "expires_at) VALUES ('org_a', 'prj_a', 'cmd_x', 'txn_a', 'omd_a', 'tok', 't0', 't1')",
        UNIQUE,
    ),
    _case(
        "second-approval-for-a-payment",
        "INSERT INTO approvals (org_id, project_id, approval_id, transaction_id, args_hash, policy_version, status, "
        "requested_at, expires_at) VALUES ('org_a', 'prj_a', 'apr_x', 'txn_a', 'h', 'v1', 'pending', 't0', 't1')",
        UNIQUE,
    ),
    _case("audit-seq-reused", audit_sql("org_a", 1, "prj_a"), UNIQUE),
    _case(
        "second-wallet-in-a-currency",
        "INSERT INTO wallets VALUES ('org_a', 'prj_a', 'agt_a', 'USD', 0, 0, 't0')",
        UNIQUE,
    ),
    _case("second-open-flag-for-a-finding", flag_sql("flg_2", OPEN), UNIQUE),
]

CHECKS = [
    _case(
        "org-key-purpose",
        ("INSERT INTO org_keys VALUES ('org_a', 'kid_x', 'tls', ?, ?, 't0', NULL)", (HASH, b"s")),
        CHECK,
    ),
    _case(
        "org-key-not-32-bytes",
        ("INSERT INTO org_keys VALUES ('org_a', 'kid_x', 'audit', ?, ?, 't0', NULL)", (bytes(31), b"s")),
        CHECK,
    ),
    _case(
        "kill-switch-scope",
        "INSERT INTO kill_switches VALUES ('ks_x', 'org_a', 'galaxy', 't', 'r', 'opr_1', 't0', NULL, NULL)",
        CHECK,
    ),
    _case("policy-version", "INSERT INTO policies VALUES ('org_a', 'prj_a', 0, 'vh', 'src', 'opr_1', 't0')", CHECK),
    _case("open-mandate-status", "UPDATE open_mandates SET status = 'paused' WHERE mandate_id = 'omd_a'", CHECK),
    _case("open-mandate-uses", "UPDATE open_mandates SET uses = -1 WHERE mandate_id = 'omd_a'", CHECK),
    _case("open-mandate-used", "UPDATE open_mandates SET used_minor = -1 WHERE mandate_id = 'omd_a'", CHECK),
    _case("transaction-tool", transaction_sql("org_a", "prj_a", "txn_x", "agt_a", tool="steal"), CHECK),
    _case("transaction-state", transaction_sql("org_a", "prj_a", "txn_x", "agt_a", state="vanished"), CHECK),
    _case("transaction-amount", transaction_sql("org_a", "prj_a", "txn_x", "agt_a", amount=0), CHECK),
    _case("approval-status", "UPDATE approvals SET status = 'maybe'", CHECK),
    _case("approvers-none", "UPDATE approvals SET approvers_required = 0", CHECK),
    _case("approvers-six", "UPDATE approvals SET approvers_required = 6", CHECK),
    _case("audit-seq", audit_sql("org_a", 0, "prj_a"), CHECK),
    _case("audit-prev-hash", audit_sql("org_a", 3, "prj_a", prev=bytes(31)), CHECK),
    _case("audit-entry-hash", audit_sql("org_a", 3, "prj_a", entry=bytes(33)), CHECK),
    _case("audit-body", audit_sql("org_a", 3, "prj_a", body=bytes(65_537)), CHECK),
    _case(
        "injection-config-version",
        "INSERT INTO injection_configs VALUES ('org_a', 0, 'vh', 'src', 'opr_1', 't0')",
        CHECK,
    ),
    _case(
        "operator-role",
        "INSERT INTO operators (operator_id, name, role, token_hash, created_by, created_at) "
        "VALUES ('opr_x', 'eve', 'root', 'op_hash_x', 'cli', 't0')",
        CHECK,
    ),
    _case("refusal-count", "INSERT INTO refusal_windows VALUES ('org_a', 'ip', 'auth', 't0', 'ref', 0)", CHECK),
    _case(
        "spend-bucket",
        "INSERT INTO spend_buckets VALUES ('org_a', 'prj_a', 'agt_a', 'pay', 'USD', 't0', -1)",
        CHECK,
    ),
    _case("call-bucket", "INSERT INTO call_buckets VALUES ('org_a', 'prj_a', 'agt_a', 'pay', 't0', -1)", CHECK),
    _case("payee-payments", "INSERT INTO payees VALUES ('org_a', 'prj_a', 'agt_a', 'acme', -1, 't0', 't0')", CHECK),
    _case(
        "payee-bucket-amount",
        "INSERT INTO payee_buckets VALUES ('org_a', 'prj_a', 'agt_a', 'acme', 'pay', 'USD', 't0', -1, 0)",
        CHECK,
    ),
    _case(
        "payee-bucket-payments",
        "INSERT INTO payee_buckets VALUES ('org_a', 'prj_a', 'agt_a', 'acme', 'pay', 'USD', 't0', 0, -1)",
        CHECK,
    ),
    _case("alert-attempts", "UPDATE alert_outbox SET attempts = -1", CHECK),
    _case("session-ending-before-it-starts", session_sql("2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z"), CHECK),
    _case("session-ending-as-it-starts", session_sql("2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"), CHECK),
    _case("session-compared-byte-by-byte", session_sql("a", "B"), CHECK),
    _case("flag-kind", flag_sql("flg_x", OPEN, kind="hunch"), CHECK),
    _case("flag-resolved-without-note", flag_sql("flg_x", ("opr_1", "t1", None)), CHECK),
    _case("flag-resolved-by-no-one", flag_sql("flg_x", (None, "t1", "n")), CHECK),
    _case("flag-noted-while-open", flag_sql("flg_x", (None, None, "n")), CHECK),
    _case(
        "funding-amount",
        "INSERT INTO fundings VALUES ('fnd_x', 'org_a', 'prj_a', 'agt_a', 'sandbox', 0, 'USD', 'pending', "
        "NULL, 'opr_1', 't0', 't0', 'c0')",
        CHECK,
    ),
    _case(
        "funding-state",
        "INSERT INTO fundings VALUES ('fnd_x', 'org_a', 'prj_a', 'agt_a', 'sandbox', 100, 'USD', 'lost', "
        "NULL, 'opr_1', 't0', 't0', 'c0')",
        CHECK,
    ),
]

MISSING = [
    _case("org-without-created-at", "INSERT INTO orgs (org_id, name) VALUES ('org_x', 'X')", NOT_NULL),
    _case("ledger-without-currency", ledger_sql("fund", mandate=None).replace("'USD'", "NULL"), NOT_NULL),
    _case("vote-without-time", "INSERT INTO approval_votes VALUES ('apr_a', 'opr_2', NULL)", NOT_NULL),
]


@pytest.mark.parametrize(
    ("statement", "refusal"), BALANCES + LEDGER_ROWS + TENANCY + APPEND_ONLY + DUPLICATES + CHECKS + MISSING
)
def test_both_databases_refuse_the_same_statement(
    statement: Statement, refusal: Refusal, pg: psycopg.Connection[Any], lite: sqlite3.Connection
) -> None:
    with rolled_back(lite), pytest.raises(sqlite3.IntegrityError, match=re.escape(refusal.words)) as refused:
        run_sqlite(lite, statement)
    if refusal.trigger:
        assert str(refused.value) == refusal.words
    with pg.transaction(force_rollback=True), pytest.raises(refusal.error) as caught:
        run_pg(pg, statement)
    if refusal.trigger:
        assert caught.value.diag.message_primary == refusal.words


@pytest.mark.parametrize(("table", "message"), [("audit", AUDIT), ("ledger", LEDGER), ("approval_votes", VOTES)])
def test_truncate_cannot_empty_an_append_only_table(pg: psycopg.Connection[Any], table: str, message: str) -> None:
    with pg.transaction(force_rollback=True), pytest.raises(errors.RaiseException) as caught:
        pg.execute(f"TRUNCATE {table} CASCADE")
    assert caught.value.diag.message_primary == message


@pytest.mark.parametrize(
    ("statement", "sqlite_words", "error"),
    [
        (
            "UPDATE wallets SET available_minor = 'lots' WHERE agent_id = 'agt_a'",
            "cannot store TEXT value in INTEGER column",
            errors.InvalidTextRepresentation,
        ),
        (
            ("UPDATE wallets SET held_minor = ? WHERE agent_id = 'agt_a'", (b"\x01",)),
            "cannot store BLOB value in INTEGER column",
            errors.DatatypeMismatch,
        ),
        (
            ("UPDATE org_keys SET private_key_enc = ?", (5,)),
            "cannot store INT value in BLOB column",
            errors.DatatypeMismatch,
        ),
    ],
    ids=["text-in-an-integer-column", "bytes-in-an-integer-column", "integer-in-a-blob-column"],
)
def test_a_value_of_the_wrong_type_is_refused_as_strict_refuses_it(
    statement: Statement,
    sqlite_words: str,
    error: type[psycopg.Error],
    pg: psycopg.Connection[Any],
    lite: sqlite3.Connection,
) -> None:
    with rolled_back(lite), pytest.raises(sqlite3.IntegrityError, match=sqlite_words):
        run_sqlite(lite, statement)
    with pg.transaction(force_rollback=True), pytest.raises(error):
        run_pg(pg, statement)


def test_a_session_is_ordered_byte_by_byte_whatever_the_databases_locale(pg_cluster: Cluster) -> None:
    name = f"schema_pg_icu_{os.getpid()}"
    try:
        pg_cluster.psql(
            "postgres",
            f"CREATE DATABASE {name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'",
        )
    except subprocess.CalledProcessError:
        pytest.skip("this PostgreSQL has no ICU locales")
    with psycopg.connect(pg_cluster.url(name), autocommit=True) as conn:
        assert conn.execute("SELECT 'a' < 'B'").fetchone() == (True,), "the locale orders text unlike SQLite"
        migrate_pg(conn)
        run_pg(
            conn,
            "INSERT INTO operators (operator_id, name, role, token_hash, created_by, created_at) "
            "VALUES ('opr_1', 'alice', 'admin', 'op_hash_1', 'cli', 't0')",
        )
        with pytest.raises(errors.CheckViolation):
            run_pg(conn, session_sql("a", "B"))
        run_pg(conn, session_sql("B", "a"))


def test_both_databases_keep_the_same_rows_with_the_same_defaults(
    pg: psycopg.Connection[Any], lite: sqlite3.Connection
) -> None:
    tables = [row[0] for row in lite.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    for table in tables:
        if table == "migrations":
            continue
        kept = contents(lite.execute(f"SELECT * FROM {table}"))
        assert contents(pg.execute(f"SELECT * FROM {table}")) == kept, table
    assert pg.execute("SELECT uses, used_minor FROM open_mandates").fetchall() == [(0, 0), (0, 0)]
    assert pg.execute("SELECT approvers_required FROM approvals").fetchall() == [(1,)]
    assert pg.execute("SELECT entry_id FROM ledger ORDER BY entry_id").fetchall() == [(1,), (2,)]


def test_a_resolved_flag_leaves_room_for_a_new_one_on_the_same_finding(
    pg: psycopg.Connection[Any], lite: sqlite3.Connection
) -> None:
    resolve = (
        "UPDATE reconciliation_flags SET resolved_by = 'opr_1', resolved_at = 't2', note = 'n' WHERE flag_id = 'flg_1'"
    )
    with rolled_back(lite):
        run_sqlite(lite, resolve)
        run_sqlite(lite, flag_sql("flg_2", OPEN))
    with pg.transaction(force_rollback=True):
        run_pg(pg, resolve)
        run_pg(pg, flag_sql("flg_2", OPEN))
