"""Signed refusal receipts: what an agent (or anyone it shows them to) keeps of a refused payment.

A call refused because its mandate was revoked or its agent frozen gets, besides its code, a
receipt the org's audit key signs: what was refused (org, project, agent, tool, transaction), why
(the code and its fixed sentence), the audit entry that recorded the refusal (its `seq` and
`entry_hash`, provable with `audit prove --seq`) and when. The signed bytes are the RFC 8785
canonical JSON of the receipt without `signature`; docs/AUDIT_FORMAT.md §6 defines it, and
`verify_receipt` checks one with a JWKS alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from fiduciary.audit.chain import AuditEntry
from fiduciary.audit.checkpoint import EvidenceError, audit_key
from fiduciary.audit.jwks import b64url, b64url_decode
from fiduciary.domain.canonical import canonical_json
from fiduciary.domain.signing import Signer

RECEIPT_TYPE = "fiduciary.refusal_receipt.v1"
FIELDS = ("type", "org_id", "project_id", "agent_id", "tool", "transaction_id", "reference", "code", "reason",
          "audit_seq", "audit_entry_hash", "ts", "kid")  # fmt: skip


def receipt(
    entry: AuditEntry, *, agent_id: str, tool: str, transaction_id: str, code: str, reason: str, signer: Signer
) -> dict[str, Any]:
    """The signed receipt of the refusal `entry` recorded."""
    body = entry.body
    statement: dict[str, Any] = {
        "type": RECEIPT_TYPE,
        "org_id": body.org_id,
        "project_id": body.project_id,
        "agent_id": agent_id,
        "tool": tool,
        "transaction_id": transaction_id,
        "reference": body.ref,
        "code": code,
        "reason": reason,
        "audit_seq": body.seq,
        "audit_entry_hash": entry.entry_hash.hex(),
        "ts": body.ts,
        "kid": signer.kid,
    }
    return statement | {"signature": b64url(signer.sign(canonical_json(statement)))}


def verify_receipt(doc: object, key_set: Mapping[str, Any]) -> dict[str, Any]:
    """The receipt's statement, once its signature verifies with its org's audit key in `key_set`."""
    if not isinstance(doc, Mapping) or set(doc) != {*FIELDS, "signature"} or doc.get("type") != RECEIPT_TYPE:
        raise EvidenceError(f"not a {RECEIPT_TYPE} document: it needs exactly {', '.join(FIELDS)} and signature")
    statement = {name: doc[name] for name in FIELDS}
    kid, org_id = doc["kid"], doc["org_id"]
    if not isinstance(kid, str) or not isinstance(org_id, str) or not isinstance(doc["signature"], str):
        raise EvidenceError("a receipt's kid, org_id and signature are strings")
    public = audit_key(key_set, kid, org_id)
    try:
        signature = b64url_decode(doc["signature"])
        Ed25519PublicKey.from_public_bytes(public).verify(signature, canonical_json(statement))
    except (ValueError, InvalidSignature) as exc:
        raise EvidenceError(f"the receipt is not signed by {kid}") from exc
    return statement
