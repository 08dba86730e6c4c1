"""A policy: named rules over intents, loaded from a reviewed TOML file."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class RuleKind(StrEnum):
    MAX_AMOUNT = "max_amount"
    """Deny a single payment above `amount`."""
    BUDGET = "budget"
    """Deny a payment that would take the window's total (per agent or project) above `amount`."""
    DAILY_BUDGET = "daily_budget"
    """A `budget` over the calendar day (kept for older files)."""
    RATE_LIMIT = "rate_limit"
    """Deny a call past `calls` in the window (per agent or project)."""
    APPROVAL_THRESHOLD = "approval_threshold"
    """Hold a payment of `amount` or more for a human."""
    APPROVAL_NEW_COUNTERPARTY = "approval_new_counterparty"
    """Hold a payment to a counterparty paid fewer than `min_payments` times before."""
    APPROVAL_REQUIRED = "approval_required"
    """Hold every payment the rule's scope matches."""
    ALLOW_COUNTERPARTY = "allow_counterparty"
    """Deny a payment to any counterparty not listed."""
    DENY_COUNTERPARTY = "deny_counterparty"
    """Deny payments to the listed counterparties."""
    DENY_COUNTRY = "deny_country"
    """Deny payments whose country (ISO 3166 alpha-2) is listed."""
    DENY_CATEGORY = "deny_category"
    """Deny payments whose category (e.g. an MCC code) is listed."""
    DENY_RAIL = "deny_rail"
    """Deny payments that would go through one of the listed rails (by name, as in the rails file)."""
    BLOCKED_HOURS = "blocked_hours"
    """Deny (or, with action = "approval", hold) payments inside a weekly time window."""
    COUNTERPARTY_LIMIT = "counterparty_limit"
    """Deny what would take one payee past `amount` or `payments` in the window."""
    INJECTION_REVIEW = "injection_review"
    """Hold a payment whose injection score is at or above `min_score` (below the block threshold)."""


class Window(StrEnum):
    """Where a counted window starts: calendar windows in the policy's time zone, or rolling."""

    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    ROLLING = "rolling"


class Per(StrEnum):
    """Whose spending or calls a counted rule adds up."""

    AGENT = "agent"
    PROJECT = "project"


@dataclass(frozen=True, slots=True)
class Scope:
    """Which intents a rule looks at; `None` means any."""

    tools: frozenset[str]
    agents: frozenset[str] | None = None
    currencies: frozenset[str] | None = None
    counterparties: frozenset[str] | None = None
    categories: frozenset[str] | None = None
    countries: frozenset[str] | None = None

    @property
    def narrow(self) -> bool:
        """Whether anything beyond the tool limits the scope."""
        return any(
            value is not None
            for value in (self.agents, self.currencies, self.counterparties, self.categories, self.countries)
        )


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    kind: RuleKind
    scope: Scope
    currency: str | None = None
    amount_minor: int | None = None
    counterparties: frozenset[str] = frozenset()
    """Canonical identifiers (allow and deny lists)."""
    values: frozenset[str] = frozenset()
    """Countries or categories (deny lists)."""
    min_score_bp: int | None = None
    max_score_bp: int | None = None
    """The top of an injection-review band (exclusive); None reaches the block threshold."""
    window: Window | None = None
    hours: int | None = None
    """The length of a rolling window."""
    per: Per = Per.AGENT
    calls: int | None = None
    min_payments: int | None = None
    payments: int | None = None
    """Most payments to one payee in the window (`counterparty_limit`)."""
    days: frozenset[int] | None = None
    """Weekdays a time window starts on, Monday = 0; None is every day."""
    start_minute: int | None = None
    end_minute: int | None = None
    """Minutes after local midnight; a window whose end is before its start runs across midnight."""
    hold_instead: bool = False
    """A time window that holds for a person instead of denying."""
    approvers: int = 1
    """How many distinct operators must approve what this rule holds."""
    narrow: bool = field(default=False, compare=False)
    """Set from `scope.narrow` when the rule is built, so a decision skips the other scope checks."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "narrow", self.scope.narrow)


@dataclass(frozen=True, slots=True)
class Policy:
    """A validated policy; `version` is the SHA-256 of its canonical form."""

    name: str
    currencies: frozenset[str]
    rules: tuple[Rule, ...]
    version: str
    timezone: str = "UTC"
    """Where calendar windows (day, week, month) begin."""
    counted: tuple[Rule, ...] = field(default=())
    """The rules that need a counter read from the store (budgets, rate limits, payee history)."""
    alert_threshold_bp: int = 8_000
    """A budget crossing this share of its amount (basis points) raises an alert."""
    webhooks: tuple[str, ...] = ()
    """Where alerts are POSTed, signed."""
    shadow: bool = False
    """`mode = "shadow"`: every call is decided and recorded, and no money moves."""
