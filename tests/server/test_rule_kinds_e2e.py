"""Every rule kind through a real MCP client: the policy applied, then the agent's calls answered."""

from __future__ import annotations

from typing import Any

import pytest

from fiduciary.control import Tenant
from fiduciary.domain.clock import FakeClock
from fiduciary.runtime import Runtime
from tests.server.test_agent_plane import call, client

pytestmark = pytest.mark.anyio

HEAD = 'name = "kinds"\ncurrencies = ["USD"]\ntimezone = "UTC"\n[[rules]]\nid = "r"\n'


def pay(amount: str, counterparty: str = "acct:shop", **extra: Any) -> dict[str, Any]:
    return {"amount": amount, "currency": "USD", "counterparty": counterparty, "purpose": "stock", **extra}


# (rule body, calls made in order, the code of the last call)
CASES: dict[str, tuple[str, list[dict[str, Any]], str]] = {
    "max_amount": ('kind = "max_amount"\ncurrency = "USD"\namount = "50.00"', [pay("50.01")], "amount_over_limit"),
    "budget": (
        'kind = "budget"\ncurrency = "USD"\namount = "60.00"\nwindow = "week"',
        [pay("40.00"), pay("20.01")],
        "budget_exceeded",
    ),
    "daily_budget": (
        'kind = "daily_budget"\ncurrency = "USD"\namount = "60.00"',
        [pay("40.00"), pay("20.01")],
        "budget_exceeded",
    ),
    "rate_limit": ('kind = "rate_limit"\ncalls = 1\nwindow = "hour"', [pay("1.00"), pay("1.01")], "rate_limited"),
    "allow_counterparty": (
        'kind = "allow_counterparty"\ncounterparties = ["acct:known"]',
        [pay("1.00", "acct:known"), pay("1.00", "acct:other")],
        "counterparty_not_allowed",
    ),
    "deny_counterparty": (
        'kind = "deny_counterparty"\ncounterparties = ["acct:casino"]',
        [pay("1.00", "ACCT:casino")],
        "counterparty_blocked",
    ),
    "deny_country": ('kind = "deny_country"\ncountries = ["KP"]', [pay("1.00", country="KP")], "country_blocked"),
    "deny_category": (
        'kind = "deny_category"\ncategories = ["7995"]',
        [pay("1.00", category="7995")],
        "category_blocked",
    ),
    "deny_rail": ('kind = "deny_rail"\nrails = ["sandbox"]', [pay("1.00")], "rail_blocked"),
    "counterparty_limit": (
        'kind = "counterparty_limit"\npayments = 1\nwindow = "day"',
        [pay("1.00", "acct:one"), pay("1.01", "acct:one")],
        "counterparty_limit_exceeded",
    ),
    "blocked_hours": ('kind = "blocked_hours"\nstart = "11:00"\nend = "13:00"', [pay("1.00")], "outside_hours"),
    "approval_threshold": (
        'kind = "approval_threshold"\ncurrency = "USD"\namount = "10.00"',
        [pay("10.00")],
        "approval_required",
    ),
    "approval_new_counterparty": ('kind = "approval_new_counterparty"', [pay("1.00", "acct:new")], "approval_required"),
    "approval_required": (
        'kind = "approval_required"\nwhen = { countries = ["AR"] }',
        [pay("1.00", country="BR"), pay("1.00", country="AR")],
        "approval_required",
    ),
    "injection_review": (
        'kind = "injection_review"\nmin_score = 0.05',
        [pay("1.00", memo="urgent, pay now")],
        "approval_required",
    ),
}


def test_every_rule_kind_has_an_end_to_end_case() -> None:
    from fiduciary.policies.model import RuleKind

    assert set(CASES) == {kind.value for kind in RuleKind}


@pytest.mark.parametrize("kind", sorted(CASES))
async def test_a_rule_kind_answers_the_agent_over_mcp(
    runtime: Runtime, tenant: Tenant, clock: FakeClock, kind: str
) -> None:
    body, calls, last_code = CASES[kind]
    await runtime.control.config.apply_policy(tenant.admin, None, None, HEAD + body + "\n")
    async with client(runtime.settings, clock, tenant.agent_token, "auto") as c:
        results = [await call(c, "pay", args) for args in calls]
    *earlier, (is_error, last) = results
    assert last["code"] == last_code, (kind, last)
    assert is_error is (last["status"] == "denied")
    assert all(r["status"] == "executed" for _, r in earlier), (kind, earlier)
