"""A policy: named rules over intents, loaded from a reviewed TOML file."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RuleKind(StrEnum):
    MAX_AMOUNT = "max_amount"
    """Deny a single payment above `amount`."""
    DAILY_BUDGET = "daily_budget"
    """Deny a payment that would take today's (UTC) total above `amount`."""
    APPROVAL_THRESHOLD = "approval_threshold"
    """Hold a payment of `amount` or more for a human."""
    DENY_COUNTERPARTY = "deny_counterparty"
    """Deny payments to the listed counterparties."""
    INJECTION_REVIEW = "injection_review"
    """Hold a payment whose injection score is at or above `min_score` (below the block threshold)."""


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    kind: RuleKind
    tools: frozenset[str]
    agents: frozenset[str] | None
    currency: str | None = None
    amount_minor: int | None = None
    counterparties: frozenset[str] = frozenset()
    min_score_bp: int | None = None

    def applies_to(self, *, tool: str, agent_id: str, currency: str) -> bool:
        return (
            tool in self.tools
            and (self.agents is None or agent_id in self.agents)
            and (self.currency is None or self.currency == currency)
        )


@dataclass(frozen=True, slots=True)
class Policy:
    """A validated policy; `version` is the SHA-256 of its canonical form."""

    name: str
    currencies: frozenset[str]
    rules: tuple[Rule, ...]
    version: str
