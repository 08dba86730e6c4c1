"""PostgreSQL's schema has SQLite's shape: every table, column, type, NOT NULL and default, every
key, foreign key, index and trigger has its counterpart (read from both catalogs)."""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path
from typing import Any

import psycopg

from tests.pg import Cluster
from tests.store.schema_sql import TYPES, migrate_pg, migrate_sqlite, sqlite_file


def _sqlite_schema(tmp_path: Path) -> sqlite3.Connection:
    conn = sqlite_file(tmp_path / "shape.db")
    migrate_sqlite(conn)
    return conn


def _sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'sqlite_sequence' ORDER BY name"
    return [row[0] for row in conn.execute(sql)]


def _sqlite_columns(conn: sqlite3.Connection) -> dict[str, list[tuple[str, str, bool, str | None]]]:
    """Each table's columns in order: name, PostgreSQL type, NOT NULL, default."""
    columns = {}
    for table in _sqlite_tables(conn):
        rows = conn.execute(f"PRAGMA table_info({table})").fetchall()
        columns[table] = [
            (name, TYPES[kind], bool(notnull or pk), default) for _, name, kind, notnull, default, pk in rows
        ]
    return columns


def _pg_columns(conn: psycopg.Connection[Any]) -> dict[str, list[tuple[str, str, bool, str | None]]]:
    rows = conn.execute(
        "SELECT c.table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns c "
        "JOIN information_schema.tables t USING (table_schema, table_name) "
        "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY c.table_name, ordinal_position"
    )
    columns: dict[str, list[tuple[str, str, bool, str | None]]] = {}
    for table, name, kind, nullable, default in rows:
        if default is not None and default.endswith("::text"):
            default = default.removesuffix("::text")  # PostgreSQL names the type of a text literal
        columns.setdefault(table, []).append((name, kind, nullable == "NO", default))
    return columns


def test_every_table_and_column_has_its_counterpart_with_the_same_type_and_nullness(
    pg_url: str,
    tmp_path: Path,
) -> None:
    expected = _sqlite_columns(_sqlite_schema(tmp_path))
    with psycopg.connect(pg_url, autocommit=True) as conn:
        migrate_pg(conn)
        assert _pg_columns(conn) == expected
        identity = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE is_identity = 'YES'"
        ).fetchall()
    assert identity == [("ledger", "entry_id")], "SQLite's one INTEGER PRIMARY KEY numbers rows itself"


def _sqlite_keys(conn: sqlite3.Connection) -> set[tuple[str, str, tuple[str, ...]]]:
    """(table, 'p' or 'u', columns) for every primary key and UNIQUE constraint."""
    keys = set()
    for table in _sqlite_tables(conn):
        info = conn.execute(f"PRAGMA table_info({table})").fetchall()
        keys.add((table, "p", tuple(row[1] for row in sorted((r for r in info if r[5]), key=lambda r: r[5]))))
        for _, index, _, origin, _ in conn.execute(f"PRAGMA index_list({table})").fetchall():
            if origin == "u":
                keys.add((table, "u", tuple(row[2] for row in conn.execute(f"PRAGMA index_info({index})"))))
    return keys


_PG_COLUMNS = (
    "array(SELECT a.attname::text FROM unnest({keys}) WITH ORDINALITY AS k(attnum, i) "
    "JOIN pg_attribute a ON a.attrelid = {rel} AND a.attnum = k.attnum ORDER BY k.i)"
)


def _pg_keys(conn: psycopg.Connection[Any]) -> set[tuple[str, str, tuple[str, ...]]]:
    columns = _PG_COLUMNS.format(keys="c.conkey", rel="c.conrelid")
    rows = conn.execute(
        f"SELECT c.conrelid::regclass::text, c.contype::text, {columns} FROM pg_constraint c "
        "WHERE c.contype IN ('p', 'u') AND c.connamespace = 'public'::regnamespace"
    )
    return {(table, kind, tuple(cols)) for table, kind, cols in rows}


def _sqlite_foreign_keys(conn: sqlite3.Connection) -> set[tuple[str, tuple[str, ...], str, tuple[str, ...]]]:
    """(table, columns, referenced table, referenced columns) for every foreign key."""
    keys = set()
    for table in _sqlite_tables(conn):
        grouped: dict[int, list[tuple[Any, ...]]] = {}
        for row in conn.execute(f"PRAGMA foreign_key_list({table})"):
            grouped.setdefault(row[0], []).append(row)
        for rows in grouped.values():
            rows.sort(key=lambda row: row[1])
            keys.add((table, tuple(row[3] for row in rows), rows[0][2], tuple(row[4] for row in rows)))
    return keys


