"""Chain math: each entry's hash covers the previous hash and the entry's canonical JSON.

`entry_hash = SHA-256(prev_hash || canonical_json(body))`, the genesis `prev_hash` is 32 zero
bytes, and each entry hash is signed with the org's Ed25519 audit key. Editing, deleting,
reordering or inserting an entry breaks every later link; `verify_chain` finds the first.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, NamedTuple

from fiduciary.domain import limits
from fiduciary.domain.canonical import canonical_json
from fiduciary.domain.signing import Signer

GENESIS = bytes(32)


@dataclass(frozen=True, slots=True)
class EntryBody:
    """The hashed content of one audit entry."""

    seq: int
    org_id: str
    project_id: str | None
    ts: str
    actor: str
    type: str
    subject: str | None
    ref: str | None
    payload: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "org_id": self.org_id,
            "project_id": self.project_id,
            "ts": self.ts,
            "actor": self.actor,
            "type": self.type,
            "subject": self.subject,
            "ref": self.ref,
            "payload": self.payload,
        }

    def canonical(self) -> bytes:
        data = canonical_json(self.to_json())
        assert len(data) <= limits.audit_payload_bytes_max, "audit entry too large"
        return data


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """An entry as stored: its body, its link to the previous entry and its signature."""

    body: EntryBody
    prev_hash: bytes
    entry_hash: bytes
    signature: bytes
    kid: str
    canonical: bytes = b""
    """The exact bytes hashed (`body.canonical()`), kept so they are stored beside the entry."""


Link = tuple[int, bytes, bytes, bytes | None]
"""(seq, prev_hash, entry_hash, the stored canonical bytes or None): all the hash walk reads."""


class StoredEntry(NamedTuple):
    """An entry as the database holds it, unparsed: what verification walks."""

    seq: int
    prev_hash: bytes
    entry_hash: bytes
    signature: bytes
    kid: str
    canonical: bytes
    """The stored canonical bytes (or, for an entry stored without them, rebuilt from its columns)."""
    columns: Any
    """The row's columns by name, the index of the body (None when `canonical` was rebuilt from them)."""


def link_hash(prev_hash: bytes, canonical_body: bytes) -> bytes:
    """The hash that links an entry to its predecessor."""
    assert len(prev_hash) == 32, "a chain hash is 32 bytes"
    return hashlib.sha256(prev_hash + canonical_body).digest()


def seal(body: EntryBody, *, prev_hash: bytes, signer: Signer) -> AuditEntry:
    """Hash `body` onto the chain after `prev_hash` and sign the result."""
    data = body.canonical()
    entry_hash = link_hash(prev_hash, data)
    return AuditEntry(body, prev_hash, entry_hash, signer.sign(entry_hash), signer.kid, data)
