"""Evaluate an intent against a policy: every matching rule is reported, deny wins."""

from __future__ import annotations

from dataclasses import dataclass

from fiduciary.domain.codes import Code
from fiduciary.domain.counterparties import match_keys
from fiduciary.domain.decisions import Decision, RuleHit, Verdict, combine
from fiduciary.domain.intents import PaymentIntent
from fiduciary.policies.model import Policy, Rule, RuleKind

TAINTED_RULE_ID = "builtin.tainted_session"


@dataclass(frozen=True, slots=True)
class PolicyInput:
    """What the policy sees besides the intent, counted by the store at decision time."""

    spent_today_minor: int
    """Today's (UTC) outflows of this agent in the intent's currency, in flight or settled."""
    risk_bp: int = 0
    """The highest injection score over the intent's free text, in basis points."""
    tainted: bool = False
    """A tool result flowing back to this session was flagged as an injection."""
    approved: bool = False
    """A human approved this exact intent: approval rules are satisfied, deny rules still apply."""


def _hit(rule: Rule, intent: PaymentIntent, facts: PolicyInput) -> RuleHit | None:
    amount = intent.amount.amount_minor
    if rule.kind is RuleKind.MAX_AMOUNT and rule.amount_minor is not None and amount > rule.amount_minor:
        return RuleHit(rule.id, Verdict.DENY, Code.AMOUNT_OVER_LIMIT)
    if (
        rule.kind is RuleKind.DAILY_BUDGET
        and rule.amount_minor is not None
        and facts.spent_today_minor + amount > rule.amount_minor
    ):
        return RuleHit(rule.id, Verdict.DENY, Code.BUDGET_EXCEEDED)
    if rule.kind is RuleKind.DENY_COUNTERPARTY and match_keys(intent.counterparty) & rule.counterparties:
        return RuleHit(rule.id, Verdict.DENY, Code.COUNTERPARTY_BLOCKED)
    if rule.kind is RuleKind.APPROVAL_THRESHOLD and rule.amount_minor is not None and amount >= rule.amount_minor:
        return RuleHit(rule.id, Verdict.APPROVAL_REQUIRED, Code.APPROVAL_REQUIRED)
    if rule.kind is RuleKind.INJECTION_REVIEW and rule.min_score_bp is not None and facts.risk_bp >= rule.min_score_bp:
        return RuleHit(rule.id, Verdict.APPROVAL_REQUIRED, Code.APPROVAL_REQUIRED)
    return None


def evaluate(intent: PaymentIntent, facts: PolicyInput, policy: Policy) -> Decision:
    """The policy decision for `intent`: allow, deny(code, rule) or approval_required(rule)."""
    if intent.amount.currency not in policy.currencies:
        hit = RuleHit("builtin.currencies", Verdict.DENY, Code.CURRENCY_NOT_ALLOWED)
        return combine((hit,), policy_version=policy.version)
    caller = intent.caller
    hits: list[RuleHit] = []
    for rule in policy.rules:
        if rule.applies_to(tool=intent.tool.value, agent_id=caller.agent_id, currency=intent.amount.currency):
            found = _hit(rule, intent, facts)
            if found is not None:
                hits.append(found)
    if facts.tainted:
        hits.append(RuleHit(TAINTED_RULE_ID, Verdict.APPROVAL_REQUIRED, Code.APPROVAL_REQUIRED))
    if facts.approved:
        hits = [hit for hit in hits if hit.verdict is not Verdict.APPROVAL_REQUIRED]
    return combine(tuple(hits), policy_version=policy.version)
