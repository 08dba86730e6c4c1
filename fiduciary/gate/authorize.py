"""Policy, mandate and hold: what stands between a screened intent and the rail."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fiduciary import policies
from fiduciary.domain import limits
from fiduciary.domain.clock import parse_iso
from fiduciary.domain.codes import Code
from fiduciary.domain.decisions import Decision, Verdict
from fiduciary.domain.errors import MandateError
from fiduciary.domain.ids import Prefix, new_id
from fiduciary.domain.intents import OUTFLOWS, AgentRef, PaymentIntent
from fiduciary.domain.states import TxState
from fiduciary.gate import alerts
from fiduciary.gate.outcomes import agent_actor
from fiduciary.mandates import ClosedMandate, ClosedTerms, MandateUsage, OpenMandate, choose, sign_closed, verify_open
from fiduciary.mandates.keys import KeyPurpose
from fiduciary.policies import Count, Policy, PolicyInput, parse_policy
from fiduciary.store import ApprovalRow, Reads, SignerSource, TransactionRow, WriteTx
from fiduciary.wallets import can_hold, hold

S = TxState


class Authorizer:
    """Decides inside the caller's write transaction; never touches a rail."""

    def __init__(
        self,
        signers: SignerSource,
        *,
        dashboard_url: str | None = None,
        router: Callable[[PaymentIntent], str | None] | None = None,
    ) -> None:
        self._signers = signers
        self._router = router
        """Where a payment would go, so a mandate limited to some rails covers only those."""
        self._policies: dict[str, Policy] = {}
        self._dashboard_url = dashboard_url

    async def decide(
        self,
        w: WriteTx,
        txn: TransactionRow,
        intent: PaymentIntent,
        facts: PolicyInput,
        *,
        approval: ApprovalRow | None,
    ) -> TransactionRow:
        """Kill switch, policy, covering mandate, then approval or hold: deny wins, then approval, then allow.

        The covering open mandate is found before the policy may hold a payment for a person: a
        payment no mandate covers is refused at once, never queued, and an approval adds a
        person's consent on top of a mandate; it never replaces one.
        """
        caller, actor = intent.caller, agent_actor(intent.caller)
        switch = await w.active_kill_switch(caller)
        if switch is not None:
            frozen = {"stage": "kill_switch", "switch_id": switch.switch_id}
            return await w.move(txn, S.DENIED, actor=actor, code=Code.AGENT_FROZEN, payload=frozen)
        policy = await self.policy(w, caller)
        if policy is None:
            return await w.move(txn, S.DENIED, actor=actor, code=Code.POLICY_MISSING, payload={"stage": "policy"})
        mandate_payload: dict[str, Any] = {}
        rail = None if self._router is None else self._router(intent)
        mandate, code = await self._covering_mandate(w, intent, mandate_payload, rail)
        counts = {c.rule_id: await _read_count(w, caller, c) for c in policies.counts_for(policy, intent, w.now)}
        facts = PolicyInput(
            counts,
            risk_bp=facts.risk_bp,
            tainted=facts.tainted,
            approved=approval is not None,
            # A payee the operator named in the covering mandate is known, whether or not it was paid before.
            payee_in_mandate=mandate is not None and mandate.terms.counterparties is not None,
            now=w.now,
            rail=rail,
        )
        decision = policies.evaluate(intent, facts, policy)
        if approval is None:
            await w.count_call(caller, tool=intent.tool.value, at=w.now)  # refused calls count towards rate limits
        payload: dict[str, Any] = {"stage": "policy", "decision": decision_payload(decision), **mandate_payload}
        version = decision.policy_version
        if decision.verdict is Verdict.DENY:
            return await w.move(txn, S.DENIED, actor=actor, code=decision.code, payload=payload, policy_version=version)
        mandate_id = None if mandate is None else mandate.mandate_id
        if mandate_id is None:
            payload["stage"] = "mandate"
            return await w.move(txn, S.DENIED, actor=actor, code=code, payload=payload, policy_version=version)
        if decision.verdict is Verdict.APPROVAL_REQUIRED:
            approval_id = new_id(Prefix.APPROVAL)
            expires = w.now + timedelta(seconds=limits.approval_ttl_seconds)
            await w.insert_approval(
                txn,
                approval_id,
                policy_version=version,
                rule_id=decision.rule_id,
                expires_at=expires,
                approvers=decision.approvers,
            )
            notices = await alerts.record_hold(
                w, txn, approval_id, policy, expires_at=expires, dashboard_url=self._dashboard_url
            )
            return await w.move(
                txn,
                S.PENDING_APPROVAL,
                actor=actor,
                code=Code.APPROVAL_REQUIRED,
                payload=payload | {"notices": notices} if notices else payload,
                approval_id=approval_id,
                open_mandate_id=mandate_id,
                policy_version=version,
            )
        txn = await self._authorize(w, txn, intent, decision, open_mandate_id=mandate_id, approval=approval)
        if txn.state in (S.AUTHORIZED, S.HELD):
            for crossing in policies.crossings(policy, intent, counts):
                await alerts.record(w, txn, policy, crossing)
        return txn

    async def policy(self, reads: Reads, caller: AgentRef) -> Policy | None:
        """The project's active policy, parsed once per version (only its hash is read while it stands)."""
        version = await reads.active_policy_hash(caller.org_id, caller.project_id)
        cached = self._policies.get(version) if version is not None else None
        if cached is not None:
            return cached
        row = await reads.active_policy(caller.org_id, caller.project_id)
        if row is None:
            return None
        cached = self._policies.get(row.version_hash)
        if cached is None:
            cached = parse_policy(row.source)
            assert cached.version == row.version_hash, "stored policy does not match its version hash"
            self._policies[row.version_hash] = cached
        return cached

    async def _authorize(
        self,
        w: WriteTx,
        txn: TransactionRow,
        intent: PaymentIntent,
        decision: Decision,
        *,
        open_mandate_id: str,
        approval: ApprovalRow | None,
    ) -> TransactionRow:
        """Check funds, sign the closed mandate under the covering open mandate, use it and hold the money."""
        caller, actor = intent.caller, agent_actor(intent.caller)
        payload: dict[str, Any] = {"stage": "mandate", "decision": decision_payload(decision)}
        payload["open_mandate_id"] = open_mandate_id
        if approval is not None:
            payload["approval_id"] = approval.approval_id
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
        # The open mandate is the parent authority whether or not a person also approved.
        mandate_id = await self._sign_closed(w, txn, intent, open_mandate_id)
        await w.use_open_mandate(caller.org_id, caller.project_id, open_mandate_id, intent.amount.amount_minor)
        # Budgets count what is authorised, in the bucket of the call; a release gives it back.
        await w.count_spend(
            caller,
            tool=intent.tool.value,
            currency=intent.amount.currency,
            counterparty=intent.counterparty,
            at=parse_iso(txn.created_at),
            amount_minor=intent.amount.amount_minor,
        )
        payload |= {
            "closed_mandate_id": mandate_id,
            "parent_id": open_mandate_id,
            "mandate_used_minor": intent.amount.amount_minor,
        }
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
        self, w: WriteTx, intent: PaymentIntent, payload: dict[str, Any], rail: str | None
    ) -> tuple[OpenMandate | None, Code]:
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
        chosen, code = choose(candidates, intent, now=w.now, rail=rail)
        if invalid:
            payload["invalid_mandates"] = invalid
        if chosen is not None:
            payload["open_mandate_id"] = chosen.mandate_id
            return chosen, Code.OK
        if code is Code.NO_MANDATE and revoked and not candidates:
            code = Code.MANDATE_REVOKED
        elif code is Code.NO_MANDATE and invalid and not candidates:
            code = Code.MANDATE_INVALID
        return None, code

    async def _sign_closed(self, w: WriteTx, txn: TransactionRow, intent: PaymentIntent, parent_id: str) -> str:
        caller = intent.caller
        mandate = ClosedMandate(
            mandate_id=new_id(Prefix.MANDATE),
            org_id=caller.org_id,
            project_id=caller.project_id,
            agent_id=caller.agent_id,
            issued_at=w.now,
            expires_at=w.now + timedelta(seconds=limits.mandate_ttl_seconds),
            terms=closed_terms(txn, parent_id),
        )
        token = sign_closed(mandate, await self._signers.signer(w, caller.org_id, KeyPurpose.MANDATE))
        await w.insert_closed_mandate(
            txn, mandate.mandate_id, parent_id=parent_id, token=token, expires_at=mandate.expires_at
        )
        return mandate.mandate_id


