"""Policies through the gate: durable counters, per-project budgets, rate limits, new payees, concurrency."""

from __future__ import annotations

import anyio
import pytest

from fiduciary.control import MandateSpec, Tenant
from fiduciary.domain.clock import FakeClock
from fiduciary.domain.intents import AgentRef, PaymentRequest, Tool
from fiduciary.domain.money import Money
from fiduciary.domain.results import Outcome, Status
from fiduciary.policies import default_source
from fiduciary.runtime import Runtime
from tests.conftest import TEST_POLICY

pytestmark = pytest.mark.anyio

HEAD = 'name = "p"\ncurrencies = ["USD"]\n'


def caller(tenant: Tenant) -> AgentRef:
    return AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id)


async def pay(
    rt: Runtime, who: AgentRef, amount: str, counterparty: str = "acct:shop", key: str | None = None
) -> Outcome:
    request = PaymentRequest(Tool.PAY, "supplies", amount, "USD", counterparty, idempotency_key=key)
    return await rt.gate.request(who, request, reference="ref_policy")


async def apply(rt: Runtime, tenant: Tenant, rules: str) -> None:
    await rt.control.config.apply_policy(tenant.admin, None, None, HEAD + rules)


async def wide_mandate(rt: Runtime, tenant: Tenant, agent_id: str) -> None:
    spec = MandateSpec(agent_id=agent_id, currency="USD", max_per_use="1000.00", total_cap="100000.00", purpose="t")
    await rt.control.mandates.issue(tenant.admin, spec)


async def test_a_project_budget_adds_up_every_agent_of_the_project(runtime: Runtime, tenant: Tenant) -> None:
    await apply(
        runtime,
        tenant,
        '[[rules]]\nid = "wk"\nkind = "budget"\ncurrency = "USD"\namount = "700.00"\nwindow = "week"\n'
        'per = "project"\n',
    )
    second, _ = await runtime.control.agents.add(tenant.admin, "second")
    await runtime.control.wallets.fund(tenant.admin, second.ref.agent_id, Money(100_000, "USD"))
    await wide_mandate(runtime, tenant, second.ref.agent_id)
    assert (await pay(runtime, caller(tenant), "400.00")).status is Status.EXECUTED
    assert (await pay(runtime, second.ref, "300.00")).status is Status.EXECUTED
    assert (await pay(runtime, second.ref, "0.01")).code.value == "budget_exceeded"


async def test_a_rate_limit_refuses_the_call_past_the_limit_until_the_minute_is_over(
    runtime: Runtime, tenant: Tenant, clock: FakeClock
) -> None:
    await apply(runtime, tenant, '[[rules]]\nid = "rl"\nkind = "rate_limit"\ncalls = 3\nwindow = "minute"\n')
    codes = [(await pay(runtime, caller(tenant), f"1.0{i}")).code.value for i in range(5)]
    assert codes == ["executed", "executed", "executed", "rate_limited", "rate_limited"]
    clock.advance(seconds=60)
    assert (await pay(runtime, caller(tenant), "1.09")).status is Status.EXECUTED


async def test_under_the_default_policy_a_new_payee_waits_once_then_is_known(runtime: Runtime, tenant: Tenant) -> None:
    await runtime.control.config.apply_policy(tenant.admin, None, None, default_source())
    first = await pay(runtime, caller(tenant), "20.00", "acct:new-vendor")
    assert (first.status, first.code.value) == (Status.PENDING_APPROVAL, "approval_required")
    assert (await runtime.control.approvals.approve(tenant.admin, first.approval_id or "")).status is Status.EXECUTED
    again = await pay(runtime, caller(tenant), "21.00", "acct:new-vendor")
    assert again.status is Status.EXECUTED, "paid once before: known"


async def test_a_payee_named_in_the_covering_mandate_is_known_without_a_first_payment(
    runtime: Runtime, tenant: Tenant
) -> None:
    await runtime.control.config.apply_policy(tenant.admin, None, None, default_source())
    await runtime.control.mandates.revoke(tenant.admin, tenant.mandate_id, reason="allow-list")
    spec = MandateSpec(
        agent_id=tenant.agent_id,
        currency="USD",
        max_per_use="200.00",
        total_cap="1000.00",
        purpose="rent",
        counterparties=("acct:landlord",),
    )
    await runtime.control.mandates.issue(tenant.admin, spec)
    assert (await pay(runtime, caller(tenant), "150.00", "acct:landlord")).status is Status.EXECUTED


