"""The org key ring: Ed25519 keys, encrypted at rest under a master key kept outside the database.

A key pair is generated per org and purpose (`audit` signs chain entries, `mandate` signs
mandates). The private half is stored only as AES-256-GCM ciphertext bound to its key id;
the master key comes from a 0600 file in the data directory or from the environment.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fiduciary.domain.errors import ConfigError

MASTER_KEY_BYTES = 32
_NONCE_BYTES = 12


class KeyPurpose(StrEnum):
    AUDIT = "audit"
    MANDATE = "mandate"


@dataclass(frozen=True, slots=True)
class SealedKey:
    """A key pair as stored: the public key in the clear, the private key encrypted."""

    kid: str
    purpose: KeyPurpose
    public_key: bytes
    private_key_enc: bytes


class Ed25519Signer:
    """An unlocked private key with its key id. Satisfies `fiduciary.domain.signing.Signer`."""

    def __init__(self, kid: str, private_key: Ed25519PrivateKey) -> None:
        self._kid = kid
        self.private_key = private_key

    @property
    def kid(self) -> str:
        return self._kid

    def sign(self, data: bytes) -> bytes:
        return self.private_key.sign(data)

    def __repr__(self) -> str:  # never print key material
        return f"Ed25519Signer(kid={self._kid!r})"


def new_master_key() -> bytes:
    """32 random bytes for AES-256-GCM."""
    return secrets.token_bytes(MASTER_KEY_BYTES)


def encode_master_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode()


def decode_master_key(text: str) -> bytes:
    """Parse a base64url master key, refusing anything that is not exactly 32 bytes."""
    try:
        key = base64.urlsafe_b64decode(text.strip().encode())
    except (ValueError, TypeError) as exc:
        raise ConfigError("the master key is not valid base64url") from exc
    if len(key) != MASTER_KEY_BYTES:
        raise ConfigError("the master key must be 32 bytes")
    return key


def key_id(purpose: KeyPurpose, public_key: bytes) -> str:
    """A key id that names the key: purpose plus a fingerprint of the public key."""
    fingerprint = base64.urlsafe_b64encode(hashlib.sha256(public_key).digest()[:12]).decode().rstrip("=")
    return f"{purpose}-{fingerprint}"


def generate(purpose: KeyPurpose, *, master_key: bytes) -> SealedKey:
    """A fresh Ed25519 key pair for `purpose`, its private half sealed under `master_key`."""
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    raw = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    kid = key_id(purpose, public)
    nonce = secrets.token_bytes(_NONCE_BYTES)
    sealed = nonce + AESGCM(master_key).encrypt(nonce, raw, kid.encode())
    return SealedKey(kid, purpose, public, sealed)


def unlock(key: SealedKey, *, master_key: bytes) -> Ed25519Signer:
    """Decrypt a sealed key; a wrong master key or an edited row raises `ConfigError`."""
    nonce, ciphertext = key.private_key_enc[:_NONCE_BYTES], key.private_key_enc[_NONCE_BYTES:]
    try:
        raw = AESGCM(master_key).decrypt(nonce, ciphertext, key.kid.encode())
    except InvalidTag as exc:
        raise ConfigError(f"cannot decrypt key {key.kid}: wrong master key or damaged key") from exc
    private = Ed25519PrivateKey.from_private_bytes(raw)
    derived = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    if derived != key.public_key:
        raise ConfigError(f"key {key.kid} does not match its public key")
    return Ed25519Signer(key.kid, private)
