"""Payments through the gate to a configured rail (the wire adapter against its fake provider):
routing, pending outcomes settled by status, a repeated reference not believed, nothing sent where no
rail carries the counterparty, and the credential nowhere but in the request."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import pytest

from fiduciary.control import MandateSpec, Scope, Tenant
from fiduciary.domain.clock import FakeClock
from fiduciary.domain.errors import InputError
from fiduciary.domain.intents import AgentRef, PaymentRequest, Tool
from fiduciary.domain.results import Outcome, Status
from fiduciary.runtime import Runtime, open_runtime
from fiduciary.settings import Settings
from tests.conftest import TEST_POLICY
from tests.fakes import FakeWire, serve

pytestmark = pytest.mark.anyio

SECRET = "mt-secret-7Q2xZ"


@asynccontextmanager
async def wired(
    settings: Settings, clock: FakeClock, fake: FakeWire, *, sandbox: bool = True
) -> AsyncIterator[Runtime]:
    async with serve(fake) as url:
        text = (
            f'[[rails]]\nname = "mt"\nkind = "wire"\nbase_url = "{url}"\ncredential_env = "MT_CREDENTIAL"\n'
            'originating_account_id = "acc_ours"\ntimeout_ms = 500\nretry = { attempts = 2, base_ms = 1, max_ms = 5 }\n'
        )
        if sandbox:
            text += '\n[[rails]]\nname = "sandbox"\nkind = "sandbox"\n'
        settings.rails_path.write_text(text)
        env = replace(settings, environ={"MT_CREDENTIAL": f"org-1:{SECRET}"})
        async with open_runtime(env, clock=clock) as rt:
            yield rt


async def pay(rt: Runtime, tenant: Tenant, counterparty: str, amount: str = "100.00", key: str = "k1") -> Outcome:
    caller = AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id)
    request = PaymentRequest(Tool.PAY, "rent", amount, "USD", counterparty, idempotency_key=key)
    return await rt.gate.request(caller, request, reference=f"ref_{key}")


async def balance(rt: Runtime, tenant: Tenant) -> tuple[int, int]:
    wallet = await rt.store.read.wallet(AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id), "USD")
    assert wallet is not None
    return wallet.available_minor, wallet.held_minor


async def test_an_account_payment_goes_by_wire_and_settles_when_the_order_completes(
    settings: Settings, clock: FakeClock, tenant: Tenant
) -> None:
    fake = FakeWire("org-1", SECRET)
    async with wired(settings, clock, fake) as rt:
        first = await pay(rt, tenant, "acct:123456789")
        assert (first.status, first.code.value) == (Status.UNKNOWN, "outcome_unknown"), "the order is pending"
        assert await balance(rt, tenant) == (90_000, 10_000), "the hold stays while the bank works"
        for _ in range(4):
            await rt.gate.sweep(idle_seconds=0)
        txn = await rt.store.read.transaction_by_id(first.transaction_id or "")
        assert txn is not None and txn.state.value == "settled" and txn.rail == "mt"
        assert await balance(rt, tenant) == (90_000, 0)
        sandboxed = await pay(rt, tenant, "pix:maria@example.com", amount="10.00", key="k2")
        assert sandboxed.status is Status.EXECUTED, "no Pix rail: the sandbox carries it"
    assert fake.created_count(f"fid-{first.transaction_id}") == 1


async def test_an_answer_with_another_payments_reference_is_not_believed_and_flagged(
    settings: Settings, clock: FakeClock, tenant: Tenant
) -> None:
    fake = FakeWire("org-1", SECRET)
    async with wired(settings, clock, fake) as rt:
        first = await pay(rt, tenant, "acct:123456789")
        for _ in range(4):
            await rt.gate.sweep(idle_seconds=0)
        fake.faults.add("stale_reference", count=10, path_prefix="/api/payment_orders")
        second = await pay(rt, tenant, "acct:987654321", key="k2")
        for _ in range(4):
            await rt.gate.sweep(idle_seconds=0)
        txn = await rt.store.read.transaction_by_id(second.transaction_id or "")
        assert txn is not None and txn.state.value == "unknown", "not settled on someone else's receipt"
        (flag,) = await rt.store.read.flags()
        assert (flag.kind, flag.transaction_id) == ("answer_mismatch", second.transaction_id)
        assert await balance(rt, tenant) == (80_000, 10_000), "its hold stays until a person looks"
    assert first.transaction_id != second.transaction_id


async def test_a_counterparty_no_rail_carries_is_rolled_back_and_nothing_is_sent(
    settings: Settings, clock: FakeClock, tenant: Tenant
) -> None:
    fake = FakeWire("org-1", SECRET)
    async with wired(settings, clock, fake, sandbox=False) as rt:
        outcome = await pay(rt, tenant, "pix:maria@example.com")
        assert (outcome.status, outcome.code.value) == (Status.DENIED, "rail_unavailable")
        assert await balance(rt, tenant) == (100_000, 0)
    assert fake.objects == []


async def test_a_provider_that_is_down_fails_the_payment_cleanly(
    settings: Settings, clock: FakeClock, tenant: Tenant
) -> None:
    fake = FakeWire("org-1", SECRET)
    fake.faults.add("unavailable", count=10, path_prefix="/api/payment_orders")
    async with wired(settings, clock, fake) as rt:
        outcome = await pay(rt, tenant, "acct:123456789")
        assert (outcome.status, outcome.code.value) == (Status.FAILED, "rail_unavailable")
        assert await balance(rt, tenant) == (100_000, 0), "nothing moved: the hold is released"


async def test_the_credential_reaches_no_table_no_log_and_no_result(
    settings: Settings, clock: FakeClock, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake = FakeWire("org-1", SECRET)
    fake.faults.add("timeout", path_prefix="/api/payment_orders", delay=1.0)
    async with wired(settings, clock, fake) as rt:
        outcome = await pay(rt, tenant, "acct:123456789")
        await rt.gate.sweep(idle_seconds=0)
        await rt.control.reconciliation.run(tenant.admin)
        statuses = await rt.control.rails.status(tenant.admin, probe=True)
    assert SECRET not in repr(outcome) and SECRET not in repr(statuses)
    for path in settings.home.rglob("*"):
        if path.is_file() and path.name != "rails.toml":
            assert SECRET.encode() not in path.read_bytes(), path
    assert SECRET not in caplog.text


async def test_a_frozen_rail_receives_nothing_and_the_rest_carries_on(
    settings: Settings, clock: FakeClock, tenant: Tenant
) -> None:
    fake = FakeWire("org-1", SECRET)
    async with wired(settings, clock, fake) as rt:
        report = await rt.control.kill.pull(tenant.admin, Scope.RAIL, "mt", reason="the bank reports an outage")
        assert (report.scope, report.target, report.agents) == (Scope.RAIL, "mt", 0)
        stopped = await pay(rt, tenant, "acct:123456789")
        assert (stopped.status, stopped.code.value) == (Status.DENIED, "rail_frozen")
        assert await balance(rt, tenant) == (100_000, 0), "rolled back before the rail: the hold is released"
        other = await pay(rt, tenant, "pix:maria@example.com", amount="5.00", key="k2")
        assert other.status is Status.EXECUTED, "other rails carry on"
        with pytest.raises(InputError, match="already frozen"):
            await rt.control.kill.pull(tenant.admin, Scope.RAIL, "mt", reason="again")
        with pytest.raises(InputError, match="no rail nowhere"):
            await rt.control.kill.pull(tenant.admin, Scope.RAIL, "nowhere", reason="typo")
        await rt.control.kill.lift(tenant.admin, Scope.RAIL, "mt")
        again = await pay(rt, tenant, "acct:123456789", key="k3")
        assert again.status is Status.UNKNOWN, "lifted: the order is sent (and pending at the bank)"
    assert len(fake.objects) == 1


async def test_a_call_may_name_its_rail_and_a_mandate_may_limit_the_rails(
    settings: Settings, clock: FakeClock, tenant: Tenant
) -> None:
    fake = FakeWire("org-1", SECRET)
    async with wired(settings, clock, fake) as rt:
        caller = AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id)

        async def named(rail: str, key: str) -> Outcome:
            request = PaymentRequest(Tool.PAY, "rent", "10.00", "USD", "acct:123456789", idempotency_key=key, rail=rail)
            return await rt.gate.request(caller, request, reference=f"ref_{key}")

        by_name = await named("sandbox", "n1")
        assert by_name.status is Status.EXECUTED and fake.objects == [], "named: the sandbox, not the bank"
        unknown = await named("nowhere", "n2")
        assert (unknown.status, unknown.code.value) == (Status.DENIED, "rail_unavailable")
        replayed = await named("sandbox", "n1")
        assert replayed.replayed and replayed.transaction_id == by_name.transaction_id
        other_rail = await named("mt", "n1")
        assert other_rail.code.value == "idempotency_conflict", "the rail is part of the arguments a key binds to"

        await rt.control.mandates.revoke(tenant.admin, tenant.mandate_id, reason="replaced by a wire-only one")
        spec = MandateSpec(agent_id=tenant.agent_id, currency="USD", max_per_use="100.00", total_cap="500.00",
                           purpose="wires", rails=("mt",))  # fmt: skip
        issued = await rt.control.mandates.issue(tenant.admin, spec)
        assert issued.mandate is not None and issued.mandate.terms.rails == ("mt",)
        to_sandbox = await pay(rt, tenant, "pix:maria@example.com", amount="5.00", key="n3")
        assert (to_sandbox.status, to_sandbox.code.value) == (Status.DENIED, "no_mandate"), "refused at once"
        by_wire = await pay(rt, tenant, "acct:123456789", amount="5.00", key="n4")
        assert by_wire.status is Status.UNKNOWN, "covered: sent as a payment order"


async def test_a_policy_may_deny_a_rail(settings: Settings, clock: FakeClock, tenant: Tenant) -> None:
    fake = FakeWire("org-1", SECRET)
    policy = TEST_POLICY + '\n[[rules]]\nid = "no-wires"\nkind = "deny_rail"\nrails = ["mt"]\n'
    async with wired(settings, clock, fake) as rt:
        await rt.control.config.apply_policy(tenant.admin, tenant.org_id, tenant.project_id, policy)
        denied = await pay(rt, tenant, "acct:123456789")
        assert (denied.status, denied.code.value) == (Status.DENIED, "rail_blocked")
        allowed = await pay(rt, tenant, "pix:maria@example.com", amount="5.00", key="k2")
        assert allowed.status is Status.EXECUTED, "the sandbox is not denied"
    assert fake.objects == []


async def test_an_admin_decides_a_payment_the_rail_never_made_clear(
    settings: Settings, clock: FakeClock, tenant: Tenant
) -> None:
    fake = FakeWire("org-1", SECRET)
    fake.faults.add("wrong_amount", count=20, path_prefix="/api/payment_orders")
    async with wired(settings, clock, fake) as rt:
        kept = await pay(rt, tenant, "acct:123456789")
        lost = await pay(rt, tenant, "acct:987654321", key="k2")
        assert {kept.status, lost.status} == {Status.UNKNOWN} and await balance(rt, tenant) == (80_000, 20_000)

        settled = await rt.control.reconciliation.decide(
            tenant.admin, kept.transaction_id or "", settled_reference="MT-2026-0001", note="in the bank statement"
        )
        assert settled.state.value == "settled" and settled.rail_reference == "MT-2026-0001"
        failed = await rt.control.reconciliation.decide(
            tenant.admin, lost.transaction_id or "", settled_reference=None, note="the bank never sent it"
        )
        assert failed.state.value == "released"
        assert await balance(rt, tenant) == (90_000, 0), "one debited, one given back"
        with pytest.raises(InputError, match="not unknown"):
            await rt.control.reconciliation.decide(tenant.admin, kept.transaction_id or "", settled_reference=None,
                                                   note="again")  # fmt: skip
        entries = await rt.store.read.audit_by_subject(tenant.org_id, kept.transaction_id or "")
        assert (
            entries[-1].body.actor == tenant.admin.actor and entries[-1].body.payload["note"] == "in the bank statement"
        )
