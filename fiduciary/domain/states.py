"""The life of a transaction: states and the one table of legal moves.

```
received ─▶ screened ─▶ pending_approval ─▶ approved ─┐
   │            │              │  └▶ rejected | expired│
   └▶ denied ◀──┘              ▼                       ▼
                            authorized (closed mandate) ─▶ held ─▶ dispatching ─▶ settled
                                                                     │   └▶ failed ─▶ released
                                                                     └▶ unknown ─▶ (reconcile) ─▶ settled | failed
        revoked mandate or kill switch while in flight ─▶ rolling_back ─▶ rolled_back
```

A charge moves money towards the agent, so it holds nothing: it goes from `authorized`
straight to `dispatching`, and a failed charge ends in `failed`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from fiduciary.domain.errors import StateError


class TxState(StrEnum):
    RECEIVED = "received"
    SCREENED = "screened"
    DENIED = "denied"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    AUTHORIZED = "authorized"
    HELD = "held"
    DISPATCHING = "dispatching"
    SETTLED = "settled"
    FAILED = "failed"
    RELEASED = "released"
    UNKNOWN = "unknown"
    ROLLING_BACK = "rolling_back"
    ROLLED_BACK = "rolled_back"


S = TxState

TRANSITIONS: Final[dict[TxState, frozenset[TxState]]] = {
    S.RECEIVED: frozenset({S.SCREENED, S.DENIED}),
    S.SCREENED: frozenset({S.DENIED, S.PENDING_APPROVAL, S.AUTHORIZED}),
    S.PENDING_APPROVAL: frozenset({S.APPROVED, S.REJECTED, S.EXPIRED}),
    S.APPROVED: frozenset({S.AUTHORIZED, S.DENIED}),
    S.AUTHORIZED: frozenset({S.HELD, S.DISPATCHING, S.ROLLING_BACK}),
    S.HELD: frozenset({S.DISPATCHING, S.ROLLING_BACK}),
    S.DISPATCHING: frozenset({S.SETTLED, S.FAILED, S.UNKNOWN}),
    S.UNKNOWN: frozenset({S.SETTLED, S.FAILED}),
    S.FAILED: frozenset({S.RELEASED}),
    S.ROLLING_BACK: frozenset({S.ROLLED_BACK}),
    S.DENIED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
    S.SETTLED: frozenset(),
    S.RELEASED: frozenset(),
    S.ROLLED_BACK: frozenset(),
}

TERMINAL: Final = frozenset(state for state, nexts in TRANSITIONS.items() if not nexts) | {S.FAILED}
"""States a transaction may rest in; `failed` is terminal for a charge, which holds nothing."""

IN_FLIGHT: Final = frozenset({S.AUTHORIZED, S.HELD, S.DISPATCHING, S.UNKNOWN, S.ROLLING_BACK})
"""States in which money may be reserved or moving; resumed on start-up."""


def check_transition(current: TxState, target: TxState) -> None:
    """Raise `StateError` unless `current -> target` is in the table."""
    if target not in TRANSITIONS[current]:
        raise StateError(f"illegal transaction move {current} -> {target}")
