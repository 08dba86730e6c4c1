"""Rails: adapters to payment networks behind one protocol."""

from fiduciary.rails.base import Direction, Rail, RailReceipt, RailRequest, idempotency_key_for, matches
from fiduciary.rails.sandbox import SandboxRail

__all__ = ["Direction", "Rail", "RailReceipt", "RailRequest", "SandboxRail", "idempotency_key_for", "matches"]
