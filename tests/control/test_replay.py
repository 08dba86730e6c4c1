"""`audit replay` through the control service: the chain alone rebuilds what the tables hold, and an
edit made to a table behind the chain's back is named, field by field."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fiduciary.control import Role, Tenant
from fiduciary.control.replay import Difference, ReplayReport, replay_org
from fiduciary.domain.clock import FakeClock, iso
from fiduciary.domain.errors import AccessError, InputError
from fiduciary.domain.intents import AgentRef, PaymentRequest, Tool
from fiduciary.domain.money import Money
from fiduciary.domain.results import Outcome, Status
from fiduciary.runtime import Runtime
from tests.rows import execute, rows

pytestmark = pytest.mark.anyio


def caller_of(tenant: Tenant) -> AgentRef:
    return AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id)


async def request(
    rt: Runtime,
    tenant: Tenant,
    amount: str,
    counterparty: str | None = "acct:supplies",
    *,
    tool: Tool = Tool.PAY,
    rail: str | None = None,
    original: str | None = None,
) -> Outcome:
    call = PaymentRequest(tool, "replayed", amount, "USD", counterparty, rail=rail, original_transaction_id=original)
    return await rt.gate.request(caller_of(tenant), call, reference="ref_replay_day")


async def a_day_of_payments(rt: Runtime, tenant: Tenant) -> dict[str, Outcome]:
    """Funding, payments that settle, one approved, one rejected, one the rail refuses, one rolled back
    before the rail, a charge and its refund, and the mandate revoked at the end."""
    admin = tenant.admin
    await rt.control.wallets.fund(admin, tenant.agent_id, Money(20_000, "USD"))
    done = {"settled": await request(rt, tenant, "120.00")}
    done["approved"] = await request(rt, tenant, "300.00", "acct:laptops")
    done["rejected"] = await request(rt, tenant, "260.00", "acct:chairs")
    await rt.control.approvals.reject(admin, done["rejected"].approval_id or "", reason="not budgeted")
    assert (await rt.control.approvals.approve(admin, done["approved"].approval_id or "")).status is Status.EXECUTED
    done["refused"] = await request(rt, tenant, "50.00", "shop@reject.sandbox")
    done["rolled_back"] = await request(rt, tenant, "40.00", rail="elsewhere")
    done["charge"] = await request(rt, tenant, "80.00", "cus:ana", tool=Tool.CHARGE)
    done["refund"] = await request(rt, tenant, "30.00", None, tool=Tool.REFUND, original=done["charge"].transaction_id)
    ends = {name: done[name].status for name in ("settled", "refused", "rolled_back", "charge", "refund")}
    assert ends == {"settled": Status.EXECUTED, "refused": Status.FAILED, "rolled_back": Status.DENIED,
                    "charge": Status.EXECUTED, "refund": Status.EXECUTED}  # fmt: skip
    await rt.control.mandates.revoke(admin, tenant.mandate_id, reason="the day is over")
    return done


async def replayed(rt: Runtime, tenant: Tenant, **point: object) -> ReplayReport:
    (report,) = await rt.control.records.replay(tenant.admin, tenant.org_id, **point)  # type: ignore[arg-type]
    return report


async def test_replay_of_a_day_of_payments_agrees_with_every_table(runtime: Runtime, tenant: Tenant) -> None:
    done = await a_day_of_payments(runtime, tenant)
    report = await replayed(runtime, tenant)
    assert report.compared and report.agrees and report.steady, report.differences
    built = report.rebuilt
    assert built.gaps == () and built.through_seq == report.head_seq
    (wallet,) = built.wallets.values()
    assert (wallet.available_minor, wallet.held_minor) == (100_000 + 20_000 - 12_000 - 30_000 + 8_000 - 3_000, 0)
    mandate = built.mandates[tenant.mandate_id]
    assert (mandate.status, mandate.uses, mandate.used_minor) == ("revoked", 4, 53_000)
    states = {name: built.transactions[o.transaction_id or ""].state for name, o in done.items()}
    assert states == {
        "settled": "settled", "approved": "settled", "rejected": "rejected", "refused": "released",
        "rolled_back": "rolled_back", "charge": "settled", "refund": "settled",
    }  # fmt: skip
    everyone = await runtime.control.records.replay(tenant.admin)
    assert {r.org_id for r in everyone} == {tenant.org_id, "org_platform"} and all(r.agrees for r in everyone)


async def test_replay_names_a_wallet_balance_edited_in_the_table(runtime: Runtime, tenant: Tenant) -> None:
    await a_day_of_payments(runtime, tenant)
    sql = "UPDATE wallets SET available_minor = available_minor + 9900 WHERE org_id = ? AND agent_id = ?"
    execute(runtime.settings, sql, (tenant.org_id, tenant.agent_id))
    report = await replayed(runtime, tenant)
    assert report.differences == (
        Difference("wallet", tenant.project_id, f"{tenant.agent_id} USD", "available_minor", 83_000, 92_900, "USD"),
    )


async def test_replay_names_a_transaction_state_edited_in_the_table(runtime: Runtime, tenant: Tenant) -> None:
    done = await a_day_of_payments(runtime, tenant)
    txn = done["refused"].transaction_id
    execute(runtime.settings, "UPDATE transactions SET state = 'settled' WHERE transaction_id = ?", (txn,))
    report = await replayed(runtime, tenant)
    assert report.differences == (
        Difference("transaction", tenant.project_id, txn or "", "state", "released", "settled"),
    )


async def test_replay_names_a_mandates_usage_edited_in_the_table(runtime: Runtime, tenant: Tenant) -> None:
    await a_day_of_payments(runtime, tenant)
    sql = "UPDATE open_mandates SET uses = 1, used_minor = 100 WHERE mandate_id = ?"
    execute(runtime.settings, sql, (tenant.mandate_id,))
    report = await replayed(runtime, tenant)
    assert report.differences == (
        Difference("mandate", tenant.project_id, tenant.mandate_id, "uses", 4, 1),
        Difference("mandate", tenant.project_id, tenant.mandate_id, "used_minor", 53_000, 100, "USD"),
    )


async def test_replay_to_an_entry_before_a_payment_settled_shows_its_hold_and_compares_nothing(
    runtime: Runtime, tenant: Tenant, clock: FakeClock
) -> None:
    first = await request(runtime, tenant, "120.00")
    clock.advance(seconds=3600)
    await request(runtime, tenant, "50.00", "acct:pens")
    found = rows(
        runtime.settings,
        "SELECT seq, ts FROM audit WHERE org_id = ? AND subject = ? AND type = 'transaction.dispatching'",
        (tenant.org_id, first.transaction_id),
    )
    ((seq, ts),) = found
    execute(runtime.settings, "UPDATE wallets SET held_minor = 1 WHERE agent_id = ?", (tenant.agent_id,))
    report = await replayed(runtime, tenant, to_seq=seq)
    assert (report.compared, report.differences, report.rebuilt.through_seq) == (False, (), seq)
    (wallet,) = report.rebuilt.wallets.values()
    assert (wallet.available_minor, wallet.held_minor) == (88_000, 12_000)
    assert list(report.rebuilt.holds) == [first.transaction_id]
    assert {t.state for t in report.rebuilt.transactions.values()} == {"dispatching"}
    by_time = await replayed(runtime, tenant, to_time=iso(clock.now() - timedelta(seconds=1800)))
    assert not by_time.compared and {t.state for t in by_time.rebuilt.transactions.values()} == {"settled"}
    assert len(by_time.rebuilt.transactions) == 1 and ts < iso(clock.now())
    at_head = await replayed(runtime, tenant, to_time=iso(clock.now()))
    assert at_head.compared and [d.field for d in at_head.differences] == ["held_minor"]


async def test_replay_refuses_a_point_that_is_not_in_the_chain(runtime: Runtime, tenant: Tenant) -> None:
    head = rows(runtime.settings, "SELECT MAX(seq) FROM audit WHERE org_id = ?", (tenant.org_id,))[0][0]
    records, admin = runtime.control.records, tenant.admin
    for point, says in (
        ({"to_seq": head + 1}, f"has entries 1 to {head}"),
        ({"to_seq": -1}, "has entries 1 to"),
        ({"to_seq": 1, "to_time": "2026-01-05"}, "not both"),
        ({"to_time": "yesterday"}, "is not a date"),
    ):
        with pytest.raises(InputError, match=says):
            await records.replay(admin, tenant.org_id, **point)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="needs --org"):
        await records.replay(admin, to_seq=1)
    with pytest.raises(InputError, match="no org org_nope"):
        await records.replay(admin, "org_nope")


async def test_an_auditor_replays_and_an_approver_may_not(runtime: Runtime, tenant: Tenant) -> None:
    auditor, _ = await runtime.control.operators.add(tenant.admin, "audrey", Role.AUDITOR)
    approver, _ = await runtime.control.operators.add(tenant.admin, "april", Role.APPROVER)
    assert all(r.agrees for r in await runtime.control.records.replay(auditor))
    with pytest.raises(AccessError, match=r"may not audit\.verify"):
        await runtime.control.records.replay(approver)


class PaysWhileTheTablesAreRead:
    """The store's reads, with one real payment committed the first time the wallets are read."""

    def __init__(self, rt: Runtime, tenant: Tenant) -> None:
        self._rt, self._tenant, self.paid = rt, tenant, False

    def __getattr__(self, name: str) -> object:
        return getattr(self._rt.store.read, name)

    async def org_wallets(self, org_id: str) -> object:
        if not self.paid:
            self.paid = True
            await request(self._rt, self._tenant, "10.00", "acct:meanwhile")
        return await self._rt.store.read.org_wallets(org_id)


async def test_replay_catches_up_with_a_payment_committed_while_it_read_the_tables(
    runtime: Runtime, tenant: Tenant
) -> None:
    await request(runtime, tenant, "120.00")
    reads = PaysWhileTheTablesAreRead(runtime, tenant)
    report = await replay_org(reads, tenant.org_id)  # type: ignore[arg-type]
    assert reads.paid and report.compared and report.steady and report.agrees, report.differences
    assert (
        report.rebuilt.through_seq
        == report.head_seq
        == rows(runtime.settings, "SELECT MAX(seq) FROM audit WHERE org_id = ?", (tenant.org_id,))[0][0]
    )
    (wallet,) = report.rebuilt.wallets.values()
    assert wallet.available_minor == 100_000 - 12_000 - 1_000
