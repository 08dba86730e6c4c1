"""The composite formula: strongest rule, distinct families, structure, bounded in [0, 1]."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from fiduciary.injection import Match
from fiduciary.injection.scoring import combine


def _m(rule_id: str, family: str, weight: float) -> Match:
    return Match(rule_id, family, weight, 0, 0)


def test_no_match_scores_zero_and_one_match_scores_its_weight() -> None:
    assert combine([]) == 0.0
    assert abs(combine([_m("a.x", "a", 0.42)]) - 0.42) < 1e-12


def test_a_second_family_raises_the_score_by_half_its_weight_of_what_is_left() -> None:
    assert abs(combine([_m("a.x", "a", 0.5), _m("b.x", "b", 0.5)]) - 0.625) < 1e-9


def test_another_cue_of_the_same_family_counts_less_than_a_new_family() -> None:
    same = combine([_m("a.x", "a", 0.5), _m("a.y", "a", 0.5)])
    other = combine([_m("a.x", "a", 0.5), _m("b.x", "b", 0.5)])
    assert 0.5 < same < other


def test_three_medium_signals_of_different_families_block() -> None:
    assert combine([_m("a.x", "a", 0.5), _m("b.x", "b", 0.5), _m("c.x", "structure", 0.5)]) >= 0.7


weights = st.floats(min_value=0.01, max_value=1.0, allow_nan=False)
families = st.sampled_from(["override", "pressure", "structure", "custom", "secrets"])


@given(st.lists(st.tuples(weights, families), max_size=20))
def test_the_score_is_in_the_unit_interval_and_never_below_the_strongest_rule(pairs: list[tuple[float, str]]) -> None:
    matches = [_m(f"{family}.r{i}", family, w) for i, (w, family) in enumerate(pairs)]
    value = combine(matches)
    assert 0.0 <= value <= 1.0
    assert value >= max((m.weight for m in matches), default=0.0) - 1e-12


@given(st.lists(st.tuples(weights, families), min_size=1, max_size=8), weights, families)
def test_adding_a_match_never_lowers_the_score(pairs: list[tuple[float, str]], weight: float, family: str) -> None:
    matches = [_m(f"{f}.r{i}", f, w) for i, (w, f) in enumerate(pairs)]
    assert combine([*matches, _m("extra.r", family, weight)]) >= combine(matches) - 1e-12
