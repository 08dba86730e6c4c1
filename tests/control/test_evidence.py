"""Signed checkpoints and the proofs an outsider checks with a JWKS alone."""

from __future__ import annotations

import copy
from typing import Any

import anyio
import pytest

from fiduciary.audit.checkpoint import (
    EvidenceError,
    verify_checkpoint,
    verify_consistency_document,
    verify_inclusion_document,
)
from fiduciary.control import Tenant
from fiduciary.domain import limits
from fiduciary.domain.clock import FakeClock
from fiduciary.domain.errors import InputError
from fiduciary.domain.intents import AgentRef, PaymentRequest, Tool
from fiduciary.domain.results import Status
from fiduciary.mandates.keys import KeyPurpose
from fiduciary.runtime import Runtime, open_runtime
from fiduciary.settings import Settings
from tests.rows import execute, rows

pytestmark = pytest.mark.anyio


async def pay(rt: Runtime, tenant: Tenant, key: str) -> None:
    caller = AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id)
    request = PaymentRequest(Tool.PAY, "supplies", "10.00", "USD", "acct:supplies", idempotency_key=key)
    assert (await rt.gate.request(caller, request, reference=f"ref_{key}")).status is Status.EXECUTED


def flipped(hex_hash: str) -> str:
    return f"{int(hex_hash[0], 16) ^ 1:x}{hex_hash[1:]}"


async def test_every_entry_proves_into_a_signed_checkpoint_and_the_older_checkpoint_into_the_newer(
    runtime: Runtime, tenant: Tenant
) -> None:
    evidence, op = runtime.control.evidence, tenant.admin
    await pay(runtime, tenant, "a")
    first = await evidence.checkpoint(op, tenant.org_id)
    assert await evidence.checkpoint(op, tenant.org_id) == first, "nothing new but its own entry: the same one"
    for key in "bcd":
        await pay(runtime, tenant, key)
    second = await evidence.checkpoint(op, tenant.org_id)
    assert second.size > first.size + 1
    key_set = await runtime.control.keys.jwks(op, tenant.org_id)

    assert verify_checkpoint(second.document(), key_set) == second
    for seq in range(1, second.size + 1):
        doc = await evidence.prove_inclusion(op, tenant.org_id, seq)
        assert verify_inclusion_document(doc, key_set).size == second.size
    early = await evidence.prove_inclusion(op, tenant.org_id, 1, size=first.size)
    assert verify_inclusion_document(early, key_set) == first
    consistency = await evidence.prove_consistency(op, tenant.org_id, first.size, second.size)
    assert verify_consistency_document(consistency, key_set) == (first, second)
    stored = [(size, root) for size, root in rows(runtime.settings, "SELECT size, root FROM checkpoints")]
    assert stored == [(first.size, first.root), (second.size, second.root)]
    (entry,) = [e for e in await runtime.store.read.audit_page(tenant.org_id, after_seq=first.size, limit=1)]
    assert (entry.body.type, entry.body.actor, entry.body.payload["root"]) == (
        "audit.checkpointed",
        op.actor,
        first.root.hex(),
    )


async def test_a_tampered_proof_or_checkpoint_or_a_jwks_without_the_key_is_refused(
    runtime: Runtime, tenant: Tenant
) -> None:
    evidence, op = runtime.control.evidence, tenant.admin
    for key in "abc":
        await pay(runtime, tenant, key)
    first = await evidence.checkpoint(op, tenant.org_id)
    await pay(runtime, tenant, "d")
    second = await evidence.checkpoint(op, tenant.org_id)
    key_set = await runtime.control.keys.jwks(op, tenant.org_id)
    proof = await evidence.prove_inclusion(op, tenant.org_id, 2)
    consistency = await evidence.prove_consistency(op, tenant.org_id, first.size, second.size)

    def changed(doc: dict[str, Any], edit: Any) -> dict[str, Any]:
        copied = copy.deepcopy(doc)
        edit(copied)
        return copied

    bad_inclusion = [
        (lambda d: d["path"].__setitem__(0, flipped(d["path"][0])), "not in the checkpoint's tree"),
        (lambda d: d["path"].pop(), "proof too short"),
        (lambda d: d.__setitem__("entry_hash", flipped(d["entry_hash"])), "not in the checkpoint's tree"),
        (lambda d: d.__setitem__("seq", 3), "not in the checkpoint's tree"),
        (lambda d: d["checkpoint"].__setitem__("root", flipped(d["checkpoint"]["root"])), "is not signed by"),
        (lambda d: d["checkpoint"].__setitem__("size", d["checkpoint"]["size"] + 1), "is not signed by"),
        (lambda d: d.__setitem__("tree_size", 1), "its checkpoint has"),
        (lambda d: d["checkpoint"].__setitem__("kid", "audit-nope"), "holds no key audit-nope"),
        (lambda d: d.__setitem__("type", "x"), "not a fiduciary.inclusion_proof.v1"),
    ]
    for edit, message in bad_inclusion:
        with pytest.raises(EvidenceError, match=message):
            verify_inclusion_document(changed(proof, edit), key_set)
    with pytest.raises(EvidenceError, match="not a prefix"):
        verify_consistency_document(changed(consistency, lambda d: d["path"].append(d["path"][0])), key_set)
    swapped = changed(consistency, lambda d: d.update(old=d["new"], new=d["old"]))
    with pytest.raises(EvidenceError, match="not a prefix"):
        verify_consistency_document(swapped, key_set)
    with pytest.raises(EvidenceError, match="holds no key"):
        verify_inclusion_document(proof, {"keys": []})
    mandate_only = {"keys": [dict(k, kid=first.kid) for k in key_set["keys"] if k["fiduciary_purpose"] == "mandate"]}
    with pytest.raises(EvidenceError, match="does not sign the audit chain"):
        verify_inclusion_document(proof, mandate_only)


