"""How a transaction's state is told to the caller (DESIGN.md §11)."""

from __future__ import annotations

from fiduciary.domain.codes import Code, message_for
from fiduciary.domain.intents import AgentRef
from fiduciary.domain.results import Outcome, Status
from fiduciary.domain.states import TxState
from fiduciary.store import TransactionRow

S = TxState


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
        rail_note=txn.rail_note,
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
