"""A payment refused because its mandate was revoked or its agent frozen comes with a signed receipt."""

from __future__ import annotations

import copy

import pytest

from fiduciary.audit.checkpoint import EvidenceError, verify_inclusion_document
from fiduciary.audit.receipts import verify_receipt
from fiduciary.control import Scope, Tenant
from fiduciary.domain.intents import AgentRef, PaymentRequest, Tool
from fiduciary.domain.results import Outcome, Status
from fiduciary.runtime import Runtime

pytestmark = pytest.mark.anyio


async def pay(rt: Runtime, tenant: Tenant, key: str) -> Outcome:
    caller = AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id)
    request = PaymentRequest(Tool.PAY, "supplies", "10.00", "USD", "acct:supplies", idempotency_key=key)
    return await rt.gate.request(caller, request, reference=f"ref_{key}")


async def test_a_call_refused_after_its_mandate_was_revoked_carries_a_receipt_anyone_verifies(
    runtime: Runtime, tenant: Tenant
) -> None:
    allowed = await pay(runtime, tenant, "before")
    assert allowed.status is Status.EXECUTED and allowed.receipt is None, "only a withdrawn authority gets one"
    await runtime.control.mandates.revoke(tenant.admin, tenant.mandate_id, reason="contract ended")

    refused = await pay(runtime, tenant, "after")
    key_set = await runtime.control.keys.jwks(tenant.admin, tenant.org_id)

    assert (refused.status, refused.code.value) == (Status.DENIED, "mandate_revoked")
    assert refused.receipt is not None
    statement = verify_receipt(refused.receipt, key_set)
    assert statement["transaction_id"] == refused.transaction_id and statement["reference"] == "ref_after"
    assert (statement["agent_id"], statement["tool"], statement["code"]) == (tenant.agent_id, "pay", "mandate_revoked")
    (entry,) = await runtime.store.read.audit_page(tenant.org_id, after_seq=statement["audit_seq"] - 1, limit=1)
    assert (entry.entry_hash.hex(), entry.body.subject) == (statement["audit_entry_hash"], refused.transaction_id)
    assert entry.body.type == "transaction.denied" and entry.body.payload["code"] == "mandate_revoked"

    await runtime.control.evidence.checkpoint(tenant.admin, tenant.org_id)
    proof = await runtime.control.evidence.prove_inclusion(tenant.admin, tenant.org_id, statement["audit_seq"])
    assert proof["entry_hash"] == statement["audit_entry_hash"]
    verify_inclusion_document(proof, key_set)  # the refusal is in the signed chain

    again = await pay(runtime, tenant, "after")
    assert again.replayed and again.receipt is not None
    assert verify_receipt(again.receipt, key_set)["audit_seq"] == statement["audit_seq"], "the same refusal"

    for field, value in [("code", "budget_exceeded"), ("audit_seq", 1), ("agent_id", "agt_someone_else")]:
        forged = copy.deepcopy(refused.receipt) | {field: value}
        with pytest.raises(EvidenceError, match="not signed by"):
            verify_receipt(forged, key_set)
    with pytest.raises(EvidenceError, match="holds no key"):
        verify_receipt(refused.receipt, {"keys": []})
    with pytest.raises(EvidenceError, match="needs exactly"):
        verify_receipt({k: v for k, v in refused.receipt.items() if k != "ts"}, key_set)


async def test_a_frozen_agent_gets_a_receipt_and_other_refusals_do_not(runtime: Runtime, tenant: Tenant) -> None:
    caller = AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id)
    over = PaymentRequest(Tool.PAY, "supplies", "600.00", "USD", "acct:supplies", idempotency_key="big")
    denied = await runtime.gate.request(caller, over, reference="ref_big")
    assert denied.status is Status.DENIED and denied.receipt is None, denied.code

    await runtime.control.kill.pull(tenant.admin, Scope.AGENT, tenant.agent_id, reason="refund loop")
    frozen = await pay(runtime, tenant, "frozen")

    assert frozen.code.value == "agent_frozen", "the kill switch is checked before any mandate"
    assert frozen.receipt is not None
    statement = verify_receipt(frozen.receipt, await runtime.control.keys.jwks(tenant.admin, tenant.org_id))
    assert statement["code"] == frozen.code.value and statement["reason"] == frozen.message
