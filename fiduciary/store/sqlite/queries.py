"""Reads, shared by the reader connection and by the writer inside its transaction.

Every read that touches tenant data takes the org and project (and, for agent-plane reads,
the agent): no query can reach into another tenant by id alone.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fiduciary.domain import limits
from fiduciary.domain.clock import iso
from fiduciary.domain.intents import AgentRef
from fiduciary.domain.records import (
    AgentRow,
    ApprovalRow,
    ClosedMandateRow,
    DeliveryRow,
    FlagRow,
    FundingRow,
    InjectionConfigRow,
    KeyRow,
    KillSwitchRow,
    OpenMandateRow,
    OperatorRow,
    PolicyRow,
    RefusalWindow,
    SessionRow,
    TaintRow,
    TransactionRow,
)
from fiduciary.domain.states import IN_FLIGHT, TxState
from fiduciary.mandates.keys import KeyPurpose, SealedKey
from fiduciary.policies.windows import hour_bucket, minute_bucket
from fiduciary.store.sqlite.statements import SUBJECT
from fiduciary.store.sqlite.vault_reads import VaultReads
from fiduciary.wallets import Wallet

_SPENDING_STATES = tuple(
    s.value
    for s in (
        TxState.AUTHORIZED,
        TxState.HELD,
        TxState.DISPATCHING,
        TxState.UNKNOWN,
        TxState.SETTLED,
        TxState.ROLLING_BACK,
    )
)


def _marks(values: Sequence[object]) -> str:
    """Placeholders for an IN list: only `?` marks are ever interpolated into SQL (hence the S608 waivers)."""
    return ",".join("?" for _ in values)


class Queries(VaultReads):
    """Every read of the store but the audit chain's (`AuditReads`) and the vault's (`VaultReads`)."""

    # Tenants, agents, keys.

    async def org_ids(self) -> list[str]:
        return [row["org_id"] for row in await self._all("SELECT org_id FROM orgs ORDER BY created_at")]

    async def project_exists(self, org_id: str, project_id: str) -> bool:
        sql = "SELECT 1 FROM projects WHERE org_id = ? AND project_id = ?"
        return await self._one(sql, (org_id, project_id)) is not None

    async def agent_by_token_hash(self, token_hash: str) -> AgentRow | None:
        """The enabled agent a token belongs to; a disabled agent's token finds nothing."""
        sql = "SELECT * FROM agents WHERE token_hash = ? AND disabled_at IS NULL"
        row = await self._one(sql, (token_hash,))
        return None if row is None else _agent(row)

    async def agent(self, agent_id: str) -> AgentRow | None:
        row = await self._one("SELECT * FROM agents WHERE agent_id = ?", (agent_id,))
        return None if row is None else _agent(row)

    async def agents(self, *, org_id: str | None = None, project_id: str | None = None) -> list[AgentRow]:
        """Every agent, or those of one org or project, oldest first."""
        sql, params = "SELECT * FROM agents WHERE 1 = 1", list[str]()
        if org_id is not None:
            sql, params = sql + " AND org_id = ?", [*params, org_id]
        if project_id is not None:
            sql, params = sql + " AND project_id = ?", [*params, project_id]
        return [_agent(row) for row in await self._all(sql + " ORDER BY created_at, agent_id", params)]

    async def projects(self) -> list[tuple[str, str, str]]:
        """Every (org_id, project_id, name), oldest first."""
        rows = await self._all("SELECT org_id, project_id, name FROM projects ORDER BY created_at, project_id")
        return [(r["org_id"], r["project_id"], r["name"]) for r in rows]

    async def operator_by_token_hash(self, token_hash: str) -> OperatorRow | None:
        row = await self._one("SELECT * FROM operators WHERE token_hash = ?", (token_hash,))
        return None if row is None else OperatorRow(**dict(row))

    async def operator(self, operator_id: str) -> OperatorRow | None:
        row = await self._one("SELECT * FROM operators WHERE operator_id = ? OR name = ?", (operator_id, operator_id))
        return None if row is None else OperatorRow(**dict(row))

    async def operators(self) -> list[OperatorRow]:
        rows = await self._all("SELECT * FROM operators ORDER BY created_at, operator_id")
        return [OperatorRow(**dict(row)) for row in rows]

    async def flags(self, *, open_only: bool = True, limit: int = 100) -> list[FlagRow]:
        sql = "SELECT * FROM reconciliation_flags WHERE (? = 0 OR resolved_at IS NULL) ORDER BY raised_at DESC LIMIT ?"
        return [FlagRow(**dict(row)) for row in await self._all(sql, (int(open_only), limit))]

    async def funding(self, funding_id: str) -> FundingRow | None:
        row = await self._one("SELECT * FROM funding_rows WHERE funding_id = ?", (funding_id,))
        return None if row is None else FundingRow(**dict(row))

    async def unsettled_fundings(self, *, limit: int) -> list[FundingRow]:
        sql = "SELECT * FROM funding_rows WHERE state IN ('pending', 'unknown') ORDER BY updated_at LIMIT ?"
        return [FundingRow(**dict(row)) for row in await self._all(sql, (limit,))]

    async def open_flag_count(self) -> int:
        row = await self._one("SELECT COUNT(*) AS n FROM reconciliation_flags WHERE resolved_at IS NULL")
        return 0 if row is None else int(row["n"])

    async def held_totals(self) -> dict[str, int]:
        rows = await self._all("SELECT currency, SUM(held_minor) AS held FROM wallets GROUP BY currency")
        return {row["currency"]: int(row["held"]) for row in rows}

    async def flag(self, flag_id: str) -> FlagRow | None:
        row = await self._one("SELECT * FROM reconciliation_flags WHERE flag_id = ?", (flag_id,))
        return None if row is None else FlagRow(**dict(row))

    async def transaction_by_rail_reference(self, rail: str, rail_reference: str) -> TransactionRow | None:
        sql = "SELECT * FROM transaction_rows WHERE rail = ? AND rail_reference = ? LIMIT 1"
        row = await self._one(sql, (rail, rail_reference))
        return None if row is None else TransactionRow.from_row(row)

    async def settled_on_rail(self, rail: str, *, since: str, limit: int) -> list[TransactionRow]:
        sql = (
            "SELECT * FROM transaction_rows WHERE rail = ? AND state = 'settled' AND updated_at >= ? "
            "ORDER BY updated_at LIMIT ?"
        )
        return [TransactionRow.from_row(row) for row in await self._all(sql, (rail, since, limit))]

    async def operator_session(self, session_hash: str) -> SessionRow | None:
        row = await self._one("SELECT * FROM operator_sessions WHERE session_hash = ?", (session_hash,))
        return None if row is None else SessionRow(**dict(row))

    async def approval_votes(self, approval_id: str) -> list[str]:
        rows = await self._all(
            "SELECT operator_id FROM approval_votes WHERE approval_id = ? ORDER BY voted_at, operator_id",
            (approval_id,),
        )
        return [row["operator_id"] for row in rows]

    async def sealed_keys(self, org_id: str, purpose: KeyPurpose) -> list[SealedKey]:
        """The org's keys for `purpose`, newest first; retired keys still verify but never sign."""
        sql = (
            "SELECT kid, purpose, public_key, private_key_enc FROM org_keys "
            "WHERE org_id = ? AND purpose = ? ORDER BY retired_at IS NOT NULL, created_at DESC"
        )
        rows = await self._all(sql, (org_id, purpose.value))
        return [SealedKey(r["kid"], KeyPurpose(r["purpose"]), r["public_key"], r["private_key_enc"]) for r in rows]

    async def public_keys(self, org_id: str, purpose: KeyPurpose) -> dict[str, bytes]:
        return {key.kid: key.public_key for key in await self.sealed_keys(org_id, purpose)}

    async def key_rows(self, org_id: str | None = None) -> list[KeyRow]:
        """Every key (or one org's), retired ones too: by org, purpose and age, oldest first."""
        sql = "SELECT org_id, kid, purpose, public_key, created_at, retired_at FROM org_keys"
        where, params = (" WHERE org_id = ?", (org_id,)) if org_id is not None else ("", ())
        rows = await self._all(sql + where + " ORDER BY org_id, purpose, created_at, kid", params)
        return [KeyRow(**dict(row)) for row in rows]

    # Wallets.

    async def wallet(self, caller: AgentRef, currency: str) -> Wallet | None:
        sql = "SELECT * FROM wallets WHERE org_id = ? AND project_id = ? AND agent_id = ? AND currency = ?"
        row = await self._one(sql, (caller.org_id, caller.project_id, caller.agent_id, currency))
        return None if row is None else Wallet(row["currency"], row["available_minor"], row["held_minor"])

    async def wallets(self, caller: AgentRef) -> list[Wallet]:
        sql = "SELECT * FROM wallets WHERE org_id = ? AND project_id = ? AND agent_id = ? ORDER BY currency"
        rows = await self._all(sql, (caller.org_id, caller.project_id, caller.agent_id))
        return [Wallet(r["currency"], r["available_minor"], r["held_minor"]) for r in rows]

    async def ledger_sums(self, caller: AgentRef, currency: str) -> dict[str, int]:
        """Total of each ledger kind for one wallet: what `replay` and tests reconcile against."""
        sql = (
            "SELECT kind, SUM(amount_minor) AS total FROM ledger WHERE org_id = ? AND project_id = ? "
            "AND agent_id = ? AND currency = ? GROUP BY kind"
        )
        rows = await self._all(sql, (caller.org_id, caller.project_id, caller.agent_id, currency))
        return {row["kind"]: int(row["total"]) for row in rows}

    async def transaction_ledger(self, org_id: str, project_id: str, transaction_id: str) -> dict[str, int]:
        """Total of each ledger kind written for one transaction."""
        sql = (
            "SELECT kind, SUM(amount_minor) AS total FROM ledger WHERE org_id = ? AND project_id = ? "
            "AND transaction_id = ? GROUP BY kind"
        )
        rows = await self._all(sql, (org_id, project_id, transaction_id))
        return {row["kind"]: int(row["total"]) for row in rows}

    async def org_wallets(self, org_id: str) -> list[tuple[AgentRef, Wallet]]:
        """Every wallet of an org's agents, by project, agent and currency (what `audit replay` compares)."""
        sql = "SELECT * FROM wallets WHERE org_id = ? ORDER BY project_id, agent_id, currency"
        found = []
        for r in await self._all(sql, (org_id,)):
            wallet = Wallet(r["currency"], r["available_minor"], r["held_minor"])
            found.append((AgentRef(org_id, r["project_id"], r["agent_id"]), wallet))
        return found

    async def org_holds(self, org_id: str) -> list[tuple[AgentRef, str, str, int]]:
        """(agent, currency, transaction_id, minor units) of each hold in an org's ledger that was neither
        released nor debited, by transaction id."""
        held = "SUM(CASE WHEN kind = 'hold' THEN amount_minor ELSE -amount_minor END)"
        sql = (
            f"SELECT project_id, agent_id, currency, transaction_id, {held} AS held FROM ledger "  # noqa: S608
            "WHERE org_id = ? AND transaction_id IS NOT NULL AND kind IN ('hold', 'release', 'debit') "
            f"GROUP BY project_id, agent_id, currency, transaction_id HAVING {held} <> 0 ORDER BY transaction_id"
        )
        return [
            (AgentRef(org_id, r["project_id"], r["agent_id"]), r["currency"], r["transaction_id"], int(r["held"]))
            for r in await self._all(sql, (org_id,))
        ]

    # Transactions.

    async def org_transaction_states(self, org_id: str, *, after: str, limit: int) -> list[tuple[str, str, str]]:
        """(project_id, transaction_id, state) of an org's transactions with ids after `after`, by id."""
        sql = (
            "SELECT project_id, transaction_id, state FROM transactions WHERE org_id = ? AND transaction_id > ? "
            "ORDER BY transaction_id LIMIT ?"
        )
        rows = await self._all(sql, (org_id, after, limit))
        return [(r["project_id"], r["transaction_id"], r["state"]) for r in rows]

    async def transaction(self, org_id: str, project_id: str, transaction_id: str) -> TransactionRow | None:
        sql = "SELECT * FROM transaction_rows WHERE org_id = ? AND project_id = ? AND transaction_id = ?"
        row = await self._one(sql, (org_id, project_id, transaction_id))
        return None if row is None else TransactionRow.from_row(row)

    async def transaction_by_id(self, transaction_id: str) -> TransactionRow | None:
        """Control-plane lookup by id alone (operators see every tenant they administer)."""
        row = await self._one("SELECT * FROM transaction_rows WHERE transaction_id = ?", (transaction_id,))
        return None if row is None else TransactionRow.from_row(row)

    async def agent_transaction(self, caller: AgentRef, transaction_id: str) -> TransactionRow | None:
        row = await self.transaction(caller.org_id, caller.project_id, transaction_id)
        return row if row is not None and row.agent_id == caller.agent_id else None

    async def transaction_by_key(self, caller: AgentRef, idempotency_key: str) -> TransactionRow | None:
        sql = (
            "SELECT * FROM transaction_rows WHERE org_id = ? AND project_id = ? AND agent_id = ? "
            "AND idempotency_key = ?"
        )
        row = await self._one(sql, (caller.org_id, caller.project_id, caller.agent_id, idempotency_key))
        return None if row is None else TransactionRow.from_row(row)

    async def list_transactions(
        self, caller: AgentRef, *, limit: int, before: str | None = None, state: str | None = None
    ) -> list[TransactionRow]:
        assert 0 < limit <= limits.list_page_size_max
        sql = "SELECT * FROM transaction_rows WHERE org_id = ? AND project_id = ? AND agent_id = ?"
        params: list[Any] = [caller.org_id, caller.project_id, caller.agent_id]
        if before is not None:
            # The cursor resolves inside the caller's own scope only: a foreign id matches nothing.
            sql += " AND (created_at, transaction_id) < (SELECT created_at, transaction_id FROM transactions"
            sql += " WHERE org_id = ? AND project_id = ? AND agent_id = ? AND transaction_id = ?)"
            params.extend([caller.org_id, caller.project_id, caller.agent_id, before])
        if state is not None:
            sql += " AND state = ?"
            params.append(state)
        sql += " ORDER BY created_at DESC, transaction_id DESC LIMIT ?"
        params.append(limit)
        return [TransactionRow.from_row(row) for row in await self._all(sql, params)]

    async def transactions(
        self,
        *,
        limit: int,
        org_id: str | None = None,
        agent_id: str | None = None,
        state: str | None = None,
        before: str | None = None,
    ) -> list[TransactionRow]:
        """Operator listing across tenants, newest first; `before` is a transaction id cursor."""
        assert 0 < limit <= limits.list_page_size_max
        sql, params = "SELECT * FROM transaction_rows WHERE 1 = 1", list[Any]()
        for column, value in (("org_id", org_id), ("agent_id", agent_id), ("state", state)):
            if value is not None:
                sql, params = f"{sql} AND {column} = ?", [*params, value]
        if before is not None:
            sql += " AND (created_at, transaction_id) < (SELECT created_at, transaction_id FROM transactions"
            sql += " WHERE transaction_id = ?)"
            params.append(before)
        sql += " ORDER BY created_at DESC, transaction_id DESC LIMIT ?"
        return [TransactionRow.from_row(row) for row in await self._all(sql, [*params, limit])]

    async def project_history(self, org_id: str, project_id: str, *, since: datetime) -> list[TransactionRow]:
        """A project's calls since `since`, oldest first, bounded (what `policy simulate` replays)."""
        sql = (
            "SELECT * FROM (SELECT * FROM transaction_rows WHERE org_id = ? AND project_id = ? AND created_at >= ? "
            "ORDER BY created_at DESC, transaction_id DESC LIMIT ?) AS recent ORDER BY created_at, transaction_id"
        )
        rows = await self._all(sql, (org_id, project_id, iso(since), limits.simulate_transactions_max))
        return [TransactionRow.from_row(row) for row in rows]

    async def abandoned(self, *, now: datetime, idle_since: datetime) -> list[TransactionRow]:
        """In-flight transactions nobody holds a live lease on and nobody moved since `idle_since`."""
        states = [s.value for s in IN_FLIGHT | {TxState.APPROVED}]
        sql = (
            f"SELECT * FROM transaction_rows WHERE state IN ({_marks(states)}) "  # noqa: S608
            "AND (lease_until IS NULL OR lease_until < ?) AND updated_at <= ? ORDER BY updated_at LIMIT ?"
        )
        rows = await self._all(sql, [*states, iso(now), iso(idle_since), limits.resume_transactions_max])
        return [TransactionRow.from_row(row) for row in rows]

    # Durable counters: a bounded number of bucket rows per window, whatever the history.

    def _who(self, caller: AgentRef, per_project: bool) -> tuple[str, list[str]]:
        if per_project:
            return "org_id = ? AND project_id = ?", [caller.org_id, caller.project_id]
        return "org_id = ? AND project_id = ? AND agent_id = ?", [caller.org_id, caller.project_id, caller.agent_id]

    async def spent(
        self, caller: AgentRef, *, per_project: bool, currency: str, tools: Sequence[str], since: datetime
    ) -> int:
        """Minor units authorised (held, sent or settled, less what was released) since `since`'s hour."""
        who, params = self._who(caller, per_project)
        sql = (
            f"SELECT COALESCE(SUM(amount_minor), 0) AS total FROM spend_buckets WHERE {who} "  # noqa: S608
            f"AND currency = ? AND tool IN ({_marks(tools)}) AND bucket >= ?"
        )
        row = await self._one(sql, [*params, currency, *tools, iso(hour_bucket(since))])
        assert row is not None
        return int(row["total"])

    async def calls(self, caller: AgentRef, *, per_project: bool, tools: Sequence[str], since: datetime) -> int:
        """Money-moving calls decided since `since`'s minute."""
        who, params = self._who(caller, per_project)
        sql = (
            f"SELECT COALESCE(SUM(calls), 0) AS total FROM call_buckets WHERE {who} "  # noqa: S608
            f"AND tool IN ({_marks(tools)}) AND bucket >= ?"
        )
        row = await self._one(sql, [*params, *tools, iso(minute_bucket(since))])
        assert row is not None
        return int(row["total"])

    async def spent_to(
        self,
        caller: AgentRef,
        *,
        per_project: bool,
        counterparty: str,
        currency: str | None,
        tools: Sequence[str],
        since: datetime,
    ) -> tuple[int, int]:
        """(minor units, payments) authorised to `counterparty` since `since`'s hour, in `currency` or any."""
        who, params = self._who(caller, per_project)
        sql = (
            "SELECT COALESCE(SUM(amount_minor), 0) AS total, COALESCE(SUM(payments), 0) AS payments "  # noqa: S608
            f"FROM payee_buckets WHERE {who} AND subject_id = {SUBJECT} AND tool IN ({_marks(tools)}) AND bucket >= ?"
        )
        values: list[Any] = [*params, caller.org_id, counterparty, *tools, iso(hour_bucket(since))]
        if currency is not None:
            sql, values = sql + " AND currency = ?", [*values, currency]
        row = await self._one(sql, values)
        assert row is not None
        return int(row["total"]), int(row["payments"])

    async def payments_to(self, caller: AgentRef, *, per_project: bool, counterparty: str) -> int:
        """Settled payments to `counterparty` (canonical form), ever."""
        who, params = self._who(caller, per_project)
        sql = f"SELECT COALESCE(SUM(payments), 0) AS total FROM payees WHERE {who} AND subject_id = {SUBJECT}"  # noqa: S608
        row = await self._one(sql, [*params, caller.org_id, counterparty])
        assert row is not None
        return int(row["total"])

    async def refunded_total(self, org_id: str, project_id: str, original_transaction_id: str) -> int:
        """Minor units already refunded (or being refunded) against a charge."""
        sql = (
            "SELECT COALESCE(SUM(amount_minor), 0) AS total FROM transactions WHERE org_id = ? "  # noqa: S608
            f"AND project_id = ? AND original_transaction_id = ? AND state IN ({_marks(_SPENDING_STATES)})"
        )
        row = await self._one(sql, [org_id, project_id, original_transaction_id, *_SPENDING_STATES])
        assert row is not None
        return int(row["total"])

    # Mandates and approvals.

    async def open_mandates(self, caller: AgentRef) -> list[OpenMandateRow]:
        sql = "SELECT * FROM open_mandates WHERE org_id = ? AND project_id = ? AND agent_id = ? ORDER BY issued_at"
        rows = await self._all(sql, (caller.org_id, caller.project_id, caller.agent_id))
        return [OpenMandateRow(**dict(row)) for row in rows]

    async def org_open_mandates(self, org_id: str) -> list[OpenMandateRow]:
        """Every open mandate of an org, revoked ones too, by id."""
        rows = await self._all("SELECT * FROM open_mandates WHERE org_id = ? ORDER BY mandate_id", (org_id,))
        return [OpenMandateRow(**dict(row)) for row in rows]

    async def open_mandate(self, org_id: str, project_id: str, mandate_id: str) -> OpenMandateRow | None:
        sql = "SELECT * FROM open_mandates WHERE org_id = ? AND project_id = ? AND mandate_id = ?"
        row = await self._one(sql, (org_id, project_id, mandate_id))
        return None if row is None else OpenMandateRow(**dict(row))

    async def open_mandate_by_id(self, mandate_id: str) -> OpenMandateRow | None:
        """Control-plane lookup of an open mandate by its id alone."""
        row = await self._one("SELECT * FROM open_mandates WHERE mandate_id = ?", (mandate_id,))
        return None if row is None else OpenMandateRow(**dict(row))

    async def closed_mandate(self, org_id: str, project_id: str, transaction_id: str) -> ClosedMandateRow | None:
        sql = "SELECT * FROM closed_mandates WHERE org_id = ? AND project_id = ? AND transaction_id = ?"
        row = await self._one(sql, (org_id, project_id, transaction_id))
        return None if row is None else ClosedMandateRow(**dict(row))

    async def approval(self, approval_id: str) -> ApprovalRow | None:
        row = await self._one("SELECT * FROM approvals WHERE approval_id = ?", (approval_id,))
        return None if row is None else ApprovalRow(**dict(row))

    async def approvals(self, *, status: str | None = "pending", limit: int = 100) -> list[ApprovalRow]:
        sql = "SELECT * FROM approvals"
        params: list[Any] = []
        if status is not None:
            sql += " WHERE status = ?"
            params.append(status)
        sql += " ORDER BY requested_at LIMIT ?"
        return [ApprovalRow(**dict(row)) for row in await self._all(sql, [*params, limit])]

    async def decided_approvals(self, *, limit: int) -> list[ApprovalRow]:
        sql = "SELECT * FROM approvals WHERE status != 'pending' ORDER BY decided_at DESC, approval_id LIMIT ?"
        return [ApprovalRow(**dict(row)) for row in await self._all(sql, (limit,))]

    # Policy and kill switches.

    async def active_policy(self, org_id: str, project_id: str) -> PolicyRow | None:
        sql = "SELECT * FROM policies WHERE org_id = ? AND project_id = ? ORDER BY version DESC LIMIT 1"
        row = await self._one(sql, (org_id, project_id))
        return None if row is None else PolicyRow(**dict(row))

    async def active_policy_hash(self, org_id: str, project_id: str) -> str | None:
        sql = "SELECT version_hash FROM policies WHERE org_id = ? AND project_id = ? ORDER BY version DESC LIMIT 1"
        row = await self._one(sql, (org_id, project_id))
        return None if row is None else str(row["version_hash"])

    async def active_kill_switch(self, caller: AgentRef, *, rail: str | None = None) -> KillSwitchRow | None:
        sql = (
            "SELECT * FROM kill_switches WHERE lifted_at IS NULL AND ((org_id = ? AND ("
            "(scope = 'agent' AND target = ?) OR (scope = 'project' AND target = ?) OR scope = 'org')) "
            "OR scope = 'platform' OR (scope = 'rail' AND target = ?)) ORDER BY pulled_at LIMIT 1"
        )
        row = await self._one(sql, (caller.org_id, caller.agent_id, caller.project_id, rail or ""))
        return None if row is None else KillSwitchRow(**dict(row))

    async def rail_frozen(self, rail: str) -> KillSwitchRow | None:
        sql = "SELECT * FROM kill_switches WHERE lifted_at IS NULL AND scope = 'rail' AND target = ? LIMIT 1"
        row = await self._one(sql, (rail,))
        return None if row is None else KillSwitchRow(**dict(row))

    async def kill_switches(self, *, active: bool = True) -> list[KillSwitchRow]:
        """Kill switches, oldest first; by default only those not lifted."""
        sql = "SELECT * FROM kill_switches WHERE (? = 0 OR lifted_at IS NULL) ORDER BY pulled_at, switch_id LIMIT ?"
        rows = await self._all(sql, (int(active), limits.list_page_size_max))
        return [KillSwitchRow(**dict(row)) for row in rows]

    # Screening.

    async def injection_config(self, org_id: str) -> InjectionConfigRow | None:
        sql = "SELECT * FROM injection_configs WHERE org_id = ? ORDER BY version DESC LIMIT 1"
        row = await self._one(sql, (org_id,))
        return None if row is None else InjectionConfigRow(**dict(row))

    async def injection_config_hash(self, org_id: str) -> str | None:
        sql = "SELECT version_hash FROM injection_configs WHERE org_id = ? ORDER BY version DESC LIMIT 1"
        row = await self._one(sql, (org_id,))
        return None if row is None else str(row["version_hash"])

    async def active_taints(self, caller: AgentRef) -> list[TaintRow]:
        sql = (
            "SELECT * FROM taints WHERE org_id = ? AND project_id = ? AND agent_id = ? AND cleared_at IS NULL "
            "ORDER BY created_at"
        )
        rows = await self._all(sql, (caller.org_id, caller.project_id, caller.agent_id))
        return [TaintRow(**dict(row)) for row in rows]

    # Refusals that belong to no tenant, counted per source and minute.

    async def refusal_window(self, org_id: str, source: str, kind: str) -> RefusalWindow | None:
        sql = "SELECT * FROM refusal_windows WHERE org_id = ? AND source = ? AND kind = ?"
        row = await self._one(sql, (org_id, source, kind))
        return None if row is None else RefusalWindow(**dict(row))

    async def refusal_windows_before(self, window_start: str) -> list[RefusalWindow]:
        """Windows that closed before `window_start` (oldest first, bounded)."""
        sql = "SELECT * FROM refusal_windows WHERE window_start < ? ORDER BY window_start LIMIT ?"
        rows = await self._all(sql, (window_start, limits.list_page_size_max))
        return [RefusalWindow(**dict(row)) for row in rows]

    async def refusal_sources(self, org_id: str) -> int:
        row = await self._one("SELECT COUNT(*) AS n FROM refusal_windows WHERE org_id = ?", (org_id,))
        assert row is not None
        return int(row["n"])

    # The alert outbox.

    async def due_deliveries(self, now: datetime) -> list[DeliveryRow]:
        sql = (
            "SELECT * FROM alert_outbox WHERE delivered_at IS NULL AND failed_at IS NULL AND next_at <= ? "
            "ORDER BY next_at LIMIT ?"
        )
        rows = await self._all(sql, (iso(now), limits.alert_deliveries_per_round_max))
        return [DeliveryRow(**dict(row)) for row in rows]

    async def deliveries(self, alert_id: str) -> list[DeliveryRow]:
        rows = await self._all("SELECT * FROM alert_outbox WHERE alert_id = ? ORDER BY url", (alert_id,))
        return [DeliveryRow(**dict(row)) for row in rows]


def _agent(row: sqlite3.Row) -> AgentRow:
    return AgentRow(
        AgentRef(row["org_id"], row["project_id"], row["agent_id"]),
        row["name"],
        row["created_at"],
        disabled_at=row["disabled_at"],
        disabled_by=row["disabled_by"],
    )
