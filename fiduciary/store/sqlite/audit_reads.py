"""The audit chain's reads: entries, checkpoints, exports, and the sinks' cursors."""

from __future__ import annotations

import json
import sqlite3

from fiduciary.audit.chain import AuditEntry, EntryBody, Link, StoredEntry
from fiduciary.audit.checkpoint import Checkpoint
from fiduciary.domain import limits
from fiduciary.domain.errors import StoreError
from fiduciary.domain.records import ExportRow, SinkCursorRow, SinkStateRow
from fiduciary.store.sqlite.statements import Statements


class AuditReads(Statements):
    """Reads of the chain and of what is made from it; `Queries` holds every other read."""

    async def audit_head(self, org_id: str) -> tuple[int, bytes] | None:
        sql = "SELECT seq, entry_hash FROM audit WHERE org_id = ? ORDER BY seq DESC LIMIT 1"
        row = await self._one(sql, (org_id,))
        return None if row is None else (row["seq"], row["entry_hash"])

    async def audit_page(self, org_id: str, *, after_seq: int, limit: int) -> list[AuditEntry]:
        sql = "SELECT * FROM audit WHERE org_id = ? AND seq > ? ORDER BY seq LIMIT ?"
        return [_audit(row) for row in await self._all(sql, (org_id, after_seq, limit))]

    async def audit_stored(self, org_id: str, *, after_seq: int, limit: int) -> list[StoredEntry]:
        sql = "SELECT * FROM audit WHERE org_id = ? AND seq > ? ORDER BY seq LIMIT ?"
        return [_stored(row) for row in await self._all(sql, (org_id, after_seq, limit))]

    async def audit_links(self, org_id: str, *, after_seq: int, limit: int) -> list[Link]:
        sql = "SELECT seq, prev_hash, entry_hash, body FROM audit WHERE org_id = ? AND seq > ? ORDER BY seq LIMIT ?"
        try:
            cursor = self._conn.cursor()
            cursor.row_factory = None  # plain tuples: the walk reads four columns of every row
            return cursor.execute(sql, (org_id, after_seq, limit)).fetchall()
        except sqlite3.Error as exc:
            raise StoreError("the database failed") from exc

    async def audit_by_ref(self, ref: str) -> list[AuditEntry]:
        sql = "SELECT * FROM audit WHERE ref = ? ORDER BY org_id, seq LIMIT ?"
        rows = await self._all(sql, (ref, limits.audit_show_entries_max))
        return [_audit(row) for row in rows]

    async def audit_by_subject_anywhere(self, subject: str) -> list[AuditEntry]:
        """Control-plane lookup: the entries about `subject` in every org's chain (bounded)."""
        sql = "SELECT * FROM audit WHERE subject = ? ORDER BY org_id, seq LIMIT ?"
        return [_audit(row) for row in await self._all(sql, (subject, limits.audit_show_entries_max))]

    async def audit_by_subject(self, org_id: str, subject: str) -> list[AuditEntry]:
        sql = "SELECT * FROM audit WHERE org_id = ? AND subject = ? ORDER BY seq"
        return [_audit(row) for row in await self._all(sql, (org_id, subject))]

    async def audit_hashes(self, org_id: str, *, after_seq: int, limit: int) -> list[tuple[int, bytes]]:
        """(seq, entry_hash) of a page of an org's chain: the leaves of its Merkle tree."""
        sql = "SELECT seq, entry_hash FROM audit WHERE org_id = ? AND seq > ? ORDER BY seq LIMIT ?"
        return [(row[0], row[1]) for row in await self._all(sql, (org_id, after_seq, limit))]

    # Checkpoints and exports.

    async def checkpoints(self, org_id: str) -> list[Checkpoint]:
        """An org's signed checkpoints, smallest first."""
        sql = "SELECT org_id, size, root, ts, kid, signature FROM checkpoints WHERE org_id = ? ORDER BY size"
        return [Checkpoint(*row) for row in await self._all(sql, (org_id,))]

    async def latest_checkpoint(self, org_id: str) -> Checkpoint | None:
        sql = (
            "SELECT org_id, size, root, ts, kid, signature FROM checkpoints WHERE org_id = ? ORDER BY size DESC LIMIT 1"
        )
        row = await self._one(sql, (org_id,))
        return None if row is None else Checkpoint(*row)

    async def bundle_checkpoint(self, org_id: str, *, after: int, at_most: int) -> Checkpoint | None:
        """The largest checkpoint of more than `after` and at most `at_most` entries, else the
        smallest of more than `after` (None if the chain has none past `after`)."""
        head = "SELECT org_id, size, root, ts, kid, signature FROM checkpoints WHERE org_id = ? AND size > ? "
        row = await self._one(head + "AND size <= ? ORDER BY size DESC LIMIT 1", (org_id, after, at_most))
        if row is None:
            row = await self._one(head + "ORDER BY size LIMIT 1", (org_id, after))
        return None if row is None else Checkpoint(*row)

    async def checkpoint_frontier(self, org_id: str, *, at_most: int) -> tuple[Checkpoint, bytes] | None:
        sql = (
            "SELECT org_id, size, root, ts, kid, signature, frontier FROM checkpoints "
            "WHERE org_id = ? AND size <= ? AND frontier IS NOT NULL ORDER BY size DESC LIMIT 1"
        )
        row = await self._one(sql, (org_id, at_most))
        return None if row is None else (Checkpoint(*tuple(row)[:6]), bytes(row[6]))

    async def exports(self, org_id: str) -> list[ExportRow]:
        """The record of an org's signed exports, oldest first."""
        sql = "SELECT * FROM exports WHERE org_id = ? ORDER BY number"
        return [ExportRow(**dict(row)) for row in await self._all(sql, (org_id,))]

    # Audit sinks.

    async def sink_cursors(self, sink: str | None = None) -> list[SinkCursorRow]:
        """The cursors of one sink (every sink's when None), by sink and org."""
        if sink is None:
            rows = await self._all("SELECT * FROM sink_cursors ORDER BY sink, org_id")
        else:
            rows = await self._all("SELECT * FROM sink_cursors WHERE sink = ? ORDER BY org_id", (sink,))
        return [SinkCursorRow(**dict(row)) for row in rows]

    async def sink_states(self) -> list[SinkStateRow]:
        """Every sink that was ever stopped, by name."""
        return [SinkStateRow(**dict(row)) for row in await self._all("SELECT * FROM sink_states ORDER BY sink")]


