"""The operator lifecycle through the control service: real SQLite, real gate, fake clock."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from fiduciary.control import MandateSpec, Operator, Role, Scope, Tenant
from fiduciary.domain.errors import AccessError, ConfigError, InputError
from fiduciary.domain.intents import AgentRef, PaymentRequest, Tool
from fiduciary.domain.money import Money
from fiduciary.domain.results import Outcome, Status
from fiduciary.domain.states import TxState
from fiduciary.runtime import Runtime
from fiduciary.settings import Settings
from tests.conftest import TEST_POLICY, make_tenant
from tests.rows import execute, rows

pytestmark = pytest.mark.anyio

PERMISSIVE = 'name = "permissive"\ncurrencies = ["USD", "BRL"]\n'


def spec(tenant: Tenant, **changes: object) -> MandateSpec:
    fields: dict[str, object] = {
        "agent_id": tenant.agent_id,
        "currency": "USD",
        "max_per_use": "100.00",
        "total_cap": "250.00",
        "purpose": "supplier invoices",
    }
    return MandateSpec(**(fields | changes))  # type: ignore[arg-type]


async def pay(rt: Runtime, caller: AgentRef, amount: str, counterparty: str = "acct:supplies") -> Outcome:
    request = PaymentRequest(Tool.PAY, "invoice", amount, "USD", counterparty)
    return await rt.gate.request(caller, request, reference="ref_lifecycle")


def caller_of(tenant: Tenant) -> AgentRef:
    return AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id)


def chain(settings: Settings, org_id: str) -> list[tuple[str, str, dict[str, object]]]:
    found = rows(settings, "SELECT actor, type, payload FROM audit WHERE org_id = ? ORDER BY seq", (org_id,))
    return [(actor, kind, json.loads(payload)) for actor, kind, payload in found]


async def revoke_initial_mandate(rt: Runtime, tenant: Tenant) -> None:
    await rt.control.mandates.revoke(tenant.admin, tenant.mandate_id, reason="replaced by a narrower one")


# Operators.


async def test_an_operator_token_is_shown_once_stored_hashed_and_works_until_revoked(
    runtime: Runtime, tenant: Tenant, settings: Settings
) -> None:
    alice, token = await runtime.control.operators.add(tenant.admin, "alice", Role.APPROVER)
    assert token.startswith("fid_op_") and len(token) > 40
    assert token not in json.dumps(rows(settings, "SELECT * FROM operators"))
    assert await runtime.control.operators.authenticate(token) == alice
    await runtime.control.operators.revoke(tenant.admin, "alice")
    with pytest.raises(AccessError, match="revoked") as refused:
        await runtime.control.operators.authenticate(token)
    assert refused.value.code == "unauthenticated"
    listed = {row.name: status for row, status in await runtime.control.operators.list(tenant.admin)}
    assert listed == {"test-admin": "active", "alice": "revoked"}


async def test_an_operator_token_with_an_expiry_stops_working_after_it(
    runtime: Runtime, tenant: Tenant, clock: object
) -> None:
    _, token = await runtime.control.operators.add(tenant.admin, "temp", Role.AUDITOR, expires_days=1)
    await runtime.control.operators.authenticate(token)
    clock.advance(seconds=24 * 3600 + 1)  # type: ignore[attr-defined]
    with pytest.raises(AccessError, match="expired"):
        await runtime.control.operators.authenticate(token)


async def test_no_agent_token_works_on_the_control_plane(runtime: Runtime, tenant: Tenant) -> None:
    for token in (tenant.agent_token, None, "", "fid_op_guess", "x" * 10_000):
        with pytest.raises(AccessError) as refused:
            await runtime.control.operators.authenticate(token)
        assert refused.value.code == "unauthenticated"


async def test_the_last_admin_cannot_be_revoked_and_names_are_unique(runtime: Runtime, tenant: Tenant) -> None:
    with pytest.raises(InputError, match="last admin"):
        await runtime.control.operators.revoke(tenant.admin, tenant.admin.operator_id)
    with pytest.raises(InputError, match="already exists"):
        await runtime.control.operators.add(tenant.admin, "test-admin", Role.AUDITOR)
    with pytest.raises(InputError, match="name"):
        await runtime.control.operators.add(tenant.admin, "bad name\n", Role.AUDITOR)


# Agents.


async def test_rotating_an_agents_token_stops_the_old_one_at_once(runtime: Runtime, tenant: Tenant) -> None:
    new = await runtime.control.agents.rotate_token(tenant.admin, tenant.agent_id)
    gate = runtime.gate
    assert await gate.authenticate(tenant.agent_token, tool="pay", reference="ref_a", source="test") is None
    assert await gate.authenticate(new, tool="pay", reference="ref_b", source="test") == caller_of(tenant)


async def test_a_new_agent_has_no_authority_until_a_mandate_is_issued_for_it(runtime: Runtime, tenant: Tenant) -> None:
    agent, token = await runtime.control.agents.add(tenant.admin, "payouts-bot")
    assert agent.ref.project_id == tenant.project_id and token.startswith("fid_agent_")
    await runtime.control.wallets.fund(tenant.admin, agent.ref.agent_id, Money(50_000, "USD"))
    assert (await pay(runtime, agent.ref, "10.00")).code.value == "no_mandate"
    await runtime.control.mandates.issue(tenant.admin, spec(tenant, agent_id=agent.ref.agent_id))
    assert (await pay(runtime, agent.ref, "10.01")).status is Status.EXECUTED


async def test_a_disabled_agent_is_refused_as_unauthenticated(runtime: Runtime, tenant: Tenant) -> None:
    await runtime.control.agents.disable(tenant.admin, tenant.agent_id, reason="retired")
    assert await runtime.gate.authenticate(tenant.agent_token, tool="pay", reference="r", source="test") is None
    with pytest.raises(InputError, match="disabled"):
        await runtime.control.agents.disable(tenant.admin, tenant.agent_id, reason="again")
    with pytest.raises(InputError, match="disabled"):
        await runtime.control.mandates.issue(tenant.admin, spec(tenant))


# Mandates.


async def test_a_mandate_with_an_allow_list_covers_only_those_counterparties(runtime: Runtime, tenant: Tenant) -> None:
    await revoke_initial_mandate(runtime, tenant)
    issued = await runtime.control.mandates.issue(tenant.admin, spec(tenant, counterparties=("acct:acme-supplies",)))
    assert issued.status == "active" and issued.mandate is not None
    assert issued.mandate.terms.counterparties == ("acct:acme-supplies",)
    assert (await pay(runtime, caller_of(tenant), "40.00", "acct:acme-supplies")).status is Status.EXECUTED
    assert (await pay(runtime, caller_of(tenant), "40.00", "acct:someone-else")).code.value == "no_mandate"
    shown = await runtime.control.mandates.show(tenant.admin, issued.row.mandate_id)
    assert (shown.row.uses, shown.row.used_minor) == (1, 4_000)


async def test_revoking_a_mandate_stops_the_next_payment(runtime: Runtime, tenant: Tenant) -> None:
    await revoke_initial_mandate(runtime, tenant)
    assert (await pay(runtime, caller_of(tenant), "10.00")).code.value == "mandate_revoked"
    listed = await runtime.control.mandates.list(tenant.admin)
    assert listed == []
    everything = await runtime.control.mandates.list(tenant.admin, include_all=True)
    assert [m.status for m in everything] == ["revoked"]
    with pytest.raises(InputError, match="already revoked"):
        await runtime.control.mandates.revoke(tenant.admin, tenant.mandate_id, reason="twice")


async def test_renewing_moves_the_expiry_and_keeps_terms_and_usage(
    runtime: Runtime, tenant: Tenant, clock: object
) -> None:
    assert (await pay(runtime, caller_of(tenant), "10.00")).status is Status.EXECUTED
    before = await runtime.control.mandates.show(tenant.admin, tenant.mandate_id)
    assert before.mandate is not None
    renewed = await runtime.control.mandates.renew(tenant.admin, tenant.mandate_id)
    assert renewed.mandate is not None
    assert renewed.mandate.expires_at == before.mandate.expires_at + timedelta(days=30)
    assert renewed.mandate.terms == before.mandate.terms
    assert (renewed.row.uses, renewed.row.used_minor) == (1, 1_000)
    clock.advance(seconds=45 * 24 * 3600)  # type: ignore[attr-defined]
    assert (await pay(runtime, caller_of(tenant), "10.00")).status is Status.EXECUTED, "valid past the old expiry"


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"max_per_use": "300.00"}, "above the total cap"),
        ({"max_uses": 0}, "at least 1"),
        ({"max_per_use": "1.001"}, "decimal"),
        ({"currency": "XYZ"}, "not supported"),
        ({"tools": ("approve",)}, "tools"),
        ({"countries": ("Brazil",)}, "countries"),
        ({"counterparties": ()}, "counterparties"),
        ({"purpose": "   "}, "purpose"),
        ({"agent_id": "agt_nope"}, "no agent"),
    ],
)
async def test_contradictory_or_bad_mandate_terms_are_refused_audited_and_change_nothing(
    runtime: Runtime, tenant: Tenant, settings: Settings, changes: dict[str, object], problem: str
) -> None:
    mandates_before = await runtime.store.read.open_mandates(caller_of(tenant))
    with pytest.raises(InputError, match=problem):
        await runtime.control.mandates.issue(tenant.admin, spec(tenant, **changes))
    assert await runtime.store.read.open_mandates(caller_of(tenant)) == mandates_before
    actor, kind, payload = chain(settings, "org_platform")[-1]
    assert (actor, kind, payload["action"]) == (tenant.admin.actor, "control.refused", "mandates.issue")


async def test_a_mandate_window_is_checked(runtime: Runtime, tenant: Tenant) -> None:
    now = runtime.gate.clock.now()
    with pytest.raises(InputError, match="after the not-before"):
        await runtime.control.mandates.issue(
            tenant.admin, spec(tenant, not_before=now + timedelta(days=2), expires_at=now + timedelta(days=1))
        )
    with pytest.raises(InputError, match="in the past"):
        await runtime.control.mandates.issue(tenant.admin, spec(tenant, expires_at=now - timedelta(days=1)))
    with pytest.raises(InputError, match="at most 366 days"):
        await runtime.control.mandates.issue(tenant.admin, spec(tenant, expires_at=now + timedelta(days=400)))
    later = await runtime.control.mandates.issue(tenant.admin, spec(tenant, not_before=now + timedelta(days=1)))
    assert later.status == "not_yet_valid"


# Wallets.


async def test_funding_a_wallet_is_audited_with_the_operator(
    runtime: Runtime, tenant: Tenant, settings: Settings
) -> None:
    after = await runtime.control.wallets.fund(tenant.admin, tenant.agent_id, Money(25_000, "BRL"))
    assert (after.currency, after.available_minor) == ("BRL", 25_000)
    actor, kind, payload = chain(settings, tenant.org_id)[-1]
    assert (actor, kind, payload) == (tenant.admin.actor, "wallet.funded", {"amount_minor": 25_000, "currency": "BRL"})


# The kill switch.


async def test_a_kill_switch_on_a_project_freezes_every_agent_in_it_and_unfreeze_lifts_it(
    runtime: Runtime, tenant: Tenant
) -> None:
    second, _ = await runtime.control.agents.add(tenant.admin, "second-bot")
    await runtime.control.mandates.issue(tenant.admin, spec(tenant, agent_id=second.ref.agent_id))
    await runtime.control.wallets.fund(tenant.admin, second.ref.agent_id, Money(10_000, "USD"))
    report = await runtime.control.kill.pull(tenant.admin, Scope.PROJECT, tenant.project_id, reason="incident 42")
    assert (report.agents, report.mandates_revoked) == (2, 2)
    for agent in (caller_of(tenant), second.ref):
        assert (await pay(runtime, agent, "5.00")).code.value == "agent_frozen"
    with pytest.raises(InputError, match="already frozen"):
        await runtime.control.kill.pull(tenant.admin, Scope.PROJECT, tenant.project_id, reason="again")

    lifted = await runtime.control.kill.lift(tenant.admin, Scope.PROJECT, tenant.project_id)
    assert lifted.lifted == [report.switch_id]
    assert (await pay(runtime, caller_of(tenant), "5.01")).code.value == "mandate_revoked", "mandates stay revoked"
    await runtime.control.mandates.issue(tenant.admin, spec(tenant))
    assert (await pay(runtime, caller_of(tenant), "5.02")).status is Status.EXECUTED
    with pytest.raises(InputError, match="not frozen"):
        await runtime.control.kill.lift(tenant.admin, Scope.PROJECT, tenant.project_id)


async def test_a_platform_kill_switch_freezes_every_org_and_is_recorded_in_each_chain(
    runtime: Runtime, tenant: Tenant, settings: Settings, clock: object
) -> None:
    other = await make_tenant(settings, clock, policy=PERMISSIVE)  # type: ignore[arg-type]
    held = await runtime.gate.request(
        caller_of(tenant), PaymentRequest(Tool.PAY, "laptop", "300.00", "USD", "acct:x"), reference="ref_held"
    )
    assert held.status is Status.PENDING_APPROVAL
    report = await runtime.control.kill.pull(tenant.admin, Scope.PLATFORM, None, reason="breach")
    assert (report.agents, report.mandates_revoked, report.approvals_rejected) == (2, 2, 1)
    for org in (tenant.org_id, other.org_id, "org_platform"):
        assert any(kind == "kill_switch.pulled" for _, kind, _ in chain(settings, org)), org
    assert (await pay(runtime, caller_of(other), "5.00")).code.value == "agent_frozen"
    txn = await runtime.store.read.transaction_by_id(held.transaction_id or "")
    assert txn is not None and txn.state is TxState.REJECTED
    await runtime.control.kill.lift(tenant.admin, Scope.PLATFORM, None)
    assert (await pay(runtime, caller_of(other), "5.01")).code.value == "mandate_revoked"


@pytest.mark.parametrize(
    ("scope", "target", "problem"),
    [
        (Scope.AGENT, "agt_nope", "no agent"),
        (Scope.PROJECT, "prj_nope", "no project"),
        (Scope.ORG, "org_nope", "no org"),
        (Scope.ORG, "org_platform", "no org"),
    ],
)
async def test_killing_an_unknown_scope_is_refused(
    runtime: Runtime, tenant: Tenant, scope: Scope, target: str, problem: str
) -> None:
    with pytest.raises(InputError, match=problem):
        await runtime.control.kill.pull(tenant.admin, scope, target, reason="test")


async def test_a_kill_switch_still_covers_disabled_agents_and_an_empty_scope_is_refused(
    runtime: Runtime, tenant: Tenant, settings: Settings
) -> None:
    await runtime.control.agents.disable(tenant.admin, tenant.agent_id, reason="gone")
    report = await runtime.control.kill.pull(tenant.admin, Scope.PROJECT, tenant.project_id, reason="test")
    assert report.agents == 1, "a disabled agent's mandates are revoked too"
    execute(settings, "INSERT INTO orgs VALUES ('org_empty', 'empty', '2026-01-01T00:00:00.000000Z')")
    with pytest.raises(InputError, match="has no agents; nothing to freeze"):
        await runtime.control.kill.pull(tenant.admin, Scope.ORG, "org_empty", reason="test")


# Configuration and records.


async def test_applying_the_same_policy_file_again_is_not_a_new_version(
    runtime: Runtime, tenant: Tenant, settings: Settings
) -> None:
    entries = len(chain(settings, tenant.org_id))
    _, _, applied = await runtime.control.config.apply_policy(tenant.admin, None, None, TEST_POLICY)
    assert (applied.version, applied.changed) == (1, False)
    assert len(chain(settings, tenant.org_id)) == entries
    changed = TEST_POLICY.replace('amount = "600.00"', 'amount = "700.00"')
    org, project, applied = await runtime.control.config.apply_policy(tenant.admin, None, None, changed)
    assert (org, project, applied.version, applied.changed) == (tenant.org_id, tenant.project_id, 2, True)


async def test_a_policy_file_that_does_not_validate_is_refused_and_audited(
    runtime: Runtime, tenant: Tenant, settings: Settings
) -> None:
    with pytest.raises(ConfigError):
        await runtime.control.config.apply_policy(tenant.admin, None, None, "name = 1\n[[rules]]\nkind = 'nope'\n")
    actor, kind, payload = chain(settings, "org_platform")[-1]
    assert (actor, kind, payload["action"]) == (tenant.admin.actor, "control.refused", "policy.apply")
    assert payload["code"] == "invalid_argument"


async def test_verifying_an_unknown_org_is_an_error_not_an_empty_ok(runtime: Runtime, tenant: Tenant) -> None:
    with pytest.raises(InputError, match="no org"):
        await runtime.control.records.verify(tenant.admin, "org_nope")
    reports = dict(await runtime.control.records.verify(tenant.admin))
    assert set(reports) == {"org_platform", tenant.org_id} and all(r.ok for r in reports.values())


async def test_audit_entries_are_found_by_any_id(runtime: Runtime, tenant: Tenant) -> None:
    held = await runtime.gate.request(
        caller_of(tenant), PaymentRequest(Tool.PAY, "laptop", "300.00", "USD", "acct:x"), reference="ref_find_me"
    )
    records = runtime.control.records
    by_ref = await records.entries(tenant.admin, "ref_find_me")
    by_txn = await records.entries(tenant.admin, held.transaction_id or "")
    by_approval = await records.entries(tenant.admin, held.approval_id or "")
    assert [e.body.seq for e in by_ref] == [e.body.seq for e in by_txn] == [e.body.seq for e in by_approval]
    assert [e.body.type for e in await records.entries(tenant.admin, tenant.mandate_id)] == ["mandate.issued"]
    with pytest.raises(InputError):
        await records.entries(tenant.admin, "txn_nope")


async def test_every_control_change_names_the_operator_in_its_tenants_chain(
    runtime: Runtime, tenant: Tenant, settings: Settings
) -> None:
    alice, _ = await runtime.control.operators.add(tenant.admin, "alice", Role.ADMIN)
    await runtime.control.wallets.fund(alice, tenant.agent_id, Money(100, "USD"))
    await runtime.control.mandates.issue(alice, spec(tenant))
    await runtime.control.agents.rotate_token(alice, tenant.agent_id)
    await runtime.control.kill.pull(alice, Scope.AGENT, tenant.agent_id, reason="drill")
    await runtime.control.kill.lift(alice, Scope.AGENT, tenant.agent_id)
    mine = [kind for actor, kind, _ in chain(settings, tenant.org_id) if actor == alice.actor]
    assert mine == [
        "wallet.funded",
        "mandate.issued",
        "agent.token_rotated",
        "kill_switch.pulled",
        "mandate.revoked",
        "mandate.revoked",
        "kill_switch.lifted",
    ]
    assert ("operator:" + tenant.admin.operator_id, "operator.added") in [
        (actor, kind) for actor, kind, _ in chain(settings, "org_platform")
    ]


async def test_an_operator_object_of_an_unknown_role_may_do_nothing(runtime: Runtime, tenant: Tenant) -> None:
    stranger = Operator("opr_stranger", "stranger", "owner")  # type: ignore[arg-type]
    with pytest.raises(AccessError):
        await runtime.control.wallets.show(stranger)


async def test_failed_operator_logins_are_counted_per_source_and_minute(
    runtime: Runtime, tenant: Tenant, settings: Settings, clock: object
) -> None:
    before = len(chain(settings, "org_platform"))
    for _ in range(5):
        with pytest.raises(AccessError):
            await runtime.control.operators.authenticate("fid_op_guess", source="cli")
    with pytest.raises(AccessError):
        await runtime.control.operators.authenticate("fid_op_guess", source="admin-api:127.0.0.2")
    entries = chain(settings, "org_platform")[before:]
    assert [(kind, payload["source"]) for _, kind, payload in entries] == [
        ("control.unauthenticated", "cli"),
        ("control.unauthenticated", "admin-api:127.0.0.2"),
    ]
    clock.advance(seconds=60)  # type: ignore[attr-defined]
    await runtime.maintain()
    summaries = [p for _, kind, p in chain(settings, "org_platform") if kind == "call.refused_repeated"]
    assert [(p["source"], p["kind"], p["count"]) for p in summaries] == [("cli", "operator_token", 4)]
