from __future__ import annotations

import pytest

from fiduciary.domain.codes import Code
from fiduciary.domain.decisions import Verdict
from fiduciary.domain.errors import ConfigError
from fiduciary.domain.intents import AgentRef, PaymentIntent, Tool
from fiduciary.domain.money import parse_amount
from fiduciary.policies import PolicyInput, evaluate, parse_policy
from fiduciary.policies import default_source as default_policy_source

POLICY = parse_policy(default_policy_source())
KNOWN = {"new-payee-review": 1}
"""The payee was paid once before: the default policy's new-payee review is satisfied."""
CALLER = AgentRef("org_a", "prj_a", "agt_a")


def intent(amount: str, currency: str = "USD", counterparty: str = "acct:x", tool: Tool = Tool.PAY) -> PaymentIntent:
    return PaymentIntent(CALLER, tool, parse_amount(amount, currency), counterparty, "p", "k")


def test_a_small_payment_is_allowed() -> None:
    decision = evaluate(intent("10.00"), PolicyInput(KNOWN), POLICY)
    assert decision.verdict is Verdict.ALLOW and decision.policy_version == POLICY.version


def test_budget_denies_the_payment_that_would_cross_the_daily_cap() -> None:
    assert (
        evaluate(intent("100.00"), PolicyInput(KNOWN | {"daily-budget-usd": 50_000}), POLICY).verdict is Verdict.ALLOW
    )
    decision = evaluate(intent("100.01"), PolicyInput(KNOWN | {"daily-budget-usd": 50_000}), POLICY)
    assert decision.code is Code.BUDGET_EXCEEDED and decision.rule_id == "daily-budget-usd"


def test_deny_wins_over_approval_and_every_matched_rule_is_reported() -> None:
    decision = evaluate(intent("490.00"), PolicyInput(KNOWN | {"daily-budget-usd": 12_000}), POLICY)
    assert decision.verdict is Verdict.DENY and decision.code is Code.BUDGET_EXCEEDED
    assert {h.rule_id for h in decision.hits} == {"daily-budget-usd", "approval-from-250-usd"}


def test_an_amount_at_the_threshold_needs_approval_and_an_approval_satisfies_it() -> None:
    assert evaluate(intent("250.00"), PolicyInput(KNOWN), POLICY).verdict is Verdict.APPROVAL_REQUIRED
    assert evaluate(intent("250.00"), PolicyInput(KNOWN, approved=True), POLICY).verdict is Verdict.ALLOW


def test_a_currency_the_policy_does_not_name_is_denied() -> None:
    assert evaluate(intent("1.00", "EUR"), PolicyInput(KNOWN), POLICY).code is Code.CURRENCY_NOT_ALLOWED


def test_a_tainted_session_needs_approval() -> None:
    assert evaluate(intent("1.00"), PolicyInput(KNOWN, tainted=True), POLICY).verdict is Verdict.APPROVAL_REQUIRED


def test_an_injection_score_in_the_review_band_needs_approval() -> None:
    assert evaluate(intent("1.00"), PolicyInput(KNOWN, risk_bp=4_500), POLICY).verdict is Verdict.APPROVAL_REQUIRED
    assert evaluate(intent("1.00"), PolicyInput(KNOWN, risk_bp=3_999), POLICY).verdict is Verdict.ALLOW


def test_a_blocked_counterparty_is_denied_whatever_its_case() -> None:
    policy = parse_policy(
        'name = "p"\ncurrencies = ["USD"]\n[[rules]]\nid = "no-x"\nkind = "deny_counterparty"\n'
        'counterparties = ["acct:Evil"]\n'
    )
    assert (
        evaluate(intent("1.00", counterparty="ACCT:EVIL"), PolicyInput(KNOWN), policy).code is Code.COUNTERPARTY_BLOCKED
    )


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ('name = "p"', "currencies"),
        ('name = "p"\ncurrencies = ["USD"]\nsurprise = 1', "unknown keys"),
        ('name = "p"\ncurrencies = ["XXX"]', "currencies"),
        ('name = "p"\ncurrencies = ["USD"]\n[[rules]]\nid = "r"\nkind = "nope"', "kind"),
        (
            'name = "p"\ncurrencies = ["USD"]\n[[rules]]\nid = "r"\nkind = "deny_counterparty"\n'
            'counterparties = ["acct:evil\\u200b"]',
            "rule 'r': `counterparties` entry",
        ),
        (
            'name = "p"\ncurrencies = ["USD"]\n[[rules]]\nid = "r"\nkind = "deny_counterparty"\n'
            'counterparties = ["DE89 3704 0044 0532 0130 01"]',
            "mod-97",
        ),
        ('name = "p"\ncurrencies = ["USD"]\n[[rules]]\nid = "r"\nkind = "max_amount"\ncurrency = "USD"', "missing"),
        (
            'name = "p"\ncurrencies = ["USD"]\n[[rules]]\nid = "r"\nkind = "max_amount"\ncurrency = "USD"\n'
            'amount = "1.001"',
            "decimal",
        ),
        (
            'name = "p"\ncurrencies = ["USD"]\n[[rules]]\nid = "r"\nkind = "max_amount"\ncurrency = "USD"\n'
            'amount = "1"\ncolour = "red"',
            "unknown keys colour",
        ),
        (
            'name = "p"\ncurrencies = ["USD"]\n[[rules]]\nid = "r"\nkind = "injection_review"\nmin_score = 2',
            "min_score",
        ),
        ('name = "p" = 1', "TOML"),
    ],
)
def test_an_invalid_policy_is_refused_with_a_message_naming_the_problem(source: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_policy(source)
    assert message in str(caught.value)


def test_the_version_hash_changes_with_the_rules_and_not_with_comments() -> None:
    again = parse_policy("# a comment\n" + default_policy_source())
    assert again.version == POLICY.version
    changed = parse_policy(default_policy_source().replace('amount = "600.00"', 'amount = "601.00"'))
    assert changed.version != POLICY.version
