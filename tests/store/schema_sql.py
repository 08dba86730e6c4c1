"""The rows and statements the schema tests write into SQLite and PostgreSQL alike, bypassing
any code, and the migration runners they apply the schema with."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import errors

from fiduciary.domain.clock import iso
from fiduciary.store.postgres.migrate import MIGRATIONS_TABLE
from fiduciary.store.postgres.schema import MIGRATIONS
from fiduciary.store.sqlite.schema import MIGRATIONS as SQLITE
from fiduciary.store.sqlite.store import add_functions

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
def rolled_back(conn: sqlite3.Connection) -> Iterator[None]:
    """A SQLite transaction that leaves the file as it found it."""
    conn.execute("BEGIN")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")


def split(statement: Statement) -> tuple[str, Params]:
    return (statement, ()) if isinstance(statement, str) else statement


def run_pg(conn: psycopg.Connection[Any], statement: Statement) -> None:
    """Run a statement written for SQLite, with PostgreSQL's placeholders."""
    sql, params = split(statement)
    conn.execute(sql.replace("?", "%s"), params or None)


def run_sqlite(conn: sqlite3.Connection, statement: Statement) -> None:
    conn.execute(*split(statement))


# The same rows in both databases.


def literal(value: str | None) -> str:
    return "NULL" if value is None else f"'{value}'"


def transaction_sql(
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
        f"{literal(original)}, {literal(open_mandate)}, '{created_at}', '{created_at}')"
    )


def ledger_sql(kind: str, *, mandate: str | None, amount: int = 100, currency: str = "USD", txn: str = "txn_a") -> str:
    """An INSERT of one ledger row of org_a's agent."""
    return (
        "INSERT INTO ledger (org_id, project_id, agent_id, currency, kind, amount_minor, transaction_id, "
        f"closed_mandate_id, created_at) VALUES ('org_a', 'prj_a', 'agt_a', '{currency}', '{kind}', {amount}, "
        f"'{txn}', {literal(mandate)}, 't0')"
    )


def audit_sql(
    org: str, seq: int, project: str | None, *, prev: bytes = HASH, entry: bytes = HASH, body: bytes | None = None
) -> tuple[str, Params]:
    """An INSERT of one audit entry, its hashes and bytes as parameters."""
    sql = (
        "INSERT INTO audit (org_id, seq, project_id, ts, actor, type, payload, prev_hash, entry_hash, signature, "
        "kid, body) VALUES (?, ?, ?, 't0', 'cli', 'org.created', '{}', ?, ?, ?, 'kid_a', ?)"
    )
    return sql, (org, seq, project, prev, entry, b"sig", body)


def flag_sql(flag_id: str, resolved: tuple[str | None, str | None, str | None], *, kind: str = "orphan_receipt") -> str:
    """An INSERT of one reconciliation flag; `resolved` is (resolved_by, resolved_at, note)."""
    by, at, note = (literal(value) for value in resolved)
    return (
        "INSERT INTO reconciliation_flags (flag_id, org_id, rail, kind, transaction_id, rail_reference, detail, "
        f"raised_at, resolved_by, resolved_at, note) VALUES ('{flag_id}', 'org_a', 'sandbox', '{kind}', NULL, "
        f"'rr_1', 'd', 't0', {by}, {at}, {note})"
    )


def session_sql(created_at: str, expires_at: str) -> str:
    return f"INSERT INTO operator_sessions VALUES ('sess_x', 'opr_1', '{created_at}', '{expires_at}', NULL)"


def contents(cursor: Any, drop: set[str] | frozenset[str] = frozenset()) -> list[tuple[Any, ...]]:
    """A cursor's rows in a stable order, without the columns named in `drop`."""
    kept = [i for i, column in enumerate(cursor.description) if column[0] not in drop]
    return sorted((tuple(row[i] for i in kept) for row in cursor), key=repr)
