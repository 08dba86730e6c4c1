from __future__ import annotations

import pytest

from fiduciary.domain.errors import StateError
from fiduciary.domain.states import TERMINAL, TRANSITIONS, TxState, check_transition


def test_every_state_is_in_the_transition_table() -> None:
    assert set(TRANSITIONS) == set(TxState)


def test_settled_money_cannot_move_again() -> None:
    for target in TxState:
        with pytest.raises(StateError):
            check_transition(TxState.SETTLED, target)


def test_a_denied_call_never_reaches_the_rail() -> None:
    with pytest.raises(StateError):
        check_transition(TxState.DENIED, TxState.DISPATCHING)
    with pytest.raises(StateError):
        check_transition(TxState.SCREENED, TxState.DISPATCHING)


def test_an_unknown_outcome_resolves_only_by_reconciliation() -> None:
    assert TRANSITIONS[TxState.UNKNOWN] == {TxState.SETTLED, TxState.FAILED}


def test_terminal_states_have_no_way_out_except_a_failed_hold_release() -> None:
    for state in TERMINAL - {TxState.FAILED}:
        assert not TRANSITIONS[state]
