"""`fiduciary keys` as an operator runs it: list, export the JWKS, rotate, and their refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_cli import Initialised, initialised
from tests.test_cli_lifecycle import add_operator, as_json

__all__ = ["initialised"]

pytestmark = pytest.mark.anyio


async def test_keys_are_listed_exported_as_a_jwks_and_rotated_by_an_admin_only(
    initialised: Initialised, tmp_path: Path
) -> None:
    listed = await as_json(initialised, "keys", "list")
    assert {(k["purpose"], k["status"]) for k in listed["keys"]} >= {("audit", "signing"), ("mandate", "signing")}

    approver = await add_operator(initialised, "alice", "approver")
    refused = await initialised.run("keys", "rotate", "--reason", "try", "--token", approver)
    assert refused.returncode == 1 and "may not keys.rotate" in refused.stderr

    rotated = await as_json(initialised, "keys", "rotate", "--purpose", "audit", "--reason", "yearly")
    ((org, kid, retired),) = [(r["org_id"], r["kid"], r["retired"]) for r in rotated["rotated"]]
    text = await initialised.run("keys", "list", "--org", org)
    assert text.returncode == 0 and kid in text.stdout and "retired" in text.stdout

    out = tmp_path / "jwks.json"
    wrote = await as_json(initialised, "keys", "export-jwks", "--org", org, "--out", str(out))
    key_set = json.loads(out.read_text())
    assert wrote == {"out": str(out), "keys": len(key_set["keys"])}
    assert {k["kid"] for k in key_set["keys"]} >= {kid, *retired}
    assert all("d" not in k for k in key_set["keys"])
    printed = await as_json(initialised, "keys", "export-jwks", "--org", org)
    assert printed == key_set, "the same set on standard output"

    unknown = await initialised.run("keys", "export-jwks", "--org", "org_nope")
    assert unknown.returncode == 1 and "no org org_nope" in unknown.stderr
    no_reason = await initialised.run("keys", "rotate")
    assert no_reason.returncode == 2 and "--reason" in no_reason.stderr
    verified = await initialised.run("audit", "verify")
    assert verified.returncode == 0, verified.stdout
