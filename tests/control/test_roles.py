"""Each role can do exactly its job and nothing more, and every refusal is on the record."""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from fiduciary.control import Action, MandateSpec, Operator, Role, Scope, Tenant, may
from fiduciary.domain.errors import AccessError, InputError
from fiduciary.domain.intents import AgentRef, PaymentRequest, Tool
from fiduciary.domain.money import Money
from fiduciary.domain.results import Status
from fiduciary.mandates.keys import KeyPurpose
from fiduciary.policies import default_source
from fiduciary.runtime import Runtime
from fiduciary.settings import Settings
from tests.rows import rows

pytestmark = pytest.mark.anyio

Call = Callable[[Runtime, Operator, Tenant], Awaitable[object]]

CALLS: dict[Action, Call] = {
    Action.OPERATORS_ADD: lambda rt, op, t: rt.control.operators.add(op, f"new-{op.role}", Role.AUDITOR),
    Action.OPERATORS_REVOKE: lambda rt, op, t: rt.control.operators.revoke(op, "opr_nope"),
    Action.OPERATORS_READ: lambda rt, op, t: rt.control.operators.list(op),
    Action.AGENTS_ADD: lambda rt, op, t: rt.control.agents.add(op, f"bot-{op.role}"),
    Action.AGENTS_ROTATE_TOKEN: lambda rt, op, t: rt.control.agents.rotate_token(op, "agt_nope"),
    Action.AGENTS_DISABLE: lambda rt, op, t: rt.control.agents.disable(op, "agt_nope", reason="test"),
    Action.AGENTS_READ: lambda rt, op, t: rt.control.agents.list(op),
    Action.MANDATES_ISSUE: lambda rt, op, t: rt.control.mandates.issue(
        op, MandateSpec(agent_id=t.agent_id, currency="USD", max_per_use="1.00", total_cap="2.00", purpose="test")
    ),
    Action.MANDATES_REVOKE: lambda rt, op, t: rt.control.mandates.revoke(op, "mdt_nope", reason="test"),
    Action.MANDATES_RENEW: lambda rt, op, t: rt.control.mandates.renew(op, "mdt_nope"),
    Action.MANDATES_READ: lambda rt, op, t: rt.control.mandates.list(op),
    Action.WALLETS_FUND: lambda rt, op, t: rt.control.wallets.fund(op, t.agent_id, Money(100, "USD")),
    Action.WALLETS_READ: lambda rt, op, t: rt.control.wallets.show(op),
    Action.APPROVALS_READ: lambda rt, op, t: rt.control.approvals.list(op),
    Action.APPROVE: lambda rt, op, t: rt.control.approvals.approve(op, "apr_nope"),
    Action.REJECT: lambda rt, op, t: rt.control.approvals.reject(op, "apr_nope", reason="test"),
    Action.KILL: lambda rt, op, t: rt.control.kill.pull(op, Scope.AGENT, "agt_nope", reason="test"),
    Action.UNFREEZE: lambda rt, op, t: rt.control.kill.lift(op, Scope.AGENT, "agt_nope"),
    Action.KILL_READ: lambda rt, op, t: rt.control.kill.active(op),
    Action.POLICY_APPLY: lambda rt, op, t: rt.control.config.apply_policy(op, t.org_id, t.project_id, default_source()),
    Action.INJECTION_APPLY: lambda rt, op, t: rt.control.config.apply_injection(op, "org_nope", "threshold = 0.7\n"),
    Action.CONFIG_READ: lambda rt, op, t: rt.control.config.injection_config(op, t.org_id),
    Action.TRANSACTIONS_READ: lambda rt, op, t: rt.control.records.transactions(op),
    Action.AUDIT_READ: lambda rt, op, t: rt.control.records.entries(op, t.org_id),
    Action.AUDIT_VERIFY: lambda rt, op, t: rt.control.records.verify(op),
    Action.DB_MIGRATE: lambda rt, op, t: rt.control.records.migrated(op),
    Action.RECONCILE_READ: lambda rt, op, t: rt.control.reconciliation.flags(op),
    Action.RECONCILE_RESOLVE: lambda rt, op, t: rt.control.reconciliation.resolve(op, "flg_nope", note="n"),
    Action.RECONCILE_RUN: lambda rt, op, t: rt.control.reconciliation.run(op),
    Action.RAILS_READ: lambda rt, op, t: rt.control.rails.status(op),
    Action.METRICS_READ: lambda rt, op, t: rt.control.rails.metrics(op),
    Action.RAILS_CONFIGURE: lambda rt, op, t: rt.control.rails.add(op, {"name": "sandbox", "kind": "sandbox"}),
    Action.KEYS_READ: lambda rt, op, t: rt.control.keys.jwks(op, t.org_id),
    Action.KEYS_ROTATE: lambda rt, op, t: rt.control.keys.rotate(op, t.org_id, [KeyPurpose.AUDIT], reason="test"),
    Action.AUDIT_CHECKPOINT: lambda rt, op, t: rt.control.evidence.checkpoint(op, t.org_id),
    Action.AUDIT_EXPORT: lambda rt, op, t: rt.control.evidence.export(
        op, t.org_id, fmt="jsonl", out=Path(tempfile.mkdtemp()) / f"export-{op.role}"
    ),
    Action.SINKS_READ: lambda rt, op, t: rt.control.sinks.status(op),
    Action.SINKS_RESUME: lambda rt, op, t: rt.control.sinks.resume(op, "no-such-sink"),
    Action.DSR_ERASE: lambda rt, op, t: rt.control.privacy.erase(op, t.org_id, "acct:nobody", reason="test"),
    Action.LEGAL_HOLD_SET: lambda rt, op, t: rt.control.privacy.hold(op, t.org_id, None, reason="test"),
    Action.LEGAL_HOLD_CLEAR: lambda rt, op, t: rt.control.privacy.clear(op, "hld_nope", reason="test"),
    Action.LEGAL_HOLD_READ: lambda rt, op, t: rt.control.privacy.holds(op),
}


