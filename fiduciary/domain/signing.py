"""What a stage needs to sign something, without holding the key ring itself."""

from __future__ import annotations

from typing import Protocol


class Signer(Protocol):
    """An Ed25519 private key bound to its key id; the algorithm is pinned, never chosen."""

    @property
    def kid(self) -> str: ...

    def sign(self, data: bytes) -> bytes:
        """The Ed25519 signature of `data`."""
        ...
