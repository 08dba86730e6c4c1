"""Canonical JSON (RFC 8785): the fast path for ASCII keys writes exactly what the general path
writes, keys in UTF-16 code-unit order, and both refuse what canonical JSON cannot carry."""

from __future__ import annotations

import json
from collections import OrderedDict
from types import MappingProxyType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fiduciary.domain.canonical import _general, canonical_json

SCALARS = st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=8)
KEYS = st.text(max_size=6) | st.sampled_from(["a", "b", "B", "é", "\ue000", "\U0001f600", "z"])
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
                      max_leaves=20)  # fmt: skip


@given(VALUES)
def test_every_value_is_written_as_the_general_path_writes_it(value: object) -> None:
    assert canonical_json(value) == _general(value).encode()
    assert json.loads(canonical_json(value)) == json.loads(json.dumps(value))


def test_keys_are_ordered_by_utf16_code_units_not_by_code_points() -> None:
    value = {"\U0001f600": 1, "\ue000": 2, "b": 3, "a": {"é": 4, "z": 5}}
    assert canonical_json(value) == '{"a":{"z":5,"é":4},"b":3,"\U0001f600":1,"\ue000":2}'.encode()
    assert canonical_json({"b": [1, (2, None)], "a": True}) == b'{"a":true,"b":[1,[2,null]]}'


def test_other_mappings_take_the_general_path_and_come_out_the_same() -> None:
    plain = {"b": 1, "a": {"c": [1, 2]}}
    assert canonical_json(MappingProxyType(plain)) == canonical_json(OrderedDict(plain)) == canonical_json(plain)


def deep(levels: int) -> list[object]:
    value: list[object] = []
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize("bad", [1.5, {"a": 1.0}, [b"x"], {1: "a"}, {"a": 2**53}, deep(40)])
def test_what_canonical_json_cannot_carry_is_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        canonical_json(bad)
