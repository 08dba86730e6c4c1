"""Org public keys as a JSON Web Key Set (RFC 7517, Ed25519 keys as RFC 8037 `OKP` keys).

Every key an org ever signed with is published, retired ones too: an audit entry, a checkpoint,
an export manifest or a refusal receipt signed years ago must still verify. Besides the members
RFC 7517 and RFC 8037 define, each key names its org, what it signs, and when it was made and
retired (`fiduciary_*` members, which JWKS readers ignore).

`verification_key` is what an outsider's verifier needs from a JWKS: the 32 raw public-key bytes
of a key id, refused when the set does not hold it or holds it in any other form.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from typing import Any

from fiduciary.domain.records import KeyRow

ED25519_PUBLIC_KEY_BYTES = 32


class JwksError(ValueError):
    """A JWKS that does not hold the asked-for key as an Ed25519 verification key."""


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def b64url_decode(text: str) -> bytes:
    """Inverse of `b64url`; refuses anything that is not canonical unpadded base64url."""
    if not isinstance(text, str) or "=" in text:
        raise ValueError("not unpadded base64url")
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not unpadded base64url") from exc
    if b64url(data) != text:  # '+' or '/', or stray bits in the last character
        raise ValueError("not canonical base64url")
    return data


def jwk(key: KeyRow) -> dict[str, Any]:
    """One public key as a JWK."""
    published: dict[str, Any] = {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url(key.public_key),
        "kid": key.kid,
        "alg": "EdDSA",
        "use": "sig",
        "key_ops": ["verify"],
        "fiduciary_org": key.org_id,
        "fiduciary_purpose": key.purpose,
        "fiduciary_created_at": key.created_at,
    }
    if key.retired_at is not None:
        published["fiduciary_retired_at"] = key.retired_at
    return published


def jwks(keys: Iterable[KeyRow]) -> dict[str, Any]:
    """The key set of `keys`, in the order given."""
    return {"keys": [jwk(key) for key in keys]}


def verification_key(key_set: Mapping[str, Any], kid: str) -> bytes:
    """The raw Ed25519 public key the set publishes under `kid`; `JwksError` when there is none."""
    keys = key_set.get("keys") if isinstance(key_set, Mapping) else None
    if not isinstance(keys, list):
        raise JwksError("the JWKS has no list of keys")
    found = [k for k in keys if isinstance(k, Mapping) and k.get("kid") == kid]
    if not found:
        raise JwksError(f"the JWKS holds no key {kid}")
    if len(found) > 1:
        raise JwksError(f"the JWKS holds key {kid} more than once")
    (key,) = found
    if key.get("kty") != "OKP" or key.get("crv") != "Ed25519" or "d" in key:
        raise JwksError(f"key {kid} is not an Ed25519 public key")
    try:
        raw = b64url_decode(key.get("x", ""))
    except ValueError as exc:
        raise JwksError(f"key {kid} has no valid x") from exc
    if len(raw) != ED25519_PUBLIC_KEY_BYTES:
        raise JwksError(f"key {kid} is not {ED25519_PUBLIC_KEY_BYTES} bytes")
    return raw
