"""Mandates as compact JWS (JWT), Ed25519 only: `alg` is pinned and `kid` names the org key.

Claims: `iss` org, `sub` agent, `aud` project, `jti` mandate id, `iat`/`nbf`/`exp`, `fid_kind`
("open" or "closed") and `fid` (the terms). Verification raises one opaque `MandateError`
whose `cause` is for the audit chain only. Unknown claims inside `fid` fail verification:
an authority we do not understand is no authority.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, fields
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from fiduciary.domain import limits
from fiduciary.domain.errors import MandateError
from fiduciary.mandates.keys import Ed25519Signer
from fiduciary.mandates.model import ClosedMandate, ClosedTerms, OpenMandate, OpenTerms

_ALG = "EdDSA"
_REQUIRED = ["iss", "sub", "aud", "jti", "iat", "nbf", "exp"]


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


def _decode(
    token: str,
    public_keys: Mapping[str, bytes],
    *,
    org_id: str,
    project_id: str,
    agent_id: str,
    now: datetime | None,
) -> dict[str, Any]:
    if not isinstance(token, str) or len(token) > 8192:
        raise MandateError("malformed")
    try:
        header = jwt.get_unverified_header(token)
        raw_key = public_keys.get(str(header.get("kid")))
        if raw_key is None or header.get("alg") != _ALG:
            raise MandateError("unknown_key_or_alg")
        claims: dict[str, Any] = jwt.decode(
            token,
            Ed25519PublicKey.from_public_bytes(raw_key),
            algorithms=[_ALG],
            audience=project_id,
            issuer=org_id,
            # Time is checked below against the injected clock, not the process clock.
            options={"require": _REQUIRED, "verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
    except jwt.InvalidTokenError as exc:
        raise MandateError("bad_signature_or_claims") from exc
    if claims.get("sub") != agent_id:
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
    claims = _decode(token, public_keys, org_id=org_id, project_id=project_id, agent_id=agent_id, now=now)
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