def _pg_foreign_keys(conn: psycopg.Connection[Any]) -> set[tuple[str, tuple[str, ...], str, tuple[str, ...]]]:
    columns = _PG_COLUMNS.format(keys="c.conkey", rel="c.conrelid")
    referenced = _PG_COLUMNS.format(keys="c.confkey", rel="c.confrelid")
    rows = conn.execute(
        f"SELECT c.conrelid::regclass::text, {columns}, c.confrelid::regclass::text, {referenced} "
        "FROM pg_constraint c WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace"
    )
    return {(table, tuple(cols), parent, tuple(parent_cols)) for table, cols, parent, parent_cols in rows}


def _sqlite_indexes(conn: sqlite3.Connection) -> set[tuple[str, str, bool, bool, tuple[str | None, ...]]]:
    """(index, table, unique, partial, columns or None for an expression) for every CREATE INDEX."""
    indexes = set()
    for table in _sqlite_tables(conn):
        for _, index, unique, origin, partial in conn.execute(f"PRAGMA index_list({table})").fetchall():
            if origin == "c":
                columns = tuple(row[2] for row in conn.execute(f"PRAGMA index_info({index})"))
                indexes.add((index, table, bool(unique), bool(partial), columns))
    return indexes


def _pg_indexes(conn: psycopg.Connection[Any]) -> set[tuple[str, str, bool, bool, tuple[str | None, ...]]]:
    rows = conn.execute(
        "SELECT i.indexrelid::regclass::text, i.indrelid::regclass::text, i.indisunique, i.indpred IS NOT NULL, "
        "array(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n) "
        "LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.n) "
        "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE c.relnamespace = 'public'::regnamespace "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"
    )
    return {(index, table, unique, partial, tuple(cols)) for index, table, unique, partial, cols in rows}


def _sqlite_triggers(conn: sqlite3.Connection) -> set[tuple[str, str, str, str]]:
    """(trigger, table, timing, event) for every trigger."""
    triggers = set()
    for name, table, sql in conn.execute("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'"):
        found = re.search(r"\b(BEFORE|AFTER)\s+(INSERT|UPDATE|DELETE)\s+ON\b", sql)
        assert found, name
        triggers.add((name, table, found[1], found[2]))
    return triggers


def _pg_triggers(conn: psycopg.Connection[Any]) -> set[tuple[str, str, str, str]]:
    rows = conn.execute(
        "SELECT trigger_name, event_object_table, action_timing, event_manipulation FROM information_schema.triggers "
        "WHERE trigger_schema = 'public' AND action_orientation = 'ROW'"
    )
    return {tuple(row) for row in rows}


def test_every_key_index_and_trigger_has_its_counterpart(pg_url: str, tmp_path: Path) -> None:
    lite = _sqlite_schema(tmp_path)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        migrate_pg(conn)
        assert _pg_keys(conn) == _sqlite_keys(lite)
        assert _pg_foreign_keys(conn) == _sqlite_foreign_keys(lite)
        assert _pg_indexes(conn) == _sqlite_indexes(lite)
        assert _pg_triggers(conn) == _sqlite_triggers(lite)
        truncates = conn.execute(
            "SELECT tgrelid::regclass::text, tgname FROM pg_trigger WHERE NOT tgisinternal AND tgtype & 32 = 32"
        ).fetchall()
    assert sorted(truncates) == [
        ("approval_votes", "approval_votes_append_only_truncate"),
        ("audit", "audit_append_only_truncate"),
        ("checkpoints", "checkpoints_append_only_truncate"),
        ("exports", "exports_append_only_truncate"),
        ("ledger", "ledger_append_only_truncate"),
    ]
    lite.close()


def test_text_compares_byte_by_byte_as_in_sqlite_whatever_the_database_locale(pg_cluster: Cluster) -> None:
    name = f"icu_{os.getpid()}"
    pg_cluster.psql(
        "postgres",
        f"CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'",
    )
    with psycopg.connect(pg_cluster.url(name), autocommit=True) as conn:
        assert conn.execute("SELECT 'a' < 'B'").fetchall() == [(True,)], "the database's own order is not bytes"
        migrate_pg(conn)
        other = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND data_type = 'text' AND collation_name IS DISTINCT FROM 'C'"
        ).fetchall()
        assert other == [], "every text column compares byte by byte"
        for org in ("org_a", "org_B"):
            conn.execute("INSERT INTO orgs VALUES (%s, %s, %s)", (org, org, "2026-12-01T00:00:00.000000Z"))
        rows = conn.execute("SELECT org_id FROM orgs WHERE org_id > 'org_Z' ORDER BY org_id").fetchall()
    assert rows == [("org_a",)], "'org_B' < 'org_Z' < 'org_a' in bytes, as SQLite orders them"
