"""The ports of the store: what the gate, the control plane and the views may ask of storage.

The SQLite adapter (`fiduciary.store.sqlite`) implements them today; a PostgreSQL adapter will
implement the same protocols. Callers depend on these protocols only, never on an adapter, and
only `fiduciary.runtime` constructs one.

- `Reads`: every query; tenant data is always read with its org and project. The chain's
  evidence and the vault have ports of their own (`evidence_ports`, `vault_ports`) that `Reads`
  and `WriteTx` take in.
- `WriteTx`: one write transaction; it reads what it is about to change, and every state change
  goes through a method that appends its audit entry in the same transaction.
- `Store`: the clock, the reads, and `write()` that opens a write transaction (commits on a
  normal exit, rolls back on any exception). Adapters raise only `StoreError` and its children.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol

from fiduciary.audit.chain import AuditEntry
from fiduciary.domain.clock import Clock
from fiduciary.domain.intents import AgentRef, PaymentIntent
from fiduciary.domain.money import Money
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
from fiduciary.domain.states import TxState
from fiduciary.mandates.keys import Ed25519Signer, KeyPurpose, SealedKey
from fiduciary.store.evidence_ports import ChainReadPort, ChainWritePort
from fiduciary.store.vault_ports import VaultReadPort, VaultWritePort
from fiduciary.wallets import Wallet


class KeyReads(Protocol):
    """What signing needs to read: an org's sealed keys, newest first."""

    async def sealed_keys(self, org_id: str, purpose: KeyPurpose) -> list[SealedKey]: ...


class SignerSource(Protocol):
    """Unlocks an org's signing key; the key ring implements it and the store's journal calls it."""

    async def signer(self, reads: KeyReads, org_id: str, purpose: KeyPurpose) -> Ed25519Signer: ...


