"""Erasure of a counterparty on request, and the legal holds that block it."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from fiduciary.audit.export import verify_bundle
from fiduciary.control import MandateSpec, Operator, Role, Tenant
from fiduciary.control.replay import replay_org
from fiduciary.domain.canonical import digest
from fiduciary.domain.clock import FakeClock
from fiduciary.domain.errors import AccessError, InputError
from fiduciary.domain.ids import Prefix, new_id
from fiduciary.domain.intents import AgentRef, PaymentRequest, Tool
from fiduciary.domain.results import Outcome, Status
from fiduciary.gate.alerts import naming
from fiduciary.runtime import Runtime
from fiduciary.settings import Settings
from fiduciary.sinks.formats import entry_json
from fiduciary.terminal import ERASED
from tests.rows import execute, rows

pytestmark = pytest.mark.anyio

MARIA = "acct:maria-silva"
OTHER = "acct:supplies"


async def pay(rt: Runtime, tenant: Tenant, key: str, *, to: str = MARIA, amount: str = "10.00") -> Outcome:
    caller = AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id)
    request = PaymentRequest(Tool.PAY, "supplies", amount, "USD", to, idempotency_key=key)
    return await rt.gate.request(caller, request, reference=f"ref_{key}")


async def charge(rt: Runtime, tenant: Tenant, key: str, *, payer: str) -> Outcome:
    caller = AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id)
    request = PaymentRequest(Tool.CHARGE, "order", "5.00", "USD", payer, idempotency_key=key)
    return await rt.gate.request(caller, request, reference=f"ref_{key}")


def every_value(settings: Settings) -> list[str]:
    """Every text and byte value in every table of the database, as text."""
    if settings.database_url:
        tables = rows(settings, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
                                "AND table_type = 'BASE TABLE'")  # fmt: skip
    else:
        tables = rows(settings, "SELECT name FROM sqlite_master WHERE type = 'table'")
    found = []
    for (table,) in tables:
        for row in rows(settings, f"SELECT * FROM {table}"):
            for cell in row:
                if isinstance(cell, bytes | memoryview):
                    found.append(bytes(cell).decode("latin-1"))
                elif cell is not None:
                    found.append(str(cell))
    return found


async def test_an_erased_counterparty_leaves_every_table_and_the_chain_still_verifies(
    runtime: Runtime, tenant: Tenant, settings: Settings, tmp_path: Path
) -> None:
    admin, org = tenant.admin, tenant.org_id
    assert (await pay(runtime, tenant, "m1")).status is Status.EXECUTED
    assert (await pay(runtime, tenant, "m2")).status is Status.EXECUTED
    kept = await pay(runtime, tenant, "o1", to=OTHER)
    execute(settings, "UPDATE transactions SET rail_note = 'credited to maria-silva' WHERE reference = 'ref_m1'")
    noted = rows(settings, "SELECT reference FROM transactions WHERE rail_note IS NOT NULL AND reference <> 'ref_o1'")
    assert any("maria-silva" in v for v in every_value(settings)), "the vault holds the value"
    bundle = tmp_path / "before"
    await runtime.control.evidence.export(admin, org, fmt="jsonl", out=bundle)
    assert "maria-silva" not in "".join(p.read_text() for p in bundle.iterdir()), "exports carry commitments"
    stored = await runtime.store.read.audit_stored(org, after_seq=0, limit=10_000)
    assert not any(b"maria-silva" in entry_json(e) for e in stored), "sinks send these entries as they are"

    done = await runtime.control.privacy.erase(admin, org, "ACCT:Maria-Silva", reason="ticket DSR-17")

    assert (
        len(done.subjects) == 1
        and done.commitments >= 2
        and done.rail_notes_dropped == len(noted)
        and done.scrubbed is (not settings.database_url)
    )
    assert not any("maria-silva" in v for v in every_value(settings)), "no table holds it any more"
    if not settings.database_url:
        for path in settings.db_path.parent.glob(settings.db_path.name + "*"):
            assert b"maria-silva" not in path.read_bytes(), f"{path.name} holds no copy of it"
    (report,) = [r for o, r in await runtime.control.records.verify(admin, org) if o == org]
    assert report.ok, report.reason
    key_set = await runtime.control.keys.jwks(admin, org)
    assert verify_bundle(bundle, key_set).entries > 0, "an export made before still verifies"
    assert (await replay_org(runtime.store.read, org)).agrees, "replay agrees with the tables"
    (entry,) = [e for e in await runtime.store.read.audit_by_subject(org, done.erasure_id)]
    assert entry.body.type == "dsr.erased" and entry.body.payload["reason"] == "ticket DSR-17"
    assert entry.body.payload["subjects"] == list(done.subjects) and entry.body.actor == admin.actor
    closed = sorted(r[0] for r in rows(settings, "SELECT commitment FROM pii WHERE salt IS NULL"))
    assert entry.body.payload["commitments"] == len(closed) == done.commitments
    assert entry.body.payload["commitments_sha256"] == hashlib.sha256("\n".join(closed).encode()).hexdigest()

    history = await runtime.control.records.transactions(admin, org_id=org)
    assert {t.counterparty for t in history} == {None, OTHER}, "the other payee is untouched"
    other = await runtime.store.read.transaction_by_id(kept.transaction_id or "")
    assert other is not None and other.counterparty == OTHER

    with pytest.raises(InputError, match="no counterparty"):
        await runtime.control.privacy.erase(admin, org, MARIA, reason="again")
    again = await pay(runtime, tenant, "m3")
    assert again.status is Status.EXECUTED, "an erased counterparty can be paid again, as a new one"
    caller = AgentRef(org, tenant.project_id, tenant.agent_id)
    assert await runtime.store.read.payments_to(caller, per_project=False, counterparty=MARIA) == 1


async def test_a_refund_of_an_erased_payers_charge_is_refused_with_a_clear_code(
    runtime: Runtime, tenant: Tenant
) -> None:
    charged = await charge(runtime, tenant, "c1", payer="cus:ana")
    assert charged.status is Status.EXECUTED
    await runtime.control.privacy.erase(tenant.admin, tenant.org_id, "cus:ana", reason="ticket DSR-18")
    caller = AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id)
    request = PaymentRequest(Tool.REFUND, "return", None, None, None, idempotency_key="r1",
                             original_transaction_id=charged.transaction_id)  # fmt: skip
    refused = await runtime.gate.request(caller, request, reference="ref_r1")
    assert refused.code.value == "refund_not_allowed" and "erased" in refused.message


async def test_erasure_waits_for_a_payment_under_way_and_for_a_mandate_that_can_still_use_it(
    runtime: Runtime, tenant: Tenant
) -> None:
    admin, org = tenant.admin, tenant.org_id
    held = await pay(runtime, tenant, "big", amount="300.00")
    assert held.status is Status.PENDING_APPROVAL
    with pytest.raises(InputError, match="still under way") as refused:
        await runtime.control.privacy.erase(admin, org, MARIA, reason="ticket DSR-19")
    assert refused.value.code.value == "erasure_blocked"
    (waiting,) = await runtime.control.approvals.list(admin)
    await runtime.control.approvals.reject(admin, waiting.approval.approval_id, reason="not needed")

    spec = MandateSpec(tenant.agent_id, "USD", "20.00", "100.00", "maria only", counterparties=(MARIA,))
    named = (await runtime.control.mandates.issue(admin, spec)).row
    with pytest.raises(InputError, match=f"open mandate {named.mandate_id}"):
        await runtime.control.privacy.erase(admin, org, MARIA, reason="ticket DSR-19")
    await runtime.control.mandates.revoke(admin, named.mandate_id, reason="contract ended")

    done = await runtime.control.privacy.erase(admin, org, MARIA, reason="ticket DSR-19")
    assert done.mandates_forgotten == (named.mandate_id,)
    shown = await runtime.control.mandates.show(admin, named.mandate_id)
    assert (shown.status, shown.row.token, shown.mandate) == ("revoked", "", None), "its status, without the token"
    refusals = [e for e in await runtime.store.read.audit_page("org_platform", after_seq=0, limit=1000)
                if e.body.type == "control.refused" and e.body.payload["action"] == "dsr.erase"]  # fmt: skip
    assert len(refusals) == 2, "each refused erasure is on the record"


async def test_an_alert_that_named_the_counterparty_is_redacted(
    runtime: Runtime, tenant: Tenant, clock: FakeClock
) -> None:
    body = json.dumps({"counterparty": "acct:maria-silva", "type": "approval.held"}, separators=(",", ":"))
    assert naming(MARIA) in body
    await pay(runtime, tenant, "m1")
    async with runtime.store.write() as w:
        await w.insert_delivery(new_id(Prefix.DELIVERY), alert_id="apr_x", org_id=tenant.org_id,
                                url="http://127.0.0.1:9/hook", body=body)  # fmt: skip
    done = await runtime.control.privacy.erase(tenant.admin, tenant.org_id, MARIA, reason="ticket DSR-20")
    assert done.alerts_redacted == 1
    (delivery,) = await runtime.store.read.due_deliveries(clock.now())
    assert json.loads(delivery.body)["counterparty"] == ERASED


async def test_a_pix_key_erases_the_br_codes_that_carry_it(
    runtime: Runtime, tenant: Tenant, settings: Settings
) -> None:
    from tests.domain.test_counterparties import BCB_STATIC

    assert (await pay(runtime, tenant, "b1", to=BCB_STATIC)).transaction_id is not None
    assert any("Fulano de Tal" in v for v in every_value(settings)), "a BR Code names its merchant"
    pix_key = "pix:123E4567-e12b-12d1-a456-426655440000"
    done = await runtime.control.privacy.erase(tenant.admin, tenant.org_id, pix_key, reason="ticket DSR-21")
    assert len(done.subjects) == 1
    assert not any("Fulano de Tal" in v or "123e4567" in v for v in every_value(settings))


async def test_a_legal_hold_blocks_erasure_until_it_is_cleared(runtime: Runtime, tenant: Tenant) -> None:
    admin, org, privacy = tenant.admin, tenant.org_id, runtime.control.privacy
    await pay(runtime, tenant, "m1")
    on_maria = await privacy.hold(admin, org, MARIA, reason="litigation 2026-44")
    on_org = await privacy.hold(admin, None, None, reason="regulator inquiry")
    assert on_org.org_id == org and on_org.subject_id is None and on_maria.subject_id is not None
    assert {h.hold_id for h in await privacy.holds(admin)} == {on_maria.hold_id, on_org.hold_id}

    for hold in (on_maria, on_org):
        with pytest.raises(InputError, match="legal hold") as refused:
            await privacy.erase(admin, org, MARIA, reason="ticket DSR-22")
        assert refused.value.code.value == "erasure_blocked"
        await privacy.clear(admin, hold.hold_id, reason="case closed")
    with pytest.raises(InputError, match="already cleared"):
        await privacy.clear(admin, on_org.hold_id, reason="twice")
    assert await privacy.holds(admin) == []
    assert len(await privacy.holds(admin, cleared=True)) == 2

    await privacy.erase(admin, org, MARIA, reason="ticket DSR-22")
    types = [e.body.type for e in await runtime.store.read.audit_page(org, after_seq=0, limit=1000)]
    assert types.count("legal_hold.set") == 2 and types.count("legal_hold.cleared") == 2
    assert types[-1] == "dsr.erased"


async def test_only_an_admin_erases_or_holds_and_an_auditor_reads_the_holds(runtime: Runtime, tenant: Tenant) -> None:
    admin = tenant.admin
    _, approver_token = await runtime.control.operators.add(admin, "ann", Role.APPROVER)
    _, auditor_token = await runtime.control.operators.add(admin, "aud", Role.AUDITOR)
    approver: Operator = await runtime.control.operators.authenticate(approver_token)
    auditor: Operator = await runtime.control.operators.authenticate(auditor_token)
    await pay(runtime, tenant, "m1")
    for op in (approver, auditor):
        with pytest.raises(AccessError):
            await runtime.control.privacy.erase(op, tenant.org_id, MARIA, reason="no")
        with pytest.raises(AccessError):
            await runtime.control.privacy.hold(op, tenant.org_id, None, reason="no")
    assert await runtime.control.privacy.holds(auditor) == []


async def test_no_hash_in_the_chain_lets_anyone_confirm_a_guessed_counterparty(
    runtime: Runtime, tenant: Tenant
) -> None:
    caller = AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id)
    request = PaymentRequest(Tool.PAY, "supplies", "10.00", "USD", MARIA)  # no key: the server makes one
    paid = await runtime.gate.request(caller, request, reference="ref_guess")
    txn = await runtime.store.read.transaction_by_id(paid.transaction_id or "")
    assert txn is not None and txn.idempotency_key.startswith("auto:")
    guessed = digest(txn.intent().arguments())  # what anyone could compute from a guess and the entry
    chain = b"".join(e.canonical for e in await runtime.store.read.audit_stored(tenant.org_id, after_seq=0, limit=999))
    assert guessed.encode() not in chain and guessed[:32].encode() not in chain
    assert txn.idempotency_key.encode() in chain and txn.args_hash.encode() in chain, "both are recorded, keyed"
    again = await runtime.gate.request(caller, request, reference="ref_guess_again")
    assert again.replayed and again.transaction_id == paid.transaction_id, "the same call is still one payment"
    other = PaymentRequest(Tool.PAY, "supplies", "10.00", "USD", OTHER, idempotency_key=txn.idempotency_key)
    assert (await runtime.gate.request(caller, other, reference="ref_other")).code.value == "idempotency_conflict"


async def test_an_erasure_says_so_when_a_reader_keeps_the_old_pages_in_the_wal(
    runtime: Runtime, tenant: Tenant, settings: Settings
) -> None:
    await pay(runtime, tenant, "m1")
    with closing(sqlite3.connect(settings.db_path)) as reader:
        reader.execute("BEGIN")
        reader.execute("SELECT COUNT(*) FROM audit").fetchone()  # a snapshot another process holds open
        done = await runtime.control.privacy.erase(tenant.admin, tenant.org_id, MARIA, reason="DSR-4")
        assert done.scrubbed is False, "the WAL could not be truncated, and the erasure says so"
        reader.execute("ROLLBACK")
    assert not any("maria-silva" in v for v in every_value(settings)), "the tables hold it no more either way"
    assert await runtime.store.scrub(), "once the reader is gone, the WAL is truncated"
