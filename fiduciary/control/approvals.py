"""Held payments: a person approves or rejects them; silence expires them.

An approval binds to the exact arguments and the policy version it was asked under, is single
use, and expires. Approving re-runs the gate's checks (kill switch, policy, funds) before the
payment is authorised and sent.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from fiduciary.audit.chain import AuditEntry
from fiduciary.control.base import Part, action, check_reason, not_found
from fiduciary.control.mandates import MandateDetails, details
from fiduciary.control.roles import Action, Operator
from fiduciary.domain import limits
from fiduciary.domain.clock import parse_iso
from fiduciary.domain.codes import Code
from fiduciary.domain.errors import InputError
from fiduciary.domain.money import Money
from fiduciary.domain.results import Outcome
from fiduciary.domain.states import TxState
from fiduciary.gate import outcome_for
from fiduciary.store import ApprovalRow, Reads, TransactionRow, WriteTx
from fiduciary.wallets import Wallet

S = TxState


@dataclass(frozen=True, slots=True)
class Screened:
    """What injection screening found in a held payment's text: its score and the rules that matched."""

    risk_bp: int
    matched: tuple[str, ...]
    """`field: rule_id` for every pattern that matched, in field order."""


@dataclass(frozen=True, slots=True)
class HeldPayment:
    """A held payment with what a person needs to decide it.

    The open mandate that covers it (what an approval would spend), the agent's name, what
    screening found, the wallet as it stands, and who has approved it so far.
    """

    approval: ApprovalRow
    transaction: TransactionRow
    mandate: MandateDetails | None
    agent_name: str | None = None
    screened: Screened | None = None
    wallet: Wallet | None = None
    votes: tuple[str, ...] = ()

    @property
    def balance_after(self) -> Money | None:
        """The wallet's available balance once this payment is held, if approved now."""
        if self.wallet is None:
            return None
        return Money(self.wallet.available_minor - self.transaction.amount.amount_minor, self.wallet.currency)


class Approvals(Part):
    @action(Action.APPROVALS_READ)
    async def recent(self, op: Operator, *, limit: int = limits.list_page_size_default) -> list[HeldPayment]:
        """The most recently decided approvals, newest first."""
        reads, now = self.store.read, self.ctx.clock.now()
        return [await _held(reads, a, now) for a in await reads.decided_approvals(limit=limit)]

    @action(Action.APPROVALS_READ)
    async def list(self, op: Operator, *, include_decided: bool = False) -> list[HeldPayment]:
        """Payments waiting for a person (or every approval), oldest first; expired ones are swept first."""
        await self.sweep_expired()
        reads = self.store.read
        found = []
        status = None if include_decided else "pending"
        for approval in await reads.approvals(status=status, limit=limits.list_page_size_max):
            found.append(await _held(reads, approval, self.ctx.clock.now()))
        return found

    @action(Action.APPROVALS_READ)
    async def show(self, op: Operator, approval_id: str) -> HeldPayment:
        reads = self.store.read
        approval = await reads.approval(approval_id)
        if approval is None:
            raise not_found("approval", approval_id)
        return await _held(reads, approval, self.ctx.clock.now())

    @action(Action.APPROVE)
    async def approve(self, op: Operator, approval_id: str) -> Outcome:
        """Approve a held payment: checked again and, once enough distinct people approved, executed.

        A rule may ask for several approvers: each approval before the last is recorded as a
        vote and the payment stays held. No operator counts twice.
        """
        gate = self.ctx.gate
        async with self.store.write() as w:
            approval, txn = await _pending(w, approval_id)
            stale = await _approval_problem(w, approval, txn)
            if stale is not None:
                status, code = stale
                await w.decide_approval(approval_id, status, by=op.operator_id, reason=code.value)
                target = S.EXPIRED if status == "expired" else S.REJECTED
                return outcome_for(await w.move(txn, target, actor=op.actor, code=code))
            votes = [*await w.approval_votes(approval_id), op.operator_id]
            if op.operator_id in votes[:-1]:
                raise InputError(
                    Code.INVALID_ARGUMENT, f"you already approved {approval_id}; it needs another operator's approval"
                )
            await w.add_approval_vote(approval_id, op.operator_id)
            tally = {"approval_id": approval_id, "approvers": votes, "required": approval.approvers_required}
            if len(votes) < approval.approvers_required:
                await w.audit(
                    txn.org_id,
                    txn.project_id,
                    actor=op.actor,
                    type="approval.vote",
                    subject=txn.transaction_id,
                    ref=txn.reference,
                    payload=tally,
                )
                return outcome_for(txn)
            await w.decide_approval(approval_id, "approved", by=op.operator_id, reason=None)
            txn = await w.move(txn, S.APPROVED, actor=op.actor, payload=tally)
            txn = await gate.authorize_approved(w, txn, replace(approval, status="approved"))
        return outcome_for(await gate.dispatch(txn))

    @action(Action.REJECT)
    async def reject(self, op: Operator, approval_id: str, *, reason: str) -> Outcome:
        reason = check_reason(reason)
        async with self.store.write() as w:
            _, txn = await _pending(w, approval_id)
            await w.decide_approval(approval_id, "rejected", by=op.operator_id, reason=reason)
            txn = await w.move(
                txn,
                S.REJECTED,
                actor=op.actor,
                code=Code.APPROVAL_REJECTED,
                payload={"approval_id": approval_id, "reason": reason},
            )
        return outcome_for(txn)

    async def sweep_expired(self) -> int:
        """Expire every pending approval past its deadline (a system sweep: silence is not consent)."""
        expired = 0
        clock = self.ctx.clock
        for approval in await self.store.read.approvals(status="pending", limit=limits.list_page_size_max):
            if clock.now() < parse_iso(approval.expires_at):
                continue
            async with self.store.write() as w:
                fresh = await w.approval(approval.approval_id)
                txn = await w.transaction(approval.org_id, approval.project_id, approval.transaction_id)
                if fresh is None or fresh.status != "pending" or txn is None:
                    continue
                await w.decide_approval(approval.approval_id, "expired", by="system", reason="ttl")
                payload = {"approval_id": approval.approval_id, "reason": "ttl"}
                await w.move(txn, S.EXPIRED, actor="system", code=Code.APPROVAL_EXPIRED, payload=payload)
                expired += 1
        return expired


