"""`audit checkpoint`, `audit prove` and `audit verify-proof` as an auditor runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_cli import Initialised, agent, call, initialised, pay
from tests.test_cli_lifecycle import add_operator, as_json

__all__ = ["initialised"]

pytestmark = pytest.mark.anyio


async def test_an_auditor_checkpoints_proves_and_anyone_verifies_with_the_jwks_alone(
    initialised: Initialised, tmp_path: Path
) -> None:
    auditor = await add_operator(initialised, "ann", "auditor")
    first = await as_json(initialised, "audit", "checkpoint", token=auditor)
    assert first["type"] == "fiduciary.checkpoint.v1" and first["size"] >= 3
    await as_json(initialised, "agents", "add", "bot-2")  # the org's chain grows
    second = await as_json(initialised, "audit", "checkpoint", token=auditor)
    listed = await as_json(initialised, "audit", "checkpoint", "--list", token=auditor)
    assert [c["size"] for c in listed["checkpoints"]] == [first["size"], second["size"]]

    jwks, proof, consistency = tmp_path / "jwks.json", tmp_path / "proof.json", tmp_path / "consistency.json"
    await as_json(initialised, "keys", "export-jwks", "--org", first["org_id"], "--out", str(jwks), token=auditor)
    await as_json(initialised, "audit", "prove", "--seq", "2", "--out", str(proof), token=auditor)
    sizes = [str(first["size"]), str(second["size"])]
    await as_json(initialised, "audit", "prove", "--consistency", *sizes, "--out", str(consistency), token=auditor)

    for document in (proof, consistency):
        checked = await initialised.run("audit", "verify-proof", str(document), "--jwks", str(jwks), "--json")
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert (
            json.loads(checked.stdout)["ok"] is True and json.loads(checked.stdout)["checkpoint_size"] == second["size"]
        )
    text = await initialised.run("audit", "verify-proof", str(proof), "--jwks", str(jwks), "--home", "/nonexistent")
    assert text.returncode == 0 and text.stdout.startswith("OK      entry 2 is in"), "no data directory needed"

    edited = json.loads(proof.read_text())
    edited["entry_hash"] = "0" * 64
    proof.write_text(json.dumps(edited))
    failed = await initialised.run("audit", "verify-proof", str(proof), "--jwks", str(jwks))
    assert failed.returncode == 1 and failed.stdout.startswith("FAILED  entry 2 is not in the checkpoint's tree")
    not_json = await initialised.run("audit", "verify-proof", str(jwks.parent / "missing.json"), "--jwks", str(jwks))
    assert not_json.returncode == 1 and "cannot read the proof file" in not_json.stderr
    beyond = await initialised.run("audit", "prove", "--seq", "100000", "--token", auditor)
    assert beyond.returncode == 1 and "no checkpoint holds entry 100000 yet" in beyond.stderr
    both = await initialised.run("audit", "prove", "--seq", "1", "--consistency", "1", "2")
    assert both.returncode == 2


async def test_an_auditor_exports_a_bundle_that_verifies_with_the_jwks_alone_and_a_busy_directory_is_refused(
    initialised: Initialised, tmp_path: Path
) -> None:
    auditor = await add_operator(initialised, "ann", "auditor")
    jwks, out = tmp_path / "jwks.json", tmp_path / "bundle"
    await as_json(initialised, "keys", "export-jwks", "--out", str(jwks), token=auditor)
    made = await as_json(initialised, "audit", "export", "--format", "csv", "--out", str(out), token=auditor)
    assert made["from_seq"] == 1 and made["entries"] == made["to_seq"] and made["format"] == "csv"
    assert sorted(p.name for p in out.iterdir()) == ["entries.csv", "manifest.json"]

    checked = await initialised.run("audit", "verify-export", str(out), "--jwks", str(jwks), "--json")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert json.loads(checked.stdout)["manifest_sha256"] == made["manifest_sha256"]
    text = await initialised.run("audit", "verify-export", str(out), "--jwks", str(jwks), "--home", "/nonexistent")
    assert text.returncode == 0 and text.stdout.startswith("OK      "), "no data directory needed"

    again = await initialised.run("audit", "export", "--out", str(out), "--token", auditor)
    assert again.returncode == 1 and "already holds files" in again.stderr
    (out / "entries.csv").write_text((out / "entries.csv").read_text().replace("system", "systen", 1))
    broken = await initialised.run("audit", "verify-export", str(out), "--jwks", str(jwks))
    assert broken.returncode == 1 and broken.stdout.startswith("FAILED  entries.csv is not the file the manifest lists")
    approver = await add_operator(initialised, "bob", "approver")
    refused = await initialised.run("audit", "export", "--out", str(tmp_path / "b2"), "--token", approver)
    assert refused.returncode == 1 and "may not audit.export" in refused.stderr
    assert not (tmp_path / "b2").exists()


async def test_an_agent_refused_after_a_revocation_keeps_a_receipt_that_verifies_with_the_jwks_alone(
    initialised: Initialised, tmp_path: Path
) -> None:
    revoked = await initialised.run("mandates", "revoke", initialised.value("open mandate"), "--reason", "ended")
    assert revoked.returncode == 0, revoked.stderr
    async with agent(initialised) as c:
        refused = await call(c, "pay", pay("20.00", "after the revocation"))
    assert (refused["status"], refused["code"]) == ("denied", "mandate_revoked")
    receipt, jwks = tmp_path / "receipt.json", tmp_path / "jwks.json"
    receipt.write_text(json.dumps(refused["receipt"]))
    await as_json(initialised, "keys", "export-jwks", "--out", str(jwks))

    checked = await initialised.run("receipts", "verify", str(receipt), "--jwks", str(jwks), "--home", "/nonexistent")
    assert checked.returncode == 0 and "refused pay" in checked.stdout and "mandate_revoked" in checked.stdout
    forged = dict(refused["receipt"], code="budget_exceeded")
    receipt.write_text(json.dumps(forged))
    failed = await initialised.run("receipts", "verify", str(receipt), "--jwks", str(jwks))
    assert failed.returncode == 1 and failed.stdout.startswith("FAILED  the receipt is not signed by")
