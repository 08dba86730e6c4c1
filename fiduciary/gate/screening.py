"""The injection stage over every free-text field of an intent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fiduciary import injection
from fiduciary.domain.intents import PaymentIntent


@dataclass(frozen=True, slots=True)
class Screening:
    """The injection stage's verdict over every free-text field of an intent."""

    blocked: bool
    risk_bp: int
    payload: dict[str, Any]


def screen(intent: PaymentIntent, config: injection.InjectionConfig | None) -> Screening:
    """Score every free-text field; the intent is blocked if any field is."""
    fields: dict[str, Any] = {}
    blocked, risk_bp = False, 0
    for name, text in intent.free_text():
        result = injection.score(text, context=injection.ScanContext(tool=intent.tool.value, field=name, config=config))
        blocked = blocked or result.blocked
        risk_bp = max(risk_bp, round(result.score * 10_000))
        if result.matches or result.flags:
            fields[name] = result.audit_payload()
    return Screening(blocked, risk_bp, {"risk_bp": risk_bp, "blocked": blocked, "fields": fields})
