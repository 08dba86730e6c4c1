"""Evaluate an intent against a policy: every matching rule is reported, deny wins (pure).

Counted rules (budgets, rate limits, a payee's history) need a number from the store. The gate
asks `counts_for` which numbers, reads each from the durable counters in the same transaction
as the hold, and passes them back in `PolicyInput.counts`, keyed by rule id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from fiduciary.domain.codes import Code
from fiduciary.domain.counterparties import match_keys
from fiduciary.domain.decisions import Decision, RuleHit, Verdict, combine
from fiduciary.domain.intents import PaymentIntent
from fiduciary.policies.model import Per, Policy, Rule, RuleKind, Scope
from fiduciary.policies.windows import window_start

TAINTED_RULE_ID = "builtin.tainted_session"
K = RuleKind


@dataclass(frozen=True, slots=True)
class Count:
    """One number a counted rule needs: what to add up, for whom, since when."""

    rule_id: str
    what: str
    """`spent`, `calls` or `payments_to`."""
    per_project: bool
    tools: tuple[str, ...]
    since: datetime | None = None
    currency: str | None = None
    counterparty: str | None = None


@dataclass(frozen=True, slots=True)
class PolicyInput:
    """What the policy sees besides the intent, read by the store at decision time."""

    counts: Mapping[str, int] = field(default_factory=dict)
    """The value of each `Count` that `counts_for` asked for, by rule id."""
    risk_bp: int = 0
    """The highest injection score over the intent's free text, in basis points."""
    tainted: bool = False
    """A tool result flowing back to this agent was flagged as an injection."""
    approved: bool = False
    """A human approved this exact intent: approval rules are satisfied, deny rules still apply."""
    payee_in_mandate: bool = False
    """The covering open mandate names this counterparty in its allow-list: the payee is known."""
    now: datetime | None = None
    """When the decision is taken; time windows treat an unknown time as inside (fail closed)."""
    rail: str | None = None
    """The rail the payment would go through (None: a refund, which follows its charge, or no rail)."""


@dataclass(frozen=True, slots=True)
class _Subject:
    """What the rules look at, computed once per decision rather than once per rule."""

    tool: str
    agent_id: str
    currency: str
    amount: int
    keys: frozenset[str]
    category: str
    country: str | None
    minute: int | None
    day: int | None
    """Local minute of the day and weekday (Monday = 0), None when the time is unknown."""


def _subject(intent: PaymentIntent, now: datetime | None, timezone: str) -> _Subject:
    local = None if now is None else now.astimezone(ZoneInfo(timezone))
    return _Subject(
        tool=intent.tool.value,
        agent_id=intent.caller.agent_id,
        currency=intent.amount.currency,
        amount=intent.amount.amount_minor,
        keys=match_keys(intent.counterparty),
        category=(intent.category or "").casefold(),
        country=intent.country,
        minute=None if local is None else local.hour * 60 + local.minute,
        day=None if local is None else local.weekday(),
    )


def _in_scope(scope: Scope, s: _Subject) -> bool:
    return (
        s.tool in scope.tools
        and (scope.agents is None or s.agent_id in scope.agents)
        and (scope.currencies is None or s.currency in scope.currencies)
        and (scope.counterparties is None or bool(s.keys & scope.counterparties))
        and (scope.categories is None or s.category in scope.categories)
        and (scope.countries is None or s.country in scope.countries)
    )


def _applies(rule: Rule, s: _Subject) -> bool:
    if rule.currency is not None and rule.currency != s.currency:
        return False
    return _in_scope(rule.scope, s) if rule.narrow else s.tool in rule.scope.tools


def counts_for(policy: Policy, intent: PaymentIntent, now: datetime) -> list[Count]:
    """The counters the policy's counted rules need for this intent."""
    needed = []
    subject = _subject(intent, None, policy.timezone)
    for rule in policy.counted:
        if not _applies(rule, subject):
            continue
        tools = tuple(sorted(rule.scope.tools))
        per_project = rule.per is Per.PROJECT
        if rule.kind is K.APPROVAL_NEW_COUNTERPARTY:
            needed.append(Count(rule.id, "payments_to", per_project, tools, counterparty=intent.counterparty))
            continue
        assert rule.window is not None, "a counted rule has a window"
        since = window_start(rule.window, now, timezone=policy.timezone, hours=rule.hours)
        if rule.kind is K.COUNTERPARTY_LIMIT:
            what = "paid_to_amount" if rule.payments is None else "paid_to_count"
            needed.append(
                Count(
                    rule.id, what, per_project, tools, since, currency=rule.currency, counterparty=intent.counterparty
                )
            )
            continue
        what = "calls" if rule.kind is K.RATE_LIMIT else "spent"
        needed.append(Count(rule.id, what, per_project, tools, since=since, currency=rule.currency))
    return needed


Check = Callable[[Rule, _Subject, PolicyInput], bool]
"""Whether a rule of one kind fires for the subject (deny rules deny, approval rules hold)."""


def _over_payee_limit(rule: Rule, s: _Subject, facts: PolicyInput) -> bool:
    count = facts.counts.get(rule.id, 0)
    if rule.payments is not None:
        return count + 1 > rule.payments
    return rule.amount_minor is not None and count + s.amount > rule.amount_minor


def _inside_hours(rule: Rule, s: _Subject, facts: PolicyInput) -> bool:
    """Whether the decision falls in the rule's weekly window (local time); an unknown time is inside."""
    if s.minute is None or s.day is None:
        return True
    assert rule.start_minute is not None and rule.end_minute is not None, "a time window has a start and an end"
    days = rule.days if rule.days is not None else _EVERY_DAY
    if rule.start_minute < rule.end_minute:
        return s.day in days and rule.start_minute <= s.minute < rule.end_minute
    # Across midnight: from `start` on a listed day until `end` on the next day.
    return (s.minute >= rule.start_minute and s.day in days) or (s.minute < rule.end_minute and (s.day - 1) % 7 in days)