async def _held(reads: Reads, approval: ApprovalRow, now: datetime) -> HeldPayment:
    txn = await reads.transaction(approval.org_id, approval.project_id, approval.transaction_id)
    assert txn is not None, "an approval holds its transaction"
    mandate = None
    if txn.open_mandate_id is not None:
        row = await reads.open_mandate(txn.org_id, txn.project_id, txn.open_mandate_id)
        mandate = None if row is None else await details(reads, row, now)
    agent = await reads.agent(txn.agent_id)
    return HeldPayment(
        approval,
        txn,
        mandate,
        agent_name=None if agent is None else agent.name,
        screened=_screened(await reads.audit_by_subject(txn.org_id, txn.transaction_id)),
        wallet=await reads.wallet(txn.caller, txn.amount.currency),
        votes=tuple(await reads.approval_votes(approval.approval_id)),
    )


def _screened(entries: list[AuditEntry]) -> Screened | None:
    """Screening's verdict, from the transaction's `screened` entry in the chain."""
    for entry in entries:
        if entry.body.type == f"transaction.{S.SCREENED.value}":
            payload = entry.body.payload
            fields = payload.get("fields", {})
            matched = tuple(
                f"{name}: {m['rule_id']}" for name, found in fields.items() for m in found.get("matches", ())
            )
            return Screened(int(payload.get("risk_bp", 0)), matched)
    return None


async def _pending(w: WriteTx, approval_id: str) -> tuple[ApprovalRow, TransactionRow]:
    approval = await w.approval(approval_id)
    if approval is None:
        raise not_found("approval", approval_id)
    if approval.status != "pending":
        raise InputError(Code.INVALID_ARGUMENT, f"approval {approval_id} is already {approval.status}")
    txn = await w.transaction(approval.org_id, approval.project_id, approval.transaction_id)
    assert txn is not None and txn.state is S.PENDING_APPROVAL, "a pending approval holds its transaction"
    return approval, txn


async def _approval_problem(w: WriteTx, approval: ApprovalRow, txn: TransactionRow) -> tuple[str, Code] | None:
    """An approval binds to the exact arguments and policy version, and expires."""
    if w.now >= parse_iso(approval.expires_at):
        return "expired", Code.APPROVAL_EXPIRED
    if approval.args_hash != txn.args_hash or txn.intent().args_hash(txn.counterparty_commitment) != txn.args_hash:
        return "rejected", Code.APPROVAL_STALE
    policy = await w.active_policy(txn.org_id, txn.project_id)
    if policy is None or policy.version_hash != approval.policy_version:
        return "expired", Code.APPROVAL_STALE
    return None