@pytest.fixture
async def operators(runtime: Runtime, tenant: Tenant) -> dict[Role, Operator]:
    approver, _ = await runtime.control.operators.add(tenant.admin, "alice", Role.APPROVER)
    auditor, _ = await runtime.control.operators.add(tenant.admin, "bob", Role.AUDITOR)
    return {Role.ADMIN: tenant.admin, Role.APPROVER: approver, Role.AUDITOR: auditor}


def platform_refusals(settings: Settings) -> list[dict[str, str]]:
    sql = "SELECT actor, payload FROM audit WHERE org_id = 'org_platform' AND type = 'control.refused' ORDER BY seq"
    return [{"actor": actor, **json.loads(payload)} for actor, payload in rows(settings, sql)]


def test_every_action_is_in_the_matrix() -> None:
    assert set(CALLS) == set(Action)


def test_the_roles_are_admin_configures_approver_decides_auditor_reads() -> None:
    assert all(may(Role.ADMIN, action) for action in Action)
    assert {a for a in Action if may(Role.APPROVER, a)} == {
        Action.APPROVALS_READ,
        Action.APPROVE,
        Action.REJECT,
        Action.KILL,
        Action.KILL_READ,
    }
    auditor = {a for a in Action if may(Role.AUDITOR, a)}
    assert auditor == {a for a in Action if a.value.endswith((".read", ".verify"))} | {
        Action.AUDIT_CHECKPOINT,
        Action.AUDIT_EXPORT,
    }, "an auditor also signs checkpoints and exports of the chain: evidence, not changes"


@pytest.mark.parametrize("role", list(Role))
async def test_each_role_can_do_exactly_its_job_and_each_refusal_is_audited(
    runtime: Runtime, tenant: Tenant, settings: Settings, operators: dict[Role, Operator], role: Role
) -> None:
    op = operators[role]
    for action, call in CALLS.items():
        before = platform_refusals(settings)
        if may(role, action):
            with contextlib.suppress(InputError):  # allowed, and refused for its input (an unknown id)
                await call(runtime, op, tenant)
            continue
        with pytest.raises(AccessError) as refused:
            await call(runtime, op, tenant)
        assert refused.value.code == "forbidden", action
        after = platform_refusals(settings)
        assert after[len(before) :] == [
            {"actor": op.actor, "action": action.value, "role": role.value, "code": "forbidden"}
        ], action


async def test_an_approver_approves_a_held_payment_and_the_chain_names_them(
    runtime: Runtime, tenant: Tenant, operators: dict[Role, Operator]
) -> None:
    caller = AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id)
    request = PaymentRequest(Tool.PAY, "a laptop", "300.00", "USD", "acct:laptops")
    held = await runtime.gate.request(caller, request, reference="ref_role")
    assert held.status is Status.PENDING_APPROVAL and held.approval_id
    with pytest.raises(AccessError):
        await runtime.control.approvals.approve(operators[Role.AUDITOR], held.approval_id)
    approved = await runtime.control.approvals.approve(operators[Role.APPROVER], held.approval_id)
    assert approved.status is Status.EXECUTED
    entries = await runtime.store.read.audit_by_subject(tenant.org_id, held.transaction_id or "")
    approval = next(e for e in entries if e.body.type == "transaction.approved")
    assert approval.body.actor == operators[Role.APPROVER].actor
    row = await runtime.store.read.approval(held.approval_id)
    assert row is not None and row.decided_by == operators[Role.APPROVER].operator_id


async def test_an_approver_may_pull_the_kill_switch_but_only_an_admin_lifts_it(
    runtime: Runtime, tenant: Tenant, operators: dict[Role, Operator]
) -> None:
    await runtime.control.kill.pull(operators[Role.APPROVER], Scope.AGENT, tenant.agent_id, reason="looks wrong")
    with pytest.raises(AccessError):
        await runtime.control.kill.lift(operators[Role.APPROVER], Scope.AGENT, tenant.agent_id)
    lifted = await runtime.control.kill.lift(operators[Role.ADMIN], Scope.AGENT, tenant.agent_id)
    assert len(lifted.lifted) == 1
