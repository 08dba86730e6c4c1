"""The gate: the one orchestrator that strings the stages together.

```
parse & bound ─▶ injection ─▶ policy ─▶ mandate ─▶ wallet hold ─▶ verify again ─▶ rail ─▶ settle / roll back
```

Stages are pure functions; this module owns their order, the I/O and the transactions. Every
step that changes state writes its audit entry in the same database transaction. A stage
that errors stops the money: the call is denied with a reference id, never half-executed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from fiduciary import injection, policies
from fiduciary.domain import limits
from fiduciary.domain.clock import Clock, day_start, parse_iso
from fiduciary.domain.codes import Code, message_for
from fiduciary.domain.decisions import Decision, Verdict
from fiduciary.domain.errors import ConflictError, InputError, MandateError, RailRejected, RailTimeout
from fiduciary.domain.ids import Prefix, new_id, token_hash
from fiduciary.domain.intents import OUTFLOWS, PLATFORM, AgentRef, PaymentIntent, PaymentRequest, Tool
from fiduciary.domain.results import Outcome, Status
from fiduciary.domain.states import TxState
from fiduciary.mandates import ClosedMandate, ClosedTerms, MandateUsage, choose, sign_closed, verify_closed, verify_open
from fiduciary.mandates.keys import KeyPurpose
from fiduciary.parse import prepare
from fiduciary.policies import Policy, PolicyInput, parse_policy
from fiduciary.rails import Direction, Rail, RailReceipt, RailRequest, idempotency_key_for, matches
from fiduciary.store import ApprovalRow, SqliteStore, TransactionRow, Writer
from fiduciary.wallets import can_hold, capture, credit, hold, release

log = logging.getLogger(__name__)

S = TxState
_OUTFLOW_TOOLS = tuple(sorted(tool.value for tool in OUTFLOWS))


@dataclass(frozen=True, slots=True)
class Screening:
    """The injection stage's verdict over every free-text field of an intent."""

    blocked: bool
    risk_bp: int
    payload: dict[str, Any]


def screen(intent: PaymentIntent, config: injection.InjectionConfig | None) -> Screening:
    """Score every free-text field; the intent is blocked if any field is."""
    fields: dict[str, Any] = {}
    blocked, risk_bp = False, 0
    for name, text in intent.free_text():
        result = injection.score(text, context=injection.ScanContext(tool=intent.tool.value, field=name, config=config))
        blocked = blocked or result.blocked
        risk_bp = max(risk_bp, round(result.score * 10_000))
        if result.matches or result.flags:
            fields[name] = result.audit_payload()
    return Screening(blocked, risk_bp, {"risk_bp": risk_bp, "blocked": blocked, "fields": fields})


def outcome_for(txn: TransactionRow, *, replayed: bool = False) -> Outcome:
    """Render a transaction's current state as the answer to the call that made it."""
    status, code = _STATUS.get(txn.state, (Status.UNKNOWN, Code.OUTCOME_UNKNOWN))
    code = Code(txn.code) if txn.state in _KEEP_CODE else code
    return Outcome(
        status=status,
        code=code,
        message=message_for(code),
        reference=txn.reference,
        transaction_id=txn.transaction_id,
        state=txn.state,
        amount=txn.amount,
        approval_id=txn.approval_id,
        rail_reference=txn.rail_reference,
        replayed=replayed,
    )


_STATUS: dict[TxState, tuple[Status, Code]] = {
    S.SETTLED: (Status.EXECUTED, Code.EXECUTED),
    S.PENDING_APPROVAL: (Status.PENDING_APPROVAL, Code.APPROVAL_REQUIRED),
    S.DENIED: (Status.DENIED, Code.INTERNAL_ERROR),
    S.REJECTED: (Status.DENIED, Code.APPROVAL_REJECTED),
    S.EXPIRED: (Status.DENIED, Code.APPROVAL_EXPIRED),
    S.FAILED: (Status.FAILED, Code.RAIL_REJECTED),
    S.RELEASED: (Status.FAILED, Code.RAIL_REJECTED),
    S.ROLLING_BACK: (Status.DENIED, Code.ROLLED_BACK),
    S.ROLLED_BACK: (Status.DENIED, Code.ROLLED_BACK),
}
_KEEP_CODE = frozenset({S.DENIED, S.REJECTED, S.EXPIRED, S.FAILED, S.RELEASED, S.ROLLED_BACK, S.ROLLING_BACK})


