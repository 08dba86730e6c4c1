"""Signed checkpoints over an org's chain, and the inclusion and consistency proofs checked against them.

A checkpoint states that the org's chain had `size` entries whose RFC 9162 Merkle tree has
`root`, at `ts`, signed by the org's audit key `kid`. The tree's leaves are the entries' hashes
in `seq` order: leaf `seq - 1` is `SHA-256(0x00 || entry_hash)`. The signed bytes are the RFC 8785
canonical JSON of `{"type": "fiduciary.checkpoint.v1", "org_id", "size", "root", "ts", "kid"}`
(hashes as lowercase hex); documents carry the signature as unpadded base64url.

Everything here checks a document from the document and a JWKS alone (docs/AUDIT_FORMAT.md): no
database, no server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from fiduciary.audit import merkle
from fiduciary.audit.jwks import JwksError, b64url, b64url_decode, verification_key
from fiduciary.domain.canonical import canonical_json

CHECKPOINT_TYPE = "fiduciary.checkpoint.v1"
INCLUSION_TYPE = "fiduciary.inclusion_proof.v1"
CONSISTENCY_TYPE = "fiduciary.consistency_proof.v1"
_FIELDS = ("type", "org_id", "size", "root", "ts", "kid", "signature")


class EvidenceError(ValueError):
    """A checkpoint or a proof that does not hold, or a document that is not one."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    org_id: str
    size: int
    root: bytes
    ts: str
    kid: str
    signature: bytes = b""

    def statement(self) -> bytes:
        """The exact bytes the org's audit key signs."""
        return canonical_json(
            {"type": CHECKPOINT_TYPE, "org_id": self.org_id, "size": self.size, "root": self.root.hex(),
             "ts": self.ts, "kid": self.kid}
        )  # fmt: skip

    def document(self) -> dict[str, Any]:
        """The checkpoint as JSON: the statement's fields and its signature."""
        return {"type": CHECKPOINT_TYPE, "org_id": self.org_id, "size": self.size, "root": self.root.hex(),
                "ts": self.ts, "kid": self.kid, "signature": b64url(self.signature)}  # fmt: skip


def leaf(entry_hash: bytes) -> bytes:
    """The Merkle leaf hash of one chain entry."""
    return merkle.leaf_hash(entry_hash)


def inclusion_document(checkpoint: Checkpoint, *, seq: int, entry_hash: bytes, path: Sequence[bytes]) -> dict[str, Any]:
    return {"type": INCLUSION_TYPE, "org_id": checkpoint.org_id, "seq": seq, "entry_hash": entry_hash.hex(),
            "tree_size": checkpoint.size, "path": [p.hex() for p in path],
            "checkpoint": checkpoint.document()}  # fmt: skip


def consistency_document(old: Checkpoint, new: Checkpoint, path: Sequence[bytes]) -> dict[str, Any]:
    return {"type": CONSISTENCY_TYPE, "org_id": new.org_id, "path": [p.hex() for p in path],
            "old": old.document(), "new": new.document()}  # fmt: skip


def parse_checkpoint(doc: object) -> Checkpoint:
    """A checkpoint document read back, its fields checked for form (not yet its signature)."""
    if not isinstance(doc, Mapping) or set(doc) != set(_FIELDS) or doc["type"] != CHECKPOINT_TYPE:
        raise EvidenceError(f"not a {CHECKPOINT_TYPE} document: it needs exactly {', '.join(_FIELDS)}")
    size = doc["size"]
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise EvidenceError("a checkpoint's size is a whole number of entries, at least 1")
    if not all(isinstance(doc[name], str) for name in ("org_id", "root", "ts", "kid", "signature")):
        raise EvidenceError("a checkpoint's org_id, root, ts, kid and signature are strings")
    try:
        signature = b64url_decode(doc["signature"])
    except ValueError as exc:
        raise EvidenceError("a checkpoint's signature is not base64url") from exc
    return Checkpoint(doc["org_id"], size, _hash(doc["root"], "root"), doc["ts"], doc["kid"], signature)


