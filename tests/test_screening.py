"""Injection screening inside the gate: per-org config, the review band, upstream text and taint."""

from __future__ import annotations

import pytest

from fiduciary import control
from fiduciary.domain.errors import ConfigError
from fiduciary.domain.intents import Tool
from fiduciary.domain.results import Status
from fiduciary.domain.states import TxState
from fiduciary.rails.sandbox import SETTLED_NOTE
from fiduciary.runtime import Runtime
from tests.test_gate import caller, pay

pytestmark = pytest.mark.anyio

ORG_CONFIG = """
threshold = 0.7
[tools]
charge = 0.45
[[patterns]]
id = "acme-new-bank-details"
pattern = '\\bnew\\s+(bank|iban|account)\\s+details\\b'
weight = 0.8
[[patterns]]
id = "acme-gift-cards"
pattern = '\\bgift\\s*cards?\\b'
weight = 0.5
"""


async def apply(runtime: Runtime, tenant: control.Tenant, source: str = ORG_CONFIG) -> None:
    await runtime.control.config.apply_injection(tenant.admin, tenant.org_id, source)


async def test_an_orgs_custom_pattern_blocks_a_payment_before_any_mandate(
    runtime: Runtime, tenant: control.Tenant
) -> None:
    await apply(runtime, tenant)
    outcome = await pay(runtime, tenant, "20.00", purpose="invoice 7: please use our new bank details below")
    assert (outcome.status, outcome.code.value) == (Status.DENIED, "injection_blocked")
    entries = await runtime.store.read.audit_by_subject(tenant.org_id, outcome.transaction_id or "")
    rule_ids = [m["rule_id"] for m in entries[-1].body.payload["fields"]["purpose"]["matches"]]
    assert "custom:acme-new-bank-details" in rule_ids


async def test_without_the_org_config_the_same_words_pass(runtime: Runtime, tenant: control.Tenant) -> None:
    outcome = await pay(runtime, tenant, "20.00", purpose="invoice 7: please use our new bank details below")
    assert outcome.status is Status.EXECUTED


async def test_a_score_in_the_review_band_waits_for_a_person(runtime: Runtime, tenant: control.Tenant) -> None:
    await apply(runtime, tenant)
    outcome = await pay(runtime, tenant, "20.00", purpose="gift cards for the team offsite")
    assert (outcome.status, outcome.code.value) == (Status.PENDING_APPROVAL, "approval_required")
    approval = await runtime.store.read.approval(outcome.approval_id or "")
    assert approval is not None and approval.rule_id == "injection-review"


async def test_a_per_tool_threshold_blocks_earlier_for_that_tool_only(runtime: Runtime, tenant: control.Tenant) -> None:
    await apply(runtime, tenant)
    charged = await pay(runtime, tenant, "20.00", purpose="gift cards", counterparty="cus:1", tool=Tool.CHARGE)
    assert charged.code.value == "injection_blocked"
    paid = await pay(runtime, tenant, "20.00", purpose="gift cards", counterparty="cus:1")
    assert paid.code.value == "approval_required"


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("threshold = 1.5", "threshold"),
        ("colour = 'red'", "colour"),
        ("[[patterns]]\nid = 'x'\npattern = '(unclosed'\nweight = 0.5", "x"),
        ("[[patterns]]\nid = 'x'\npattern = 'a'\nweight = 2", "weight"),
        ("threshold = ", "TOML"),
    ],
)
async def test_an_invalid_org_config_is_refused_naming_the_problem_and_nothing_changes(
    runtime: Runtime, tenant: control.Tenant, source: str, problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem):
        await apply(runtime, tenant, source)
    assert await runtime.store.read.injection_config(tenant.org_id) is None


async def test_a_pathological_custom_pattern_cannot_hang_the_gate(runtime: Runtime, tenant: control.Tenant) -> None:
    await apply(runtime, tenant, "[[patterns]]\nid = 'redos'\npattern = '(a+)+$'\nweight = 0.3\n")
    outcome = await pay(runtime, tenant, "20.00", purpose="a" * 400 + "!")
    assert outcome.status in (Status.EXECUTED, Status.PENDING_APPROVAL, Status.DENIED)


async def test_a_clean_rail_note_reaches_the_result(runtime: Runtime, tenant: control.Tenant) -> None:
    outcome = await pay(runtime, tenant, "20.00")
    assert outcome.rail_note == SETTLED_NOTE


async def test_an_injected_rail_note_is_withheld_and_the_next_payment_waits_for_a_person(
    runtime: Runtime, tenant: control.Tenant
) -> None:
    first = await pay(runtime, tenant, "20.00", counterparty="shop@inject.sandbox")
    assert first.status is Status.EXECUTED and first.rail_note is None
    tainted = await runtime.store.read.audit_by_ref("ref_test")
    assert "agent.tainted" in [e.body.type for e in tainted]
    assert await runtime.store.read.active_taints(caller(tenant))

    held = await pay(runtime, tenant, "5.00", counterparty="acct:small", purpose="stamps")
    assert (held.status, held.state) == (Status.PENDING_APPROVAL, TxState.PENDING_APPROVAL)
    approval = await runtime.store.read.approval(held.approval_id or "")
    assert approval is not None and approval.rule_id == "builtin.tainted_session"
    assert not await runtime.store.read.active_taints(caller(tenant)), "one held call clears the taint"

    after = await pay(runtime, tenant, "5.00", counterparty="acct:small", purpose="more stamps")
    assert after.status is Status.EXECUTED
