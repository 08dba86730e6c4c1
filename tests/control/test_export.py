"""Signed export bundles: written whole or not at all, chained by manifest, verified from their files alone."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from fiduciary.audit.export import manifest_digest, verify_bundle
from fiduciary.audit.jwks import b64url
from fiduciary.control import Tenant
from fiduciary.domain.canonical import canonical_json
from fiduciary.domain.errors import InputError
from fiduciary.domain.intents import AgentRef, PaymentRequest, Tool
from fiduciary.domain.results import Status
from fiduciary.mandates.keys import KeyPurpose
from fiduciary.runtime import Runtime
from fiduciary.settings import Settings
from tests.rows import rows

pytestmark = pytest.mark.anyio


async def pay(rt: Runtime, tenant: Tenant, key: str, counterparty: str = "acct:supplies") -> None:
    caller = AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id)
    request = PaymentRequest(Tool.PAY, "café ☕ «supplies»", "10.00", "USD", counterparty, idempotency_key=key)
    assert (await rt.gate.request(caller, request, reference=f"ref_{key}")).status is Status.EXECUTED


async def export(rt: Runtime, tenant: Tenant, out: Path, fmt: str = "jsonl", from_seq: int = 1) -> Path:
    await rt.control.evidence.export(tenant.admin, tenant.org_id, fmt=fmt, out=out, from_seq=from_seq)
    return out


async def resign(rt: Runtime, tenant: Tenant, bundle: Path, edit: Any) -> None:
    """Edit the entries file, then fix its digest and sign the manifest again with the org's own key:
    what only the key's holder could do, so the checks below the manifest must still catch it."""
    manifest = json.loads((bundle / "manifest.json").read_text())["manifest"]
    entries = bundle / manifest["files"][0]["name"]
    lines = entries.read_bytes().splitlines(keepends=True)
    data = b"".join(edit(lines))
    entries.write_bytes(data)
    manifest["files"][0].update(sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))
    signer = await rt.keyring.signer(rt.store.read, tenant.org_id, KeyPurpose.AUDIT)
    signed = {"manifest": manifest, "signature": b64url(signer.sign(canonical_json(manifest)))}
    (bundle / "manifest.json").write_text(json.dumps(signed))


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
async def test_a_bundle_verifies_from_its_files_and_the_jwks_and_the_next_one_names_it(
    runtime: Runtime, tenant: Tenant, tmp_path: Path, settings: Settings, fmt: str
) -> None:
    for key in "ab":
        await pay(runtime, tenant, key)
    first = await export(runtime, tenant, tmp_path / "first", fmt)
    await pay(runtime, tenant, "c")
    await runtime.control.keys.rotate(tenant.admin, tenant.org_id, [KeyPurpose.AUDIT], reason="between exports")
    await pay(runtime, tenant, "d")
    second = await export(runtime, tenant, tmp_path / "second", fmt)
    key_set = await runtime.control.keys.jwks(tenant.admin, tenant.org_id)

    one, two = verify_bundle(first, key_set), verify_bundle(second, key_set)
    assert one.ok and two.ok, (one.problems, two.problems)
    assert sorted(p.name for p in second.iterdir()) == sorted(["manifest.json", f"entries.{fmt}"])
    assert (one.from_seq, two.from_seq) == (1, 1) and two.to_seq > one.to_seq
    assert two.entries == two.to_seq and two.previous_manifest_sha256 == one.manifest_sha256
    manifest = json.loads((first / "manifest.json").read_text())["manifest"]
    assert manifest_digest(manifest).hex() == one.manifest_sha256
    recorded = rows(settings, "SELECT number, format, to_seq, manifest_sha256 FROM exports ORDER BY number")
    assert [(n, f, t, bytes(h).hex()) for n, f, t, h in recorded] == [
        (1, fmt, one.to_seq, one.manifest_sha256),
        (2, fmt, two.to_seq, two.manifest_sha256),
    ]
    exported = [e for e in await runtime.store.read.audit_page(tenant.org_id, after_seq=0, limit=1000)
                if e.body.type == "audit.exported"]  # fmt: skip
    assert [e.body.payload["manifest_sha256"] for e in exported] == [one.manifest_sha256, two.manifest_sha256]
    assert all(e.body.actor == tenant.admin.actor for e in exported)

    part = verify_bundle(await export(runtime, tenant, tmp_path / "part", fmt, from_seq=one.to_seq + 1), key_set)
    assert part.ok and part.from_seq == one.to_seq + 1, part.problems


