"""`/.well-known/jwks.json` on a real HTTP server: every org key, public halves only, no token needed."""

from __future__ import annotations

import httpx2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from fiduciary.audit.jwks import verification_key
from fiduciary.control import verify_chain
from fiduciary.mandates.keys import KeyPurpose
from fiduciary.runtime import open_runtime
from tests.e2e.conftest import HttpServer

pytestmark = pytest.mark.anyio


async def test_the_jwks_publishes_every_key_and_a_rotation_shows_there(http_server: HttpServer) -> None:
    tenant = http_server.tenant
    async with httpx2.AsyncClient() as http:
        first = await http.get(http_server.url("/.well-known/jwks.json"), params={"org": tenant.org_id})
        async with open_runtime(http_server.settings, resume=False) as rt:
            await rt.control.keys.rotate(tenant.admin, tenant.org_id, [KeyPurpose.AUDIT], reason="test")
            entries = await rt.store.read.audit_page(tenant.org_id, after_seq=0, limit=1)
            assert (await verify_chain(rt.store.read, tenant.org_id)).ok
        second = await http.get(http_server.url("/.well-known/jwks.json"), params={"org": tenant.org_id})
        everyone = await http.get(http_server.url("/.well-known/jwks.json"))
        unknown = await http.get(http_server.url("/.well-known/jwks.json"), params={"org": "org_nope"})

    assert first.status_code == 200 and first.headers["cache-control"] == "public, max-age=300"
    assert {k["fiduciary_purpose"] for k in first.json()["keys"]} == {"audit", "mandate"}
    assert len(second.json()["keys"]) == 3, "the retired audit key stays published"
    assert all(k["kty"] == "OKP" and k["crv"] == "Ed25519" and "d" not in k for k in second.json()["keys"])
    assert {k["fiduciary_org"] for k in everyone.json()["keys"]} >= {tenant.org_id}
    assert unknown.status_code == 404

    (entry,) = entries  # the org's first entry, signed before the rotation: the JWKS still verifies it
    public = verification_key(second.json(), entry.kid)
    Ed25519PublicKey.from_public_bytes(public).verify(entry.signature, entry.entry_hash)  # raises if not
