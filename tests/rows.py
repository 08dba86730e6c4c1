"""Rows read or written straight in a test's database, past the store: SQLite's file or PostgreSQL.

What a test uses to look at what was written, or to tamper with it as an intruder with database
access would. The SQL is written once, with `?` marks, and runs on whichever database the
settings name, so a test that uses these runs on both stores (`tests.pg.rerun`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import closing
from typing import Any

import psycopg

from fiduciary.settings import Settings


def rows(settings: Settings, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Every row `sql` selects, as tuples."""
    if settings.database_url:
        with psycopg.connect(settings.database_url, autocommit=True) as pg:
            return [tuple(row) for row in pg.execute(sql.replace("?", "%s").encode(), params).fetchall()]
    with closing(sqlite3.connect(settings.db_path)) as db:
        return [tuple(row) for row in db.execute(sql, params).fetchall()]


def value(settings: Settings, sql: str, params: Sequence[Any] = ()) -> Any:
    """The one value of the one row `sql` selects."""
    ((found,),) = rows(settings, sql, params)
    return found


def execute(settings: Settings, sql: str, params: Sequence[Any] = ()) -> None:
    """Run `sql` and commit it."""
    if settings.database_url:
        with psycopg.connect(settings.database_url, autocommit=True) as pg:
            pg.execute(sql.replace("?", "%s").encode(), params)
        return
    with closing(sqlite3.connect(settings.db_path)) as db, db:
        db.execute(sql, params)
