"""The key ring: the master key, the org keys it seals, and the cache of unlocked signers.

Runtime owns the one `Keyring` of a process. The store never sees the master key: it asks
the key ring for a signer when the audit journal seals an entry, and the gate and the control
plane ask it when they sign a mandate. An unlocked key is cached by org and purpose, so a
payment does not decrypt a key per signature.
"""

from __future__ import annotations

from fiduciary.domain.errors import ConfigError
from fiduciary.mandates.keys import Ed25519Signer, KeyPurpose, SealedKey, generate, unlock
from fiduciary.store import KeyReads


class Keyring:
    """Seals new org keys under the master key and unlocks them to sign. Implements `SignerSource`."""

    def __init__(self, master_key: bytes) -> None:
        self._master_key = master_key
        self._signers: dict[tuple[str, KeyPurpose], Ed25519Signer] = {}

    def __repr__(self) -> str:  # never print key material
        return f"Keyring(unlocked={len(self._signers)})"

    def new_key(self, purpose: KeyPurpose) -> SealedKey:
        """A fresh org key for `purpose`, sealed under the master key."""
        return generate(purpose, master_key=self._master_key)

    async def signer(self, reads: KeyReads, org_id: str, purpose: KeyPurpose) -> Ed25519Signer:
        """The org's current signing key for `purpose`.

        `reads` is the caller's transaction when there is one, so a key created in it is found.
        """
        cached = self._signers.get((org_id, purpose))
        if cached is not None:
            return cached
        keys = await reads.sealed_keys(org_id, purpose)
        if not keys:
            raise ConfigError(f"org {org_id} has no {purpose} key")
        signer = unlock(keys[0], master_key=self._master_key)
        self._signers[(org_id, purpose)] = signer
        return signer
