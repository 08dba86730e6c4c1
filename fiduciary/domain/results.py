"""What a gate call answers, before a surface renders it (DESIGN.md §11)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fiduciary.domain.codes import Code
from fiduciary.domain.money import Money
from fiduciary.domain.states import TxState


class Status(StrEnum):
    EXECUTED = "executed"
    PENDING_APPROVAL = "pending_approval"
    DENIED = "denied"
    DRY_RUN = "dry_run"
    FAILED = "failed"
    UNKNOWN = "unknown"
    OK = "ok"
    """A read that succeeded."""


ERROR_STATUSES = frozenset({Status.DENIED, Status.FAILED})


@dataclass(frozen=True, slots=True)
class Outcome:
    """The answer to one money-moving call."""

    status: Status
    code: Code
    message: str
    reference: str
    transaction_id: str | None = None
    state: TxState | None = None
    amount: Money | None = None
    approval_id: str | None = None
    rail_reference: str | None = None
    rail_note: str | None = None
    replayed: bool = False
    trace: dict[str, Any] | None = None
    """A dry run's decision trace (score, matched rules, covering mandate, balance after)."""
    receipt: dict[str, Any] | None = None
    """For a call refused because its mandate was revoked or its agent frozen: the org's signed receipt."""

    @property
    def is_error(self) -> bool:
        return self.status in ERROR_STATUSES
