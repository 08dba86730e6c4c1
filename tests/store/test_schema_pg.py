"""PostgreSQL's schema refuses what SQLite's refuses, row for row (the shape: test_schema_pg_shape.py).

Each refusal is shown in both databases, bypassing any code: the same rows are written into a
migrated SQLite file and a migrated PostgreSQL database, and the same statement is refused by both.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors

from fiduciary.domain.clock import iso
from fiduciary.store.postgres.migrate import MIGRATIONS_TABLE
from fiduciary.store.postgres.schema import MIGRATIONS
from fiduciary.store.sqlite.schema import MIGRATIONS as SQLITE
from fiduciary.store.sqlite.store import add_functions
from tests.pg import Cluster

Params = tuple[Any, ...]
Statement = str | tuple[str, Params]
"""SQL with `?` placeholders, alone or with its parameters."""

TYPES = {"INTEGER": "bigint", "TEXT": "text", "BLOB": "bytea"}
"""SQLite's declared column types and the PostgreSQL types they become."""

LEDGER = "the wallet ledger is append-only"
AUDIT = "the audit chain is append-only"
VOTES = "approval_votes is append-only"
HASH = bytes(32)
OPEN = (None, None, None)


@dataclass(frozen=True, slots=True)
class Refusal:
    """How both databases say no: PostgreSQL's error class, and SQLite's words (or a trigger's message)."""

    error: type[psycopg.Error]
    words: str
    trigger: bool = False


CHECK = Refusal(errors.CheckViolation, "CHECK constraint failed")
FOREIGN_KEY = Refusal(errors.ForeignKeyViolation, "FOREIGN KEY constraint failed")
UNIQUE = Refusal(errors.UniqueViolation, "UNIQUE constraint failed")
NOT_NULL = Refusal(errors.NotNullViolation, "NOT NULL constraint failed")


def append_only(message: str) -> Refusal:
    return Refusal(errors.RaiseException, message, trigger=True)


# Applying the migrations.


def migrate_pg(conn: psycopg.Connection[Any], migrations: Sequence[tuple[str, str]] = MIGRATIONS) -> list[str]:
    """Apply each pending migration in a transaction of its own and record it, as SQLite's runner does."""
    conn.execute(MIGRATIONS_TABLE)
    done = {row[0] for row in conn.execute("SELECT name FROM migrations")}
    applied = []
    for name, sql in migrations:
        if name in done:
            continue
        with conn.transaction():
            conn.execute(sql)
            conn.execute("INSERT INTO migrations VALUES (%s, %s)", (name, iso(datetime.now(UTC))))
        applied.append(name)
    return applied


def migrate_sqlite(conn: sqlite3.Connection, migrations: Sequence[tuple[str, str]] = SQLITE) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS migrations (name TEXT NOT NULL PRIMARY KEY, applied_at TEXT NOT NULL) STRICT"
    )
    for name, sql in migrations:
        conn.executescript(sql)
        conn.execute("INSERT INTO migrations VALUES (?, ?)", (name, iso(datetime.now(UTC))))