class Reads(KeyReads, ChainReadPort, VaultReadPort, Protocol):
    """Every read of the store."""

    async def org_ids(self) -> list[str]: ...

    async def project_exists(self, org_id: str, project_id: str) -> bool: ...

    async def agent_by_token_hash(self, token_hash: str) -> AgentRow | None:
        """The enabled agent a token belongs to; a disabled agent's token finds nothing."""
        ...

    async def agent(self, agent_id: str) -> AgentRow | None: ...

    async def agents(self, *, org_id: str | None = None, project_id: str | None = None) -> list[AgentRow]:
        """Every agent, or those of one org or project, oldest first."""
        ...

    async def projects(self) -> list[tuple[str, str, str]]:
        """Every (org_id, project_id, name), oldest first."""
        ...

    async def operator_by_token_hash(self, token_hash: str) -> OperatorRow | None: ...

    async def operator(self, operator_id: str) -> OperatorRow | None: ...

    async def operators(self) -> list[OperatorRow]: ...

    async def operator_session(self, session_hash: str) -> SessionRow | None: ...

    async def flags(self, *, open_only: bool = True, limit: int = 100) -> list[FlagRow]:
        """Reconciliation flags, newest first."""
        ...

    async def flag(self, flag_id: str) -> FlagRow | None: ...

    async def open_flag_count(self) -> int: ...

    async def funding(self, funding_id: str) -> FundingRow | None: ...

    async def unsettled_fundings(self, *, limit: int) -> list[FundingRow]:
        """Fundings still waiting for their rail (pending or unknown), oldest first."""
        ...

    async def held_totals(self) -> dict[str, int]:
        """Money held in wallets and not yet settled, in minor units, by currency."""
        ...

    async def transaction_by_rail_reference(self, rail: str, rail_reference: str) -> TransactionRow | None:
        """The transaction a rail's reference was recorded on, if any."""
        ...

    async def settled_on_rail(self, rail: str, *, since: str, limit: int) -> list[TransactionRow]:
        """Transactions the rail settled at or after `since`, oldest first."""
        ...

    async def approval_votes(self, approval_id: str) -> list[str]:
        """The operators who approved `approval_id` so far, in the order they did."""
        ...

    async def public_keys(self, org_id: str, purpose: KeyPurpose) -> dict[str, bytes]: ...

    async def key_rows(self, org_id: str | None = None) -> list[KeyRow]:
        """Every key (or one org's), retired ones too: by org, purpose and age, oldest first."""
        ...

    async def wallet(self, caller: AgentRef, currency: str) -> Wallet | None: ...

    async def wallets(self, caller: AgentRef) -> list[Wallet]: ...

    async def ledger_sums(self, caller: AgentRef, currency: str) -> dict[str, int]:
        """Total of each ledger kind for one wallet: what `replay` and tests reconcile against."""
        ...

    async def transaction_ledger(self, org_id: str, project_id: str, transaction_id: str) -> dict[str, int]:
        """Total of each ledger kind written for one transaction."""
        ...

    async def org_wallets(self, org_id: str) -> list[tuple[AgentRef, Wallet]]:
        """Every wallet of an org's agents, by project, agent and currency (what `audit replay` compares)."""
        ...

    async def org_holds(self, org_id: str) -> list[tuple[AgentRef, str, str, int]]:
        """(agent, currency, transaction_id, minor units) of each hold in an org's ledger that was neither
        released nor debited, by transaction id."""
        ...

    async def org_open_mandates(self, org_id: str) -> list[OpenMandateRow]:
        """Every open mandate of an org, revoked ones too, by id."""
        ...

    async def org_transaction_states(self, org_id: str, *, after: str, limit: int) -> list[tuple[str, str, str]]:
        """(project_id, transaction_id, state) of an org's transactions with ids after `after`, by id."""
        ...

    async def transaction(self, org_id: str, project_id: str, transaction_id: str) -> TransactionRow | None: ...

    async def transaction_by_id(self, transaction_id: str) -> TransactionRow | None:
        """Control-plane lookup by id alone (operators see every tenant they administer)."""
        ...

    async def agent_transaction(self, caller: AgentRef, transaction_id: str) -> TransactionRow | None: ...

    async def transaction_by_key(self, caller: AgentRef, idempotency_key: str) -> TransactionRow | None: ...

    async def list_transactions(
        self, caller: AgentRef, *, limit: int, before: str | None = None, state: str | None = None
    ) -> list[TransactionRow]: ...

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
        ...

    async def project_history(self, org_id: str, project_id: str, *, since: datetime) -> list[TransactionRow]:
        """A project's calls since `since`, oldest first, bounded (what `policy simulate` replays)."""
        ...

    async def abandoned(self, *, now: datetime, idle_since: datetime) -> list[TransactionRow]:
        """In-flight transactions nobody holds a live lease on and nobody moved since `idle_since`."""
        ...

    async def spent(
        self, caller: AgentRef, *, per_project: bool, currency: str, tools: Sequence[str], since: datetime
    ) -> int:
        """Minor units authorised (held, sent or settled, less what was released) since `since`'s hour."""
        ...

    async def calls(self, caller: AgentRef, *, per_project: bool, tools: Sequence[str], since: datetime) -> int:
        """Money-moving calls decided since `since`'s minute."""
        ...

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
        ...

    async def payments_to(self, caller: AgentRef, *, per_project: bool, counterparty: str) -> int:
        """Settled payments to `counterparty` (canonical form), ever."""
        ...

    async def refunded_total(self, org_id: str, project_id: str, original_transaction_id: str) -> int:
        """Minor units already refunded (or being refunded) against a charge."""
        ...

    async def open_mandates(self, caller: AgentRef) -> list[OpenMandateRow]: ...

    async def open_mandate(self, org_id: str, project_id: str, mandate_id: str) -> OpenMandateRow | None: ...

    async def open_mandate_by_id(self, mandate_id: str) -> OpenMandateRow | None:
        """Control-plane lookup of an open mandate by its id alone."""
        ...

    async def closed_mandate(self, org_id: str, project_id: str, transaction_id: str) -> ClosedMandateRow | None: ...

    async def approval(self, approval_id: str) -> ApprovalRow | None: ...

    async def approvals(self, *, status: str | None = "pending", limit: int = 100) -> list[ApprovalRow]: ...

    async def decided_approvals(self, *, limit: int) -> list[ApprovalRow]:
        """Approvals that are no longer pending, the most recently decided first."""
        ...

    async def active_policy(self, org_id: str, project_id: str) -> PolicyRow | None: ...

    async def active_policy_hash(self, org_id: str, project_id: str) -> str | None:
        """The version hash of the active policy alone: what a cache of parsed policies is keyed by."""
        ...

    async def active_kill_switch(self, caller: AgentRef, *, rail: str | None = None) -> KillSwitchRow | None:
        """The first unlifted kill switch covering this agent, its project, its org, the platform, or
        (when given) the rail its payment is about to go through."""
        ...

    async def rail_frozen(self, rail: str) -> KillSwitchRow | None:
        """The kill switch that freezes this rail, if one is pulled."""
        ...

    async def kill_switches(self, *, active: bool = True) -> list[KillSwitchRow]:
        """Kill switches, oldest first; by default only those not lifted."""
        ...

    async def injection_config(self, org_id: str) -> InjectionConfigRow | None: ...

    async def injection_config_hash(self, org_id: str) -> str | None:
        """The version hash of the org's current screening configuration alone."""
        ...

    async def active_taints(self, caller: AgentRef) -> list[TaintRow]: ...

    async def refusal_window(self, org_id: str, source: str, kind: str) -> RefusalWindow | None: ...

    async def refusal_windows_before(self, window_start: str) -> list[RefusalWindow]:
        """Windows that closed before `window_start` (oldest first, bounded)."""
        ...

    async def refusal_sources(self, org_id: str) -> int: ...

    async def due_deliveries(self, now: datetime) -> list[DeliveryRow]: ...

    async def deliveries(self, alert_id: str) -> list[DeliveryRow]: ...


