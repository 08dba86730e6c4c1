"""The pure rebuild: an org's entries, as the real gate wrote them, in; wallets, holds, mandates' usage
and transactions' states out."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fiduciary.audit.chain import EntryBody
from fiduciary.audit.replay import Balance, Hold, Rebuilt, WalletKey, rebuild
from fiduciary.control import Scope, Tenant
from fiduciary.control.records import audit_entries
from fiduciary.domain.intents import AgentRef, PaymentRequest, Tool
from fiduciary.domain.results import Outcome, Status
from fiduciary.runtime import Runtime

pytestmark = pytest.mark.anyio


def caller(tenant: Tenant) -> AgentRef:
    return AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id)


def usd(tenant: Tenant) -> WalletKey:
    return WalletKey(tenant.project_id, tenant.agent_id, "USD")


async def pay(
    rt: Runtime,
    tenant: Tenant,
    amount: str,
    counterparty: str = "acct:supplies",
    *,
    tool: Tool = Tool.PAY,
    rail: str | None = None,
) -> Outcome:
    request = PaymentRequest(tool, "office supplies", amount, "USD", counterparty, rail=rail)
    return await rt.gate.request(caller(tenant), request, reference="ref_replay")


async def bodies(rt: Runtime, tenant: Tenant) -> list[EntryBody]:
    return [entry.body async for entry in audit_entries(rt.store.read, tenant.org_id)]


async def rebuilt(rt: Runtime, tenant: Tenant) -> Rebuilt:
    return rebuild(tenant.org_id, await bodies(rt, tenant))


async def test_a_settled_payment_leaves_the_wallet_and_uses_the_mandate(runtime: Runtime, tenant: Tenant) -> None:
    paid = await pay(runtime, tenant, "120.00")
    state = await rebuilt(runtime, tenant)
    assert state.wallets == {usd(tenant): Balance(88_000, 0)}
    assert state.holds == {}
    mandate = state.mandates[tenant.mandate_id]
    assert (mandate.status, mandate.uses, mandate.used_minor) == ("active", 1, 12_000)
    txn = state.transactions[paid.transaction_id or ""]
    assert (txn.state, txn.tool, txn.amount_minor, txn.agent_id) == ("settled", "pay", 12_000, tenant.agent_id)
    assert state.gaps == () and not state.unrebuilt_wallets


async def test_a_prefix_of_the_chain_is_the_state_before_the_payment_settled(runtime: Runtime, tenant: Tenant) -> None:
    paid = await pay(runtime, tenant, "120.00")
    entries = await bodies(runtime, tenant)
    dispatching = next(e.seq for e in entries if e.type == "transaction.dispatching")
    state = rebuild(tenant.org_id, entries[:dispatching])
    assert state.through_seq == dispatching
    assert state.wallets == {usd(tenant): Balance(88_000, 12_000)}
    assert state.holds == {paid.transaction_id: Hold(paid.transaction_id or "", usd(tenant), 12_000)}
    assert state.transactions[paid.transaction_id or ""].state == "dispatching"


async def test_a_payment_held_for_a_person_holds_nothing_until_approved_and_a_rejected_one_never_does(
    runtime: Runtime, tenant: Tenant
) -> None:
    approved, rejected = await pay(runtime, tenant, "300.00"), await pay(runtime, tenant, "260.00", "acct:b")
    waiting = await rebuilt(runtime, tenant)
    assert waiting.wallets == {usd(tenant): Balance(100_000, 0)}
    assert waiting.mandates[tenant.mandate_id].uses == 0
    await runtime.control.approvals.reject(tenant.admin, rejected.approval_id or "", reason="not budgeted")
    await runtime.control.approvals.approve(tenant.admin, approved.approval_id or "")
    state = await rebuilt(runtime, tenant)
    assert state.wallets == {usd(tenant): Balance(70_000, 0)}
    assert (state.mandates[tenant.mandate_id].uses, state.mandates[tenant.mandate_id].used_minor) == (1, 30_000)
    states = {t.transaction_id: t.state for t in state.transactions.values()}
    assert states == {approved.transaction_id: "settled", rejected.transaction_id: "rejected"}


async def test_a_rail_refusal_and_a_roll_back_give_back_the_hold_and_the_mandate_use(
    runtime: Runtime, tenant: Tenant
) -> None:
    refused = await pay(runtime, tenant, "50.00", "shop@reject.sandbox")
    stopped = await pay(runtime, tenant, "40.00", rail="elsewhere")
    assert (refused.status, stopped.status) == (Status.FAILED, Status.DENIED)
    state = await rebuilt(runtime, tenant)
    assert state.wallets == {usd(tenant): Balance(100_000, 0)} and state.holds == {}
    assert (state.mandates[tenant.mandate_id].uses, state.mandates[tenant.mandate_id].used_minor) == (0, 0)
    assert state.transactions[refused.transaction_id or ""].state == "released"
    assert state.transactions[stopped.transaction_id or ""].state == "rolled_back"
    assert state.gaps == ()


async def test_a_charge_credits_the_wallet_and_a_refund_of_it_leaves_it(runtime: Runtime, tenant: Tenant) -> None:
    charge = await pay(runtime, tenant, "80.00", "cus:ana", tool=Tool.CHARGE)
    refund = PaymentRequest(Tool.REFUND, "damaged", "30.00", original_transaction_id=charge.transaction_id)
    assert (await runtime.gate.request(caller(tenant), refund, reference="ref_r")).status is Status.EXECUTED
    state = await rebuilt(runtime, tenant)
    assert state.wallets == {usd(tenant): Balance(105_000, 0)}
    assert (state.mandates[tenant.mandate_id].uses, state.mandates[tenant.mandate_id].used_minor) == (2, 11_000)


async def test_a_kill_switch_revokes_the_mandate_and_its_usage_stays(runtime: Runtime, tenant: Tenant) -> None:
    await pay(runtime, tenant, "10.00")
    await runtime.control.kill.pull(tenant.admin, Scope.AGENT, tenant.agent_id, reason="drill")
    mandate = (await rebuilt(runtime, tenant)).mandates[tenant.mandate_id]
    assert (mandate.status, mandate.uses, mandate.used_minor) == ("revoked", 1, 1_000)


async def test_an_entry_written_before_it_said_what_it_moved_is_named_and_its_wallet_left_out(
    runtime: Runtime, tenant: Tenant
) -> None:
    paid = await pay(runtime, tenant, "120.00")
    entries = await bodies(runtime, tenant)
    at = next(i for i, e in enumerate(entries) if e.type == "transaction.settled")
    older = {k: v for k, v in entries[at].payload.items() if k != "debited_minor"}
    entries[at] = replace(entries[at], payload=older)
    state = rebuild(tenant.org_id, entries)
    (gap,) = state.gaps
    assert (gap.seq, gap.type, gap.subject) == (entries[at].seq, "transaction.settled", paid.transaction_id)
    assert "debited_minor" in gap.reason and gap.affects == (
        f"wallet {tenant.agent_id} USD",
        f"hold of {paid.transaction_id}",
    )
    assert state.unrebuilt_wallets == {usd(tenant)} and state.unrebuilt_holds == {paid.transaction_id}
    assert state.transactions[paid.transaction_id or ""].state == "settled", "states need no amounts"
    assert state.mandates[tenant.mandate_id].used_minor == 12_000, "the mandate's usage is still known"


async def test_a_mandate_use_without_its_amount_leaves_that_mandate_out(runtime: Runtime, tenant: Tenant) -> None:
    await pay(runtime, tenant, "120.00")
    entries = [
        replace(e, payload={k: v for k, v in e.payload.items() if k != "mandate_used_minor"})
        for e in await bodies(runtime, tenant)
    ]
    state = rebuild(tenant.org_id, entries)
    assert [g.type for g in state.gaps] == ["transaction.authorized"]
    assert state.unrebuilt_mandates == {tenant.mandate_id} and not state.unrebuilt_wallets


def entry(seq: int, type: str, subject: str, payload: dict[str, object], actor: str = "system") -> EntryBody:
    return EntryBody(
        seq, "org_a", "prj_a", f"2026-01-05T12:00:{seq % 60:02d}.000000Z", actor, type, subject, None, payload
    )


MOVES = st.lists(
    st.tuples(st.sampled_from(["settle", "fail", "roll_back", "stay"]), st.integers(1, 10_000)), max_size=12
)


@given(funded=st.integers(0, 100_000), payments=MOVES)
def test_money_is_neither_made_nor_lost_whatever_each_payment_ends_as(
    funded: int, payments: list[tuple[str, int]]
) -> None:
    chain = [entry(1, "wallet.funded", "agt_a", {"amount_minor": funded, "currency": "USD"})]
    chain.append(entry(2, "mandate.issued", "mdt_a", {"agent_id": "agt_a", "currency": "USD"}))
    debited = held = uses = 0
    for n, (end, amount) in enumerate(payments):
        if amount > funded - debited - held:
            continue
        txn, seq = f"txn_{n}", len(chain) + 1
        chain.append(
            entry(
                seq,
                "transaction.received",
                txn,
                {"tool": "pay", "amount_minor": amount, "currency": "USD"},
                "agent:agt_a",
            )
        )
        chain.append(
            entry(seq + 1, "transaction.authorized", txn, {"open_mandate_id": "mdt_a", "mandate_used_minor": amount})
        )
        chain.append(entry(seq + 2, "transaction.held", txn, {"held_minor": amount}))
        if end == "settle":
            chain.append(entry(seq + 3, "transaction.settled", txn, {"debited_minor": amount}))
            debited, uses = debited + amount, uses + 1
        elif end in ("fail", "roll_back"):
            back, done = ("failed", "released") if end == "fail" else ("rolling_back", "rolled_back")
            chain.append(entry(seq + 3, f"transaction.{back}", txn, {"mandate_returned_minor": amount}))
            chain.append(entry(seq + 4, f"transaction.{done}", txn, {"released_minor": amount}))
        else:
            held, uses = held + amount, uses + 1
    state = rebuild("org_a", chain)
    wallet = state.wallets[WalletKey("prj_a", "agt_a", "USD")]
    assert (wallet.available_minor, wallet.held_minor) == (funded - debited - held, held)
    assert sum(h.amount_minor for h in state.holds.values()) == held
    assert (state.mandates["mdt_a"].uses, state.mandates["mdt_a"].used_minor) == (uses, debited + held)
    assert state.gaps == ()
