"""How every read and write of the SQLite adapter runs a statement, and what its errors become."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from fiduciary.domain.errors import ConflictError, StoreError

SUBJECT = "(SELECT subject_id FROM subjects WHERE org_id = ? AND value = ?)"
"""The vault's id of a counterparty (parameters: org, canonical value); NULL if it has none, as
after an erasure. Counters per payee are keyed by it, never by the value."""


class Statements:
    """One connection's statements: rows by name, constraint breaks as `ConflictError`, any other
    sqlite error as `StoreError`."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    # Statements run where they are called: a read of pages SQLite already holds costs
    # microseconds, less than handing it to a thread (see `store.py`).

    async def _one(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        for row in await self._all(sql, params):
            return row
        return None

    async def _all(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        try:
            return self._conn.execute(sql, tuple(params)).fetchall()
        except sqlite3.IntegrityError as exc:
            raise ConflictError("the database refused a write that breaks a constraint") from exc
        except sqlite3.Error as exc:
            raise StoreError("the database failed") from exc
