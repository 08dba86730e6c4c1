"""Reads of the vault of counterparties (`subjects`, `pii`) and of legal holds."""

from __future__ import annotations

from fiduciary.domain.records import HoldRow, SubjectRow
from fiduciary.domain.states import TERMINAL, TxState
from fiduciary.store.sqlite.audit_reads import AuditReads

_AT_REST = tuple(sorted(state.value for state in TERMINAL if state is not TxState.FAILED))
"""Where a transaction needs its counterparty no more (a failed charge too; a failed pay is released)."""


class VaultReads(AuditReads):
    async def subject(self, org_id: str, value: str) -> SubjectRow | None:
        """The org's subject with this canonical value (none once erased)."""
        row = await self._one("SELECT * FROM subjects WHERE org_id = ? AND value = ?", (org_id, value))
        return None if row is None else SubjectRow(**dict(row))

    async def subjects_of_kind(self, org_id: str, kind: str) -> list[SubjectRow]:
        """The org's subjects (not erased) whose canonical form is of `kind`."""
        sql = "SELECT * FROM subjects WHERE org_id = ? AND value >= ? AND value < ? ORDER BY value"
        rows = await self._all(sql, (org_id, f"{kind}:", f"{kind};"))
        return [SubjectRow(**dict(row)) for row in rows]

    async def subject_commitments(self, subject_id: str) -> list[str]:
        """Every commitment to the subject the chain or a row carries, in order."""
        rows = await self._all("SELECT commitment FROM pii WHERE subject_id = ? ORDER BY commitment", (subject_id,))
        return [row["commitment"] for row in rows]

    async def open_dealings(self, org_id: str, subject_id: str) -> list[str]:
        """Transactions and fundings with the subject that are not at rest: they still need its value."""
        marks = ", ".join("?" for _ in _AT_REST)
        sql = (
            "SELECT t.transaction_id AS id FROM pii p JOIN transactions t "  # noqa: S608 (marks only)
            "ON t.org_id = p.org_id AND t.counterparty_commitment = p.commitment "
            f"WHERE p.subject_id = ? AND t.state NOT IN ({marks}) AND NOT (t.state = 'failed' AND t.tool = 'charge') "
            "UNION ALL SELECT f.funding_id FROM pii p JOIN fundings f "
            "ON f.org_id = p.org_id AND f.counterparty_commitment = p.commitment "
            "WHERE p.subject_id = ? AND f.state IN ('pending', 'unknown') ORDER BY id"
        )
        return [row["id"] for row in await self._all(sql, (subject_id, *_AT_REST, subject_id))]

    async def legal_holds(self, org_id: str | None = None, *, open_only: bool = True) -> list[HoldRow]:
        sql, params = "SELECT * FROM legal_holds WHERE 1 = 1", list[str]()
        if org_id is not None:
            sql, params = sql + " AND org_id = ?", [org_id]
        if open_only:
            sql += " AND cleared_at IS NULL"
        return [HoldRow(**dict(row)) for row in await self._all(sql + " ORDER BY set_at, hold_id", params)]

    async def legal_hold(self, hold_id: str) -> HoldRow | None:
        row = await self._one("SELECT * FROM legal_holds WHERE hold_id = ?", (hold_id,))
        return None if row is None else HoldRow(**dict(row))
