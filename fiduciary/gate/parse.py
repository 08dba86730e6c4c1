"""Parse & bound: the first stage. Turns a surface's request into a `PaymentIntent` or refuses it.

The surfaces validate types and lengths from their schemas; this stage checks again (the gate
runs without them too), converts amounts to minor units exactly once, and fills a refund from
the charge it returns.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Protocol, TypeGuard

from fiduciary.domain import limits
from fiduciary.domain.canonical import canonical_json
from fiduciary.domain.codes import Code
from fiduciary.domain.counterparties import canonical
from fiduciary.domain.errors import InputError
from fiduciary.domain.intents import RAIL_NAME_RE, AgentRef, PaymentIntent, PaymentRequest, Tool
from fiduciary.domain.money import Money, check_currency, parse_amount
from fiduciary.domain.states import TxState
from fiduciary.store import Reads, TransactionRow

_COUNTRY_RE = re.compile(r"[A-Z]{2}")
_KEY_RE = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_TEXT_LIMITS = {
    "purpose": limits.purpose_chars_max,
    "counterparty": limits.counterparty_chars_max,
    "memo": limits.memo_chars_max,
    "category": limits.category_chars_max,
}


def _bounded(name: str, value: str | None, *, required: bool) -> str | None:
    if value is None or (not value.strip() and required):
        if required:
            raise InputError(Code.MISSING_ARGUMENT, f"`{name}` is required")
        return None
    if len(value) > _TEXT_LIMITS[name]:
        raise InputError(Code.TEXT_TOO_LONG, f"`{name}` is longer than {_TEXT_LIMITS[name]} characters")
    return value


def _metadata(items: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    if len(items) > limits.metadata_entries_max:
        raise InputError(Code.INVALID_ARGUMENT, f"`metadata` holds at most {limits.metadata_entries_max} entries")
    for key, value in items:
        if not key or len(key) > limits.metadata_key_chars_max or len(value) > limits.metadata_value_chars_max:
            raise InputError(Code.TEXT_TOO_LONG, "a `metadata` key or value is empty or too long")
    return tuple(sorted(items))


class KeyedDigests(Protocol):
    """Names a value by a keyed hash only the server can make (the key ring implements it)."""

    def keyed_digest(self, org_id: str, data: bytes) -> str: ...


def _default_key(
    caller: AgentRef, request: PaymentRequest, amount: Money, counterparty: str, now: datetime, digests: KeyedDigests
) -> str:
    """Without a caller key, identical calls on the same UTC day are one payment, never two. The key
    is keyed by the org's digest key: it is in the chain, and must not let anyone confirm a
    guessed counterparty."""
    probe = PaymentIntent(
        AgentRef("", "", ""),
        request.tool,
        amount,
        counterparty,
        request.purpose,
        "",
        request.category,
        request.country,
        request.memo,
        request.original_transaction_id,
        request.metadata,
    )
    return f"auto:{now:%Y%m%d}:{digests.keyed_digest(caller.org_id, canonical_json(probe.arguments()))[:32]}"


async def prepare(
    caller: AgentRef, request: PaymentRequest, reads: Reads, *, now: datetime, digests: KeyedDigests
) -> PaymentIntent:
    """Validate and convert a request; raises `InputError` with a stable code."""
    purpose = _bounded("purpose", request.purpose, required=True)
    assert purpose is not None
    category = _bounded("category", request.category, required=False)
    memo = _bounded("memo", request.memo, required=False)
    if request.country is not None and not _COUNTRY_RE.fullmatch(request.country):
        raise InputError(Code.INVALID_ARGUMENT, "`country` must be an ISO 3166 alpha-2 code such as BR")
    if request.idempotency_key is not None and not _KEY_RE.fullmatch(request.idempotency_key):
        raise InputError(Code.INVALID_ARGUMENT, "`idempotency_key` must be 1-128 characters of A-Z a-z 0-9 . _ : -")
    metadata = _metadata(request.metadata)
    if request.rail is not None and (request.tool is Tool.REFUND or not RAIL_NAME_RE.fullmatch(request.rail)):
        raise InputError(Code.INVALID_ARGUMENT, "`rail` names a configured rail (a refund uses its charge's rail)")
    if request.tool is Tool.REFUND:
        amount, counterparty = await _refund_terms(caller, request, reads)
    else:
        amount = parse_amount(request.amount, request.currency)
        named = _bounded("counterparty", request.counterparty, required=True)
        assert named is not None
        # Parsed once, here: every later comparison sees only the canonical form.
        counterparty = canonical(named)
    key = request.idempotency_key or _default_key(caller, request, amount, counterparty, now, digests)
    return PaymentIntent(
        caller,
        request.tool,
        amount,
        counterparty,
        purpose,
        key,
        category,
        request.country,
        memo,
        request.original_transaction_id,
        metadata,
        request.rail,
    )


def refundable(original: TransactionRow | None) -> TypeGuard[TransactionRow]:
    """Only a settled charge can be refunded."""
    return original is not None and original.tool is Tool.CHARGE and original.state is TxState.SETTLED


async def _refund_terms(caller: AgentRef, request: PaymentRequest, reads: Reads) -> tuple[Money, str]:
    """A refund returns money to whoever paid the charge, in the charge's currency."""
    if not request.original_transaction_id:
        raise InputError(Code.MISSING_ARGUMENT, "`transaction_id` of the charge to refund is required")
    original = await reads.agent_transaction(caller, request.original_transaction_id)
    if not refundable(original):
        raise InputError(Code.REFUND_NOT_ALLOWED, "only a settled charge of this agent can be refunded")
    if request.currency is not None and check_currency(request.currency) != original.amount.currency:
        raise InputError(Code.INVALID_ARGUMENT, "a refund is made in the currency of its charge")
    payer = original.counterparty
    if payer is None:
        raise InputError(Code.REFUND_NOT_ALLOWED, "the payer of this charge was erased; it cannot be refunded here")
    if request.amount is None:
        refunded = await reads.refunded_total(caller.org_id, caller.project_id, original.transaction_id)
        remaining = original.amount.amount_minor - refunded
        if remaining <= 0:
            raise InputError(Code.REFUND_EXCEEDS_ORIGINAL, "the charge is already fully refunded")
        return Money(remaining, original.amount.currency), payer
    return parse_amount(request.amount, original.amount.currency), payer
