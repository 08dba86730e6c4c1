"""Evaluate an intent against a policy: every matching rule is reported, deny wins (pure).

Counted rules (budgets, rate limits, a payee's history) need a number from the store. The gate
asks `counts_for` which numbers, reads each from the durable counters in the same transaction
as the hold, and passes them back in `PolicyInput.counts`, keyed by rule id.
"""

from __future__ import annotations

from collections.abc import Mapping
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


def in_scope(scope: Scope, intent: PaymentIntent) -> bool:
    """Whether a rule looks at this intent at all."""
    if intent.tool.value not in scope.tools:
        return False
    if scope.agents is not None and intent.caller.agent_id not in scope.agents:
        return False
    if scope.currencies is not None and intent.amount.currency not in scope.currencies:
        return False
    if scope.counterparties is not None and not match_keys(intent.counterparty) & scope.counterparties:
        return False
    if scope.categories is not None and (intent.category or "").casefold() not in scope.categories:
        return False
    return scope.countries is None or intent.country in scope.countries


def _applies(rule: Rule, intent: PaymentIntent) -> bool:
    return in_scope(rule.scope, intent) and (rule.currency is None or rule.currency == intent.amount.currency)


def counts_for(policy: Policy, intent: PaymentIntent, now: datetime) -> list[Count]:
    """The counters the policy's counted rules need for this intent."""
    needed = []
    for rule in policy.counted:
        if not _applies(rule, intent):
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


def _over_payee_limit(rule: Rule, count: int, amount: int) -> bool:
    if rule.payments is not None:
        return count + 1 > rule.payments
    return rule.amount_minor is not None and count + amount > rule.amount_minor


def _inside_hours(rule: Rule, now: datetime | None, timezone: str) -> bool:
    """Whether `now` falls in the rule's weekly window (local time); an unknown time is inside."""
    if now is None:
        return True
    assert rule.start_minute is not None and rule.end_minute is not None, "a time window has a start and an end"
    local = now.astimezone(ZoneInfo(timezone))
    minute, day = local.hour * 60 + local.minute, local.weekday()
    days = rule.days if rule.days is not None else frozenset(range(7))
    if rule.start_minute < rule.end_minute:
        return day in days and rule.start_minute <= minute < rule.end_minute
    # Across midnight: from `start` on a listed day until `end` on the next day.
    return (minute >= rule.start_minute and day in days) or (minute < rule.end_minute and (day - 1) % 7 in days)


def _hit(rule: Rule, intent: PaymentIntent, facts: PolicyInput, timezone: str) -> RuleHit | None:
    amount, kind = intent.amount.amount_minor, rule.kind
    count = facts.counts.get(rule.id, 0)
    deny: Code | None = None
    hold = False
    if kind is K.MAX_AMOUNT and rule.amount_minor is not None and amount > rule.amount_minor:
        deny = Code.AMOUNT_OVER_LIMIT
    elif kind in (K.BUDGET, K.DAILY_BUDGET) and rule.amount_minor is not None and count + amount > rule.amount_minor:
        deny = Code.BUDGET_EXCEEDED
    elif kind is K.RATE_LIMIT and rule.calls is not None and count + 1 > rule.calls:
        deny = Code.RATE_LIMITED
    elif kind is K.ALLOW_COUNTERPARTY and not match_keys(intent.counterparty) & rule.counterparties:
        deny = Code.COUNTERPARTY_NOT_ALLOWED
    elif kind is K.DENY_COUNTERPARTY and match_keys(intent.counterparty) & rule.counterparties:
        deny = Code.COUNTERPARTY_BLOCKED
    elif kind is K.DENY_COUNTRY and intent.country in rule.values:
        deny = Code.COUNTRY_BLOCKED
    elif kind is K.DENY_CATEGORY and (intent.category or "").casefold() in rule.values:
        deny = Code.CATEGORY_BLOCKED
    elif kind is K.COUNTERPARTY_LIMIT and _over_payee_limit(rule, count, amount):
        deny = Code.COUNTERPARTY_LIMIT_EXCEEDED
    elif kind is K.BLOCKED_HOURS and _inside_hours(rule, facts.now, timezone):
        deny, hold = (None, True) if rule.hold_instead else (Code.OUTSIDE_HOURS, False)
    elif kind is K.APPROVAL_THRESHOLD and rule.amount_minor is not None:
        hold = amount >= rule.amount_minor
    elif kind is K.APPROVAL_NEW_COUNTERPARTY and rule.min_payments is not None:
        hold = count < rule.min_payments and not facts.payee_in_mandate
    elif kind is K.APPROVAL_REQUIRED:
        hold = True
    elif kind is K.INJECTION_REVIEW and rule.min_score_bp is not None:
        hold = facts.risk_bp >= rule.min_score_bp
    if deny is not None:
        return RuleHit(rule.id, Verdict.DENY, deny)
    return RuleHit(rule.id, Verdict.APPROVAL_REQUIRED, Code.APPROVAL_REQUIRED) if hold else None


def evaluate(intent: PaymentIntent, facts: PolicyInput, policy: Policy) -> Decision:
    """The policy decision for `intent`: allow, deny(code, rule) or approval_required(rule)."""
    if intent.amount.currency not in policy.currencies:
        hit = RuleHit("builtin.currencies", Verdict.DENY, Code.CURRENCY_NOT_ALLOWED)
        return combine((hit,), policy_version=policy.version)
    hits = [
        found
        for rule in policy.rules
        if _applies(rule, intent) and (found := _hit(rule, intent, facts, policy.timezone))
    ]
    if facts.tainted:
        hits.append(RuleHit(TAINTED_RULE_ID, Verdict.APPROVAL_REQUIRED, Code.APPROVAL_REQUIRED))
    if facts.approved:
        hits = [hit for hit in hits if hit.verdict is not Verdict.APPROVAL_REQUIRED]
    return combine(tuple(hits), policy_version=policy.version)
