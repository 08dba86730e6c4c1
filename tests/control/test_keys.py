"""Org keys: published as a JWKS, rotated on demand and by age, never signing once retired."""

from __future__ import annotations

import base64
import json

import pytest

from fiduciary.audit.jwks import JwksError, verification_key
from fiduciary.control import MandateSpec, Tenant, verify_chain
from fiduciary.domain import limits
from fiduciary.domain.clock import FakeClock
from fiduciary.domain.errors import InputError
from fiduciary.domain.intents import AgentRef, PaymentRequest, Tool
from fiduciary.domain.results import Status
from fiduciary.mandates.keys import KeyPurpose
from fiduciary.runtime import Runtime, open_runtime
from fiduciary.settings import Settings
from tests.rows import rows

pytestmark = pytest.mark.anyio


async def pay(rt: Runtime, tenant: Tenant, key: str) -> Status:
    caller = AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id)
    request = PaymentRequest(Tool.PAY, "supplies", "10.00", "USD", "acct:supplies", idempotency_key=key)
    return (await rt.gate.request(caller, request, reference=f"ref_{key}")).status


def signing_kids(settings: Settings, org_id: str) -> list[str]:
    """The key id of each entry of the org's chain, in order."""
    return [kid for (kid,) in rows(settings, "SELECT kid FROM audit WHERE org_id = ? ORDER BY seq", (org_id,))]


def token_kid(token: str) -> str:
    header = token.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"])


async def test_a_rotated_key_stops_signing_stays_published_and_what_it_signed_still_verifies(
    runtime: Runtime, tenant: Tenant, settings: Settings
) -> None:
    before = {k.purpose: k.kid for k in await runtime.control.keys.list(tenant.admin, tenant.org_id)}
    assert await pay(runtime, tenant, "before") is Status.EXECUTED

    done = await runtime.control.keys.rotate(tenant.admin, tenant.org_id, list(KeyPurpose), reason="yearly")

    assert {(r.purpose, r.retired) for r in done} == {(p, (before[p],)) for p in ("audit", "mandate")}
    new = {r.purpose: r.kid for r in done}
    assert await pay(runtime, tenant, "after") is Status.EXECUTED, "the mandate the old key signed still holds"
    kids = signing_kids(settings, tenant.org_id)
    rotated_at = kids.index(new["audit"]) if new["audit"] in kids else len(kids)
    assert set(kids[:rotated_at]) == {before["audit"]} and kids[rotated_at:], "every entry after is signed anew"
    assert set(kids[rotated_at + 1 :]) == {new["audit"]}, "the retired key never signs again"

    key_set = await runtime.control.keys.jwks(tenant.admin, tenant.org_id)
    published = {k["kid"]: k for k in key_set["keys"]}
    assert set(published) == set(before.values()) | set(new.values())
    assert all(published[kid]["fiduciary_retired_at"] for kid in before.values())
    assert all("fiduciary_retired_at" not in published[kid] for kid in new.values())
    assert all("d" not in k for k in key_set["keys"]), "no private half"
    assert len(verification_key(key_set, before["audit"])) == 32
    assert (await verify_chain(runtime.store.read, tenant.org_id)).ok, "entries of both keys verify"

    (entry,) = [e for e in await runtime.store.read.audit_by_subject(tenant.org_id, new["audit"])]
    assert (entry.body.actor, entry.body.type) == (tenant.admin.actor, "key.rotated")
    assert entry.body.payload == {"purpose": "audit", "kid": new["audit"], "retired": [before["audit"]],
                                  "reason": "yearly"}  # fmt: skip

    spec = MandateSpec(agent_id=tenant.agent_id, currency="USD", max_per_use="50.00", total_cap="100.00",
                       purpose="after rotation")  # fmt: skip
    issued = await runtime.control.mandates.issue(tenant.admin, spec)
    assert token_kid(issued.row.token) == new["mandate"]


async def test_another_instance_stops_signing_with_a_key_rotated_elsewhere(
    runtime: Runtime, tenant: Tenant, settings: Settings, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert await pay(runtime, tenant, "warm") is Status.EXECUTED  # this instance holds the key unlocked
    async with open_runtime(settings, clock=clock, resume=False) as other:
        (done,) = await other.control.keys.rotate(tenant.admin, tenant.org_id, [KeyPurpose.AUDIT], reason="leak")
    monkeypatch.setattr(limits, "key_recheck_seconds", 0.0)  # as when the recheck interval has passed
    assert await pay(runtime, tenant, "later") is Status.EXECUTED
    assert signing_kids(settings, tenant.org_id)[-1] == done.kid


async def test_the_running_server_rotates_keys_past_their_age_once(
    runtime: Runtime, tenant: Tenant, settings: Settings, clock: FakeClock
) -> None:
    await runtime.maintain()
    assert not [k for k in await runtime.control.keys.list(tenant.admin) if k.retired_at], "young keys stay"
    clock.advance(seconds=(limits.key_rotation_days_default + 1) * 86_400)

    await runtime.maintain()
    await runtime.maintain()

    rotated = rows(settings, "SELECT org_id, actor, payload FROM audit WHERE type = 'key.rotated'")
    orgs = {k.org_id for k in await runtime.control.keys.list(tenant.admin)}
    assert sorted((org, json.loads(p)["purpose"]) for org, _, p in rotated) == sorted(
        (org, purpose.value) for org in orgs for purpose in KeyPurpose
    ), "each key of each org once"
    assert {actor for _, actor, _ in rotated} == {"system"}
    assert all(json.loads(p)["reason"] == "scheduled: older than 90 days" for _, _, p in rotated)
    assert all([(await verify_chain(runtime.store.read, org)).ok for org in orgs])


async def test_rotation_refuses_an_unknown_org_and_a_missing_reason(runtime: Runtime, tenant: Tenant) -> None:
    with pytest.raises(InputError, match="no org org_nope"):
        await runtime.control.keys.rotate(tenant.admin, "org_nope", [KeyPurpose.AUDIT], reason="x")
    with pytest.raises(InputError, match="give a reason"):
        await runtime.control.keys.rotate(tenant.admin, tenant.org_id, [KeyPurpose.AUDIT], reason="  ")
    assert not [k for k in await runtime.control.keys.list(tenant.admin) if k.retired_at]


def test_a_jwks_without_the_key_or_with_a_wrong_one_is_refused() -> None:
    good = {"kty": "OKP", "crv": "Ed25519", "x": base64.urlsafe_b64encode(b"k" * 32).decode().rstrip("="), "kid": "a"}
    assert verification_key({"keys": [good]}, "a") == b"k" * 32
    for key_set, message in [
        ({"keys": [good]}, "no key b"),
        ({"keys": [good, good]}, "more than once"),
        ({"keys": [{**good, "crv": "X25519"}]}, "not an Ed25519 public key"),
        ({"keys": [{**good, "d": "secret"}]}, "not an Ed25519 public key"),
        ({"keys": [{**good, "x": "AAAA"}]}, "not 32 bytes"),
        ({"keys": [{**good, "x": "!!"}]}, "no valid x"),
        ({"nokeys": []}, "no list of keys"),
    ]:
        with pytest.raises(JwksError, match=message):
            verification_key(key_set, "b" if message == "no key b" else "a")
