"""One protocol for every rail: dispatch with an idempotency key, look a key up, validate receipts."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Direction(StrEnum):
    PAYOUT = "payout"
    """Money leaves the agent's wallet towards the counterparty."""
    COLLECT = "collect"
    """Money comes from the counterparty into the agent's wallet."""


@dataclass(frozen=True, slots=True)
class RailRequest:
    idempotency_key: str
    direction: Direction
    amount_minor: int
    currency: str
    counterparty: str


@dataclass(frozen=True, slots=True)
class RailReceipt:
    """What a rail says happened. Not believed until `matches` agrees with the request."""

    rail: str
    rail_reference: str
    idempotency_key: str
    direction: Direction
    amount_minor: int
    currency: str
    counterparty: str
    settled_at: str
    note: str | None = None
    """Free text from the provider. Untrusted: screened before it may reach the model."""


class Rail(Protocol):
    """A payment network adapter.

    `dispatch` either returns a settled receipt, raises `RailRejected` (nothing moved) or raises
    `RailTimeout` (the outcome is unknown). A second dispatch with the same idempotency key never
    pays twice: it returns the first outcome. `lookup` asks what happened to a key.
    """

    @property
    def name(self) -> str: ...

    async def dispatch(self, request: RailRequest) -> RailReceipt: ...

    async def lookup(self, idempotency_key: str) -> RailReceipt | None: ...


def matches(request: RailRequest, receipt: RailReceipt, *, rail: str) -> bool:
    """Whether a receipt is about exactly what was asked: same rail, key, direction, amount, party."""
    return (
        receipt.rail == rail
        and receipt.idempotency_key == request.idempotency_key
        and receipt.direction == request.direction
        and receipt.amount_minor == request.amount_minor
        and receipt.currency == request.currency
        and receipt.counterparty == request.counterparty
    )


def idempotency_key_for(transaction_id: str) -> str:
    """The rail idempotency key of a transaction: stable across retries, restarts and reconciles."""
    return f"fid-{transaction_id}"