def audit_key(key_set: Mapping[str, Any], kid: str, org_id: str) -> bytes:
    """The raw public key `kid` of `key_set`, refused unless it is an audit key of `org_id`: what
    every piece of chain evidence (entries, checkpoints, manifests, receipts) is checked with."""
    try:
        public = verification_key(key_set, kid)
    except JwksError as exc:
        raise EvidenceError(str(exc)) from exc
    published = next(k for k in key_set["keys"] if isinstance(k, Mapping) and k.get("kid") == kid)
    if published.get("fiduciary_org", org_id) != org_id:
        raise EvidenceError(f"key {kid} belongs to another org")
    if published.get("fiduciary_purpose", "audit") != "audit":
        raise EvidenceError(f"key {kid} does not sign the audit chain")
    return public


def verify_checkpoint(doc: object, key_set: Mapping[str, Any]) -> Checkpoint:
    """The checkpoint `doc` states, once its signature verifies with the org's audit key in `key_set`."""
    checkpoint = parse_checkpoint(doc)
    public = audit_key(key_set, checkpoint.kid, checkpoint.org_id)
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(checkpoint.signature, checkpoint.statement())
    except InvalidSignature as exc:
        raise EvidenceError(f"the checkpoint of size {checkpoint.size} is not signed by {checkpoint.kid}") from exc
    return checkpoint


def verify_inclusion_document(doc: object, key_set: Mapping[str, Any]) -> Checkpoint:
    """Check an inclusion proof: its checkpoint's signature, then the entry's path to its root."""
    if not isinstance(doc, Mapping) or doc.get("type") != INCLUSION_TYPE:
        raise EvidenceError(f"not a {INCLUSION_TYPE} document")
    checkpoint = verify_checkpoint(doc.get("checkpoint"), key_set)
    seq, size = doc.get("seq"), doc.get("tree_size")
    if not isinstance(seq, int) or isinstance(seq, bool) or doc.get("org_id") != checkpoint.org_id:
        raise EvidenceError("the proof's seq or org does not match its checkpoint")
    if size != checkpoint.size:
        raise EvidenceError(f"the proof is for a tree of {size} entries, its checkpoint has {checkpoint.size}")
    entry_hash = _hash(doc.get("entry_hash"), "entry_hash")
    try:
        merkle.verify_inclusion(leaf(entry_hash), seq - 1, checkpoint.size, _path(doc.get("path")), checkpoint.root)
    except merkle.ProofError as exc:
        raise EvidenceError(f"entry {seq} is not in the checkpoint's tree: {exc}") from exc
    return checkpoint


def verify_consistency_document(doc: object, key_set: Mapping[str, Any]) -> tuple[Checkpoint, Checkpoint]:
    """Check a consistency proof: both checkpoints' signatures, then that the older tree is a prefix
    of the newer (no entry of it changed, none removed, none reordered)."""
    if not isinstance(doc, Mapping) or doc.get("type") != CONSISTENCY_TYPE:
        raise EvidenceError(f"not a {CONSISTENCY_TYPE} document")
    old, new = verify_checkpoint(doc.get("old"), key_set), verify_checkpoint(doc.get("new"), key_set)
    if not old.org_id == new.org_id == doc.get("org_id"):
        raise EvidenceError("the two checkpoints are of different orgs")
    try:
        merkle.verify_consistency(old.size, new.size, old.root, new.root, _path(doc.get("path")))
    except merkle.ProofError as exc:
        raise EvidenceError(f"the chain of {old.size} entries is not a prefix of the one of {new.size}: {exc}") from exc
    return old, new


def _hash(value: object, name: str) -> bytes:
    if not isinstance(value, str) or len(value) != 64 or value != value.lower():
        raise EvidenceError(f"{name} is not 64 lowercase hex digits")
    try:
        return bytes.fromhex(value)
    except ValueError as exc:
        raise EvidenceError(f"{name} is not 64 lowercase hex digits") from exc


def _path(value: object) -> list[bytes]:
    if not isinstance(value, list):
        raise EvidenceError("a proof's path is a list of hashes")
    return [_hash(item, "a path hash") for item in value]