def refusal(code: Code, reference: str, *, message: str | None = None) -> Outcome:
    """An answer for a call refused before any transaction existed.

    `message` may only be one of our own fixed sentences (an `InputError` message); it never
    carries exception text from elsewhere.
    """
    return Outcome(status=Status.DENIED, code=code, message=message or message_for(code), reference=reference)


def agent_actor(caller: AgentRef) -> str:
    return f"agent:{caller.agent_id}"


class Gate:
    """Runs every money-moving call through the stages, and resumes what a crash interrupted."""

    def __init__(self, store: SqliteStore, rails: Mapping[str, Rail], *, rail: str = "sandbox") -> None:
        assert rail in rails, "the default rail must be configured"
        self.store = store
        self._rails = rails
        self._rail_name = rail
        self._policies: dict[str, Policy] = {}

    @property
    def clock(self) -> Clock:
        return self.store.clock

    # Submission.

    async def authenticate(self, token: str | None, *, tool: str, reference: str) -> AgentRef | None:
        """The agent a bearer token belongs to; an unknown token is refused and audited."""
        if token and len(token) <= limits.token_chars_max:
            row = await self.store.read.agent_by_token_hash(token_hash(token))
            if row is not None:
                return row.ref
        async with self.store.write() as w:
            if await w.project_exists(PLATFORM.org_id, PLATFORM.project_id):
                await self.audit_refusal(
                    w,
                    PLATFORM,
                    tool=tool,
                    code=Code.UNAUTHENTICATED,
                    reference=reference,
                    detail={"token_present": bool(token)},
                )
        return None

    async def request(
        self, caller: AgentRef, request: PaymentRequest, *, reference: str, tainted: bool = False
    ) -> Outcome:
        """Parse & bound a surface's request, then submit it; bad input is refused and audited."""
        try:
            intent = await prepare(caller, request, self.store.read, now=self.clock.now())
        except InputError as exc:
            await self.refuse(caller, tool=request.tool.value, code=Code(exc.code), reference=reference)
            return refusal(Code(exc.code), reference, message=exc.message)
        return await self.submit(intent, reference=reference, tainted=tainted)

    async def refuse(
        self, caller: AgentRef, *, tool: str, code: Code, reference: str, detail: dict[str, Any] | None = None
    ) -> None:
        """Record a call refused before it became a transaction."""
        async with self.store.write() as w:
            await self.audit_refusal(w, caller, tool=tool, code=code, reference=reference, detail=detail)

    async def submit(self, intent: PaymentIntent, *, reference: str, tainted: bool = False) -> Outcome:
        """Run one parsed intent through the gate and, if it is allowed, to the rail."""
        screening = screen(intent, None)
        async with self.store.write() as w:
            existing = await w.transaction_by_key(intent.caller, intent.idempotency_key)
            if existing is not None:
                return await self._replay(w, existing, intent, reference)
            txn = await w.insert_transaction(
                new_id(Prefix.TRANSACTION),
                intent,
                reference=reference,
                actor=agent_actor(intent.caller),
                payload=await self._intent_payload(w, intent),
            )
            txn = await self._screen_and_decide(w, txn, intent, screening, tainted=tainted)
        if txn.state in (S.AUTHORIZED, S.HELD):
            txn = await self._dispatch(txn)
        return outcome_for(txn)

    async def _replay(self, w: Writer, existing: TransactionRow, intent: PaymentIntent, reference: str) -> Outcome:
        if existing.args_hash == intent.args_hash():
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

    async def _intent_payload(self, w: Writer, intent: PaymentIntent) -> dict[str, Any]:
        """What the chain records of an intent: the counterparty only as a salted commitment."""
        return {
            "tool": intent.tool.value,
            "amount_minor": intent.amount.amount_minor,
            "currency": intent.amount.currency,
            "counterparty_commitment": await w.commit_pii(intent.caller.org_id, intent.counterparty),
            "purpose": intent.purpose,
            "category": intent.category,
            "country": intent.country,
            "idempotency_key": intent.idempotency_key,
            "args_hash": intent.args_hash(),
            "original_transaction_id": intent.original_transaction_id,
        }

    async def _screen_and_decide(
        self, w: Writer, txn: TransactionRow, intent: PaymentIntent, screening: Screening, *, tainted: bool
    ) -> TransactionRow:
        actor = agent_actor(intent.caller)
        if screening.blocked:
            return await w.move(txn, S.DENIED, actor=actor, code=Code.INJECTION_BLOCKED, payload=screening.payload)
        txn = await w.move(txn, S.SCREENED, actor=actor, payload=screening.payload)
        refund_problem = await self._refund_problem(w, intent)
        if refund_problem is not None:
            return await w.move(txn, S.DENIED, actor=actor, code=refund_problem, payload={"stage": "refund"})
        facts = PolicyInput(0, risk_bp=screening.risk_bp, tainted=tainted)
        return await self._decide(w, txn, intent, facts, approval=None)

    async def _refund_problem(self, w: Writer, intent: PaymentIntent) -> Code | None:
        """A refund must point at a settled charge of this agent with enough left to return."""
        if intent.tool is not Tool.REFUND:
            return None
        caller = intent.caller
        original = None
        if intent.original_transaction_id is not None:
            original = await w.agent_transaction(caller, intent.original_transaction_id)
        if original is None or original.tool is not Tool.CHARGE or original.state is not S.SETTLED:
            return Code.REFUND_NOT_ALLOWED
        if original.amount.currency != intent.amount.currency:
            return Code.REFUND_NOT_ALLOWED
        refunded = await w.refunded_total(caller.org_id, caller.project_id, original.transaction_id)
        if refunded + intent.amount.amount_minor > original.amount.amount_minor:
            return Code.REFUND_EXCEEDS_ORIGINAL
        return None

    async def _decide(
        self, w: Writer, txn: TransactionRow, intent: PaymentIntent, facts: PolicyInput, *, approval: ApprovalRow | None
    ) -> TransactionRow:
        """Kill switch, policy, then mandate and hold: deny wins, then approval, then allow."""
        caller, actor = intent.caller, agent_actor(intent.caller)
        switch = await w.active_kill_switch(caller)
        if switch is not None:
            frozen = {"stage": "kill_switch", "switch_id": switch.switch_id}
            return await w.move(txn, S.DENIED, actor=actor, code=Code.AGENT_FROZEN, payload=frozen)
        policy = await self._policy(w, caller)
        if policy is None:
            return await w.move(txn, S.DENIED, actor=actor, code=Code.POLICY_MISSING, payload={"stage": "policy"})
        since = day_start(w.now)
        spent = await w.spent_since(caller, intent.amount.currency, since, _OUTFLOW_TOOLS)
        facts = PolicyInput(spent, risk_bp=facts.risk_bp, tainted=facts.tainted, approved=approval is not None)
        decision = policies.evaluate(intent, facts, policy)
        payload: dict[str, Any] = {"stage": "policy", "decision": _decision_payload(decision)}
        if decision.verdict is Verdict.DENY:
            return await w.move(
                txn, S.DENIED, actor=actor, code=decision.code, payload=payload, policy_version=decision.policy_version
            )
        if decision.verdict is Verdict.APPROVAL_REQUIRED:
            approval_id = new_id(Prefix.APPROVAL)
            expires = w.now + timedelta(seconds=limits.approval_ttl_seconds)
            await w.insert_approval(
                txn, approval_id, policy_version=decision.policy_version, rule_id=decision.rule_id, expires_at=expires
            )
            return await w.move(
                txn,
                S.PENDING_APPROVAL,
                actor=actor,
                code=Code.APPROVAL_REQUIRED,
                payload=payload,
                approval_id=approval_id,
                policy_version=decision.policy_version,
            )
        return await self._authorize(w, txn, intent, decision, approval=approval)

    async def _policy(self, w: Writer, caller: AgentRef) -> Policy | None:
        row = await w.active_policy(caller.org_id, caller.project_id)
        if row is None:
            return None
        cached = self._policies.get(row.version_hash)
        if cached is None:
            cached = parse_policy(row.source)
            assert cached.version == row.version_hash, "stored policy does not match its version hash"
            self._policies[row.version_hash] = cached
        return cached

    async def _authorize(
        self, w: Writer, txn: TransactionRow, intent: PaymentIntent, decision: Decision, *, approval: ApprovalRow | None
    ) -> TransactionRow:
        """Find the covering authority, check funds, sign the closed mandate and hold the money."""
        caller, actor = intent.caller, agent_actor(intent.caller)
        payload: dict[str, Any] = {"stage": "mandate", "decision": _decision_payload(decision)}
        open_mandate_id = None
        if approval is None:
            open_mandate_id, code = await self._covering_mandate(w, intent, payload)
            if open_mandate_id is None:
                return await w.move(
                    txn, S.DENIED, actor=actor, code=code, payload=payload, policy_version=decision.policy_version
                )
        wallet = await w.wallet(caller, intent.amount.currency)
        if intent.tool in OUTFLOWS:
            refusal_code = Code.NO_WALLET if wallet is None else None
            if wallet is not None and not can_hold(wallet, intent.amount):
                refusal_code = Code.INSUFFICIENT_FUNDS
            if refusal_code is not None:
                return await w.move(
                    txn,
                    S.DENIED,
                    actor=actor,
                    code=refusal_code,
                    payload={"stage": "wallet"},
                    policy_version=decision.policy_version,
                )
        parent_id = open_mandate_id or (approval.approval_id if approval else None)
        assert parent_id is not None, "a closed mandate always has a parent authority"
        mandate_id = await self._sign_closed(w, txn, intent, parent_id)
        if open_mandate_id is not None:
            await w.use_open_mandate(caller.org_id, caller.project_id, open_mandate_id, intent.amount.amount_minor)
        payload |= {"closed_mandate_id": mandate_id, "parent_id": parent_id}
        txn = await w.move(
            txn,
            S.AUTHORIZED,
            actor=actor,
            payload=payload,
            closed_mandate_id=mandate_id,
            open_mandate_id=open_mandate_id,
            policy_version=decision.policy_version,
        )
        if intent.tool in OUTFLOWS:
            assert wallet is not None
            await w.move_wallet(
                caller,
                wallet,
                hold(wallet, intent.amount),
                kind="hold",
                amount=intent.amount,
                transaction_id=txn.transaction_id,
                closed_mandate_id=mandate_id,
            )
            txn = await w.move(txn, S.HELD, actor=actor, payload={"held_minor": intent.amount.amount_minor})
        return txn

    async def _covering_mandate(
        self, w: Writer, intent: PaymentIntent, payload: dict[str, Any]
    ) -> tuple[str | None, Code]:
        caller = intent.caller
        keys = await w.public_keys(caller.org_id, KeyPurpose.MANDATE)
        candidates, invalid, revoked = [], [], 0
        for row in await w.open_mandates(caller):
            if row.status != "active":
                revoked += 1
                continue
            try:
                mandate = verify_open(
                    row.token,
                    keys,
                    org_id=caller.org_id,
                    project_id=caller.project_id,
                    agent_id=caller.agent_id,
                    now=w.now,
                )
            except MandateError as exc:
                invalid.append({"mandate_id": row.mandate_id, "cause": exc.cause})
                continue
            candidates.append((mandate, MandateUsage(row.uses, row.used_minor)))
        chosen, code = choose(candidates, intent, now=w.now)
        if invalid:
            payload["invalid_mandates"] = invalid
        if chosen is not None:
            payload["open_mandate_id"] = chosen.mandate_id
            return chosen.mandate_id, Code.OK
        if code is Code.NO_MANDATE and revoked and not candidates:
            code = Code.MANDATE_REVOKED
        elif code is Code.NO_MANDATE and invalid and not candidates:
            code = Code.MANDATE_INVALID
        return None, code

    async def _sign_closed(self, w: Writer, txn: TransactionRow, intent: PaymentIntent, parent_id: str) -> str:
        caller = intent.caller
        mandate = ClosedMandate(
            mandate_id=new_id(Prefix.MANDATE),
            org_id=caller.org_id,
            project_id=caller.project_id,
            agent_id=caller.agent_id,
            issued_at=w.now,
            expires_at=w.now + timedelta(seconds=limits.mandate_ttl_seconds),
            terms=_closed_terms(txn, parent_id),
        )
        token = sign_closed(mandate, await w.signer(caller.org_id, KeyPurpose.MANDATE))
        await w.insert_closed_mandate(
            txn, mandate.mandate_id, parent_id=parent_id, token=token, expires_at=mandate.expires_at
        )
        return mandate.mandate_id

    # Dispatch and settlement.

    async def _dispatch(self, txn: TransactionRow) -> TransactionRow:
        """Verify the closed mandate again, record the dispatch, call the rail, settle."""
        async with self.store.write() as w:
            fresh = await w.transaction(txn.org_id, txn.project_id, txn.transaction_id)
            assert fresh is not None
            if fresh.state not in (S.AUTHORIZED, S.HELD):
                return fresh  # an operator or a kill switch moved it meanwhile
            problem = await self._recheck(w, fresh)
            if problem is not None:
                code, cause = problem
                return await self.roll_back(w, fresh, code=code, actor="system", detail={"cause": cause})
            assert fresh.closed_mandate_id is not None
            await w.use_closed_mandate(fresh.org_id, fresh.project_id, fresh.closed_mandate_id)
            txn = await w.move(
                fresh, S.DISPATCHING, actor="system", rail=self._rail_name, payload={"rail": self._rail_name}
            )
        return await self._call_rail(txn)

    async def _recheck(self, w: Writer, txn: TransactionRow) -> tuple[Code, str] | None:
        """Right before the rail: the closed mandate verifies, its parent stands, no kill switch."""
        closed = await w.closed_mandate(txn.org_id, txn.project_id, txn.transaction_id)
        if closed is None or closed.used_at is not None:
            return Code.MANDATE_INVALID, "closed mandate missing or used"
        keys = await w.public_keys(txn.org_id, KeyPurpose.MANDATE)
        expected = ClosedMandate(
            mandate_id=closed.mandate_id,
            org_id=txn.org_id,
            project_id=txn.project_id,
            agent_id=txn.agent_id,
            issued_at=parse_iso(closed.issued_at),
            expires_at=parse_iso(closed.expires_at),
            terms=_closed_terms(txn, closed.parent_id),
        )
        try:
            verify_closed(closed.token, keys, expected=expected, now=w.now)
        except MandateError as exc:
            return Code.MANDATE_INVALID, exc.cause
        if await w.active_kill_switch(txn.caller) is not None:
            return Code.AGENT_FROZEN, "kill switch"
        if txn.open_mandate_id is not None:
            parent = await w.open_mandate(txn.org_id, txn.project_id, txn.open_mandate_id)
            if parent is None or parent.status != "active":
                return Code.MANDATE_REVOKED, "open mandate revoked"
        elif txn.approval_id is not None:
            approval = await w.approval(txn.approval_id)
            if approval is None or approval.status != "approved":
                return Code.MANDATE_REVOKED, "approval withdrawn"
        return None

    async def _call_rail(self, txn: TransactionRow) -> TransactionRow:
        rail = self._rails[txn.rail or self._rail_name]
        request = _rail_request(txn)
        receipt: RailReceipt | None
        try:
            receipt = await rail.dispatch(request)
        except RailRejected as exc:
            return await self._finish(txn, None, rejected=exc.code)
        except RailTimeout:
            log.warning("rail %s timed out for %s; reconciling", rail.name, txn.transaction_id)
            receipt = await self._lookup(rail, request)
        return await self._finish(txn, receipt, rejected=None)

    async def _lookup(self, rail: Rail, request: RailRequest) -> RailReceipt | None:
        try:
            return await rail.lookup(request.idempotency_key)
        except (RailTimeout, RailRejected):
            return None

    async def _finish(
        self, txn: TransactionRow, receipt: RailReceipt | None, *, rejected: str | None
    ) -> TransactionRow:
        """Settle, fail or mark unknown, in one transaction with the wallet movement."""
        async with self.store.write() as w:
            fresh = await w.transaction(txn.org_id, txn.project_id, txn.transaction_id)
            assert fresh is not None and fresh.state in (S.DISPATCHING, S.UNKNOWN)
            if rejected is not None:
                return await self._fail(w, fresh, rail_code=rejected)
            request = _rail_request(fresh)
            if receipt is not None and matches(request, receipt, rail=fresh.rail or self._rail_name):
                return await self._settle(w, fresh, receipt)
            if fresh.state is S.UNKNOWN:
                return fresh
            detail = {"receipt_mismatch": receipt is not None}
            return await w.move(fresh, S.UNKNOWN, actor="system", code=Code.OUTCOME_UNKNOWN, payload=detail)

    async def _settle(self, w: Writer, txn: TransactionRow, receipt: RailReceipt) -> TransactionRow:
        caller = txn.caller
        wallet = await w.wallet(caller, txn.amount.currency)
        if txn.tool in OUTFLOWS:
            assert wallet is not None, "an outflow was held on an existing wallet"
            await w.move_wallet(
                caller,
                wallet,
                capture(wallet, txn.amount),
                kind="debit",
                amount=txn.amount,
                transaction_id=txn.transaction_id,
                closed_mandate_id=txn.closed_mandate_id,
            )
        else:
            wallet = wallet or await w.create_wallet(caller, txn.amount.currency)
            await w.move_wallet(
                caller,
                wallet,
                credit(wallet, txn.amount),
                kind="credit",
                amount=txn.amount,
                transaction_id=txn.transaction_id,
                closed_mandate_id=None,
            )
        payload = {"rail": receipt.rail, "rail_reference": receipt.rail_reference, "settled_at": receipt.settled_at}
        return await w.move(
            txn, S.SETTLED, actor="system", code=Code.EXECUTED, payload=payload, rail_reference=receipt.rail_reference
        )

    async def _fail(self, w: Writer, txn: TransactionRow, *, rail_code: str) -> TransactionRow:
        txn = await w.move(txn, S.FAILED, actor="system", code=Code.RAIL_REJECTED, payload={"rail_code": rail_code})
        if txn.tool not in OUTFLOWS:
            return txn
        await self._release(w, txn)
        return await w.move(txn, S.RELEASED, actor="system")

    async def _release(self, w: Writer, txn: TransactionRow) -> None:
        wallet = await w.wallet(txn.caller, txn.amount.currency)
        assert wallet is not None, "a held transaction has a wallet"
        await w.move_wallet(
            txn.caller,
            wallet,
            release(wallet, txn.amount),
            kind="release",
            amount=txn.amount,
            transaction_id=txn.transaction_id,
            closed_mandate_id=txn.closed_mandate_id,
        )

    async def roll_back(
        self, w: Writer, txn: TransactionRow, *, code: Code, actor: str, detail: dict[str, Any]
    ) -> TransactionRow:
        """Stop an authorized or held transaction before it reaches the rail and release its hold."""
        was_held = txn.state is S.HELD
        txn = await w.move(txn, S.ROLLING_BACK, actor=actor, code=code, payload=detail)
        if was_held:
            await self._release(w, txn)
        return await w.move(txn, S.ROLLED_BACK, actor=actor, code=code)

    # Approvals.

    async def approve(self, approval_id: str, *, operator: str) -> Outcome:
        """An operator approves a held payment: it is checked again and, if still allowed, executed."""
        async with self.store.write() as w:
            approval, txn = await self._pending(w, approval_id)
            actor = f"operator:{operator}"
            stale = await self._approval_problem(w, approval, txn)
            if stale is not None:
                status, code = stale
                await w.decide_approval(approval_id, status, by=operator, reason=code.value)
                target = S.EXPIRED if status == "expired" else S.REJECTED
                return outcome_for(await w.move(txn, target, actor=actor, code=code))
            await w.decide_approval(approval_id, "approved", by=operator, reason=None)
            txn = await w.move(txn, S.APPROVED, actor=actor, payload={"approval_id": approval_id})
            approved = replace(approval, status="approved")
            txn = await self._decide(w, txn, txn.intent(), PolicyInput(0), approval=approved)
        if txn.state in (S.AUTHORIZED, S.HELD):
            txn = await self._dispatch(txn)
        return outcome_for(txn)

    async def reject(self, approval_id: str, *, operator: str, reason: str) -> Outcome:
        async with self.store.write() as w:
            _, txn = await self._pending(w, approval_id)
            await w.decide_approval(approval_id, "rejected", by=operator, reason=reason)
            txn = await w.move(
                txn,
                S.REJECTED,
                actor=f"operator:{operator}",
                code=Code.APPROVAL_REJECTED,
                payload={"approval_id": approval_id, "reason": reason},
            )
        return outcome_for(txn)

    async def _pending(self, w: Writer, approval_id: str) -> tuple[ApprovalRow, TransactionRow]:
        approval = await w.approval(approval_id)
        if approval is None:
            raise InputError(Code.NOT_FOUND, f"no approval {approval_id}")
        if approval.status != "pending":
            raise InputError(Code.INVALID_ARGUMENT, f"approval {approval_id} is already {approval.status}")
        txn = await w.transaction(approval.org_id, approval.project_id, approval.transaction_id)
        assert txn is not None and txn.state is S.PENDING_APPROVAL, "a pending approval holds its transaction"
        return approval, txn

    async def _approval_problem(self, w: Writer, approval: ApprovalRow, txn: TransactionRow) -> tuple[str, Code] | None:
        """An approval binds to the exact arguments and policy version, and expires."""
        if w.now >= parse_iso(approval.expires_at):
            return "expired", Code.APPROVAL_EXPIRED
        if approval.args_hash != txn.args_hash or txn.intent().args_hash() != txn.args_hash:
            return "rejected", Code.APPROVAL_STALE
        policy = await w.active_policy(txn.org_id, txn.project_id)
        if policy is None or policy.version_hash != approval.policy_version:
            return "expired", Code.APPROVAL_STALE
        return None

    async def expire_approvals(self) -> int:
        """Expire every pending approval past its deadline: silence is not consent."""
        expired = 0
        for approval in await self.store.read.approvals(status="pending", limit=limits.list_page_size_max):
            if self.clock.now() < parse_iso(approval.expires_at):
                continue
            async with self.store.write() as w:
                fresh = await w.approval(approval.approval_id)
                txn = await w.transaction(approval.org_id, approval.project_id, approval.transaction_id)
                if fresh is None or fresh.status != "pending" or txn is None:
                    continue
                await w.decide_approval(approval.approval_id, "expired", by="system", reason="ttl")
                await w.move(txn, S.EXPIRED, actor="system", code=Code.APPROVAL_EXPIRED)
                expired += 1
        return expired

    # Recovery.

    async def resume(self) -> list[Outcome]:
        """Finish or roll back every transaction a crash left in flight. Never pays twice."""
        outcomes = []
        for txn in await self.store.read.in_flight():
            try:
                outcomes.append(outcome_for(await self._resume_one(txn)))
            except ConflictError:
                log.info("transaction %s moved while resuming", txn.transaction_id)
        return outcomes

    async def _resume_one(self, txn: TransactionRow) -> TransactionRow:
        if txn.state is S.APPROVED:
            async with self.store.write() as w:
                approval = await w.approval(txn.approval_id or "")
                assert approval is not None
                txn = await self._decide(w, txn, txn.intent(), PolicyInput(0), approval=approval)
        if txn.state in (S.AUTHORIZED, S.HELD):
            return await self._dispatch(txn)
        if txn.state is S.ROLLING_BACK:
            async with self.store.write() as w:
                if await self._still_held(w, txn):
                    await self._release(w, txn)
                return await w.move(txn, S.ROLLED_BACK, actor="system", code=txn.code)
        if txn.state in (S.DISPATCHING, S.UNKNOWN):
            return await self.reconcile(txn)
        return txn

    async def _still_held(self, w: Writer, txn: TransactionRow) -> bool:
        sums = await w.transaction_ledger(txn.org_id, txn.project_id, txn.transaction_id)
        return sums.get("hold", 0) > sums.get("release", 0) + sums.get("debit", 0)

    async def reconcile(self, txn: TransactionRow) -> TransactionRow:
        """Ask the rail what happened to the idempotency key; only if it never arrived, send it again."""
        rail = self._rails[txn.rail or self._rail_name]
        request = _rail_request(txn)
        receipt = await self._lookup(rail, request)
        if receipt is None:
            return await self._call_rail(txn)  # same idempotency key: the rail cannot pay twice
        return await self._finish(txn, receipt, rejected=None)

    # Refusals.

    async def audit_refusal(
        self,
        w: Writer,
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


def _decision_payload(decision: Decision) -> dict[str, Any]:
    return {
        "verdict": decision.verdict.value,
        "code": decision.code.value,
        "rule_id": decision.rule_id,
        "policy_version": decision.policy_version,
        "hits": [{"rule_id": h.rule_id, "verdict": h.verdict.value, "code": h.code.value} for h in decision.hits],
    }


def _closed_terms(txn: TransactionRow, parent_id: str) -> ClosedTerms:
    return ClosedTerms(
        transaction_id=txn.transaction_id,
        tool=txn.tool.value,
        amount_minor=txn.amount.amount_minor,
        currency=txn.amount.currency,
        counterparty=txn.counterparty,
        idempotency_key=txn.idempotency_key,
        args_hash=txn.args_hash,
        parent_id=parent_id,
    )


def _rail_request(txn: TransactionRow) -> RailRequest:
    direction = Direction.PAYOUT if txn.tool in OUTFLOWS else Direction.COLLECT
    return RailRequest(
        idempotency_key=idempotency_key_for(txn.transaction_id),
        direction=direction,
        amount_minor=txn.amount.amount_minor,
        currency=txn.amount.currency,
        counterparty=txn.counterparty,
    )
