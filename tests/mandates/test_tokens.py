from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from fiduciary.domain.errors import MandateError
from fiduciary.mandates import (
    ClosedMandate,
    ClosedTerms,
    OpenMandate,
    OpenTerms,
    sign_closed,
    sign_open,
    verify_closed,
    verify_open,
)
from fiduciary.mandates.keys import KeyPurpose, generate, new_master_key, unlock

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
MASTER = new_master_key()
SIGNER = unlock(generate(KeyPurpose.MANDATE, master_key=MASTER), master_key=MASTER)
KEYS = {SIGNER.kid: SIGNER.private_key.public_key().public_bytes_raw()}
TERMS = OpenTerms(currency="USD", max_per_use_minor=500, total_cap_minor=5000, tools=("pay",), purpose="p")
OPEN = OpenMandate("mdt_1", "org_a", "prj_a", "agt_a", NOW, NOW + timedelta(days=1), TERMS)
CLOSED = ClosedMandate(
    "mdt_2",
    "org_a",
    "prj_a",
    "agt_a",
    NOW,
    NOW + timedelta(minutes=5),
    ClosedTerms("txn_1", "pay", 100, "USD", "c0ffee", "k1", "hash", "mdt_1"),
)


def b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def verify(token: str, **kw: object) -> OpenMandate:
    args = {"org_id": "org_a", "project_id": "prj_a", "agent_id": "agt_a", "now": NOW} | kw
    return verify_open(token, KEYS, **args)  # type: ignore[arg-type]


def test_an_open_mandate_round_trips_with_its_terms() -> None:
    assert verify(sign_open(OPEN, SIGNER, issued_at=NOW)).terms == TERMS


def test_another_agent_project_or_org_cannot_use_a_mandate() -> None:
    token = sign_open(OPEN, SIGNER, issued_at=NOW)
    for override in ({"agent_id": "agt_b"}, {"project_id": "prj_b"}, {"org_id": "org_b"}):
        with pytest.raises(MandateError):
            verify(token, **override)


def test_an_expired_or_not_yet_valid_mandate_does_not_verify() -> None:
    token = sign_open(OPEN, SIGNER, issued_at=NOW)
    with pytest.raises(MandateError):
        verify(token, now=NOW + timedelta(days=2))
    with pytest.raises(MandateError):
        verify(token, now=NOW - timedelta(hours=1))


def test_an_edited_payload_fails_the_signature() -> None:
    header, payload, signature = sign_open(OPEN, SIGNER, issued_at=NOW).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["fid"]["max_per_use_minor"] = 10**9
    with pytest.raises(MandateError):
        verify(f"{header}.{b64(claims)}.{signature}")


def test_the_algorithm_is_pinned_none_and_hmac_tokens_are_refused() -> None:
    claims = jwt.decode(sign_open(OPEN, SIGNER, issued_at=NOW), options={"verify_signature": False})
    unsigned = f"{b64({'alg': 'none', 'kid': SIGNER.kid})}.{b64(claims)}."
    with pytest.raises(MandateError):
        verify(unsigned)
    hmac = jwt.encode(claims, KEYS[SIGNER.kid], algorithm="HS256", headers={"kid": SIGNER.kid})
    with pytest.raises(MandateError):
        verify(hmac)


def test_an_unknown_constraint_is_no_authority() -> None:
    claims = jwt.decode(sign_open(OPEN, SIGNER, issued_at=NOW), options={"verify_signature": False})
    claims["fid"]["allow_everything"] = True
    token = jwt.encode(claims, SIGNER.private_key, algorithm="EdDSA", headers={"kid": SIGNER.kid})
    with pytest.raises(MandateError) as caught:
        verify(token)
    assert caught.value.cause == "unknown_constraint"


def test_a_closed_mandate_authorises_exactly_its_terms() -> None:
    token = sign_closed(CLOSED, SIGNER)
    verify_closed(token, KEYS, expected=CLOSED, now=NOW)
    for change in ({"amount_minor": 101}, {"counterparty_commitment": "c0ffef"}, {"idempotency_key": "k2"}):
        other = replace(CLOSED, terms=replace(CLOSED.terms, **change))
        with pytest.raises(MandateError):
            verify_closed(token, KEYS, expected=other, now=NOW)
    with pytest.raises(MandateError):
        verify_closed(token, KEYS, expected=CLOSED, now=NOW + timedelta(minutes=10))


def test_a_wrong_master_key_cannot_unlock_a_key() -> None:
    from fiduciary.domain.errors import ConfigError

    with pytest.raises(ConfigError):
        unlock(generate(KeyPurpose.AUDIT, master_key=MASTER), master_key=new_master_key())


def test_a_token_that_is_not_three_clean_segments_is_malformed() -> None:
    token = sign_open(OPEN, SIGNER, issued_at=NOW)
    header, payload, signature = token.split(".")
    for bad in (f"{token}.x", f"{header}.{payload}", f"{header}.{payload}.{signature}=", f"{header}.{payload}.!!",
                f"{header}.{b64({'alg': 'EdDSA'})[:-1]}é.{signature}"):  # fmt: skip
        with pytest.raises(MandateError):
            verify(bad)


def test_a_remembered_signature_is_remembered_only_for_its_own_key() -> None:
    token = sign_open(OPEN, SIGNER, issued_at=NOW)
    assert verify(token).mandate_id == "mdt_1"
    assert verify(token).mandate_id == "mdt_1", "the second check is the remembered one"
    other = unlock(generate(KeyPurpose.MANDATE, master_key=MASTER), master_key=MASTER)
    swapped = {SIGNER.kid: other.private_key.public_key().public_bytes_raw()}
    with pytest.raises(MandateError) as caught:
        verify_open(token, swapped, org_id="org_a", project_id="prj_a", agent_id="agt_a", now=NOW)
    assert caught.value.cause == "bad_signature_or_claims"
    with pytest.raises(MandateError):  # a remembered signature still checks the time
        verify(token, now=NOW + timedelta(days=2))
