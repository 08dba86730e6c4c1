"""One protocol for every rail: dispatch with an idempotency key, ask a key's status, reverse, list receipts.

A rail answers with a `RailReceipt` whose `outcome` is `succeeded`, `failed` or `pending` (the
provider took it and has not finished), or raises:

- `RailUnavailable`: the request provably never arrived (a refused connection, an open breaker);
  nothing moved, and sending it again is safe.
- `RailTimeout`: the request may have arrived; only `status(idempotency_key)` can tell. Never
  send it again before asking.
- `RailRejected`: the provider refused it; nothing moved.
- `RailMismatch`: the answer is about something else, or unreadable; it is not believed.

Retries, breakers and validation wrap a rail (`rails.wrappers`), as httpx transports wrap each
other; an adapter only speaks its provider's API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class Direction(StrEnum):
    PAYOUT = "payout"
    """Money leaves the agent's wallet towards the counterparty."""
    COLLECT = "collect"
    """Money comes from the counterparty into the agent's wallet."""


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PENDING = "pending"
    """The provider holds it and has not finished: ask `status` again later."""


@dataclass(frozen=True, slots=True)
class RailRequest:
    idempotency_key: str
    direction: Direction
    amount_minor: int
    currency: str
    counterparty: str
    created_at: str | None = None
    """When the payment was first asked for (ISO 8601). A rail whose status question is a replay
    (`rails.stablecoin`) will not replay a key its provider may have forgotten."""


@dataclass(frozen=True, slots=True)
class RailReceipt:
    """What a rail says happened. Not believed until `matches` agrees with the request."""

    rail: str
    rail_reference: str
    idempotency_key: str
    """The key the receipt is about; "" when the provider records none (reconciliation then finds
    its transaction by `rail_reference`)."""
    direction: Direction
    amount_minor: int
    currency: str
    counterparty: str
    settled_at: str
    note: str | None = None
    """Free text from the provider. Untrusted: screened before it may reach the model."""
    outcome: Outcome = Outcome.SUCCEEDED
    failure_code: str | None = None
    """For a failed receipt: the provider's reason, as a short code."""


class Rail(Protocol):
    """A payment network adapter.

    A second dispatch with the same idempotency key never pays twice: it answers with the first
    outcome. `status` asks what happened to a key (None: the rail never saw it); the caller passes
    the request the key was for, for a rail whose answers do not repeat it. `reverse` sends
    back (part of) what a succeeded receipt moved, under its own idempotency key. `receipts`
    lists what the rail recorded since a time, for reconciliation.
    """

    @property
    def name(self) -> str: ...

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def dispatch(self, request: RailRequest) -> RailReceipt: ...

    async def status(self, idempotency_key: str, *, request: RailRequest | None = None) -> RailReceipt | None: ...

    async def reverse(self, receipt: RailReceipt, *, amount_minor: int, idempotency_key: str) -> RailReceipt: ...

    async def receipts(self, since: datetime) -> list[RailReceipt]: ...


def mismatch(request: RailRequest, receipt: RailReceipt, *, rail: str) -> str | None:
    """What differs between a request and the receipt about it (None: it is about exactly that)."""
    for field, asked, answered in (
        ("rail", rail, receipt.rail),
        ("idempotency_key", request.idempotency_key, receipt.idempotency_key),
        ("direction", request.direction, receipt.direction),
        ("amount", request.amount_minor, receipt.amount_minor),
        ("currency", request.currency, receipt.currency),
        ("counterparty", request.counterparty, receipt.counterparty),
    ):
        if asked != answered:
            return field
    return None


def matches(request: RailRequest, receipt: RailReceipt, *, rail: str) -> bool:
    """Whether a receipt is about exactly what was asked: same rail, key, direction, amount, party."""
    return mismatch(request, receipt, rail=rail) is None


def idempotency_key_for(transaction_id: str) -> str:
    """The rail idempotency key of a transaction: stable across retries, restarts and reconciles."""
    return f"fid-{transaction_id}"
