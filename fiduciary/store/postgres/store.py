"""The PostgreSQL store: the same reads and writes as SQLite's, over psycopg 3 and its pool.

The SQL is SQLite's (`store/sqlite/queries.py`, `writer.py`, `counter_writes.py`), written to
read the same in both databases; here each statement's `?` marks become psycopg's `%s`, and
rows come back addressable by name and by position, as `sqlite3.Row`s are.

Every write transaction first takes transaction-scoped advisory locks, so the write
transactions of an org follow each other whichever instance runs them, exactly as SQLite's
single writer orders them: one audit chain per org with no fork, budgets and counters no two
instances can both squeeze under, an idempotency key that two instances receive at once making
one payment, and a lease that only one instance takes over. A payment's transactions name their
org (`write(org_id)`): they share the write lock and take their org's lock, so different orgs
pay side by side, and one that writes another org's chain is refused. Every other transaction
(the control plane, sweeps) takes the write lock alone and follows all of them. Reads run on
their own pooled connections, each statement on the latest committed state.

Errors of psycopg leave this module only as `StoreError`; a constraint or trigger the schema
enforces is a `ConflictError`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from functools import lru_cache
from typing import Any

import psycopg
from psycopg import errors
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from fiduciary.audit.chain import AuditEntry, Link
from fiduciary.domain.clock import Clock
from fiduciary.domain.errors import ConflictError, StoreError
from fiduciary.store.ports import SignerSource
from fiduciary.store.postgres.migrate import migrate
from fiduciary.store.sqlite.queries import Queries
from fiduciary.store.sqlite.writer import Writer

WRITE_LOCK = 0x6669_6475_7772_6974
"""The advisory lock every write transaction takes first ("fiduwrit" in ASCII): shared by the
transactions of one org each, exclusive for all others."""


def org_lock(org_id: str) -> int:
    """The advisory lock of one org: a signed 64-bit number taken from its id's SHA-256."""
    return int.from_bytes(hashlib.sha256(b"fiduciary-org:" + org_id.encode()).digest()[:8], "big", signed=True)


POOL_SIZE_MAX = 16
ROW_TYPES_MAX = 2048
CONNECT_SECONDS = 5
POOL_WAIT_SECONDS = 10
"""How long a transaction waits for a free connection before it fails (`StoreError`)."""
_MARK = re.compile(r"\?")


class Row(tuple[Any, ...]):
    """A row addressable by column name and by position, like `sqlite3.Row`."""

    names: tuple[str, ...]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self.names.index(key))
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self.names)


_ROW_TYPES: dict[str, type[Row]] = {}
"""The row class of each statement's result, made from its first result's columns."""


def _row_type(sql: str, cursor: psycopg.AsyncCursor[Any]) -> type[Row]:
    names = tuple(column.name for column in cursor.description or ())
    made: type[Row] = type("Row", (Row,), {"names": names})
    if len(_ROW_TYPES) < ROW_TYPES_MAX:
        _ROW_TYPES[sql] = made
    return made


@lru_cache(maxsize=1024)
def _dialect(sql: str) -> str:
    """SQLite's statement for psycopg: `?` marks become `%s`, a literal `%` becomes `%%`."""
    return _MARK.sub("%s", sql.replace("%", "%%"))


async def _run(conn: psycopg.AsyncConnection[Any], sql: str, params: Iterable[Any]) -> list[Row]:
    try:
        async with conn.cursor() as cursor:
            await cursor.execute(_dialect(sql).encode(), tuple(params))
            if cursor.pgresult is None or not cursor.pgresult.nfields:
                return []
            row = _ROW_TYPES.get(sql)
            if row is None or len(row.names) != cursor.pgresult.nfields:  # new, or a migration added columns
                row = _row_type(sql, cursor)
            return [row(values) for values in await cursor.fetchall()]
    except (psycopg.IntegrityError, errors.RaiseException) as exc:
        raise ConflictError("the database refused a write that breaks a constraint") from exc
    except psycopg.Error as exc:
        raise StoreError("the database failed") from exc


LINKS_SQL = "SELECT seq, prev_hash, entry_hash, body FROM audit WHERE org_id = ? AND seq > ? ORDER BY seq LIMIT ?"


def _links(rows: list[Any]) -> list[Link]:
    """Rows as the plain tuples the hash walk reads."""
    return [(r[0], r[1], r[2], r[3]) for r in rows]


