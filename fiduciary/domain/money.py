"""Money: an integer number of minor units and a currency code.

Amounts cross the edge as decimal strings in major units ("125.50"). They are parsed once
with `parse_amount` and rendered with `Money.to_major`; between the two, only integers move.
A value with more decimals than the currency allows is refused, never rounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from fiduciary.domain import limits
from fiduciary.domain.codes import Code
from fiduciary.domain.errors import InputError

# ISO 4217 minor-unit exponents of the currencies fiduciary accepts, plus USDC (6 decimals).
CURRENCY_EXPONENTS: Final[dict[str, int]] = {
    "ARS": 2,
    "AUD": 2,
    "BRL": 2,
    "CAD": 2,
    "CHF": 2,
    "CLP": 0,
    "CNY": 2,
    "COP": 2,
    "CZK": 2,
    "DKK": 2,
    "EUR": 2,
    "GBP": 2,
    "HKD": 2,
    "INR": 2,
    "JPY": 0,
    "KRW": 0,
    "MXN": 2,
    "NOK": 2,
    "NZD": 2,
    "PEN": 2,
    "PLN": 2,
    "SEK": 2,
    "SGD": 2,
    "USD": 2,
    "USDC": 6,
    "UYU": 2,
    "ZAR": 2,
}

_AMOUNT_RE: Final = re.compile(r"(?P<int>[0-9]+)(?:\.(?P<frac>[0-9]+))?")
_CURRENCY_RE: Final = re.compile(r"[A-Z]{3,4}")


def check_currency(currency: object) -> str:
    """Return `currency` if fiduciary knows it, else raise `InputError(unknown_currency)`."""
    if not isinstance(currency, str) or not _CURRENCY_RE.fullmatch(currency):
        raise InputError(Code.UNKNOWN_CURRENCY, "currency must be an upper-case ISO 4217 code such as USD")
    if currency not in CURRENCY_EXPONENTS:
        raise InputError(Code.UNKNOWN_CURRENCY, f"currency {currency} is not supported")
    return currency


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount: `amount_minor` units of `currency` (cents for USD)."""

    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        # A bool is an int in Python; money is never a bool.
        assert type(self.amount_minor) is int, "money is an int of minor units"
        assert abs(self.amount_minor) <= limits.amount_minor_max, "amount out of range"
        assert self.currency in CURRENCY_EXPONENTS, "unknown currency"

    @property
    def exponent(self) -> int:
        return CURRENCY_EXPONENTS[self.currency]

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount_minor - other.amount_minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount_minor < other.amount_minor

    def __le__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount_minor <= other.amount_minor

    def to_major(self) -> str:
        """Render as a decimal string in major units, e.g. "125.50"."""
        sign = "-" if self.amount_minor < 0 else ""
        value = abs(self.amount_minor)
        if self.exponent == 0:
            return f"{sign}{value}"
        whole, frac = divmod(value, 10**self.exponent)
        return f"{sign}{whole}.{frac:0{self.exponent}d}"

    def __str__(self) -> str:
        return f"{self.to_major()} {self.currency}"


def parse_amount(text: object, currency: object) -> Money:
    """Parse a positive major-unit decimal string into `Money`.

    Refuses (with `InputError`, code `invalid_amount` or `unknown_currency`): non-strings,
    signs, exponents, spaces, zero, more decimals than the currency has, and values above
    `limits.amount_minor_max`.
    """
    code = check_currency(currency)
    if not isinstance(text, str):
        raise InputError(Code.INVALID_AMOUNT, 'amount must be a decimal string such as "125.50"')
    if len(text) > limits.amount_chars_max:
        raise InputError(Code.INVALID_AMOUNT, "amount is too long")
    match = _AMOUNT_RE.fullmatch(text)
    if match is None:
        raise InputError(
            Code.INVALID_AMOUNT, 'amount must be a positive decimal string in major units such as "125.50"'
        )
    whole, frac = match["int"], match["frac"] or ""
    exponent = CURRENCY_EXPONENTS[code]
    if len(frac) > exponent:
        raise InputError(Code.INVALID_AMOUNT, f"{code} allows at most {exponent} decimal places")
    minor = int(whole) * 10**exponent + (int(frac.ljust(exponent, "0")) if exponent else 0)
    if minor <= 0:
        raise InputError(Code.INVALID_AMOUNT, "amount must be greater than zero")
    if minor > limits.amount_minor_max:
        raise InputError(Code.INVALID_AMOUNT, "amount is too large")
    return Money(minor, code)
