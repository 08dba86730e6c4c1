"""Writes about money a rail moves outside a payment: fundings, and the reconciliation flags raised
when a rail's answers and the ledger disagree. In the caller's write transaction."""

from __future__ import annotations

from dataclasses import replace

from fiduciary.domain.clock import iso
from fiduciary.domain.records import FlagRow, FundingRow
from fiduciary.store.sqlite.vault_writes import VaultWrites


class RailWrites(VaultWrites):
    async def insert_funding(self, funding: FundingRow) -> FundingRow:
        """Record a funding; the payer goes to the vault and the row keeps its commitment."""
        assert funding.counterparty is not None, "a new funding names its payer"
        f = replace(funding, counterparty_commitment=await self.commit_pii(funding.org_id, funding.counterparty))
        await self._exec(
            "INSERT INTO fundings (funding_id, org_id, project_id, agent_id, rail, counterparty_commitment, "
            "amount_minor, currency, state, rail_reference, created_by, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (f.funding_id, f.org_id, f.project_id, f.agent_id, f.rail, f.counterparty_commitment, f.amount_minor,
             f.currency, f.state, f.rail_reference, f.created_by, f.created_at, f.updated_at),
        )  # fmt: skip
        return f

    async def update_funding(self, funding_id: str, *, state: str, rail_reference: str | None) -> None:
        await self._exec(
            "UPDATE fundings SET state = ?, rail_reference = COALESCE(?, rail_reference), updated_at = ? "
            "WHERE funding_id = ?",
            (state, rail_reference, iso(self.now), funding_id),
        )

    async def insert_flag(self, flag: FlagRow) -> bool:
        return (
            await self._exec(
                "INSERT INTO reconciliation_flags (flag_id, org_id, rail, kind, transaction_id, "
                "rail_reference, detail, raised_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    flag.flag_id,
                    flag.org_id,
                    flag.rail,
                    flag.kind,
                    flag.transaction_id,
                    flag.rail_reference,
                    flag.detail,
                    flag.raised_at,
                ),
            )
            == 1
        )

    async def resolve_flag(self, flag_id: str, *, by: str, note: str) -> bool:
        changed = await self._exec(
            "UPDATE reconciliation_flags SET resolved_by = ?, resolved_at = ?, note = ? "
            "WHERE flag_id = ? AND resolved_at IS NULL",
            (by, iso(self.now), note, flag_id),
        )
        return changed == 1