def _over(rule: Rule, s: _Subject, facts: PolicyInput) -> bool:
    return rule.amount_minor is not None and facts.counts.get(rule.id, 0) + s.amount > rule.amount_minor


_EVERY_DAY = frozenset(range(7))
_DENY: dict[RuleKind, tuple[Code, Check]] = {
    K.MAX_AMOUNT: (Code.AMOUNT_OVER_LIMIT, lambda r, s, f: r.amount_minor is not None and s.amount > r.amount_minor),
    K.BUDGET: (Code.BUDGET_EXCEEDED, _over),
    K.DAILY_BUDGET: (Code.BUDGET_EXCEEDED, _over),
    K.RATE_LIMIT: (Code.RATE_LIMITED, lambda r, s, f: r.calls is not None and f.counts.get(r.id, 0) + 1 > r.calls),
    K.ALLOW_COUNTERPARTY: (Code.COUNTERPARTY_NOT_ALLOWED, lambda r, s, f: not s.keys & r.counterparties),
    K.DENY_COUNTERPARTY: (Code.COUNTERPARTY_BLOCKED, lambda r, s, f: bool(s.keys & r.counterparties)),
    K.DENY_COUNTRY: (Code.COUNTRY_BLOCKED, lambda r, s, f: s.country in r.values),
    K.DENY_CATEGORY: (Code.CATEGORY_BLOCKED, lambda r, s, f: s.category in r.values),
    K.DENY_RAIL: (Code.RAIL_BLOCKED, lambda r, s, f: f.rail is not None and f.rail in r.values),
    K.COUNTERPARTY_LIMIT: (Code.COUNTERPARTY_LIMIT_EXCEEDED, _over_payee_limit),
}
_HOLD: dict[RuleKind, Check] = {
    K.APPROVAL_THRESHOLD: lambda r, s, f: r.amount_minor is not None and s.amount >= r.amount_minor,
    K.APPROVAL_NEW_COUNTERPARTY: lambda r, s, f: (
        r.min_payments is not None and f.counts.get(r.id, 0) < r.min_payments and not f.payee_in_mandate
    ),
    K.APPROVAL_REQUIRED: lambda r, s, f: True,
    K.INJECTION_REVIEW: lambda r, s, f: (
        r.min_score_bp is not None
        and f.risk_bp >= r.min_score_bp
        and (r.max_score_bp is None or f.risk_bp < r.max_score_bp)
    ),
}


def _hit(rule: Rule, s: _Subject, facts: PolicyInput) -> RuleHit | None:
    if rule.kind is K.BLOCKED_HOURS:
        if not _inside_hours(rule, s, facts):
            return None
        if rule.hold_instead:
            return RuleHit(rule.id, Verdict.APPROVAL_REQUIRED, Code.APPROVAL_REQUIRED, rule.approvers)
        return RuleHit(rule.id, Verdict.DENY, Code.OUTSIDE_HOURS)
    deny = _DENY.get(rule.kind)
    if deny is not None:
        return RuleHit(rule.id, Verdict.DENY, deny[0]) if deny[1](rule, s, facts) else None
    if _HOLD[rule.kind](rule, s, facts):
        return RuleHit(rule.id, Verdict.APPROVAL_REQUIRED, Code.APPROVAL_REQUIRED, rule.approvers)
    return None


def evaluate(intent: PaymentIntent, facts: PolicyInput, policy: Policy) -> Decision:
    """The policy decision for `intent`: allow, deny(code, rule) or approval_required(rule)."""
    if intent.amount.currency not in policy.currencies:
        hit = RuleHit("builtin.currencies", Verdict.DENY, Code.CURRENCY_NOT_ALLOWED)
        return combine((hit,), policy_version=policy.version)
    subject = _subject(intent, facts.now, policy.timezone)
    hits = [found for rule in policy.rules if _applies(rule, subject) and (found := _hit(rule, subject, facts))]
    if facts.tainted:
        hits.append(RuleHit(TAINTED_RULE_ID, Verdict.APPROVAL_REQUIRED, Code.APPROVAL_REQUIRED))
    if facts.approved:
        hits = [hit for hit in hits if hit.verdict is not Verdict.APPROVAL_REQUIRED]
    return combine(tuple(hits), policy_version=policy.version)


@dataclass(frozen=True, slots=True)
class Crossing:
    """A budget that this payment takes across the policy's alert threshold."""

    rule_id: str
    currency: str
    budget_minor: int
    before_minor: int
    after_minor: int
    threshold_bp: int


def crossings(policy: Policy, intent: PaymentIntent, counts: Mapping[str, int]) -> list[Crossing]:
    """Budgets whose alert mark lies between what they had spent and what they will have spent."""
    subject = _subject(intent, None, policy.timezone)
    found = []
    for rule in policy.counted:
        if rule.kind not in (K.BUDGET, K.DAILY_BUDGET) or rule.amount_minor is None or not _applies(rule, subject):
            continue
        before = counts.get(rule.id, 0)
        after = before + subject.amount
        mark = rule.amount_minor * policy.alert_threshold_bp // 10_000
        if before < mark <= after:
            assert rule.currency is not None, "a budget has a currency"
            found.append(Crossing(rule.id, rule.currency, rule.amount_minor, before, after, policy.alert_threshold_bp))
    return found
