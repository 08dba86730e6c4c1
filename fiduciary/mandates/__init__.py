"""Mandates: sign and verify open and closed mandates, check coverage, hold the key ring."""

from fiduciary.mandates.cover import choose, covers
from fiduciary.mandates.model import ClosedMandate, ClosedTerms, MandateUsage, OpenMandate, OpenTerms, status_at
from fiduciary.mandates.tokens import sign_closed, sign_open, verify_closed, verify_open

__all__ = [
    "ClosedMandate",
    "ClosedTerms",
    "MandateUsage",
    "OpenMandate",
    "OpenTerms",
    "choose",
    "covers",
    "sign_closed",
    "sign_open",
    "status_at",
    "verify_closed",
    "verify_open",
]