async def test_a_payment_the_rail_refused_gives_its_amount_back_to_the_budget(runtime: Runtime, tenant: Tenant) -> None:
    await apply(
        runtime, tenant, '[[rules]]\nid = "day"\nkind = "budget"\ncurrency = "USD"\namount = "600.00"\nwindow = "day"\n'
    )
    await wide_mandate(runtime, tenant, tenant.agent_id)
    refused = await pay(runtime, caller(tenant), "500.00", "shop@reject.sandbox")
    assert refused.status is Status.FAILED
    assert (await pay(runtime, caller(tenant), "590.00")).status is Status.EXECUTED
    assert (await pay(runtime, caller(tenant), "10.01")).code.value == "budget_exceeded"


async def test_a_per_payee_limit_holds_across_agents_of_a_project(runtime: Runtime, tenant: Tenant) -> None:
    await apply(
        runtime,
        tenant,
        '[[rules]]\nid = "per-payee"\nkind = "counterparty_limit"\npayments = 2\nwindow = "day"\nper = "project"\n',
    )
    assert (await pay(runtime, caller(tenant), "1.00", "acct:one")).status is Status.EXECUTED
    assert (await pay(runtime, caller(tenant), "1.01", "acct:one")).status is Status.EXECUTED
    assert (await pay(runtime, caller(tenant), "1.02", "acct:one")).code.value == "counterparty_limit_exceeded"
    assert (await pay(runtime, caller(tenant), "1.03", "acct:two")).status is Status.EXECUTED


async def test_sixty_four_concurrent_payments_never_take_the_day_past_its_budget(
    runtime: Runtime, tenant: Tenant
) -> None:
    await apply(
        runtime, tenant, '[[rules]]\nid = "day"\nkind = "budget"\ncurrency = "USD"\namount = "600.00"\nwindow = "day"\n'
    )
    outcomes: list[Outcome] = []

    async def one(i: int) -> None:
        outcomes.append(await pay(runtime, caller(tenant), "20.00", f"acct:p{i}", key=f"k{i}"))

    async with anyio.create_task_group() as tg:
        for i in range(64):
            tg.start_soon(one, i)
    settled = sum(o.amount.amount_minor for o in outcomes if o.status is Status.EXECUTED and o.amount)
    assert settled == 60_000, "exactly the budget, never more"
    assert sum(o.code.value == "budget_exceeded" for o in outcomes) == 34


async def test_simulate_replays_recorded_calls_and_lists_only_the_decisions_that_change(
    runtime: Runtime, tenant: Tenant, clock: FakeClock
) -> None:
    for amount, payee in (("100.00", "acct:a"), ("120.00", "acct:b"), ("90.00", "acct:c")):
        assert (await pay(runtime, caller(tenant), amount, payee)).status is Status.EXECUTED
        clock.advance(seconds=60)
    proposed = TEST_POLICY.replace('amount = "600.00"', 'amount = "250.00"') + (
        '\n[[rules]]\nid = "no-b"\nkind = "deny_counterparty"\ncounterparties = ["acct:b"]\n'
    )
    _, found = await runtime.control.config.simulate(tenant.admin, None, None, proposed, days=7)
    assert found.replayed == 3
    changed = [(c.amount_minor, c.before.code.value, c.after.code.value, c.after.rule_id) for c in found.changes]
    # acct:b is now blocked, so it no longer counts against the day: acct:c still fits in 250.00.
    assert changed == [(12_000, "ok", "counterparty_blocked", "no-b")]
    tighter = TEST_POLICY.replace('amount = "600.00"', 'amount = "200.00"')
    _, found = await runtime.control.config.simulate(tenant.admin, None, None, tighter, days=7)
    assert [(c.amount_minor, c.after.code.value) for c in found.changes] == [(12_000, "budget_exceeded")]
    _, same = await runtime.control.config.simulate(tenant.admin, None, None, TEST_POLICY, days=7)
    assert same.changes == []
    no_sandbox = TEST_POLICY + '\n[[rules]]\nid = "no-play"\nkind = "deny_rail"\nrails = ["sandbox"]\n'
    _, railed = await runtime.control.config.simulate(tenant.admin, None, None, no_sandbox, days=7)
    assert {c.after.code.value for c in railed.changes} == {"rail_blocked"} and len(railed.changes) == 3, (
        "the replay judges each call by the rail it went through"
    )
