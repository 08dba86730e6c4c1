"""Funding a wallet through a rail (the card rail against the fake Stripe): credited only once the
rail confirms the collection, never twice, and nothing for a collection that failed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import pytest

from fiduciary.control import Tenant
from fiduciary.domain.clock import FakeClock
from fiduciary.domain.errors import InputError
from fiduciary.domain.intents import AgentRef
from fiduciary.runtime import Runtime, open_runtime
from fiduciary.settings import Settings
from tests.fakes import FakeStripe, serve

pytestmark = pytest.mark.anyio

SECRET = "sk_test_funding"


@asynccontextmanager
async def carded(settings: Settings, clock: FakeClock, fake: FakeStripe) -> AsyncIterator[Runtime]:
    async with serve(fake) as url:
        settings.rails_path.write_text(
            f'[[rails]]\nname = "stripe"\nkind = "card"\nbase_url = "{url}"\ncredential_env = "STRIPE"\n'
            "timeout_ms = 400\nretry = { attempts = 1, base_ms = 1, max_ms = 1 }\n"
            '\n[[rails]]\nname = "sandbox"\nkind = "sandbox"\n'
        )
        async with open_runtime(replace(settings, environ={"STRIPE": SECRET}), clock=clock) as rt:
            yield rt


async def available(rt: Runtime, tenant: Tenant) -> int:
    wallet = await rt.store.read.wallet(AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id), "USD")
    assert wallet is not None
    return wallet.available_minor


async def test_a_confirmed_collection_credits_the_wallet_once(
    settings: Settings, clock: FakeClock, tenant: Tenant
) -> None:
    fake = FakeStripe(SECRET)
    async with carded(settings, clock, fake) as rt:
        funding = await rt.control.wallets.fund_through(
            tenant.admin, tenant.agent_id, ("250.00", "USD"), rail="stripe", source="cus:cus_acme"
        )
        assert (funding.state, funding.rail_reference is not None) == ("credited", True)
        assert await available(rt, tenant) == 125_000
        assert await rt.gate.fundings.sweep() == 0, "nothing left open"
        entries = [e.body.type for e in await rt.store.read.audit_by_subject(tenant.org_id, tenant.agent_id)]
        assert "wallet.funding_requested" in entries and "wallet.funded" in entries
        (report, _) = await rt.control.reconciliation.run(tenant.admin)
        assert report.rail == "stripe" and report.flags == [], "a funding's receipt is no orphan"
    assert fake.created_count(f"fid-{funding.funding_id}", kind="payment_intent") == 1


async def test_a_declined_collection_credits_nothing(settings: Settings, clock: FakeClock, tenant: Tenant) -> None:
    async with carded(settings, clock, FakeStripe(SECRET)) as rt:
        funding = await rt.control.wallets.fund_through(
            tenant.admin, tenant.agent_id, ("250.00", "USD"), rail="stripe", source="card:pm_card_declined"
        )
        assert funding.state == "failed"
        assert await available(rt, tenant) == 100_000


async def test_a_lost_answer_is_credited_when_the_sweep_finds_the_collection(
    settings: Settings, clock: FakeClock, tenant: Tenant
) -> None:
    fake = FakeStripe(SECRET)
    fake.faults.add("timeout", path_prefix="/v1/payment_intents", delay=1.0)
    async with carded(settings, clock, fake) as rt:
        funding = await rt.control.wallets.fund_through(
            tenant.admin, tenant.agent_id, ("40.00", "USD"), rail="stripe", source="cus:cus_acme"
        )
        assert funding.state == "unknown" and await available(rt, tenant) == 100_000, "not credited on hope"
        assert await rt.gate.fundings.sweep() == 1
        assert await available(rt, tenant) == 104_000
        assert await rt.gate.fundings.sweep() == 0
    assert fake.created_count(f"fid-{funding.funding_id}", kind="payment_intent") == 1


@pytest.mark.parametrize(
    ("amount", "rail", "source", "message"),
    [
        (("0.00", "USD"), "stripe", "cus:cus_acme", "amount"),
        (("-5.00", "USD"), "stripe", "cus:cus_acme", "amount"),
        (("5.00", "USD"), "nowhere", "cus:cus_acme", "no rail nowhere"),
        (("5.00", "USD"), "stripe", "not an id", "counterparty"),
    ],
)
async def test_bad_funding_input_is_refused_and_nothing_moves(
    settings: Settings, clock: FakeClock, tenant: Tenant, amount: tuple[str, str], rail: str, source: str, message: str
) -> None:
    fake = FakeStripe(SECRET)
    async with carded(settings, clock, fake) as rt:
        with pytest.raises(InputError, match=message):
            await rt.control.wallets.fund_through(tenant.admin, tenant.agent_id, amount, rail=rail, source=source)
        assert await available(rt, tenant) == 100_000
    assert fake.objects == []
