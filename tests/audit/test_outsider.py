"""A verifier written from docs/AUDIT_FORMAT.md alone checks real bundles and proofs.

`tests/audit/outsider_verifier.py` uses SHA-256, the `rfc8785` package, Ed25519 and the JWKS,
and imports nothing of fiduciary (checked here); whatever it accepts, the document alone
describes.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from fiduciary.control import Tenant
from fiduciary.domain.intents import AgentRef, PaymentRequest, Tool
from fiduciary.domain.results import Status
from fiduciary.mandates.keys import KeyPurpose
from fiduciary.runtime import Runtime

pytestmark = pytest.mark.anyio

VERIFIER = Path(__file__).with_name("outsider_verifier.py")


def load_outsider() -> ModuleType:
    spec = importlib.util.spec_from_file_location("outsider_verifier", VERIFIER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["outsider_verifier"] = module
    spec.loader.exec_module(module)
    return module


outsider = load_outsider()


def test_the_outsider_imports_nothing_of_fiduciary() -> None:
    tree = ast.parse(VERIFIER.read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported and not [name for name in imported if name.split(".")[0] in {"fiduciary", "tests"}], imported


async def pay(rt: Runtime, tenant: Tenant, key: str, purpose: str) -> None:
    caller = AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id)
    request = PaymentRequest(Tool.PAY, purpose, "12.34", "USD", "acct:supplies", idempotency_key=key)
    assert (await rt.gate.request(caller, request, reference=f"ref_{key}")).status is Status.EXECUTED


async def test_bundles_and_proofs_written_by_fiduciary_verify_with_the_outsider_and_edits_do_not(
    runtime: Runtime, tenant: Tenant, tmp_path: Path
) -> None:
    op, evidence = tenant.admin, runtime.control.evidence
    purposes = ["café ☕ «supplies»", "𝄞 music \u2028 line", 'quotes " and \\ backslash', "emoji 😀 \ufb33 \u20ac"]
    for n, purpose in enumerate(purposes):
        await pay(runtime, tenant, f"p{n}", purpose)
    first = tmp_path / "first"
    await evidence.export(op, tenant.org_id, fmt="jsonl", out=first)
    await runtime.control.keys.rotate(op, tenant.org_id, [KeyPurpose.AUDIT], reason="outsider test")
    await pay(runtime, tenant, "after", "after the rotation")
    second = tmp_path / "second"
    await evidence.export(op, tenant.org_id, fmt="csv", out=second)
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(await runtime.control.keys.jwks(op, tenant.org_id)))
    jwks = outsider.load_jwks(jwks_file)

    one, two = outsider.verify_bundle(first, jwks), outsider.verify_bundle(second, jwks)
    assert (one["from_seq"], two["from_seq"], one["org_id"]) == (1, 1, tenant.org_id)
    assert two["entries"] == two["to_seq"] > one["to_seq"]
    second_manifest = json.loads((second / "manifest.json").read_text())["manifest"]
    first_manifest = json.loads((first / "manifest.json").read_text())["manifest"]
    assert second_manifest["previous_manifest_sha256"] == outsider.manifest_digest(first_manifest)

    latest = (await evidence.list(op, tenant.org_id))[-1]
    oldest = (await evidence.list(op, tenant.org_id))[0]
    for seq in (1, latest.size // 2, latest.size):
        outsider.verify_inclusion_proof(await evidence.prove_inclusion(op, tenant.org_id, seq), jwks)
    consistency = await evidence.prove_consistency(op, tenant.org_id, oldest.size, latest.size)
    outsider.verify_consistency_proof(consistency, jwks)
    outsider.verify_checkpoint(latest.document(), jwks)

    bad = await evidence.prove_inclusion(op, tenant.org_id, 2)
    bad["path"][0] = "0" * 64
    with pytest.raises(outsider.VerificationError):
        outsider.verify_inclusion_proof(bad, jwks)
    consistency["path"] = consistency["path"][:-1]
    with pytest.raises(outsider.VerificationError):
        outsider.verify_consistency_proof(consistency, jwks)
    entries = first / "entries.jsonl"
    entries.write_bytes(entries.read_bytes().replace("café".encode(), b"cafe", 1))
    with pytest.raises(outsider.VerificationError):
        outsider.verify_bundle(first, jwks)
    with pytest.raises(outsider.VerificationError):
        outsider.verify_bundle(second, {"keys": []})
