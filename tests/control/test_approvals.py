"""An approval adds a person's consent on top of a mandate; it never replaces or widens one."""

from __future__ import annotations

import pytest

from fiduciary.control import MandateSpec, Tenant
from fiduciary.domain.intents import AgentRef, PaymentRequest, Tool
from fiduciary.domain.results import Outcome, Status
from fiduciary.domain.states import TxState
from fiduciary.runtime import Runtime
from fiduciary.settings import Settings
from tests.conftest import DEFAULT_TERMS
from tests.rows import value

pytestmark = pytest.mark.anyio

# Approval from 250.00, no per-payment cap of its own: the mandate is the only limit on size.
HOLDS_FROM_250 = """
name = "holds"
currencies = ["USD"]

[[rules]]
id = "approval-usd"
kind = "approval_threshold"
currency = "USD"
amount = "250.00"
"""


def caller(tenant: Tenant) -> AgentRef:
    return AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id)


async def pay(rt: Runtime, tenant: Tenant, amount: str, counterparty: str = "acct:laptops") -> Outcome:
    request = PaymentRequest(Tool.PAY, "equipment", amount, "USD", counterparty)
    return await rt.gate.request(caller(tenant), request, reference="ref_approvals")


async def narrow(rt: Runtime, tenant: Tenant, **changes: object) -> str:
    """Replace the tenant's first mandate with a narrower one; its id."""
    await rt.control.mandates.revoke(tenant.admin, tenant.mandate_id, reason="narrower")
    fields: dict[str, object] = {
        "agent_id": tenant.agent_id,
        "currency": "USD",
        "max_per_use": "500.00",
        "total_cap": "1000.00",
        "purpose": "equipment",
        "counterparties": ("acct:laptops",),
    }
    issued = await rt.control.mandates.issue(tenant.admin, MandateSpec(**(fields | changes)))  # type: ignore[arg-type]
    return issued.row.mandate_id


def approvals(settings: Settings) -> int:
    return int(value(settings, "SELECT COUNT(*) FROM approvals"))


@pytest.fixture
async def holding(runtime: Runtime, tenant: Tenant) -> Runtime:
    await runtime.control.config.apply_policy(tenant.admin, None, None, HOLDS_FROM_250)
    return runtime


async def test_a_payee_outside_every_mandate_is_refused_at_once_never_held(
    holding: Runtime, tenant: Tenant, settings: Settings
) -> None:
    await narrow(holding, tenant)
    outcome = await pay(holding, tenant, "300.00", counterparty="acct:attacker")
    assert (outcome.status, outcome.code.value, outcome.state) == (Status.DENIED, "no_mandate", TxState.DENIED)
    assert approvals(settings) == 0, "nothing was queued for a person"


async def test_an_amount_above_the_mandates_per_use_cap_is_refused_not_held(
    holding: Runtime, tenant: Tenant, settings: Settings
) -> None:
    await narrow(holding, tenant)
    outcome = await pay(holding, tenant, "800.00")
    assert (outcome.status, outcome.code.value) == (Status.DENIED, "mandate_exhausted")
    assert approvals(settings) == 0


async def test_an_approved_payment_consumes_its_mandate_and_the_approver_sees_what_it_leaves(
    holding: Runtime, tenant: Tenant
) -> None:
    mandate_id = await narrow(holding, tenant, max_uses=2)
    held = await pay(holding, tenant, "300.00")
    assert held.status is Status.PENDING_APPROVAL and held.approval_id
    shown = await holding.control.approvals.show(tenant.admin, held.approval_id)
    assert shown.mandate is not None and shown.mandate.row.mandate_id == mandate_id
    assert (shown.mandate.row.used_minor, shown.mandate.row.uses) == (0, 0), "nothing is spent while it waits"

    approved = await holding.control.approvals.approve(tenant.admin, held.approval_id)
    assert approved.status is Status.EXECUTED
    after = await holding.control.mandates.show(tenant.admin, mandate_id)
    assert (after.row.used_minor, after.row.uses) == (30_000, 1)
    txn = await holding.store.read.transaction_by_id(held.transaction_id or "")
    assert txn is not None and txn.open_mandate_id == mandate_id
    closed = await holding.store.read.closed_mandate(txn.org_id, txn.project_id, txn.transaction_id)
    assert closed is not None and closed.parent_id == mandate_id, "the mandate, not the approval, is the authority"


async def test_approval_checks_coverage_again_a_mandate_revoked_meanwhile_stops_it(
    holding: Runtime, tenant: Tenant
) -> None:
    mandate_id = await narrow(holding, tenant)
    held = await pay(holding, tenant, "300.00")
    await holding.control.mandates.revoke(tenant.admin, mandate_id, reason="supplier under review")
    outcome = await holding.control.approvals.approve(tenant.admin, held.approval_id or "")
    assert (outcome.status, outcome.code.value) == (Status.DENIED, "mandate_revoked")
    wallet = await holding.store.read.wallet(caller(tenant), "USD")
    assert wallet is not None and (wallet.available_minor, wallet.held_minor) == (100_000, 0)


async def test_approval_checks_the_cap_again_a_mandate_spent_meanwhile_stops_it(
    holding: Runtime, tenant: Tenant
) -> None:
    await narrow(holding, tenant, total_cap="500.00")
    first = await pay(holding, tenant, "300.00")
    second = await pay(holding, tenant, "260.00")
    assert first.status is second.status is Status.PENDING_APPROVAL
    assert (await holding.control.approvals.approve(tenant.admin, first.approval_id or "")).status is Status.EXECUTED
    outcome = await holding.control.approvals.approve(tenant.admin, second.approval_id or "")
    assert (outcome.status, outcome.code.value) == (Status.DENIED, "mandate_exhausted")


async def test_an_approval_uses_up_a_single_use_mandate(holding: Runtime, tenant: Tenant) -> None:
    await holding.control.mandates.revoke(tenant.admin, tenant.mandate_id, reason="one use")
    spec = MandateSpec(
        agent_id=tenant.agent_id,
        currency="USD",
        max_per_use="500.00",
        total_cap="5000.00",
        purpose=DEFAULT_TERMS.purpose,
        max_uses=1,
    )
    await holding.control.mandates.issue(tenant.admin, spec)
    held = await pay(holding, tenant, "300.00")
    approved = await holding.control.approvals.approve(tenant.admin, held.approval_id or "")
    assert approved.status is Status.EXECUTED
    assert (await pay(holding, tenant, "10.00")).code.value == "mandate_exhausted", "the approval used the one use"


async def test_over_mcp_a_held_payment_names_its_mandate_and_a_payee_outside_it_is_refused(
    holding: Runtime, tenant: Tenant, settings: Settings, clock: object
) -> None:
    from tests.server.test_agent_plane import call, client

    await narrow(holding, tenant)
    async with client(settings, clock, tenant.agent_token, "auto") as c:  # type: ignore[arg-type]
        is_error, refused = await call(
            c, "pay", {"amount": "300.00", "currency": "USD", "counterparty": "acct:attacker", "purpose": "urgent"}
        )
        assert is_error and refused["code"] == "no_mandate" and refused.get("approval_id") is None
        _, held = await call(
            c, "pay", {"amount": "300.00", "currency": "USD", "counterparty": "acct:laptops", "purpose": "laptop"}
        )
        assert held["status"] == "pending_approval"
    assert approvals(settings) == 1