async def test_an_edited_bundle_fails_even_with_its_manifest_signed_again(
    runtime: Runtime, tenant: Tenant, tmp_path: Path
) -> None:
    for key in "abc":
        await pay(runtime, tenant, key)
    key_set = await runtime.control.keys.jwks(tenant.admin, tenant.org_id)

    def payload_edited(lines: list[bytes]) -> list[bytes]:
        entry = json.loads(lines[3])
        entry["payload"]["forged"] = True
        lines[3] = json.dumps(entry).encode() + b"\n"
        return lines

    cases = [
        ("edited", payload_edited, "hash does not match its body"),
        ("removed", lambda lines: lines[:2] + lines[3:], "the file holds"),
        ("swapped", lambda lines: [lines[1], lines[0], *lines[2:]], "out of place"),
        ("unsigned", lambda lines: [lines[0].replace(b'"signature":"', b'"signature":"A'), *lines[1:]], "signature"),
    ]
    for name, edit, message in cases:
        bundle = await export(runtime, tenant, tmp_path / name)
        await resign(runtime, tenant, bundle, edit)
        report = verify_bundle(bundle, key_set)
        assert not report.ok and message in " ".join(report.problems), (name, report.problems)

    plain = await export(runtime, tenant, tmp_path / "plain")
    entries = plain / "entries.jsonl"
    entries.write_bytes(entries.read_bytes().replace(b'"actor":"', b'"actor":"x', 1))
    assert "not the file the manifest lists" in " ".join(verify_bundle(plain, key_set).problems)
    other = await export(runtime, tenant, tmp_path / "other")
    signed = json.loads((other / "manifest.json").read_text())
    signed["manifest"]["to_seq"] -= 1
    (other / "manifest.json").write_text(json.dumps(signed))
    assert "the manifest is not signed by" in " ".join(verify_bundle(other, key_set).problems)
    extra = await export(runtime, tenant, tmp_path / "extra")
    (extra / "notes.txt").write_text("hello")
    assert "does not list: notes.txt" in " ".join(verify_bundle(extra, key_set).problems)
    assert "holds no key" in " ".join(verify_bundle(extra, {"keys": []}).problems)


async def test_an_export_goes_only_into_a_new_or_empty_directory_and_leaves_nothing_when_refused(
    runtime: Runtime, tenant: Tenant, tmp_path: Path, settings: Settings
) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    busy = exports / "busy"
    busy.mkdir()
    (busy / "old.txt").write_text("keep me")
    (exports / "empty").mkdir()
    with pytest.raises(InputError, match="already holds files"):
        await export(runtime, tenant, busy)
    with pytest.raises(InputError, match="is not a directory"):
        await export(runtime, tenant, exports / "missing" / "out")
    with pytest.raises(InputError, match="has no entries from 100000"):
        await export(runtime, tenant, exports / "late", from_seq=100_000)
    with pytest.raises(InputError, match="from 1"):
        await export(runtime, tenant, exports / "zero", from_seq=0)
    with pytest.raises(InputError, match="--format"):
        await export(runtime, tenant, exports / "xml", fmt="xml")
    assert (busy / "old.txt").read_text() == "keep me"
    assert sorted(p.name for p in exports.iterdir()) == ["busy", "empty"], "no staging directory left behind"
    assert rows(settings, "SELECT COUNT(*) FROM exports") == [(0,)]
    assert verify_bundle(await export(runtime, tenant, exports / "empty"), {"keys": []}).problems