async def _read_count(w: WriteTx, caller: AgentRef, count: Count) -> int:
    """One durable counter a counted rule asked for, read in the deciding transaction."""
    if count.what == "payments_to":
        assert count.counterparty is not None
        return await w.payments_to(caller, per_project=count.per_project, counterparty=count.counterparty)
    assert count.since is not None
    if count.what == "calls":
        return await w.calls(caller, per_project=count.per_project, tools=count.tools, since=count.since)
    if count.what in ("paid_to_amount", "paid_to_count"):
        assert count.counterparty is not None
        amount, payments = await w.spent_to(
            caller,
            per_project=count.per_project,
            counterparty=count.counterparty,
            currency=count.currency,
            tools=count.tools,
            since=count.since,
        )
        return amount if count.what == "paid_to_amount" else payments
    assert count.currency is not None
    return await w.spent(
        caller, per_project=count.per_project, currency=count.currency, tools=count.tools, since=count.since
    )


def decision_payload(decision: Decision) -> dict[str, Any]:
    return {
        "verdict": decision.verdict.value,
        "code": decision.code.value,
        "rule_id": decision.rule_id,
        "policy_version": decision.policy_version,
        "hits": [{"rule_id": h.rule_id, "verdict": h.verdict.value, "code": h.code.value} for h in decision.hits],
    }


def closed_terms(txn: TransactionRow, parent_id: str) -> ClosedTerms:
    return ClosedTerms(
        transaction_id=txn.transaction_id,
        tool=txn.tool.value,
        amount_minor=txn.amount.amount_minor,
        currency=txn.amount.currency,
        counterparty_commitment=txn.counterparty_commitment,
        idempotency_key=txn.idempotency_key,
        args_hash=txn.args_hash,
        parent_id=parent_id,
    )
