"""The store's ports for the audit chain's evidence: entries as stored, checkpoints, exports,
and the audit sinks' cursors and states. Part of `Reads` and `WriteTx` (`fiduciary.store.ports`)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from fiduciary.audit.chain import AuditEntry, Link, StoredEntry
from fiduciary.audit.checkpoint import Checkpoint
from fiduciary.domain.records import ExportRow, SinkCursorRow, SinkStateRow


class ChainReadPort(Protocol):
    """Reads of the chain and of what is made from it."""

    async def audit_head(self, org_id: str) -> tuple[int, bytes] | None: ...

    async def audit_page(self, org_id: str, *, after_seq: int, limit: int) -> list[AuditEntry]: ...

    async def audit_stored(self, org_id: str, *, after_seq: int, limit: int) -> list[StoredEntry]:
        """A page of an org's chain as stored, unparsed, for verification."""
        ...

    async def audit_links(self, org_id: str, *, after_seq: int, limit: int) -> list[Link]:
        """A page of an org's chain as (seq, prev_hash, entry_hash, stored bytes or None): the hash walk."""
        ...

    async def audit_by_ref(self, ref: str) -> list[AuditEntry]: ...

    async def audit_hashes(self, org_id: str, *, after_seq: int, limit: int) -> list[tuple[int, bytes]]:
        """(seq, entry_hash) of a page of an org's chain: the leaves of its Merkle tree."""
        ...

    async def checkpoints(self, org_id: str) -> list[Checkpoint]:
        """An org's signed checkpoints, smallest first."""
        ...

    async def latest_checkpoint(self, org_id: str) -> Checkpoint | None:
        """An org's largest checkpoint (what the periodic sweep compares the head with)."""
        ...

    async def bundle_checkpoint(self, org_id: str, *, after: int, at_most: int) -> Checkpoint | None:
        """The largest checkpoint of more than `after` and at most `at_most` entries, else the
        smallest of more than `after` (None if the chain has none past `after`)."""
        ...

    async def checkpoint_frontier(self, org_id: str, *, at_most: int) -> tuple[Checkpoint, bytes] | None:
        """The largest checkpoint of at most `at_most` entries stored with its tree's frontier."""
        ...

    async def exports(self, org_id: str) -> list[ExportRow]:
        """The record of an org's signed exports, oldest first."""
        ...

    async def sink_cursors(self, sink: str | None = None) -> list[SinkCursorRow]:
        """The cursors of one sink (every sink's when None), by sink and org."""
        ...

    async def sink_states(self) -> list[SinkStateRow]:
        """Every sink that was ever stopped, by name."""
        ...

    async def audit_by_subject_anywhere(self, subject: str) -> list[AuditEntry]:
        """Control-plane lookup: the entries about `subject` in every org's chain (bounded)."""
        ...

    async def audit_by_subject(self, org_id: str, subject: str) -> list[AuditEntry]: ...


class ChainWritePort(Protocol):
    """Writes of checkpoints, exports and sink delivery state, in the caller's write transaction."""

    async def insert_checkpoint(self, checkpoint: Checkpoint, *, frontier: bytes | None = None) -> None:
        """Store a signed checkpoint (and its tree's saved frontier); a second one of the same org and
        size is a ConflictError."""
        ...

    async def insert_export(self, row: ExportRow) -> None:
        """Record a signed export; a second one with the same org and number is a ConflictError."""
        ...

    async def advance_sink(
        self, sink: str, org_id: str, *, seq: int, bundles: int | None = None, manifest_sha256: bytes | None = None
    ) -> None:
        """The sink acknowledged every entry up to `seq`: the cursor moves there (never back)."""
        ...

    async def sink_failed(self, sink: str, org_id: str, *, status: int | None, error: str, next_at: datetime) -> None:
        """One failed attempt: recorded with its status and reason, and not tried again before `next_at`."""
        ...

    async def claim_sink(self, sink: str, org_id: str, *, until: datetime) -> bool:
        """Take the (sink, org) pair for this process until `until`, unless it is claimed or backed
        off past now; True if this process took it."""
        ...

    async def release_sink(self, sink: str, org_id: str) -> None:
        """Let the (sink, org) pair go: due again at once, for any process."""
        ...

    async def stop_sink(self, sink: str, *, status: int | None, reason: str) -> bool:
        """Stop a sink until an admin resumes it; False if it already was stopped."""
        ...

    async def resume_sink(self, sink: str, *, by: str) -> bool:
        """Lift a stop and make every cursor of the sink due now; False if it was not stopped."""
        ...
