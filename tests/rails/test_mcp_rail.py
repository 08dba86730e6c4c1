"""An upstream MCP server as a governed rail: a payments server written here, with no idempotency of its
own, served over Streamable HTTP on 127.0.0.1; fiduciary calls its tool through the gate.

What fiduciary adds in front of it: one payment per idempotency key however often the agent asks,
answers checked, a lost answer looked up with the status tool and never sent blind, and the
server's text kept from the model.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import pytest

from fiduciary.control import Tenant
from fiduciary.domain.clock import FakeClock
from fiduciary.domain.intents import AgentRef, PaymentRequest, Tool
from fiduciary.domain.results import Outcome, Status
from fiduciary.runtime import Runtime, open_runtime
from fiduciary.settings import Settings
from tests.fakes.mcp_upstream import Upstream, served

pytestmark = pytest.mark.anyio

RAIL = """
[[rails]]
name = "acme"
kind = "mcp"
url = "{url}"
tool = "create_payment"
arguments = {{ amount = "amount_minor", currency = "currency", to = "counterparty_value", ref = "idempotency_key" }}
receipt = {{ reference = "id", amount = "amount", currency = "currency", status = "status" }}
succeeded = ["paid"]
failed = ["declined"]
status_tool = "get_payment"
status_argument = "ref"
timeout_ms = 1500
"""


@asynccontextmanager
async def governed(settings: Settings, clock: FakeClock, upstream: Upstream) -> AsyncIterator[Runtime]:
    async with served(upstream) as url:
        settings.rails_path.write_text(RAIL.format(url=url) + '\n[routing]\nacct = "acme"\n')
        async with open_runtime(replace(settings, environ={}), clock=clock) as rt:
            yield rt


async def pay(rt: Runtime, tenant: Tenant, to: str = "acct:shop", key: str = "k1") -> Outcome:
    caller = AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id)
    request = PaymentRequest(Tool.PAY, "stock", "12.00", "USD", to, idempotency_key=key)
    return await rt.gate.request(caller, request, reference=f"ref_{key}")


async def test_a_tool_of_an_upstream_server_pays_once_per_key_behind_the_gate(
    settings: Settings, clock: FakeClock, tenant: Tenant
) -> None:
    upstream = Upstream()
    async with governed(settings, clock, upstream) as rt:
        first = await pay(rt, tenant)
        again = await pay(rt, tenant)
        assert first.status is Status.EXECUTED and again.replayed and again.transaction_id == first.transaction_id
        assert first.rail_reference == "pay_1"
        assert first.rail_note is None, "the upstream's text never reaches the model"
        refused = await pay(rt, tenant, to="acct:blocked", key="k2")
        assert (refused.status, refused.code.value) == (Status.FAILED, "rail_rejected")
    assert len(upstream.payments) == 1, "a server without idempotency was asked once"


async def test_an_upstream_answer_about_another_amount_is_not_believed(
    settings: Settings, clock: FakeClock, tenant: Tenant
) -> None:
    upstream = Upstream(wrong_amount=True)
    async with governed(settings, clock, upstream) as rt:
        outcome = await pay(rt, tenant)
        assert (outcome.status, outcome.code.value) == (Status.UNKNOWN, "outcome_unknown")
        (flag,) = await rt.store.read.flags()
        assert flag.kind == "answer_mismatch"


async def test_a_lost_upstream_answer_is_looked_up_never_sent_again(
    settings: Settings, clock: FakeClock, tenant: Tenant
) -> None:
    upstream = Upstream(lose_next_answer=True)
    async with governed(settings, clock, upstream) as rt:
        outcome = await pay(rt, tenant)
        assert outcome.status is Status.EXECUTED, "the status tool found the payment the lost answer was about"
        (report,) = await rt.control.reconciliation.run(tenant.admin)
        assert report.skipped and report.flags == [], "an MCP tool cannot list receipts: nothing to match"
    assert len(upstream.payments) == 1


async def test_without_the_servers_idempotency_a_payment_it_does_not_know_is_never_sent_again(
    settings: Settings, clock: FakeClock, tenant: Tenant
) -> None:
    upstream = Upstream(stall_next_unpaid=True)
    async with governed(settings, clock, upstream) as rt:
        outcome = await pay(rt, tenant)
        assert (outcome.status, outcome.code.value) == (Status.UNKNOWN, "outcome_unknown")
        for _ in range(3):
            await rt.gate.sweep(idle_seconds=0)
        txn = await rt.store.read.transaction_by_id(outcome.transaction_id or "")
        assert txn is not None and txn.state.value == "unknown", "not found proves nothing: a person decides"
    assert upstream.calls == 1 and upstream.payments == []
