"""Canonical JSON (RFC 8785): the fast path for ASCII keys writes exactly what the general path
writes, keys in UTF-16 code-unit order, both refuse what canonical JSON cannot carry, and every
value comes out byte for byte as the maintained `rfc8785` library writes it."""

from __future__ import annotations

import json
from collections import OrderedDict
from types import MappingProxyType

import pytest
import rfc8785
from hypothesis import given, settings
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


# RFC 8785 as a maintained library writes it: the bytes an outsider's verifier hashes.

_HARD = [
    {"\U0001f600": 1, "\ufb33": 2, "\u20ac": 3, "\r": 4, "1": 5, "\u0080": 6, "\u00f6": 7},  # RFC 8785 §3.2.3
    {"numbers": [0, -0, 1, -1, 2**53 - 1, -(2**53 - 1), 10**15, 123456789]},
    {"escapes": '\u0000\u0001\u001f"\\/\b\f\n\r\t\u007f\u2028\u2029'},
    {"unicode": "café ☕ «supplies» 𝄞 \ud7ff \ue000 \uffff"},
    {"nested": {"b": [None, True, False, {"z": [], "a": {}}], "a": ""}},
    {"": "empty key", "a\u0000b": "nul in a key", "A": "upper before lower", "a": "x"},
]


@pytest.mark.parametrize("value", _HARD, ids=[f"hard-{n}" for n in range(len(_HARD))])
def test_hard_cases_are_written_as_the_rfc8785_library_writes_them(value: object) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


@settings(max_examples=300, deadline=None)
@given(value=VALUES)
def test_every_value_is_written_as_the_rfc8785_library_writes_it(value: object) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)