def sqlite_file(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    add_functions(conn)
    return conn


@contextmanager
def _rolled_back(conn: sqlite3.Connection) -> Iterator[None]:
    """A SQLite transaction that leaves the file as it found it."""
    conn.execute("BEGIN")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")


def _split(statement: Statement) -> tuple[str, Params]:
    return (statement, ()) if isinstance(statement, str) else statement


def _run_pg(conn: psycopg.Connection[Any], statement: Statement) -> None:
    """Run a statement written for SQLite, with PostgreSQL's placeholders."""
    sql, params = _split(statement)
    conn.execute(sql.replace("?", "%s"), params or None)


def _run_sqlite(conn: sqlite3.Connection, statement: Statement) -> None:
    conn.execute(*_split(statement))


# The same rows in both databases.


def _literal(value: str | None) -> str:
    return "NULL" if value is None else f"'{value}'"


def _transaction(
    org: str,
    project: str,
    transaction_id: str,
    agent: str,
    *,
    tool: str = "pay",
    state: str = "held",
    amount: int = 100,
    idempotency_key: str | None = None,
    original: str | None = None,
    open_mandate: str | None = None,
    created_at: str = "2026-01-01T10:15:00.000000Z",
    party: tuple[str, str] = ("counterparty_commitment", "c0"),
) -> str:
    """An INSERT of one transaction with every required column (`party`: the counterparty's column
    and value, `counterparty` before migration 0015)."""
    key = idempotency_key or f"idem_{transaction_id}"
    return (
        "INSERT INTO transactions (org_id, project_id, transaction_id, agent_id, tool, state, code, amount_minor, "
        f"currency, {party[0]}, purpose, metadata, idempotency_key, args_hash, reference, original_transaction_id, "
        f"open_mandate_id, created_at, updated_at) VALUES ('{org}', '{project}', '{transaction_id}', '{agent}', "
        f"'{tool}', '{state}', 'ok', {amount}, 'USD', '{party[1]}', 'tests', '{{}}', '{key}', 'h', "
        f"'ref_{transaction_id}', "
        f"{_literal(original)}, {_literal(open_mandate)}, '{created_at}', '{created_at}')"
    )


def _ledger(kind: str, *, mandate: str | None, amount: int = 100, currency: str = "USD", txn: str = "txn_a") -> str:
    """An INSERT of one ledger row of org_a's agent."""
    return (
        "INSERT INTO ledger (org_id, project_id, agent_id, currency, kind, amount_minor, transaction_id, "
        f"closed_mandate_id, created_at) VALUES ('org_a', 'prj_a', 'agt_a', '{currency}', '{kind}', {amount}, "
        f"'{txn}', {_literal(mandate)}, 't0')"
    )


def _audit(
    org: str, seq: int, project: str | None, *, prev: bytes = HASH, entry: bytes = HASH, body: bytes | None = None
) -> tuple[str, Params]:
    """An INSERT of one audit entry, its hashes and bytes as parameters."""
    sql = (
        "INSERT INTO audit (org_id, seq, project_id, ts, actor, type, payload, prev_hash, entry_hash, signature, "
        "kid, body) VALUES (?, ?, ?, 't0', 'cli', 'org.created', '{}', ?, ?, ?, 'kid_a', ?)"
    )
    return sql, (org, seq, project, prev, entry, b"sig", body)


def _flag(flag_id: str, resolved: tuple[str | None, str | None, str | None], *, kind: str = "orphan_receipt") -> str:
    """An INSERT of one reconciliation flag; `resolved` is (resolved_by, resolved_at, note)."""
    by, at, note = (_literal(value) for value in resolved)
    return (
        "INSERT INTO reconciliation_flags (flag_id, org_id, rail, kind, transaction_id, rail_reference, detail, "
        f"raised_at, resolved_by, resolved_at, note) VALUES ('{flag_id}', 'org_a', 'sandbox', '{kind}', NULL, "
        f"'rr_1', 'd', 't0', {by}, {at}, {note})"
    )


def _session(created_at: str, expires_at: str) -> str:
    return f"INSERT INTO operator_sessions VALUES ('sess_x', 'opr_1', '{created_at}', '{expires_at}', NULL)"


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
    _transaction("org_a", "prj_a", "txn_a", "agt_a", open_mandate="omd_a"),
    _transaction("org_b", "prj_b", "txn_b", "agt_b", open_mandate="omd_b"),
    _transaction("org_b", "prj_b", "txn_b2", "agt_b"),
    _transaction("org_a", "prj_a", "txn_r", "agt_a", tool="refund", state="settled", original="txn_a"),
    "INSERT INTO closed_mandates (org_id, project_id, mandate_id, transaction_id, parent_id, token, issued_at, "
    "expires_at) VALUES ('org_a', 'prj_a', 'cmd_a', 'txn_a', 'omd_a', 'tok', 't0', 't1'), "
    "('org_b', 'prj_b', 'cmd_b', 'txn_b', 'omd_b', 'tok', 't0', 't1')",
    "INSERT INTO approvals (org_id, project_id, approval_id, transaction_id, args_hash, policy_version, status, "
    "requested_at, expires_at) VALUES ('org_a', 'prj_a', 'apr_a', 'txn_a', 'h', 'v1', 'pending', 't0', 't1')",
    "INSERT INTO approval_votes VALUES ('apr_a', 'opr_1', 't0')",
    _ledger("fund", mandate=None, amount=1000, txn="txn_r"),
    _ledger("hold", mandate="cmd_a"),
    _audit("org_a", 1, "prj_a"),
    _audit("org_a", 2, None, body=b"{}"),
    _flag("flg_0", ("opr_1", "t1", "seen")),
    _flag("flg_1", OPEN),
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
            _run_pg(conn, statement)
    return url


@pytest.fixture(scope="module")
def seeded_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("schema") / "fiduciary.db"
    conn = sqlite_file(path)
    migrate_sqlite(conn)
    for statement in SEED:
        _run_sqlite(conn, statement)
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
    _case("hold-without-closed-mandate", _ledger("hold", mandate=None), CHECK),
    _case("debit-without-closed-mandate", _ledger("debit", mandate=None), CHECK),
    _case("hold-naming-another-tenants-mandate", _ledger("hold", mandate="cmd_b"), FOREIGN_KEY),
    _case("hold-naming-no-mandate", _ledger("hold", mandate="mdt_of_someone_else"), FOREIGN_KEY),
    _case("unknown-kind", _ledger("skim", mandate="cmd_a"), CHECK),
    _case("zero-amount", _ledger("fund", mandate=None, amount=0), CHECK),
    _case("no-such-wallet", _ledger("fund", mandate=None, currency="EUR"), FOREIGN_KEY),
    _case("another-tenants-transaction", _ledger("fund", mandate=None, txn="txn_b"), FOREIGN_KEY),
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
    _case("payment-by-another-tenants-agent", _transaction("org_a", "prj_a", "txn_x", "agt_b"), FOREIGN_KEY),
    _case(
        "payment-under-another-tenants-open-mandate",
        _transaction("org_a", "prj_a", "txn_x", "agt_a", open_mandate="omd_b"),
        FOREIGN_KEY,
    ),
    _case(
        "refund-of-another-tenants-payment",
        _transaction("org_a", "prj_a", "txn_x", "agt_a", tool="refund", original="txn_b"),
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
    _case("audit-in-another-orgs-project", _audit("org_b", 1, "prj_a"), FOREIGN_KEY),
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
        _transaction("org_a", "prj_a", "txn_x", "agt_a", idempotency_key="idem_txn_a"),
        UNIQUE,
    ),
    _case("transaction-id-reused-by-another-tenant", _transaction("org_b", "prj_b", "txn_a", "agt_b"), UNIQUE),
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
    _case("audit-seq-reused", _audit("org_a", 1, "prj_a"), UNIQUE),
    _case(
        "second-wallet-in-a-currency",
        "INSERT INTO wallets VALUES ('org_a', 'prj_a', 'agt_a', 'USD', 0, 0, 't0')",
        UNIQUE,
    ),
    _case("second-open-flag-for-a-finding", _flag("flg_2", OPEN), UNIQUE),
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
    _case("transaction-tool", _transaction("org_a", "prj_a", "txn_x", "agt_a", tool="steal"), CHECK),
    _case("transaction-state", _transaction("org_a", "prj_a", "txn_x", "agt_a", state="vanished"), CHECK),
    _case("transaction-amount", _transaction("org_a", "prj_a", "txn_x", "agt_a", amount=0), CHECK),
    _case("approval-status", "UPDATE approvals SET status = 'maybe'", CHECK),
    _case("approvers-none", "UPDATE approvals SET approvers_required = 0", CHECK),
    _case("approvers-six", "UPDATE approvals SET approvers_required = 6", CHECK),
    _case("audit-seq", _audit("org_a", 0, "prj_a"), CHECK),
    _case("audit-prev-hash", _audit("org_a", 3, "prj_a", prev=bytes(31)), CHECK),
    _case("audit-entry-hash", _audit("org_a", 3, "prj_a", entry=bytes(33)), CHECK),
    _case("audit-body", _audit("org_a", 3, "prj_a", body=bytes(65_537)), CHECK),
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
    _case("session-ending-before-it-starts", _session("2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z"), CHECK),
    _case("session-ending-as-it-starts", _session("2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"), CHECK),
    _case("session-compared-byte-by-byte", _session("a", "B"), CHECK),
    _case("flag-kind", _flag("flg_x", OPEN, kind="hunch"), CHECK),
    _case("flag-resolved-without-note", _flag("flg_x", ("opr_1", "t1", None)), CHECK),
    _case("flag-resolved-by-no-one", _flag("flg_x", (None, "t1", "n")), CHECK),
    _case("flag-noted-while-open", _flag("flg_x", (None, None, "n")), CHECK),
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
    _case("ledger-without-currency", _ledger("fund", mandate=None).replace("'USD'", "NULL"), NOT_NULL),
    _case("vote-without-time", "INSERT INTO approval_votes VALUES ('apr_a', 'opr_2', NULL)", NOT_NULL),
]


