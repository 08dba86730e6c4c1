from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fiduciary.domain import limits
from fiduciary.domain.errors import InputError
from fiduciary.domain.money import CURRENCY_EXPONENTS, Money, parse_amount


def test_a_major_unit_string_becomes_exact_minor_units() -> None:
    assert parse_amount("125.50", "USD") == Money(12550, "USD")
    assert parse_amount("125.5", "USD") == Money(12550, "USD")
    assert parse_amount("7", "BRL") == Money(700, "BRL")
    assert parse_amount("1000", "JPY") == Money(1000, "JPY")
    assert parse_amount("0.000001", "USDC") == Money(1, "USDC")


@pytest.mark.parametrize(
    ("text", "currency", "code"),
    [
        ("abc", "USD", "invalid_amount"),
        ("-5", "USD", "invalid_amount"),
        ("0", "USD", "invalid_amount"),
        ("0.00", "USD", "invalid_amount"),
        ("1.234", "BRL", "invalid_amount"),
        ("1.5", "JPY", "invalid_amount"),
        ("1e400", "USD", "invalid_amount"),
        ("12345678901234567890", "USD", "invalid_amount"),
        (" 5", "USD", "invalid_amount"),
        ("5 ", "USD", "invalid_amount"),
        ("1,000.00", "USD", "invalid_amount"),
        ("+5", "USD", "invalid_amount"),
        ("NaN", "USD", "invalid_amount"),
        ("١٢", "USD", "invalid_amount"),
        ("5\n", "USD", "invalid_amount"),
        (5, "USD", "invalid_amount"),
        (5.0, "USD", "invalid_amount"),
        ("5", "XYZ", "unknown_currency"),
        ("5", "usd", "unknown_currency"),
        ("5", None, "unknown_currency"),
    ],
)
def test_bad_amounts_are_refused_with_a_stable_code_never_rounded(text: object, currency: object, code: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_amount(text, currency)
    assert caught.value.code == code


@given(
    currency=st.sampled_from(sorted(CURRENCY_EXPONENTS)),
    minor=st.integers(min_value=1, max_value=limits.amount_minor_max),
)
def test_rendering_and_parsing_round_trip_exactly(currency: str, minor: int) -> None:
    money = Money(minor, currency)
    assert parse_amount(money.to_major(), currency) == money


@given(a=st.integers(0, 10**12), b=st.integers(0, 10**12))
def test_arithmetic_is_exact_and_refuses_mixed_currencies(a: int, b: int) -> None:
    assert (Money(a, "USD") + Money(b, "USD")).amount_minor == a + b
    assert (Money(a, "USD") - Money(b, "USD")).amount_minor == a - b
    with pytest.raises(ValueError):
        _ = Money(a, "USD") + Money(b, "EUR")


def test_money_refuses_a_bool_or_a_float() -> None:
    with pytest.raises(AssertionError):
        Money(True, "USD")
    with pytest.raises(AssertionError):
        Money(1.5, "USD")  # type: ignore[arg-type]