AUDIT_FIELDS = ("seq", "org_id", "project_id", "ts", "actor", "type", "subject", "ref")


def _audit(row: sqlite3.Row) -> AuditEntry:
    """An entry as its stored canonical bytes say (the columns are their index), or, for an entry
    stored before the bytes were kept, as its columns say."""
    data = row["body"]
    try:
        parsed = json.loads(data) if data is not None else None
        fields = {name: parsed[name] for name in AUDIT_FIELDS} if isinstance(parsed, dict) else None
    except (ValueError, KeyError):
        fields = None  # unreadable bytes: shown as the columns say; `audit verify` names the entry
    if fields is not None and isinstance(parsed, dict) and isinstance(parsed.get("payload"), dict):
        body = EntryBody(**fields, payload=parsed["payload"])
        return AuditEntry(body, row["prev_hash"], row["entry_hash"], row["signature"], row["kid"], data)
    body = EntryBody(**{name: row[name] for name in AUDIT_FIELDS}, payload=json.loads(row["payload"]))
    return AuditEntry(body, row["prev_hash"], row["entry_hash"], row["signature"], row["kid"], body.canonical())


def _stored(row: sqlite3.Row) -> StoredEntry:
    data = row["body"]
    columns = None if data is None else row
    canonical = _audit(row).canonical if data is None else data
    return StoredEntry(
        row["seq"], row["prev_hash"], row["entry_hash"], row["signature"], row["kid"], canonical, columns
    )
