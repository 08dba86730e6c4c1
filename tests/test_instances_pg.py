"""Two instances on one PostgreSQL database keep every guarantee one instance keeps.

Each instance here is a runtime of its own (its own connection pool, gate and rails) on the
same database and data directory, as two servers behind a load balancer would be.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import psycopg
import pytest

from fiduciary.control import MandateSpec, Scope, Tenant, verify_chain
from fiduciary.domain.clock import FakeClock
from fiduciary.domain.errors import StoreError
from fiduciary.domain.intents import AgentRef, PaymentRequest, Tool
from fiduciary.domain.results import Outcome, Status
from fiduciary.keyring import Keyring
from fiduciary.mandates import OpenTerms
from fiduciary.mandates.keys import new_master_key
from fiduciary.runtime import Runtime, open_runtime
from fiduciary.settings import Settings
from fiduciary.store.postgres.store import PgStore
from tests.conftest import TEST_POLICY, make_tenant
from tests.pg import postgres_settings

pytestmark = pytest.mark.anyio

TERMS = OpenTerms(currency="USD", max_per_use_minor=5_000, total_cap_minor=10**9, tools=("pay",), purpose="tests")


@pytest.fixture
def settings(tmp_path: Path, pg_url: str) -> Settings:
    return postgres_settings(tmp_path, pg_url)


def request(i: int, *, key: str | None = None) -> PaymentRequest:
    return PaymentRequest(Tool.PAY, "supplies", "20.00", "USD", f"acct:shop{i}", idempotency_key=key or f"k{i}")


async def test_payments_through_two_instances_never_pass_the_daily_budget_and_the_chain_holds(
    settings: Settings, clock: FakeClock
) -> None:
    assert 'id = "daily-budget-usd"' in TEST_POLICY and 'amount = "600.00"' in TEST_POLICY
    tenant: Tenant = await make_tenant(settings, clock, terms=TERMS)
    caller = AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id)
    outcomes: list[Outcome] = []
    async with open_runtime(settings, clock=clock) as one, open_runtime(settings, clock=clock) as two:

        async def pay(rt: Runtime, i: int) -> None:
            outcomes.append(await rt.gate.request(caller, request(i), reference=f"ref_{i}"))

        async with anyio.create_task_group() as tg:
            for i in range(64):
                tg.start_soon(pay, one if i % 2 else two, i)
        report = await verify_chain(one.store.read, tenant.org_id)
    settled = [o for o in outcomes if o.status is Status.EXECUTED]
    assert len(settled) == 30, "exactly 600.00 in 20.00 payments, whichever instance took them"
    assert {o.code.value for o in outcomes if o.status is not Status.EXECUTED} == {"budget_exceeded"}
    assert report.ok, report


async def test_one_key_sent_to_two_instances_at_once_is_one_payment(settings: Settings, clock: FakeClock) -> None:
    tenant = await make_tenant(settings, clock, terms=TERMS)
    caller = AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id)
    outcomes: list[Outcome] = []
    async with open_runtime(settings, clock=clock) as one, open_runtime(settings, clock=clock) as two:

        async def pay(rt: Runtime) -> None:
            outcomes.append(await rt.gate.request(caller, request(1, key="invoice-7"), reference="ref_x"))

        async with anyio.create_task_group() as tg:
            for rt in (one, two, one, two):
                tg.start_soon(pay, rt)
        wallet = await one.store.read.wallet(caller, "USD")
        again = await two.gate.request(caller, request(1, key="invoice-7"), reference="ref_y")
    assert len({o.transaction_id for o in [*outcomes, again]}) == 1
    (first,) = [o for o in outcomes if not o.replayed]
    assert first.status is Status.EXECUTED, "the others were told about the one payment, however far it had got"
    assert again.replayed and again.status is Status.EXECUTED
    assert wallet is not None and wallet.available_minor == 100_000 - 2_000
    ledger = settings.sandbox_ledger.read_text().splitlines()
    assert len(ledger) == 1, "the rail was paid once"


async def test_a_connection_lost_mid_transaction_fails_the_call_and_leaves_nothing_half_written(pg_url: str) -> None:
    store = await PgStore.open(pg_url, clock=FakeClock(), signers=Keyring(new_master_key()))
    try:
        with pytest.raises(StoreError):
            async with store.write() as w:
                await w.insert_org("org_a", "a")
                (row,) = await w._all("SELECT pg_backend_pid() AS pid")
                async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as other:
                    await other.execute("SELECT pg_terminate_backend(%s)", (row["pid"],))
                await w.insert_project("org_a", "prj_a", "p")
        assert "org_a" not in await store.read.org_ids(), "the transaction rolled back whole"
        async with store.write() as w:  # the pool replaced the lost connection
            await w.insert_org("org_b", "b")
        assert "org_b" in await store.read.org_ids()
    finally:
        await store.close()


async def test_a_policy_version_a_kill_switch_and_a_revocation_made_on_one_instance_hold_on_the_other_at_once(
    settings: Settings, clock: FakeClock
) -> None:
    tenant = await make_tenant(settings, clock, terms=TERMS)
    caller = AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id)
    assert 'amount = "500.00"' in TEST_POLICY
    async with open_runtime(settings, clock=clock) as one, open_runtime(settings, clock=clock) as two:
        assert (await one.gate.request(caller, request(1), reference="ref_1")).status is Status.EXECUTED  # warm
        stricter = TEST_POLICY.replace('amount = "500.00"', 'amount = "15.00"', 1)
        await two.control.config.apply_policy(tenant.admin, None, None, stricter)
        over = await one.gate.request(caller, request(2), reference="ref_2")
        assert (over.status, over.code.value) == (Status.DENIED, "amount_over_limit"), "the new version, at once"

        await two.control.config.apply_policy(tenant.admin, None, None, TEST_POLICY)
        await two.control.kill.pull(tenant.admin, Scope.AGENT, tenant.agent_id, reason="incident")
        frozen = await one.gate.request(caller, request(3), reference="ref_3")
        assert (frozen.status, frozen.code.value) == (Status.DENIED, "agent_frozen")
        await two.control.kill.lift(tenant.admin, Scope.AGENT, tenant.agent_id)
        revoked = await one.gate.request(caller, request(4), reference="ref_4")
        assert revoked.code.value == "mandate_revoked", "the kill switch revoked the mandate for good"

        spec = MandateSpec(agent_id=tenant.agent_id, currency="USD", max_per_use="50.00", total_cap="100.00",
                           purpose="after the incident")  # fmt: skip
        issued = await two.control.mandates.issue(tenant.admin, spec)
        assert (await one.gate.request(caller, request(5), reference="ref_5")).status is Status.EXECUTED
        await two.control.mandates.revoke(tenant.admin, issued.row.mandate_id, reason="done")
        after = await one.gate.request(caller, request(6), reference="ref_6")
        assert (after.status, after.code.value) == (Status.DENIED, "mandate_revoked")


async def test_two_orgs_pay_side_by_side_each_within_its_budget_and_each_chain_holds(
    settings: Settings, clock: FakeClock
) -> None:
    first = await make_tenant(settings, clock, terms=TERMS)
    second = await make_tenant(settings, clock, terms=TERMS)
    callers = [AgentRef(t.org_id, t.project_id, t.agent_id) for t in (first, second)]
    assert callers[0].org_id != callers[1].org_id
    outcomes: list[tuple[str, Outcome]] = []
    async with open_runtime(settings, clock=clock) as one, open_runtime(settings, clock=clock) as two:

        async def pay(rt: Runtime, caller: AgentRef, i: int) -> None:
            outcomes.append((caller.org_id, await rt.gate.request(caller, request(i), reference=f"ref_{i}")))

        async with anyio.create_task_group() as tg:
            for i in range(64):
                tg.start_soon(pay, one if i % 2 else two, callers[i % 4 // 2], i)
        reports = [await verify_chain(one.store.read, caller.org_id) for caller in callers]
    for caller in callers:
        settled = [o for org, o in outcomes if org == caller.org_id and o.status is Status.EXECUTED]
        assert len(settled) == 30, "each org's 600.00 day, in 20.00 payments, whichever instance took them"
    assert all(report.ok for report in reports), reports


async def test_a_transaction_of_one_org_that_writes_another_orgs_chain_is_refused_and_rolled_back(
    settings: Settings, clock: FakeClock
) -> None:
    first = await make_tenant(settings, clock, terms=TERMS)
    second = await make_tenant(settings, clock, terms=TERMS)
    async with open_runtime(settings, clock=clock) as rt:
        head = await rt.store.read.audit_head(first.org_id)
        with pytest.raises(StoreError, match="may not write the chain of"):
            async with rt.store.write(second.org_id) as w:
                await w.audit(second.org_id, None, actor="system", type="test.mine", subject=None, payload={})
                await w.audit(first.org_id, None, actor="system", type="test.theirs", subject=None, payload={})
        assert await rt.store.read.audit_head(first.org_id) == head
        assert not [e for e in await rt.store.read.audit_page(second.org_id, after_seq=0, limit=1000)
                    if e.body.type == "test.mine"], "the whole transaction rolled back"  # fmt: skip
