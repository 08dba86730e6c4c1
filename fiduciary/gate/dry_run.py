"""Dry run: the whole decision for a call, with nothing reserved, sent or kept.

The gate runs the call exactly as it would (screening, kill switch, policy with its counters,
the covering mandate, the wallet) inside a write transaction it then rolls back, so the answer
cannot drift from what a real call would get. What stays is one `call.dry_run` audit entry
with the trace; the agent gets the trace and status `dry_run`.
"""

from __future__ import annotations

from typing import Any

from fiduciary.domain.codes import Code, message_for
from fiduciary.domain.intents import OUTFLOWS, PaymentIntent
from fiduciary.domain.records import TransactionRow
from fiduciary.domain.results import Outcome, Status
from fiduciary.domain.states import TxState
from fiduciary.store import WriteTx

S = TxState
_WOULD = {
    S.HELD: "executed",
    S.AUTHORIZED: "executed",
    S.PENDING_APPROVAL: "pending_approval",
    S.DENIED: "denied",
}


class RolledBack(Exception):
    """Raised inside the dry-run transaction to undo it, carrying the trace out."""

    def __init__(self, trace: dict[str, Any]) -> None:
        super().__init__("dry run")
        self.trace = trace


async def trace_of(w: WriteTx, txn: TransactionRow, intent: PaymentIntent) -> dict[str, Any]:
    """What the call would have done, read from the entries this (doomed) transaction wrote."""
    entries = await w.audit_by_subject(txn.org_id, txn.transaction_id)
    decision: dict[str, Any] | None = None
    risk_bp = 0
    mandate_id = None
    for entry in entries:
        payload = entry.body.payload
        risk_bp = max(risk_bp, int(payload.get("risk_bp", 0)))
        decision = payload.get("decision", decision)
        mandate_id = payload.get("open_mandate_id", mandate_id)
    trace: dict[str, Any] = {
        "would": _WOULD.get(txn.state, "denied"),
        "code": txn.code
        if txn.state is S.DENIED
        else Code.APPROVAL_REQUIRED.value
        if txn.state is S.PENDING_APPROVAL
        else Code.EXECUTED.value,
        "risk_bp": risk_bp,
        "rules": [] if decision is None else decision["hits"],
        "policy_version": None if decision is None else decision["policy_version"],
        "open_mandate_id": mandate_id,
    }
    if mandate_id is not None:
        row = await w.open_mandate(txn.org_id, txn.project_id, mandate_id)
        if row is not None:
            trace["mandate_used_minor"] = row.used_minor
            trace["mandate_uses"] = row.uses
    wallet = await w.wallet(intent.caller, intent.amount.currency)
    if wallet is not None:
        after = wallet.available_minor
        if txn.state is S.PENDING_APPROVAL and intent.tool in OUTFLOWS:
            after -= intent.amount.amount_minor  # what approving it would leave
        trace["balance_after_minor"] = after
    return trace


def dry_run_outcome(trace: dict[str, Any], reference: str, intent: PaymentIntent) -> Outcome:
    return Outcome(
        status=Status.DRY_RUN,
        code=Code(trace["code"]),
        message=f"dry run: {message_for(Code(trace['code']))}; nothing was reserved or sent",
        reference=reference,
        amount=intent.amount,
        trace=trace,
    )
