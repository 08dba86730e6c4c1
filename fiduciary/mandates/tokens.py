"""Mandates as compact JWS (JWT), Ed25519 only: `alg` is pinned and `kid` names the org key.

Claims: `iss` org, `sub` agent, `aud` project, `jti` mandate id, `iat`/`nbf`/`exp`, `fid_kind`
("open" or "closed") and `fid` (the terms). Verification raises one opaque `MandateError`
whose `cause` is for the audit chain only. Unknown claims inside `fid` fail verification:
an authority we do not understand is no authority.

Tokens are made with PyJWT. They are verified here, directly: the three segments, the pinned
header, the Ed25519 signature over `header.payload`, then every claim. This is the one check a
payment makes twice (the open mandate at the decision, the closed one right before the rail),
so it is kept to the signature and the claims. The signature check of an open mandate is
remembered per token and key (`_open_signature_ok`): the token never changes, and what can
change about it (revocation, uses, the cap) is read from the database on every payment.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import asdict, fields
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from fiduciary.domain import limits
from fiduciary.domain.errors import MandateError
from fiduciary.mandates.keys import Ed25519Signer
from fiduciary.mandates.model import ClosedMandate, ClosedTerms, OpenMandate, OpenTerms

_ALG = "EdDSA"
_REQUIRED = ("iss", "sub", "aud", "jti", "iat", "nbf", "exp")
_TIMES = ("iat", "nbf", "exp")
OPEN_SIGNATURES_REMEMBERED = 4096


def _epoch(ts: datetime) -> int:
    return int(ts.timestamp())


def _encode(claims: dict[str, Any], signer: Ed25519Signer) -> str:
    return jwt.encode(claims, signer.private_key, algorithm=_ALG, headers={"kid": signer.kid, "typ": "JWT"})


def sign_open(mandate: OpenMandate, signer: Ed25519Signer, *, issued_at: datetime) -> str:
    """Sign an open mandate issued by an operator."""
    terms = asdict(mandate.terms)
    claims = _base_claims(mandate.mandate_id, mandate.org_id, mandate.project_id, mandate.agent_id)
    claims |= {"iat": _epoch(issued_at), "nbf": _epoch(mandate.not_before), "exp": _epoch(mandate.expires_at)}
    claims |= {"fid_kind": "open", "fid": {k: list(v) if isinstance(v, tuple) else v for k, v in terms.items()}}
    return _encode(claims, signer)


def sign_closed(mandate: ClosedMandate, signer: Ed25519Signer) -> str:
    """Sign a closed mandate for one transaction."""
    assert mandate.expires_at - mandate.issued_at <= timedelta(seconds=limits.mandate_ttl_seconds_max)
    claims = _base_claims(mandate.mandate_id, mandate.org_id, mandate.project_id, mandate.agent_id)
    claims |= {"iat": _epoch(mandate.issued_at), "nbf": _epoch(mandate.issued_at)}
    claims |= {"exp": _epoch(mandate.expires_at), "fid_kind": "closed", "fid": asdict(mandate.terms)}
    return _encode(claims, signer)


def _base_claims(mandate_id: str, org_id: str, project_id: str, agent_id: str) -> dict[str, Any]:
    return {"iss": org_id, "sub": agent_id, "aud": project_id, "jti": mandate_id}


def _segment(text: str) -> bytes:
    """One base64url segment (unpadded, as JWS writes it); anything else is malformed."""
    if "=" in text:
        raise MandateError("malformed")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MandateError("malformed") from exc


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MandateError("malformed") from exc
    if not isinstance(value, dict):
        raise MandateError("malformed")
    return value


@lru_cache(maxsize=64)
def _public_key(raw: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(raw)


def _signature_ok(signing_input: bytes, signature: bytes, raw_key: bytes) -> bool:
    try:
        _public_key(raw_key).verify(signature, signing_input)
    except InvalidSignature:
        return False
    return True


@lru_cache(maxsize=OPEN_SIGNATURES_REMEMBERED)
def _open_signature_ok(signing_input: bytes, signature: bytes, raw_key: bytes) -> bool:
    return _signature_ok(signing_input, signature, raw_key)


def _decode(
    token: str,
    public_keys: Mapping[str, bytes],
    *,
    org_id: str,
    project_id: str,
    agent_id: str,
    now: datetime | None,
    remember: bool = False,
) -> dict[str, Any]:
    """The verified claims of `token` for this org, project and agent (at `now`, if given)."""
    if not isinstance(token, str) or len(token) > 8192 or not token.isascii():
        raise MandateError("malformed")
    parts = token.split(".")
    if len(parts) != 3:
        raise MandateError("malformed")
    header = _json_object(_segment(parts[0]))
    raw_key = public_keys.get(str(header.get("kid")))
    if raw_key is None or header.get("alg") != _ALG:
        raise MandateError("unknown_key_or_alg")
    check = _open_signature_ok if remember else _signature_ok
    if not check(f"{parts[0]}.{parts[1]}".encode(), _segment(parts[2]), raw_key):
        raise MandateError("bad_signature_or_claims")
    claims = _json_object(_segment(parts[1]))
    if any(name not in claims for name in _REQUIRED):
        raise MandateError("bad_signature_or_claims")
    if any(type(claims[name]) is not int for name in _TIMES):
        raise MandateError("bad_signature_or_claims")
    if claims["iss"] != org_id or claims["aud"] != project_id:
        raise MandateError("bad_signature_or_claims")
    if claims["sub"] != agent_id:
        raise MandateError("wrong_agent")
    if now is not None:
        skew = limits.mandate_clock_skew_seconds
        if not (claims["nbf"] - skew <= _epoch(now) < claims["exp"] + skew):
            raise MandateError("outside_validity_window")
    return claims


def _terms_dict(claims: dict[str, Any], kind: str, known: set[str]) -> dict[str, Any]:
    terms = claims.get("fid")
    if claims.get("fid_kind") != kind or not isinstance(terms, dict):
        raise MandateError("wrong_kind")
    unknown = set(terms) - known
    if unknown:
        raise MandateError("unknown_constraint")
    return terms


def verify_open(
    token: str,
    public_keys: Mapping[str, bytes],
    *,
    org_id: str,
    project_id: str,
    agent_id: str,
    now: datetime | None,
) -> OpenMandate:
    """Verify an open mandate token for this agent at `now`; raises `MandateError`.

    `now=None` checks signature and terms but not the validity window: for showing an
    expired mandate, never for using one.
    """
    claims = _decode(
        token, public_keys, org_id=org_id, project_id=project_id, agent_id=agent_id, now=now, remember=True
    )
    terms = _terms_dict(claims, "open", {f.name for f in fields(OpenTerms)})
    try:
        parsed = OpenTerms(
            **{k: tuple(v) if isinstance(v, list) else v for k, v in terms.items()}  # type: ignore[arg-type]
        )
    except (TypeError, ValueError) as exc:
        raise MandateError("bad_terms") from exc
    return OpenMandate(
        mandate_id=claims["jti"],
        org_id=org_id,
        project_id=project_id,
        agent_id=agent_id,
        not_before=datetime.fromtimestamp(claims["nbf"], UTC),
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        terms=parsed,
    )


def verify_closed(token: str, public_keys: Mapping[str, bytes], *, expected: ClosedMandate, now: datetime) -> None:
    """Verify a closed mandate and that it authorises exactly `expected`; raises `MandateError`."""
    claims = _decode(
        token,
        public_keys,
        org_id=expected.org_id,
        project_id=expected.project_id,
        agent_id=expected.agent_id,
        now=now,
    )
    terms = _terms_dict(claims, "closed", {f.name for f in fields(ClosedTerms)})
    if claims["jti"] != expected.mandate_id:
        raise MandateError("wrong_mandate")
    if terms != asdict(expected.terms):
        raise MandateError("terms_differ")
