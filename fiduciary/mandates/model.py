"""Mandates: standing authority an operator grants (open) and one-payment authority the gate signs (closed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fiduciary.domain import limits


@dataclass(frozen=True, slots=True)
class OpenTerms:
    """The constraints of an open mandate. `None` in a list field means "any"."""

    currency: str
    max_per_use_minor: int
    total_cap_minor: int
    tools: tuple[str, ...]
    purpose: str
    max_uses: int | None = None
    counterparties: tuple[str, ...] | None = None
    categories: tuple[str, ...] | None = None
    countries: tuple[str, ...] | None = None
    rails: tuple[str, ...] | None = None
    """The rails payments under this mandate may go through, by name; None: any."""

    def __post_init__(self) -> None:
        # Terms also arrive from a token's claims, so these are checks, not assertions.
        if not 0 < self.max_per_use_minor <= self.total_cap_minor:
            raise ValueError("the per-use maximum must be positive and within the total cap")
        if self.max_uses is not None and self.max_uses <= 0:
            raise ValueError("max uses must be positive")
        for listed in (self.tools, self.counterparties, self.categories, self.countries, self.rails):
            if listed is not None and len(listed) > limits.open_mandate_constraint_list_max:
                raise ValueError("a constraint list is too long")


@dataclass(frozen=True, slots=True)
class OpenMandate:
    mandate_id: str
    org_id: str
    project_id: str
    agent_id: str
    not_before: datetime
    expires_at: datetime
    terms: OpenTerms


def status_at(stored: str, now: datetime, mandate: OpenMandate) -> str:
    """`revoked`, `not_yet_valid`, `expired` or `active`: what an open mandate is at `now`."""
    if stored == "revoked":
        return stored
    if now < mandate.not_before:
        return "not_yet_valid"
    return "expired" if now >= mandate.expires_at else stored


@dataclass(frozen=True, slots=True)
class ClosedTerms:
    """Exactly one payment: amount, counterparty, idempotency key and the authority it descends from.
    The counterparty is named by the salted commitment its transaction row keeps, so a token holds
    no personal data and still binds exactly one counterparty."""

    transaction_id: str
    tool: str
    amount_minor: int
    currency: str
    counterparty_commitment: str
    idempotency_key: str
    args_hash: str
    parent_id: str


@dataclass(frozen=True, slots=True)
class ClosedMandate:
    mandate_id: str
    org_id: str
    project_id: str
    agent_id: str
    issued_at: datetime
    expires_at: datetime
    terms: ClosedTerms


@dataclass(frozen=True, slots=True)
class MandateUsage:
    """How much of an open mandate is spent, as counted by the store."""

    uses: int
    used_minor: int