class WriteTx(Reads, ChainWritePort, VaultWritePort, Protocol):
    """One write transaction. `now` is fixed for the whole transaction."""

    now: datetime

    async def audit(
        self,
        org_id: str,
        project_id: str | None,
        *,
        actor: str,
        type: str,
        subject: str | None = None,
        ref: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """Append one signed entry to the org's chain, in this transaction."""
        ...

    async def insert_org(self, org_id: str, name: str) -> None: ...

    async def insert_project(self, org_id: str, project_id: str, name: str) -> None: ...

    async def insert_key(self, org_id: str, key: SealedKey) -> None: ...

    async def retire_key(self, org_id: str, kid: str) -> int:
        """Stop a key from signing (it still verifies); answers 1 if it was current."""
        ...

    async def insert_agent(self, ref: AgentRef, *, name: str, token_hash: str) -> None: ...

    async def update_agent_token(self, ref: AgentRef, *, token_hash: str) -> None: ...

    async def disable_agent(self, ref: AgentRef, *, by: str) -> bool:
        """Disable an agent for good; its token stops working. False if it already was."""
        ...

    async def insert_operator(
        self, operator_id: str, *, name: str, role: str, token_hash: str, by: str, expires_at: datetime | None
    ) -> None: ...

    async def revoke_operator(self, operator_id: str, *, by: str) -> bool: ...

    async def insert_session(self, session_hash: str, operator_id: str, *, expires_at: datetime) -> None: ...

    async def end_session(self, session_hash: str) -> bool:
        """End a session now; False if it had already ended."""
        ...

    async def end_sessions(self, operator_id: str) -> int:
        """End every open session of an operator (its token was revoked); how many."""
        ...

    async def release_lease(self, txn: TransactionRow, *, owner: str) -> None:
        """Let go of this process's claim on a transaction that rests (unknown) until the next sweep."""
        ...

    async def insert_funding(self, funding: FundingRow) -> FundingRow:
        """Record a funding; the payer goes to the vault, and the row returned carries its commitment."""
        ...

    async def update_funding(self, funding_id: str, *, state: str, rail_reference: str | None) -> None: ...

    async def insert_flag(self, flag: FlagRow) -> bool:
        """Raise a flag; False (and nothing written) if the same finding is already open."""
        ...

    async def resolve_flag(self, flag_id: str, *, by: str, note: str) -> bool:
        """Close an open flag; False if it was not open."""
        ...

    async def add_approval_vote(self, approval_id: str, operator_id: str) -> None:
        """Record one operator's approval; the same operator twice is a `ConflictError`."""
        ...

    async def insert_policy(self, org_id: str, project_id: str, *, version_hash: str, source: str, by: str) -> int: ...

    async def create_wallet(self, caller: AgentRef, currency: str) -> Wallet: ...

    async def move_wallet(
        self,
        caller: AgentRef,
        before: Wallet,
        after: Wallet,
        *,
        kind: str,
        amount: Money,
        transaction_id: str | None,
        closed_mandate_id: str | None,
    ) -> None: ...

    async def insert_transaction(
        self,
        transaction_id: str,
        intent: PaymentIntent,
        *,
        counterparty_commitment: str,
        reference: str,
        actor: str,
        payload: dict[str, Any],
    ) -> TransactionRow:
        """Persist a new transaction in `received` and audit it; the row keeps the counterparty only
        as `counterparty_commitment` (from `commit_pii`)."""
        ...

    async def move(
        self,
        txn: TransactionRow,
        target: TxState,
        *,
        actor: str,
        code: str | None = None,
        payload: dict[str, Any] | None = None,
        **columns: str | None,
    ) -> TransactionRow:
        """Move `txn` to `target` (checked against the table), update columns, audit the move."""
        ...

    async def insert_open_mandate(self, caller: AgentRef, mandate_id: str, *, token: str, issued_by: str) -> None: ...

    async def use_open_mandate(self, org_id: str, project_id: str, mandate_id: str, amount_minor: int) -> None: ...

    async def return_open_mandate_use(self, org_id: str, project_id: str, mandate_id: str, amount_minor: int) -> None:
        """Undo `use_open_mandate` for a payment that never moved; the CHECKs keep both counters >= 0."""
        ...

    async def replace_open_mandate_token(self, org_id: str, project_id: str, mandate_id: str, *, token: str) -> None:
        """Store a re-signed token (a renewal) for an active mandate; its usage counters stay."""
        ...

    async def revoke_open_mandate(
        self, org_id: str, project_id: str, mandate_id: str, *, by: str, reason: str
    ) -> bool: ...

    async def take_lease(self, txn: TransactionRow, *, owner: str, until: datetime) -> bool:
        """Claim an in-flight transaction for `owner` unless another process holds a live lease on it."""
        ...

    async def insert_closed_mandate(
        self, txn: TransactionRow, mandate_id: str, *, parent_id: str, token: str, expires_at: datetime
    ) -> None: ...

    async def use_closed_mandate(self, org_id: str, project_id: str, mandate_id: str) -> None:
        """Spend a closed mandate: single use, enforced by the `used_at IS NULL` guard."""
        ...

    async def insert_approval(
        self,
        txn: TransactionRow,
        approval_id: str,
        *,
        policy_version: str,
        rule_id: str | None,
        expires_at: datetime,
        approvers: int = 1,
    ) -> None: ...

    async def decide_approval(self, approval_id: str, status: str, *, by: str, reason: str | None) -> None:
        """Close a pending approval; a decided approval never changes again (single use)."""
        ...

    async def insert_injection_config(self, org_id: str, *, version_hash: str, source: str, by: str) -> int: ...

    async def insert_taint(self, caller: AgentRef, taint_id: str, *, source: str, reference: str) -> None: ...

    async def clear_taints(self, caller: AgentRef, *, by: str) -> int: ...

    async def count_spend(
        self, caller: AgentRef, *, tool: str, currency: str, counterparty: str, at: datetime, amount_minor: int
    ) -> None:
        """Add (or, negative, give back) one payment's amount in the hour bucket of `at`, overall and per payee.

        The CHECKs keep every counter at or above zero."""
        ...

    async def count_call(self, caller: AgentRef, *, tool: str, at: datetime) -> None: ...

    async def count_payment_to(self, caller: AgentRef, counterparty: str) -> None: ...

    async def insert_delivery(self, delivery_id: str, *, alert_id: str, org_id: str, url: str, body: str) -> None: ...

    async def record_attempt(
        self, delivery_id: str, *, status: int | None, delivered: bool, failed: bool, next_at: datetime
    ) -> None:
        """One delivery attempt: delivered, given up, or due again at `next_at`."""
        ...

    async def open_refusal_window(self, window: RefusalWindow) -> None:
        """Start (or restart) a source's window with its first refusal."""
        ...

    async def count_refusal(self, org_id: str, source: str, kind: str) -> None: ...

    async def close_refusal_window(self, window: RefusalWindow) -> None: ...

    async def insert_kill_switch(
        self, switch_id: str, org_id: str, *, scope: str, target: str, reason: str, by: str
    ) -> None: ...

    async def lift_kill_switches(self, *, scope: str, target: str, by: str) -> list[str]:
        """Lift every active switch of exactly this scope and target; the ids lifted."""
        ...


class Store(Protocol):
    """A store: reads outside any transaction, and write transactions one at a time."""

    @property
    def clock(self) -> Clock: ...

    @property
    def read(self) -> Reads: ...

    def write(self, org_id: str | None = None) -> AbstractAsyncContextManager[WriteTx]:
        """One write transaction: commits on normal exit, rolls back on any exception. With `org_id`,
        it changes that org alone (its chain, its tenants' rows): a store with several writers runs
        transactions of different orgs side by side."""
        ...

    async def close(self) -> None: ...

    async def scrub(self) -> bool:
        """Push what was wiped out of the database's files where the database allows it (after an
        erasure); whether nothing of it is left there."""
        ...
