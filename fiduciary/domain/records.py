"""Typed records the store hands out: agents, operators, transactions, mandates, approvals, policies."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fiduciary.domain.errors import StateError
from fiduciary.domain.intents import AgentRef, PaymentIntent, Tool
from fiduciary.domain.money import Money
from fiduciary.domain.states import TxState


@dataclass(frozen=True, slots=True)
class AgentRow:
    ref: AgentRef
    name: str
    created_at: str
    disabled_at: str | None = None
    disabled_by: str | None = None


@dataclass(frozen=True, slots=True)
class KeyRow:
    """An org's signing key as published: the public half, what it signs, and when it was retired."""

    org_id: str
    kid: str
    purpose: str
    public_key: bytes
    created_at: str
    retired_at: str | None


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One signed export as recorded: its range, its checkpoint and its manifest's hash."""

    org_id: str
    number: int
    format: str
    from_seq: int
    to_seq: int
    checkpoint_size: int
    manifest_sha256: bytes
    created_by: str
    created_at: str


@dataclass(frozen=True, slots=True)
class OperatorRow:
    """An operator as stored: the token only as its hash."""

    operator_id: str
    name: str
    role: str
    token_hash: str
    created_by: str
    created_at: str
    expires_at: str | None
    revoked_by: str | None
    revoked_at: str | None


@dataclass(frozen=True, slots=True)
class SessionRow:
    """A dashboard session as stored: the cookie's value only as its hash."""

    session_hash: str
    operator_id: str
    created_at: str
    expires_at: str
    ended_at: str | None


@dataclass(frozen=True, slots=True)
class TransactionRow:
    """One transaction as persisted."""

    org_id: str
    project_id: str
    transaction_id: str
    agent_id: str
    tool: Tool
    state: TxState
    code: str
    amount: Money
    counterparty: str | None
    """In canonical form, from the vault; None once an erasure wiped it."""
    counterparty_commitment: str
    """The salted commitment the row keeps instead of the value (the one its first entry carries)."""
    purpose: str
    category: str | None
    country: str | None
    memo: str | None
    metadata: tuple[tuple[str, str], ...]
    idempotency_key: str
    args_hash: str
    reference: str
    policy_version: str | None
    open_mandate_id: str | None
    closed_mandate_id: str | None
    approval_id: str | None
    original_transaction_id: str | None
    rail: str | None
    rail_reference: str | None
    created_at: str
    updated_at: str
    rail_note: str | None = None
    """Free text the rail returned, kept only if screening found it clean."""
    lease_owner: str | None = None
    """The process working on this transaction while it is in flight."""
    lease_until: str | None = None
    """Until when that process's claim holds; after it, another process may take the work over."""
    requested_rail: str | None = None
    """The rail the caller named, if any (part of the arguments; `rail` is where it went)."""

    @property
    def caller(self) -> AgentRef:
        return AgentRef(self.org_id, self.project_id, self.agent_id)

    @property
    def party(self) -> str:
        """The counterparty of a transaction still being worked on: an erasure never reaches one
        (it waits until nothing to that counterparty is in flight)."""
        if self.counterparty is None:
            raise StateError(f"the counterparty of {self.transaction_id} was erased")
        return self.counterparty

    def intent(self, *, erased: str | None = None) -> PaymentIntent:
        """The intent this transaction was created from (`erased` stands in for an erased counterparty;
        without it, an erased one raises `StateError`)."""
        return PaymentIntent(
            caller=self.caller,
            tool=self.tool,
            amount=self.amount,
            counterparty=self.party if erased is None or self.counterparty is not None else erased,
            purpose=self.purpose,
            idempotency_key=self.idempotency_key,
            category=self.category,
            country=self.country,
            memo=self.memo,
            original_transaction_id=self.original_transaction_id,
            metadata=self.metadata,
            rail=self.requested_rail,
        )

    @classmethod
    def from_row(cls, row: Any) -> TransactionRow:
        data = dict(row)
        amount = Money(data.pop("amount_minor"), data.pop("currency"))
        metadata = tuple(sorted(json.loads(data.pop("metadata")).items()))
        return cls(
            amount=amount,
            metadata=metadata,
            tool=Tool(data.pop("tool")),
            state=TxState(data.pop("state")),
            **data,
        )


@dataclass(frozen=True, slots=True)
class OpenMandateRow:
    org_id: str
    project_id: str
    mandate_id: str
    agent_id: str
    token: str
    status: str
    uses: int
    used_minor: int
    issued_by: str
    issued_at: str
    revoked_by: str | None
    revoked_at: str | None
    revoked_reason: str | None


