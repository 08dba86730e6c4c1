"""How a wallet moves: hold, capture, release, credit. A balance never goes negative.

`available_minor` can be spent; `held_minor` is reserved for payments in flight. A hold moves
money from available to held; capture removes it from held when the rail settles; release
returns it to available when the payment fails or rolls back; credit adds incoming money.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from fiduciary.domain.money import Money


@dataclass(frozen=True, slots=True)
class Wallet:
    """A snapshot of one agent's wallet in one currency."""

    currency: str
    available_minor: int
    held_minor: int

    def __post_init__(self) -> None:
        assert self.available_minor >= 0 and self.held_minor >= 0, "wallet balances are never negative"

    @property
    def available(self) -> Money:
        return Money(self.available_minor, self.currency)

    @property
    def held(self) -> Money:
        return Money(self.held_minor, self.currency)


def _check(wallet: Wallet, amount: Money) -> int:
    assert amount.currency == wallet.currency, "wallet and amount currencies differ"
    assert amount.amount_minor > 0, "wallet movements are positive"
    return amount.amount_minor


def can_hold(wallet: Wallet, amount: Money) -> bool:
    """Whether `amount` is available to reserve."""
    return _check(wallet, amount) <= wallet.available_minor


def hold(wallet: Wallet, amount: Money) -> Wallet:
    """Reserve `amount`; the caller checked `can_hold` first."""
    minor = _check(wallet, amount)
    assert minor <= wallet.available_minor, "a hold never exceeds the available balance"
    return replace(wallet, available_minor=wallet.available_minor - minor, held_minor=wallet.held_minor + minor)


def capture(wallet: Wallet, amount: Money) -> Wallet:
    """Spend a reserved `amount`: it leaves the wallet."""
    minor = _check(wallet, amount)
    assert minor <= wallet.held_minor, "capture only what is held"
    return replace(wallet, held_minor=wallet.held_minor - minor)


def release(wallet: Wallet, amount: Money) -> Wallet:
    """Return a reserved `amount` to the available balance."""
    minor = _check(wallet, amount)
    assert minor <= wallet.held_minor, "release only what is held"
    return replace(wallet, available_minor=wallet.available_minor + minor, held_minor=wallet.held_minor - minor)


def credit(wallet: Wallet, amount: Money) -> Wallet:
    """Add incoming money (funding, a settled charge)."""
    minor = _check(wallet, amount)
    return replace(wallet, available_minor=wallet.available_minor + minor)