@pytest.mark.parametrize(
    ("statement", "refusal"), BALANCES + LEDGER_ROWS + TENANCY + APPEND_ONLY + DUPLICATES + CHECKS + MISSING
)
def test_both_databases_refuse_the_same_statement(
    statement: Statement, refusal: Refusal, pg: psycopg.Connection[Any], lite: sqlite3.Connection
) -> None:
    with _rolled_back(lite), pytest.raises(sqlite3.IntegrityError, match=re.escape(refusal.words)) as refused:
        _run_sqlite(lite, statement)
    if refusal.trigger:
        assert str(refused.value) == refusal.words
    with pg.transaction(force_rollback=True), pytest.raises(refusal.error) as caught:
        _run_pg(pg, statement)
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
    with _rolled_back(lite), pytest.raises(sqlite3.IntegrityError, match=sqlite_words):
        _run_sqlite(lite, statement)
    with pg.transaction(force_rollback=True), pytest.raises(error):
        _run_pg(pg, statement)


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
        _run_pg(
            conn,
            "INSERT INTO operators (operator_id, name, role, token_hash, created_by, created_at) "
            "VALUES ('opr_1', 'alice', 'admin', 'op_hash_1', 'cli', 't0')",
        )
        with pytest.raises(errors.CheckViolation):
            _run_pg(conn, _session("a", "B"))
        _run_pg(conn, _session("B", "a"))


