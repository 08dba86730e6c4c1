"""Rails: adapters to payment networks behind one protocol, the wrappers around them, the rails file."""

from fiduciary.rails.base import (
    Direction,
    Outcome,
    Rail,
    RailReceipt,
    RailRequest,
    idempotency_key_for,
    matches,
    mismatch,
)
from fiduciary.rails.sandbox import SandboxRail

__all__ = [
    "Direction",
    "Outcome",
    "Rail",
    "RailReceipt",
    "RailRequest",
    "SandboxRail",
    "idempotency_key_for",
    "matches",
    "mismatch",
]