class PgQueries(Queries):
    """Every read, each on a pooled connection of its own."""

    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool

    async def _all(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        try:
            async with self._pool.connection() as conn:
                return await _run(conn, sql, params)
        except (psycopg.Error, PoolTimeout) as exc:  # no connection to be had
            raise StoreError("the database failed") from exc

    async def audit_links(self, org_id: str, *, after_seq: int, limit: int) -> list[Link]:
        return _links(await self._all(LINKS_SQL, (org_id, after_seq, limit)))


class PgWriter(Writer):
    """The handle of one write transaction, on the connection that holds the write lock (and, for a
    transaction of one org, that org's lock)."""

    def __init__(
        self, conn: psycopg.AsyncConnection[Any], *, now: datetime, signers: SignerSource, org_id: str | None = None
    ) -> None:
        super().__init__(conn, now=now, signers=signers)  # type: ignore[arg-type]
        self._pg = conn
        self._org_id = org_id

    async def audit(self, org_id: str, project_id: str | None, **entry: Any) -> AuditEntry:
        """As `Writer.audit`; in a transaction of one org, only to that org's chain. Every state change
        writes its entry in its transaction, so this also keeps its changes to the org it locked."""
        if self._org_id is not None and org_id != self._org_id:
            raise StoreError(f"a transaction of org {self._org_id} may not write the chain of {org_id}")
        return await super().audit(org_id, project_id, **entry)

    async def _all(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        return await _run(self._pg, sql, params)

    async def audit_links(self, org_id: str, *, after_seq: int, limit: int) -> list[Link]:
        return _links(await self._all(LINKS_SQL, (org_id, after_seq, limit)))


class PgStore:
    """Implements `fiduciary.store.ports.Store` on PostgreSQL."""

    def __init__(self, pool: AsyncConnectionPool[Any], *, clock: Clock, signers: SignerSource) -> None:
        self.clock = clock
        self._pool = pool
        self._signers = signers
        self.read = PgQueries(pool)

    @classmethod
    async def open(cls, url: str, *, clock: Clock, signers: SignerSource, migrate_now: bool = True) -> PgStore:
        """Connect to the database at `url` (and by default migrate it)."""
        try:
            # One connection first: a wrong URL or a server that is not there fails at once, clearly.
            async with await psycopg.AsyncConnection.connect(
                url, autocommit=True, connect_timeout=CONNECT_SECONDS
            ) as c:
                encoding = c.info.parameter_status("server_encoding")
                if encoding != "UTF8":
                    raise StoreError(f"the PostgreSQL database is {encoding}-encoded; fiduciary needs a UTF8 database")
                if migrate_now:
                    await migrate(c, clock)
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StoreError(f"cannot open the PostgreSQL database: {reason}") from exc
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url, min_size=1, max_size=POOL_SIZE_MAX, kwargs={"autocommit": True}, open=False, timeout=POOL_WAIT_SECONDS
        )
        try:
            await pool.open(wait=True, timeout=CONNECT_SECONDS)
        except (psycopg.Error, PoolTimeout) as exc:
            await pool.close()
            raise StoreError("cannot open the PostgreSQL database's connection pool") from exc
        return cls(pool, clock=clock, signers=signers)

    async def scrub(self) -> bool:
        """PostgreSQL keeps the old versions of updated rows in its files until it reuses their
        space; only `VACUUM FULL` of the tables an erasure touched (subjects, pii, alert_outbox,
        open_mandates, transactions) rewrites them, and it locks them while it runs, so it is left to the operator."""
        return False

    async def close(self) -> None:
        await self._pool.close()

    @asynccontextmanager
    async def write(self, org_id: str | None = None) -> AsyncIterator[Writer]:
        """One write transaction: committed on normal exit, rolled back on any exception.

        With `org_id`, it changes that org alone: it shares the write lock with every other such
        transaction and takes the org's own lock, so transactions of different orgs run side by
        side; one that writes another org's chain is refused (`StoreError`) and rolled back.
        Without, it takes the write lock alone and follows every other transaction.
        """
        try:
            async with self._pool.connection() as conn, conn.transaction():
                if org_id is None:
                    await conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
                else:
                    await conn.execute("SELECT pg_advisory_xact_lock_shared(%s)", (WRITE_LOCK,))
                    await conn.execute("SELECT pg_advisory_xact_lock(%s)", (org_lock(org_id),))
                yield PgWriter(conn, now=self.clock.now(), signers=self._signers, org_id=org_id)
        except (ConflictError, StoreError):
            raise
        except psycopg.Error as exc:
            raise StoreError("the database failed to commit") from exc