def _contents(cursor: Any, drop: set[str] | frozenset[str] = frozenset()) -> list[tuple[Any, ...]]:
    """A cursor's rows in a stable order, without the columns named in `drop`."""
    kept = [i for i, column in enumerate(cursor.description) if column[0] not in drop]
    return sorted((tuple(row[i] for i in kept) for row in cursor), key=repr)


def test_both_databases_keep_the_same_rows_with_the_same_defaults(
    pg: psycopg.Connection[Any], lite: sqlite3.Connection
) -> None:
    tables = [row[0] for row in lite.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    for table in tables:
        if table == "migrations":
            continue
        kept = _contents(lite.execute(f"SELECT * FROM {table}"))
        assert _contents(pg.execute(f"SELECT * FROM {table}")) == kept, table
    assert pg.execute("SELECT uses, used_minor FROM open_mandates").fetchall() == [(0, 0), (0, 0)]
    assert pg.execute("SELECT approvers_required FROM approvals").fetchall() == [(1,)]
    assert pg.execute("SELECT entry_id FROM ledger ORDER BY entry_id").fetchall() == [(1,), (2,)]


def test_a_resolved_flag_leaves_room_for_a_new_one_on_the_same_finding(
    pg: psycopg.Connection[Any], lite: sqlite3.Connection
) -> None:
    resolve = (
        "UPDATE reconciliation_flags SET resolved_by = 'opr_1', resolved_at = 't2', note = 'n' WHERE flag_id = 'flg_1'"
    )
    with _rolled_back(lite):
        _run_sqlite(lite, resolve)
        _run_sqlite(lite, _flag("flg_2", OPEN))
    with pg.transaction(force_rollback=True):
        _run_pg(pg, resolve)
        _run_pg(pg, _flag("flg_2", OPEN))


# The migrations themselves.


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
    _transaction("org_a", "prj_a", "txn_1", "agt_a", state="settled", amount=100, created_at=HOURS[0], party=OLD),
    _transaction("org_a", "prj_a", "txn_2", "agt_a", state="held", amount=250, created_at=HOURS[1], party=OLD),
    _transaction("org_a", "prj_a", "txn_3", "agt_a", state="settled", amount=40, created_at=HOURS[2], party=OLD),
    _transaction("org_a", "prj_a", "txn_4", "agt_a", state="denied", amount=999, created_at=HOURS[2], party=OLD),
    _transaction(
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
        _run_sqlite(lite, statement)
    migrate_sqlite(lite, SQLITE[3:])
    with psycopg.connect(pg_url, autocommit=True) as conn:
        migrate_pg(conn, MIGRATIONS[:3])
        for statement in BEFORE_COUNTERS:
            _run_pg(conn, statement)
        migrate_pg(conn, MIGRATIONS[3:])
        for table in ("spend_buckets", "payee_buckets", "payees", "kill_switches", "transaction_rows"):
            # Subject ids are random: compare the counters per payee by the value they stand for.
            sql = f"SELECT * FROM {table}"
            if table.startswith("payee"):
                sql = f"SELECT t.*, s.value FROM {table} t JOIN subjects s USING (subject_id)"
            drop = {"subject_id", "counterparty_commitment"}
            kept = _contents(lite.execute(sql), drop)
            assert kept, table
            assert _contents(conn.execute(sql), drop) == kept, table
        buckets = conn.execute("SELECT bucket, amount_minor FROM spend_buckets WHERE tool = 'pay' ORDER BY bucket")
        assert buckets.fetchall() == [("2026-01-01T10:00:00.000000Z", 350), ("2026-01-01T11:00:00.000000Z", 40)]
    lite.close()
