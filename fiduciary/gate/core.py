"""The gate: the one orchestrator that strings the stages together.

```
parse & bound ─▶ injection ─▶ policy ─▶ mandate ─▶ wallet hold ─▶ verify again ─▶ rail ─▶ settle / roll back
```

Stages are pure functions; this package owns their order, the I/O and the transactions. Every
step that changes state writes its audit entry in the same database transaction. A stage
that errors stops the money: the call is denied with a reference id, never half-executed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from fiduciary import metrics
from fiduciary.audit.receipts import receipt
from fiduciary.domain import limits
from fiduciary.domain.clock import Clock
from fiduciary.domain.codes import Code
from fiduciary.domain.errors import ConflictError, InputError
from fiduciary.domain.ids import Prefix, new_id, token_hash
from fiduciary.domain.intents import PLATFORM, AgentRef, PaymentIntent, PaymentRequest, Tool
from fiduciary.domain.results import Outcome
from fiduciary.domain.states import TxState
from fiduciary.gate.authorize import Authorizer
from fiduciary.gate.dry_run import RolledBack, dry_run_outcome, trace_of
from fiduciary.gate.funding import Fundings
from fiduciary.gate.outcomes import agent_actor, outcome_for, refusal
from fiduciary.gate.parse import KeyedDigests, prepare, refundable
from fiduciary.gate.reconcile import RailReport, reconcile_rail
from fiduciary.gate.refusals import record_unauthenticated
from fiduciary.gate.screening import Screening, ScreeningConfigs, screen
from fiduciary.gate.settle import Settlement, released
from fiduciary.mandates.keys import KeyPurpose
from fiduciary.policies import PolicyInput
from fiduciary.rails import Rail
from fiduciary.rails.config import RailsFile
from fiduciary.store import ApprovalRow, SignerSource, Store, TransactionRow, WriteTx

log = logging.getLogger(__name__)

S = TxState
RECEIPTED = frozenset({Code.MANDATE_REVOKED, Code.AGENT_FROZEN})
"""Refusals an agent gets a signed receipt for: its authority was withdrawn, not its request wrong."""


class Gate:
    """Runs every money-moving call through the stages, and resumes what a crash interrupted."""

    def __init__(
        self,
        store: Store,
        rails: Mapping[str, Rail],
        *,
        signers: SignerSource,
        digests: KeyedDigests,
        configs: ScreeningConfigs,
        clock: Clock,
        owner: str,
        rail: str = "sandbox",
        dashboard_url: str | None = None,
        routes: RailsFile | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.configs = configs
        self.owner = owner
        self.dashboard_url = dashboard_url
        """Where operators open the dashboard (held-payment notices link to it), if anyone serves it."""
        self.settlement = Settlement(store, rails, rail=rail, owner=owner, configs=configs, routes=routes)
        self.authorizer = Authorizer(signers, dashboard_url=dashboard_url, router=self.settlement.route_of)
        self._signers = signers
        self._digests = digests
        self.fundings = Fundings(store, rails, timeout_seconds=limits.rail_timeout_ms / 1000)

    # Submission.

    async def authenticate(self, token: str | None, *, tool: str, reference: str, source: str) -> AgentRef | None:
        """The agent a bearer token belongs to; an unknown token is refused and audited (counted per source)."""
        if token and len(token) <= limits.token_chars_max:
            row = await self.store.read.agent_by_token_hash(token_hash(token))
            if row is not None:
                return row.ref
        async with self.store.write() as w:
            if await w.project_exists(PLATFORM.org_id, PLATFORM.project_id):
                await record_unauthenticated(
                    w,
                    source=source,
                    kind="agent_token",
                    reference=reference,
                    actor=agent_actor(PLATFORM),
                    type="call.refused",
                    payload={"tool": tool, "code": Code.UNAUTHENTICATED.value, "token_present": bool(token)},
                )
        return None

    async def request(self, caller: AgentRef, request: PaymentRequest, *, reference: str) -> Outcome:
        """Parse & bound a surface's request, then submit it; bad input is refused and audited."""
        try:
            intent = await prepare(caller, request, self.store.read, now=self.clock.now(), digests=self._digests)
        except InputError as exc:
            await self.refuse(caller, tool=request.tool.value, code=Code(exc.code), reference=reference)
            return refusal(Code(exc.code), reference, message=exc.message)
        if request.dry_run:
            return await self.dry_run(intent, reference=reference)
        policy = await self.authorizer.policy(self.store.read, caller)
        if policy is not None and policy.shadow:
            return await self.dry_run(intent, reference=reference, shadow=True)
        return await self.submit(intent, reference=reference)

    async def dry_run(self, intent: PaymentIntent, *, reference: str, shadow: bool = False) -> Outcome:
        """The decision a call would get, computed on the real path and then rolled back (see `dry_run`)."""
        screening = screen(intent, await self.configs.for_org(self.store.read, intent.caller.org_id))
        try:
            async with self.store.write() as w:
                existing = await w.transaction_by_key(intent.caller, intent.idempotency_key)
                if existing is not None:
                    same = binds_alike(existing, intent)
                    code = outcome_for(existing).code.value if same else Code.IDEMPOTENCY_CONFLICT.value
                    raise RolledBack({"would": "replayed" if same else "denied", "code": code})
                tainted = bool(await w.active_taints(intent.caller))
                txn = await w.insert_transaction(
                    new_id(Prefix.TRANSACTION),
                    intent,
                    counterparty_commitment=await w.commit_pii(intent.caller.org_id, intent.counterparty),
                    reference=reference,
                    actor=agent_actor(intent.caller),
                    payload={},
                )
                txn = await self._screen_and_decide(w, txn, intent, screening, tainted=tainted)
                raise RolledBack(await trace_of(w, txn, intent))
        except RolledBack as undone:
            trace = undone.trace
        async with self.store.write() as w:
            await w.audit(
                intent.caller.org_id,
                intent.caller.project_id,
                actor=agent_actor(intent.caller),
                type="call.shadow" if shadow else "call.dry_run",
                subject=intent.caller.agent_id,
                ref=reference,
                payload={"tool": intent.tool.value, "amount_minor": intent.amount.amount_minor} | trace,
            )
        return dry_run_outcome(trace, reference, intent)

    async def refuse(
        self, caller: AgentRef, *, tool: str, code: Code, reference: str, detail: dict[str, Any] | None = None
    ) -> None:
        """Record a call refused before it became a transaction."""
        async with self.store.write() as w:
            await self.audit_refusal(w, caller, tool=tool, code=code, reference=reference, detail=detail)

    async def submit(self, intent: PaymentIntent, *, reference: str) -> Outcome:
        """Run one parsed intent through the gate and, if it is allowed, to the rail."""
        with metrics.timed("total"):
            outcome = await self._submit(intent, reference=reference)
        if outcome.code in RECEIPTED and outcome.transaction_id is not None:
            outcome = await self._with_receipt(intent, outcome, outcome.transaction_id)
        return outcome

    async def _with_receipt(self, intent: PaymentIntent, outcome: Outcome, transaction_id: str) -> Outcome:
        """The refusal with the org's signed receipt of it, naming the entry that recorded it."""
        caller = intent.caller
        recorded = [
            e for e in await self.store.read.audit_by_subject(caller.org_id, transaction_id)
            if e.body.payload.get("code") == outcome.code.value
        ]  # fmt: skip
        if not recorded:
            return outcome
        signer = await self._signers.signer(self.store.read, caller.org_id, KeyPurpose.AUDIT)
        signed = receipt(recorded[-1], agent_id=caller.agent_id, tool=intent.tool.value, transaction_id=transaction_id,
                         code=outcome.code.value, reason=outcome.message, signer=signer)  # fmt: skip
        return replace(outcome, receipt=signed)

    async def _submit(self, intent: PaymentIntent, *, reference: str) -> Outcome:
        with metrics.timed("screen"):
            screening = screen(intent, await self.configs.for_org(self.store.read, intent.caller.org_id))
        async with self.store.write(intent.caller.org_id) as w:
            existing = await w.transaction_by_key(intent.caller, intent.idempotency_key)
            if existing is not None:
                return await self._replay(w, existing, intent, reference)
            tainted = bool(await w.active_taints(intent.caller))
            commitment = await w.commit_pii(intent.caller.org_id, intent.counterparty)
            txn = await w.insert_transaction(
                new_id(Prefix.TRANSACTION),
                intent,
                counterparty_commitment=commitment,
                reference=reference,
                actor=agent_actor(intent.caller),
                payload=self._intent_payload(intent, commitment),
            )
            with metrics.timed("decide"):
                txn = await self._screen_and_decide(w, txn, intent, screening, tainted=tainted)
            if tainted and txn.state is S.PENDING_APPROVAL:
                await self._clear_taint(w, txn)
            if txn.state in (S.AUTHORIZED, S.HELD):
                # Nothing external happens between the decision and the dispatch: one commit for both.
                txn = await self.settlement.prepare(w, txn)
        with metrics.timed("rail"):
            txn = await self.settlement.send(txn)
        log.debug("call %s: transaction %s is %s (%s)", reference, txn.transaction_id, txn.state, txn.code)
        return outcome_for(txn)

    async def _clear_taint(self, w: WriteTx, txn: TransactionRow) -> None:
        """The call a taint was waiting for is now in front of a person: the taint has done its job."""
        cleared = await w.clear_taints(txn.caller, by="system")
        await w.audit(
            txn.org_id,
            txn.project_id,
            actor="system",
            type="agent.taint_cleared",
            subject=txn.agent_id,
            ref=txn.reference,
            payload={"held_for_approval": txn.transaction_id, "approval_id": txn.approval_id, "cleared": cleared},
        )

    async def _replay(self, w: WriteTx, existing: TransactionRow, intent: PaymentIntent, reference: str) -> Outcome:
        if binds_alike(existing, intent):
            return outcome_for(existing, replayed=True)
        await self.audit_refusal(
            w,
            intent.caller,
            tool=intent.tool.value,
            code=Code.IDEMPOTENCY_CONFLICT,
            reference=reference,
            detail={"existing": existing.transaction_id},
        )
        return refusal(Code.IDEMPOTENCY_CONFLICT, reference)

    @staticmethod
    def _intent_payload(intent: PaymentIntent, commitment: str) -> dict[str, Any]:
        """What the chain records of an intent: the counterparty only as a salted commitment (the one
        its row keeps)."""
        return {
            "tool": intent.tool.value,
            "amount_minor": intent.amount.amount_minor,
            "currency": intent.amount.currency,
            "counterparty_commitment": commitment,
            "purpose": intent.purpose,
            "category": intent.category,
            "country": intent.country,
            "idempotency_key": intent.idempotency_key,
            "args_hash": intent.args_hash(commitment),
            "original_transaction_id": intent.original_transaction_id,
        }

    async def _screen_and_decide(
        self, w: WriteTx, txn: TransactionRow, intent: PaymentIntent, screening: Screening, *, tainted: bool
    ) -> TransactionRow:
        actor = agent_actor(intent.caller)
        if screening.blocked:
            return await w.move(txn, S.DENIED, actor=actor, code=Code.INJECTION_BLOCKED, payload=screening.payload)
        txn = await w.move(txn, S.SCREENED, actor=actor, payload=screening.payload)
        refund_problem = await self._refund_problem(w, intent)
        if refund_problem is not None:
            return await w.move(txn, S.DENIED, actor=actor, code=refund_problem, payload={"stage": "refund"})
        facts = PolicyInput(risk_bp=screening.risk_bp, tainted=tainted)
        return await self.authorizer.decide(w, txn, intent, facts, approval=None)

    async def _refund_problem(self, w: WriteTx, intent: PaymentIntent) -> Code | None:
        """A refund must point at a settled charge of this agent with enough left to return."""
        if intent.tool is not Tool.REFUND:
            return None
        caller = intent.caller
        original = None
        if intent.original_transaction_id is not None:
            original = await w.agent_transaction(caller, intent.original_transaction_id)
        if not refundable(original) or original.amount.currency != intent.amount.currency:
            return Code.REFUND_NOT_ALLOWED
        refunded = await w.refunded_total(caller.org_id, caller.project_id, original.transaction_id)
        if refunded + intent.amount.amount_minor > original.amount.amount_minor:
            return Code.REFUND_EXCEEDS_ORIGINAL
        return None

    # Approvals: the control plane decides; the gate authorizes and dispatches what was approved.

    async def authorize_approved(self, w: WriteTx, txn: TransactionRow, approval: ApprovalRow) -> TransactionRow:
        """Run an approved transaction through kill switch, policy, mandate and hold, in `w`."""
        return await self.authorizer.decide(w, txn, txn.intent(), PolicyInput(), approval=approval)

    async def dispatch(self, txn: TransactionRow) -> TransactionRow:
        """Send an authorized or held transaction to its rail (a no-op for any other state)."""
        if txn.state in (S.AUTHORIZED, S.HELD):
            return await self.settlement.dispatch(txn)
        return txn

    # Recovery.

    async def reconcile_rails(self, since: datetime) -> list[RailReport]:
        """One reconciliation round over every configured rail (flags raised, nothing resolved)."""
        now = self.clock.now()
        return [
            await reconcile_rail(self.store, name, rail, since=since, now=now)
            for name, rail in self.settlement.rails.items()
        ]

    async def resume(self) -> list[Outcome]:
        """At start-up: finish or roll back what a crash left in flight. Never pays twice."""
        return await self.sweep(idle_seconds=0)

    async def sweep(self, *, idle_seconds: int = limits.in_flight_idle_seconds) -> list[Outcome]:
        """Take over in-flight transactions that no live process holds and nobody moved for a while.

        A process that died mid-dispatch (a killed `approvals approve`, a crashed server) leaves its
        lease to run out; then exactly one process takes the lease and finishes the work, asking the
        rail about the idempotency key before anything is sent again.
        """
        now = self.clock.now()
        outcomes = []
        for txn in await self.store.read.abandoned(now=now, idle_since=now - timedelta(seconds=idle_seconds)):
            try:
                if not await self._take_over(txn):
                    continue
                outcomes.append(outcome_for(await self._resume_one(txn)))
            except ConflictError:
                log.info("transaction %s moved while resuming", txn.transaction_id)
        return outcomes

    async def _take_over(self, txn: TransactionRow) -> bool:
        async with self.store.write() as w:
            until = w.now + timedelta(seconds=limits.dispatch_lease_seconds)
            if not await w.take_lease(txn, owner=self.owner, until=until):
                return False  # another process holds it, or it moved on
            if txn.lease_owner is not None and txn.lease_owner != self.owner:
                await w.audit(
                    txn.org_id,
                    txn.project_id,
                    actor="system",
                    type="transaction.taken_over",
                    subject=txn.transaction_id,
                    ref=txn.reference,
                    payload={"state": txn.state.value, "lease_expired_at": txn.lease_until},
                )
        return True

    async def _resume_one(self, txn: TransactionRow) -> TransactionRow:
        if txn.state is S.APPROVED:
            async with self.store.write() as w:
                approval = await w.approval(txn.approval_id or "")
                assert approval is not None
                txn = await self.authorize_approved(w, txn, approval)
        if txn.state in (S.AUTHORIZED, S.HELD):
            return await self.settlement.dispatch(txn)
        if txn.state is S.ROLLING_BACK:
            async with self.store.write() as w:
                payload: dict[str, Any] = {}
                if await self.settlement.still_held(w, txn):
                    await self.settlement.release(w, txn)
                    payload = released(txn)
                return await w.move(txn, S.ROLLED_BACK, actor="system", code=txn.code, payload=payload)
        if txn.state in (S.DISPATCHING, S.UNKNOWN):
            return await self.settlement.reconcile(txn)
        return txn

    async def audit_refusal(
        self,
        w: WriteTx,
        caller: AgentRef,
        *,
        tool: str,
        code: Code,
        reference: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        payload: dict[str, Any] = {"tool": tool, "code": code.value, **(detail or {})}
        await w.audit(
            caller.org_id,
            caller.project_id,
            actor=agent_actor(caller),
            type="call.refused",
            subject=caller.agent_id,
            ref=reference,
            payload=payload,
        )


def binds_alike(existing: TransactionRow, intent: PaymentIntent) -> bool:
    """Whether a call with an existing transaction's key carries exactly its arguments: the same
    counterparty (an erased one matches nothing) and the same hash under its commitment."""
    return existing.counterparty == intent.counterparty and existing.args_hash == intent.args_hash(
        existing.counterparty_commitment
    )
