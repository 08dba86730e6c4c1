"""Reconciliation against the sandbox rail's own ledger: every disagreement is a flag, raised once,
resolved only by an operator with a note; the engine itself changes no money."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from fiduciary.control import Role, Tenant
from fiduciary.domain.clock import FakeClock
from fiduciary.domain.errors import AccessError, InputError
from fiduciary.domain.intents import AgentRef, PaymentRequest, Tool
from fiduciary.domain.results import Status
from fiduciary.runtime import Runtime
from fiduciary.settings import Settings

pytestmark = pytest.mark.anyio


async def pay(rt: Runtime, tenant: Tenant, amount: str, reference: str) -> str:
    caller = AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id)
    outcome = await rt.gate.request(
        caller, PaymentRequest(Tool.PAY, "supplies", amount, "USD", "acct:shop"), reference=reference
    )
    assert outcome.status is Status.EXECUTED and outcome.transaction_id is not None
    return outcome.transaction_id


def ledger(settings: Settings) -> list[dict[str, object]]:
    return [json.loads(line) for line in settings.sandbox_ledger.read_text().splitlines()]


def rewrite(settings: Settings, records: list[dict[str, object]]) -> None:
    settings.sandbox_ledger.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records))


async def test_receipts_and_ledger_that_agree_raise_nothing(runtime: Runtime, tenant: Tenant) -> None:
    await pay(runtime, tenant, "10.00", "ref_a")
    (report,) = await runtime.control.reconciliation.run(tenant.admin)
    assert (report.rail, report.receipts, report.settled, report.flags, report.error) == ("sandbox", 1, 1, [], None)


async def test_an_orphan_a_changed_amount_and_a_missing_receipt_are_flagged_once(
    runtime: Runtime, tenant: Tenant, settings: Settings, clock: FakeClock
) -> None:
    changed = await pay(runtime, tenant, "10.00", "ref_a")
    missing = await pay(runtime, tenant, "20.00", "ref_b")
    records = ledger(settings)
    by_key = {r["idempotency_key"]: r for r in records}
    by_key[f"fid-{changed}"]["amount_minor"] = 1_001
    orphan = dict(by_key[f"fid-{changed}"], idempotency_key="fid-txn_nobodys", rail_reference="sbx_orphan")
    rewrite(settings, [by_key[f"fid-{changed}"], orphan])  # the receipt of `missing` is gone
    rt = runtime
    # A fresh process reads the edited ledger from the start.
    rt.gate.settlement.rails["sandbox"].inner.inner.inner._index.clear()  # type: ignore[attr-defined]
    rt.gate.settlement.rails["sandbox"].inner.inner.inner._offset = 0  # type: ignore[attr-defined]
    clock.advance(seconds=600)

    (report,) = await rt.control.reconciliation.run(tenant.admin)
    flags = {f.kind: f for f in await rt.control.reconciliation.flags(tenant.admin)}
    assert set(flags) == {"amount_mismatch", "orphan_receipt", "missing_receipt"}
    assert flags["amount_mismatch"].transaction_id == changed
    assert flags["missing_receipt"].transaction_id == missing
    assert flags["orphan_receipt"].transaction_id is None and flags["orphan_receipt"].rail_reference == "sbx_orphan"
    assert len(report.flags) == 3

    (again,) = await rt.control.reconciliation.run(tenant.admin)
    assert again.flags == [], "an open finding is raised once"
    assert await rt.store.read.wallet(AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id), "USD") is not None

    flag_id = flags["missing_receipt"].flag_id
    approver, _ = await rt.control.operators.add(tenant.admin, "amy", Role.APPROVER)
    with pytest.raises(AccessError):
        await rt.control.reconciliation.resolve(approver, flag_id, note="checked")
    with pytest.raises(InputError):
        await rt.control.reconciliation.resolve(tenant.admin, flag_id, note=" ")
    resolved = await rt.control.reconciliation.resolve(tenant.admin, flag_id, note="receipt found in the bank export")
    assert resolved.resolved_by == tenant.admin.actor and resolved.note == "receipt found in the bank export"
    with pytest.raises(InputError, match="already resolved"):
        await rt.control.reconciliation.resolve(tenant.admin, flag_id, note="again")
    entries = await rt.store.read.audit_by_subject_anywhere(flag_id)
    assert [e.body.type for e in entries] == ["reconcile.flagged", "reconcile.resolved"]


async def test_a_running_server_reconciles_once_a_minute(runtime: Runtime, clock: FakeClock) -> None:
    await runtime.maintain()
    first = runtime.rounds.reconciled_at
    assert first is not None
    clock.advance(seconds=30)
    await runtime.maintain()
    assert runtime.rounds.reconciled_at == first
    clock.advance(seconds=31)
    await runtime.maintain()
    assert runtime.rounds.reconciled_at == first + timedelta(seconds=61)
