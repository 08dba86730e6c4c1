"""Salted commitments: personal data is referenced in the chain, never written into it.

The chain carries `commit(value)`; the clear value and its salt live in a side table an
erasure can wipe. Without the salt, a commitment reveals nothing, even for guessable values.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Commitment:
    commitment: str
    salt: bytes


def digest(salt: bytes, value: str) -> str:
    """The commitment to `value` under `salt`: SHA-256 of the salt and the UTF-8 value, in hex."""
    return hashlib.sha256(salt + value.encode("utf-8", "surrogatepass")).hexdigest()


def commit(value: str) -> Commitment:
    """A fresh salted SHA-256 commitment to `value`."""
    salt = secrets.token_bytes(16)
    return Commitment(digest(salt, value), salt)


def opens(commitment: str, salt: bytes, value: str) -> bool:
    """Whether `value` with `salt` is what `commitment` commits to."""
    return digest(salt, value) == commitment
