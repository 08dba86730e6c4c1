"""Does an open mandate cover an intent? Pure checks over verified mandates and their usage."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from fiduciary.domain.codes import Code
from fiduciary.domain.counterparties import listed
from fiduciary.domain.intents import PaymentIntent
from fiduciary.mandates.model import MandateUsage, OpenMandate


def _counterparty_in(value: str, allowed: tuple[str, ...] | None) -> bool:
    return allowed is None or listed(allowed, value)


def _casefold_in(value: str | None, allowed: tuple[str, ...] | None) -> bool:
    if allowed is None:
        return True
    if value is None:
        return False
    return value.casefold() in {item.casefold() for item in allowed}


def covers(
    mandate: OpenMandate, usage: MandateUsage, intent: PaymentIntent, *, now: datetime, rail: str | None = None
) -> Code | None:
    """None when `mandate` covers `intent` on `rail`; otherwise why not (`no_mandate` or `mandate_exhausted`).

    `rail` is where the payment would go (None for a refund, which follows its charge)."""
    terms = mandate.terms
    in_scope = (
        mandate.not_before <= now < mandate.expires_at
        and intent.tool.value in terms.tools
        and intent.amount.currency == terms.currency
        and _counterparty_in(intent.counterparty, terms.counterparties)
        and _casefold_in(intent.category, terms.categories)
        and _casefold_in(intent.country, terms.countries)
        and (terms.rails is None or rail is None or rail in terms.rails)
    )
    if not in_scope:
        return Code.NO_MANDATE
    amount = intent.amount.amount_minor
    if amount > terms.max_per_use_minor or usage.used_minor + amount > terms.total_cap_minor:
        return Code.MANDATE_EXHAUSTED
    if terms.max_uses is not None and usage.uses >= terms.max_uses:
        return Code.MANDATE_EXHAUSTED
    return None


def choose(
    candidates: Sequence[tuple[OpenMandate, MandateUsage]],
    intent: PaymentIntent,
    *,
    now: datetime,
    rail: str | None = None,
) -> tuple[OpenMandate | None, Code]:
    """The first mandate that covers the intent, or the most telling reason none does."""
    best_refusal = Code.NO_MANDATE
    for mandate, usage in candidates:
        refusal = covers(mandate, usage, intent, now=now, rail=rail)
        if refusal is None:
            return mandate, Code.OK
        if refusal is Code.MANDATE_EXHAUSTED:
            best_refusal = refusal
    return None, best_refusal
