"""The journal: seals and signs the audit entries of one write transaction.

A store opens one journal per write transaction and asks it for each entry it must append:
the journal numbers the entry after its org's head, links it to the previous hash, signs it,
and remembers the new head, so a transaction that appends several entries reads each head
once. The store only persists what the journal returns, in the same transaction as the change
the entry records. Every store adapter (SQLite, PostgreSQL) shares this one implementation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fiduciary.audit.chain import GENESIS, AuditEntry, EntryBody, seal
from fiduciary.domain.signing import Signer

Head = tuple[int, bytes]
"""An org chain's last (seq, entry_hash)."""

SignerFor = Callable[[str], Awaitable[Signer]]
"""The org's current audit signer."""


class Journal:
    """The chain heads of one write transaction and the sealing of its entries."""

    def __init__(self, *, ts: str, signer_for: SignerFor) -> None:
        self._ts = ts
        self._signer_for = signer_for
        # The transaction holds the chain's write lock, so a head read once stays true until
        # this transaction appends after it.
        self._heads: dict[str, Head | None] = {}

    def knows(self, org_id: str) -> bool:
        """Whether this transaction already read (or moved) the org's head."""
        return org_id in self._heads

    def start(self, org_id: str, head: Head | None) -> None:
        """Record the org's head as stored (None: the chain is empty)."""
        self._heads[org_id] = head

    async def append(
        self,
        org_id: str,
        project_id: str | None,
        *,
        actor: str,
        type: str,
        subject: str | None,
        ref: str | None,
        payload: dict[str, Any],
    ) -> AuditEntry:
        """The next signed entry of the org's chain; the caller stores it in this transaction."""
        assert org_id in self._heads, "the store reads the head before it appends"
        head = self._heads[org_id]
        seq, prev_hash = (1, GENESIS) if head is None else (head[0] + 1, head[1])
        body = EntryBody(seq, org_id, project_id, self._ts, actor, type, subject, ref, payload)
        entry = seal(body, prev_hash=prev_hash, signer=await self._signer_for(org_id))
        self._heads[org_id] = (seq, entry.entry_hash)
        return entry
