"""Walk a chain and report the first entry that does not hold.

`feed` checks an entry already read into objects; `feed_stored` checks one as the database holds
it: the SHA-256 of its stored canonical bytes, so nothing is rebuilt or re-canonicalised. With
signatures, it also checks the Ed25519 signature and that the indexed columns say what the bytes
say. Without (`audit verify --no-signatures`), it is the hash walk alone: every link and every
entry's hash, at close to the speed of SHA-256.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from fiduciary.audit.chain import GENESIS, AuditEntry, Link, StoredEntry, link_hash

_INDEXED = ("seq", "org_id", "project_id", "ts", "actor", "type", "subject", "ref")


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """`ok` with the number of entries checked, or the first broken entry and why."""

    ok: bool
    checked: int
    head_hash: bytes
    broken_seq: int | None = None
    reason: str | None = None


class ChainVerifier:
    """Feeds entries one at a time so a chain of any length verifies in constant memory."""

    def __init__(self, public_keys: Mapping[str, bytes]) -> None:
        self._keys = {kid: Ed25519PublicKey.from_public_bytes(raw) for kid, raw in public_keys.items()}
        self._prev = GENESIS
        self._expected_seq = 1
        self.checked = 0
        self.failure: tuple[int, str] | None = None

    def feed(self, entry: AuditEntry) -> bool:
        """Check one entry; returns False (and records why) at the first broken one."""
        if self.failure is not None:
            return False
        reason = self._check(entry)
        if reason is not None:
            self.failure = (entry.body.seq, reason)
            return False
        self._prev = entry.entry_hash
        self._expected_seq += 1
        self.checked += 1
        return True

    def feed_stored(self, entry: StoredEntry, *, signatures: bool = True) -> bool:
        """Check one entry as stored; returns False (and records why) at the first broken one."""
        if self.failure is not None:
            return False
        reason = self._check_stored(entry, signatures)
        if reason is not None:
            self.failure = (entry.seq, reason)
            return False
        self._prev = entry.entry_hash
        self._expected_seq += 1
        self.checked += 1
        return True

    def walk(self, links: list[Link]) -> bool | None:
        """The hash walk over a page of links, in one tight loop: True when all hold, False at the
        first broken one, None at an entry stored without its bytes (the ones before it are
        checked; that one must be fed as a `StoredEntry`)."""
        if self.failure is not None:
            return False
        prev, expected, sha256 = self._prev, self._expected_seq, hashlib.sha256
        outcome: bool | None = True
        for seq, prev_hash, entry_hash, data in links:
            if data is None:
                outcome = None
                break
            if seq != expected or prev_hash != prev or sha256(prev_hash + data).digest() != entry_hash:
                self._prev, self._expected_seq, self.checked = prev, expected, expected - 1
                return self.feed_stored(StoredEntry(seq, prev_hash, entry_hash, b"", "", data, None), signatures=False)
            prev, expected = entry_hash, expected + 1
        self._prev, self._expected_seq, self.checked = prev, expected, expected - 1
        return outcome

    def _check_stored(self, entry: StoredEntry, signatures: bool) -> str | None:
        if entry.seq != self._expected_seq:
            return f"sequence jumps from {self._expected_seq - 1} to {entry.seq} (entry missing or inserted)"
        if entry.prev_hash != self._prev:
            return "previous-hash link does not match the entry before it (reordered, inserted or deleted)"
        if hashlib.sha256(entry.prev_hash + entry.canonical).digest() != entry.entry_hash:
            return "entry hash does not match its content (edited)"
        if not signatures:
            return None
        if entry.columns is not None and not _columns_agree(entry.canonical, entry.columns):
            return "the entry's columns do not match its hashed content (edited)"
        return self._signature_problem(entry.kid, entry.signature, entry.entry_hash)

    def _check(self, entry: AuditEntry) -> str | None:
        if entry.body.seq != self._expected_seq:
            return f"sequence jumps from {self._expected_seq - 1} to {entry.body.seq} (entry missing or inserted)"
        if entry.prev_hash != self._prev:
            return "previous-hash link does not match the entry before it (reordered, inserted or deleted)"
        try:
            recomputed = link_hash(entry.prev_hash, entry.body.canonical())
        except ValueError:
            return "entry body is not valid canonical JSON"
        if recomputed != entry.entry_hash:
            return "entry hash does not match its content (edited)"
        return self._signature_problem(entry.kid, entry.signature, entry.entry_hash)

    def _signature_problem(self, kid: str, signature: bytes, entry_hash: bytes) -> str | None:
        key = self._keys.get(kid)
        if key is None:
            return f"signed with unknown key {kid}"
        try:
            key.verify(signature, entry_hash)
        except InvalidSignature:
            return "signature does not verify"
        return None

    def report(self) -> VerifyReport:
        if self.failure is None:
            return VerifyReport(True, self.checked, self._prev)
        seq, reason = self.failure
        return VerifyReport(False, self.checked, self._prev, seq, reason)


def _columns_agree(canonical: bytes, columns: Any) -> bool:
    """Whether the indexed columns of a stored entry say what its hashed bytes say."""
    try:
        body = json.loads(canonical)
        payload = json.loads(columns["payload"])
    except ValueError:
        return False
    return (
        isinstance(body, dict)
        and all(body.get(name) == columns[name] for name in _INDEXED)
        and body.get("payload") == payload
    )


def verify_chain(entries: Iterable[AuditEntry], public_keys: Mapping[str, bytes]) -> VerifyReport:
    """Verify a whole chain, in order, from its genesis."""
    verifier = ChainVerifier(public_keys)
    for entry in entries:
        if not verifier.feed(entry):
            break
    return verifier.report()