async def test_a_proof_needs_a_checkpoint_that_holds_the_entry(runtime: Runtime, tenant: Tenant) -> None:
    evidence, op = runtime.control.evidence, tenant.admin
    head = await runtime.store.read.audit_head(tenant.org_id)
    assert head is not None
    with pytest.raises(InputError, match="no checkpoint holds entry 1 yet"):
        await evidence.prove_inclusion(op, tenant.org_id, 1)
    made = await evidence.checkpoint(op, tenant.org_id)
    with pytest.raises(InputError, match=f"does not hold entry {made.size + 1}"):
        await evidence.prove_inclusion(op, tenant.org_id, made.size + 1, size=made.size)
    with pytest.raises(InputError, match="no checkpoint of size 999"):
        await evidence.prove_consistency(op, tenant.org_id, made.size, 999)
    with pytest.raises(InputError, match="from 1"):
        await evidence.prove_inclusion(op, tenant.org_id, 0)


async def test_the_running_server_checkpoints_when_the_chain_grew_and_old_checkpoints_survive_rotation(
    runtime: Runtime, tenant: Tenant, clock: FakeClock
) -> None:
    op = tenant.admin
    await runtime.maintain()
    first = (await runtime.control.evidence.list(op, tenant.org_id))[-1]
    await runtime.maintain()
    assert (await runtime.control.evidence.list(op, tenant.org_id))[-1] == first, "nothing new, nothing signed"
    await pay(runtime, tenant, "a")
    await runtime.maintain()
    assert (await runtime.control.evidence.list(op, tenant.org_id))[-1] == first, "too few and too soon"
    clock.advance(seconds=limits.checkpoint_seconds)
    await runtime.maintain()
    second = (await runtime.control.evidence.list(op, tenant.org_id))[-1]
    assert second.size > first.size and second.ts > first.ts

    await runtime.control.keys.rotate(op, tenant.org_id, [KeyPurpose.AUDIT], reason="test")
    key_set = await runtime.control.keys.jwks(op, tenant.org_id)
    assert verify_checkpoint(first.document(), key_set) == first, "the retired key stays published"


async def test_two_instances_checkpointing_at_once_store_one_checkpoint(
    runtime: Runtime, tenant: Tenant, settings: Settings, clock: FakeClock
) -> None:
    made = []
    async with open_runtime(settings, clock=clock, resume=False) as other:

        async def checkpoint(rt: Runtime) -> None:
            made.append(await rt.control.evidence.checkpoint(tenant.admin, tenant.org_id))

        async with anyio.create_task_group() as tg:
            tg.start_soon(checkpoint, runtime)
            tg.start_soon(checkpoint, other)
    assert len({m.size for m in made}) == 1
    assert rows(settings, "SELECT COUNT(*) FROM checkpoints") == [(1,)]


async def test_the_database_refuses_to_change_a_checkpoint(
    runtime: Runtime, tenant: Tenant, settings: Settings
) -> None:
    await runtime.control.evidence.checkpoint(tenant.admin, tenant.org_id)
    for sql in ("UPDATE checkpoints SET size = size + 1", "DELETE FROM checkpoints"):
        with pytest.raises(Exception, match="checkpoints are append-only"):
            execute(settings, sql)


async def test_a_restarted_server_signs_the_next_checkpoint_from_the_entries_added_since(
    runtime: Runtime, tenant: Tenant, settings: Settings, clock: FakeClock
) -> None:
    for key in "abc":
        await pay(runtime, tenant, key)
    first = await runtime.control.evidence.checkpoint(tenant.admin, tenant.org_id)
    async with open_runtime(settings, clock=clock, resume=False) as restarted:
        await pay(restarted, tenant, "d")
        read = restarted.store.read
        asked: list[int] = []
        hashes = read.audit_hashes

        async def audit_hashes(org_id: str, *, after_seq: int, limit: int) -> list[tuple[int, bytes]]:
            asked.append(after_seq)
            return await hashes(org_id, after_seq=after_seq, limit=limit)

        read.audit_hashes = audit_hashes  # type: ignore[method-assign]
        second = await restarted.control.evidence.checkpoint(tenant.admin, tenant.org_id)
        key_set = await restarted.control.keys.jwks(tenant.admin, tenant.org_id)
        proof = await restarted.control.evidence.prove_consistency(tenant.admin, tenant.org_id, first.size, second.size)
    assert asked[0] == first.size, "the saved frontier of the first checkpoint, then only what followed"
    assert verify_consistency_document(proof, key_set) == (first, second), "and the root is right"


async def test_a_sink_bundle_ends_at_the_largest_checkpoint_that_fits_else_the_first_past_it(
    runtime: Runtime, tenant: Tenant
) -> None:
    evidence, op, reads, org = runtime.control.evidence, tenant.admin, runtime.store.read, tenant.org_id
    await pay(runtime, tenant, "a")
    first = await evidence.checkpoint(op, org)
    for key in "bc":
        await pay(runtime, tenant, key)
    second = await evidence.checkpoint(op, org)
    assert await reads.bundle_checkpoint(org, after=0, at_most=second.size) == second
    assert await reads.bundle_checkpoint(org, after=0, at_most=second.size - 1) == first
    assert await reads.bundle_checkpoint(org, after=0, at_most=first.size - 1) == first, "too big: the first past"
    assert await reads.bundle_checkpoint(org, after=first.size, at_most=first.size + 1) == second
    assert await reads.bundle_checkpoint(org, after=second.size, at_most=second.size + 100) is None