@dataclass(frozen=True, slots=True)
class ClosedMandateRow:
    org_id: str
    project_id: str
    mandate_id: str
    transaction_id: str
    parent_id: str
    token: str
    issued_at: str
    expires_at: str
    used_at: str | None


@dataclass(frozen=True, slots=True)
class ApprovalRow:
    org_id: str
    project_id: str
    approval_id: str
    transaction_id: str
    args_hash: str
    policy_version: str
    rule_id: str | None
    status: str
    requested_at: str
    expires_at: str
    decided_by: str | None
    decided_at: str | None
    reason: str | None
    approvers_required: int = 1
    """How many distinct operators must approve before the payment goes ahead."""


@dataclass(frozen=True, slots=True)
class PolicyRow:
    org_id: str
    project_id: str
    version: int
    version_hash: str
    source: str
    applied_by: str
    applied_at: str


@dataclass(frozen=True, slots=True)
class InjectionConfigRow:
    org_id: str
    version: int
    version_hash: str
    source: str
    applied_by: str
    applied_at: str


@dataclass(frozen=True, slots=True)
class TaintRow:
    org_id: str
    project_id: str
    agent_id: str
    taint_id: str
    source: str
    reference: str
    created_at: str
    cleared_at: str | None
    cleared_by: str | None


@dataclass(frozen=True, slots=True)
class KillSwitchRow:
    switch_id: str
    org_id: str
    scope: str
    target: str
    reason: str
    pulled_by: str
    pulled_at: str
    lifted_by: str | None
    lifted_at: str | None


@dataclass(frozen=True, slots=True)
class RefusalWindow:
    """Unauthenticated refusals from one source in one minute: the first is in the chain, the rest counted."""

    org_id: str
    source: str
    kind: str
    window_start: str
    first_ref: str
    count: int


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """One alert to one webhook, waiting in the outbox until it is delivered or given up."""

    delivery_id: str
    alert_id: str
    org_id: str
    url: str
    body: str
    attempts: int
    next_at: str
    last_status: int | None
    delivered_at: str | None
    failed_at: str | None


@dataclass(frozen=True, slots=True)
class FlagRow:
    """Something a rail and the ledger disagree on; only an operator resolves it."""

    flag_id: str
    org_id: str
    rail: str
    kind: str
    transaction_id: str | None
    rail_reference: str | None
    detail: str
    raised_at: str
    resolved_by: str | None
    resolved_at: str | None
    note: str | None


@dataclass(frozen=True, slots=True)
class FundingRow:
    """Money an operator asked a rail to collect into an agent's wallet."""

    funding_id: str
    org_id: str
    project_id: str
    agent_id: str
    rail: str
    counterparty: str | None
    """The payer in canonical form, from the vault; None once an erasure wiped it."""
    counterparty_commitment: str
    amount_minor: int
    currency: str
    state: str
    rail_reference: str | None
    created_by: str
    created_at: str
    updated_at: str


@dataclass(frozen=True, slots=True)
class SinkCursorRow:
    """How far one sink has taken one org's chain, and how its last attempt went."""

    sink: str
    org_id: str
    seq: int
    """The last entry the sink acknowledged (0: none yet); every entry up to it was delivered."""
    delivered_at: str | None
    attempts: int
    """Failed attempts since the last success."""
    next_at: str | None
    """Not tried again before this time (after a failure)."""
    error_status: int | None
    error: str | None
    error_at: str | None
    bundles: int
    """S3: how many signed bundles were written (the number of the last manifest)."""
    manifest_sha256: bytes | None
    """S3: the digest of the last manifest, which the next one names as its previous."""


@dataclass(frozen=True, slots=True)
class SinkStateRow:
    """A sink stopped because it refused our requests (a 4xx other than 408 and 429), until an admin resumes it."""

    sink: str
    stopped_at: str | None
    stop_status: int | None
    stop_reason: str | None
    resumed_at: str | None
    resumed_by: str | None


@dataclass(frozen=True, slots=True)
class SubjectRow:
    """One counterparty of an org in the vault: its canonical value until an erasure wipes it."""

    subject_id: str
    org_id: str
    value: str | None
    created_at: str
    erasure_id: str | None
    erased_at: str | None


@dataclass(frozen=True, slots=True)
class HoldRow:
    """A legal hold: while it is open, nothing of its org (or of its one subject) may be erased."""

    hold_id: str
    org_id: str
    subject_id: str | None
    reason: str
    set_by: str
    set_at: str
    cleared_by: str | None
    cleared_at: str | None
    cleared_reason: str | None
