"""The key ring: the master key, the org keys it seals, and the cache of unlocked signers.

Runtime owns the one `Keyring` of a process. The store never sees the master key: it asks
the key ring for a signer when the audit journal seals an entry, and the gate and the control
plane ask it when they sign a mandate. An unlocked key is cached by org and purpose, so a
payment does not decrypt a key per signature; the cache asks the store which key is current at
most every `limits.key_recheck_seconds`, so a key another process rotated stops signing here soon
after, and `forget` drops it at once in the process that rotated it.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fiduciary.domain import limits
from fiduciary.domain.errors import ConfigError
from fiduciary.mandates.keys import Ed25519Signer, KeyPurpose, SealedKey, generate, unlock
from fiduciary.store import KeyReads


@dataclass(slots=True)
class _Unlocked:
    signer: Ed25519Signer
    checked_at: float
    """`time.monotonic()` when the store last said this key is current."""


class Keyring:
    """Seals new org keys under the master key and unlocks them to sign. Implements `SignerSource`."""

    def __init__(self, master_key: bytes) -> None:
        self._master_key = master_key
        self._signers: dict[tuple[str, KeyPurpose], _Unlocked] = {}
        self._digest_keys: dict[str, bytes] = {}

    def __repr__(self) -> str:  # never print key material
        return f"Keyring(unlocked={len(self._signers)})"

    def new_key(self, purpose: KeyPurpose) -> SealedKey:
        """A fresh org key for `purpose`, sealed under the master key."""
        return generate(purpose, master_key=self._master_key)

    async def signer(self, reads: KeyReads, org_id: str, purpose: KeyPurpose) -> Ed25519Signer:
        """The org's current signing key for `purpose`.

        `reads` is the caller's transaction when there is one, so a key created in it is found.
        """
        now = time.monotonic()
        cached = self._signers.get((org_id, purpose))
        if cached is not None and now - cached.checked_at < limits.key_recheck_seconds:
            return cached.signer
        keys = await reads.sealed_keys(org_id, purpose)  # the current key first
        if not keys:
            raise ConfigError(f"org {org_id} has no {purpose} key")
        if cached is not None and cached.signer.kid == keys[0].kid:
            cached.checked_at = now
            return cached.signer
        signer = unlock(keys[0], master_key=self._master_key)
        self._signers[(org_id, purpose)] = _Unlocked(signer, now)
        return signer

    def keyed_digest(self, org_id: str, data: bytes) -> str:
        """HMAC-SHA256 of `data` under the org's digest key, hex: a stable name for what an outsider
        must not be able to confirm by guessing (the key comes from the master key and never changes)."""
        key = self._digest_keys.get(org_id)
        if key is None:
            info = b"fiduciary keyed digest:" + org_id.encode()
            key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(self._master_key)
            self._digest_keys[org_id] = key
        return hmac.new(key, data, "sha256").hexdigest()

    def forget(self, org_id: str, purpose: KeyPurpose) -> None:
        """Drop the unlocked key of `org_id` for `purpose`: the next signature asks for the current one."""
        self._signers.pop((org_id, purpose), None)
