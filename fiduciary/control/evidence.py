"""Checkpoints and proofs: what an outsider checks an org's chain with, without its database.

A checkpoint is made from a prefix of the chain that can no longer change (entries are
append-only): the Merkle root of its first `size` entry hashes is computed outside any write
transaction, signed with the org's audit key, then stored in one transaction with its
`audit.checkpointed` entry. Two instances making the same checkpoint store it once. A running
server makes one when `limits.checkpoint_entries` entries have been added since the last, or
`limits.checkpoint_seconds` have passed with anything new; every export makes one too.

Each process keeps, per org, only the roots of the perfect subtrees of its chain (O(log n),
extended with the entries added since), which is all a checkpoint needs; a proof or an export
builds the whole tree it needs and lets it go.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

import anyio

from fiduciary.audit.checkpoint import Checkpoint, consistency_document, inclusion_document, leaf
from fiduciary.audit.export import (
    FORMATS,
    MANIFEST,
    FileDigest,
    csv_header,
    csv_line,
    entries_file,
    jsonl_line,
    manifest_body,
    manifest_digest,
)
from fiduciary.audit.jwks import b64url
from fiduciary.audit.merkle import Frontier, MerkleTree
from fiduciary.control.base import ControlContext, Part, action, not_found
from fiduciary.control.config import tenant_scope
from fiduciary.control.roles import Action, Operator
from fiduciary.domain import limits
from fiduciary.domain.canonical import canonical_json
from fiduciary.domain.clock import iso, parse_iso
from fiduciary.domain.codes import Code
from fiduciary.domain.errors import ConflictError, InputError, StoreError
from fiduciary.domain.intents import PLATFORM
from fiduciary.domain.records import ExportRow
from fiduciary.mandates.keys import KeyPurpose


@dataclass(frozen=True, slots=True)
class Exported:
    """One signed export: its record, the checkpoint it ends at, and how many entries it holds."""

    row: ExportRow
    checkpoint: Checkpoint
    entries: int


class _Digest:
    """SHA-256 and size of what is written through it."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, out: BinaryIO, data: bytes) -> None:
        out.write(data)
        self._hash.update(data)
        self.size += len(data)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def _synced(out: BinaryIO) -> None:
    out.flush()
    os.fsync(out.fileno())


def _check_out(out: Path) -> None:
    """An export goes into a new or empty directory whose parent exists."""
    if not out.parent.is_dir():
        raise InputError(Code.INVALID_ARGUMENT, f"{out.parent} is not a directory")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(Code.INVALID_ARGUMENT, f"{out} already holds files; give a new or empty directory")


def _place(staging: Path, out: Path) -> None:
    """Move the finished bundle to where it was asked for, in one rename."""
    if out.exists():
        out.rmdir()  # empty, as checked: a directory that gained files since is not replaced
    os.replace(staging, out)


def _write_synced(path: Path, data: bytes) -> None:
    with path.open("wb") as out:
        out.write(data)
        _synced(out)


class Evidence(Part):
    """Signed checkpoints over each org's chain, and inclusion and consistency proofs against them."""

    def __init__(self, ctx: ControlContext) -> None:
        super().__init__(ctx)
        self._frontiers: dict[str, Frontier] = {}

    @action(Action.AUDIT_CHECKPOINT)
    async def checkpoint(self, op: Operator, org_id: str | None = None) -> Checkpoint:
        """A signed checkpoint of the org's whole chain now (the latest, when nothing was added since)."""
        org_id = await self.org(org_id)
        made = await self.make(org_id, actor=op.actor)
        if made is None:
            raise InputError(Code.NOT_FOUND, f"org {org_id} has no entries to checkpoint")
        return made

    @action(Action.AUDIT_READ)
    async def prove_inclusion(
        self, op: Operator, org_id: str | None, seq: int, *, size: int | None = None
    ) -> dict[str, Any]:
        """The inclusion proof of entry `seq` in a checkpoint (`size`, or the latest that holds it)."""
        org_id = await self.org(org_id)
        if seq < 1:
            raise InputError(Code.INVALID_ARGUMENT, "--seq is an entry's number, from 1")
        checkpoint = await self._covering(org_id, seq, size)
        tree = await self.tree(org_id, checkpoint.size)
        path = tree.inclusion_proof(seq - 1, checkpoint.size)
        (_, entry_hash) = (await self.store.read.audit_hashes(org_id, after_seq=seq - 1, limit=1))[0]
        return inclusion_document(checkpoint, seq=seq, entry_hash=entry_hash, path=path)

    @action(Action.AUDIT_READ)
    async def prove_consistency(self, op: Operator, org_id: str | None, old: int, new: int) -> dict[str, Any]:
        """The proof that the checkpoint of `old` entries is a prefix of the one of `new`."""
        org_id = await self.org(org_id)
        if not 1 <= old <= new:
            raise InputError(Code.INVALID_ARGUMENT, "give two checkpoint sizes, the older first")
        stored = {c.size: c for c in await self.store.read.checkpoints(org_id)}
        missing = [size for size in (old, new) if size not in stored]
        if missing:
            raise not_found("checkpoint of size", str(missing[0]))
        tree = await self.tree(org_id, new)
        return consistency_document(stored[old], stored[new], tree.consistency_proof(old, new))

    @action(Action.AUDIT_EXPORT)
    async def export(self, op: Operator, org_id: str | None, *, fmt: str, out: Path, from_seq: int = 1) -> Exported:
        """Write a signed bundle of the org's chain from `from_seq` to a checkpoint made now into the
        new or empty directory `out`; recorded, with its manifest's hash, once its files are whole."""
        org_id = await self.org(org_id)
        if fmt not in FORMATS:
            raise InputError(Code.INVALID_ARGUMENT, f"--format is one of {', '.join(FORMATS)}")
        if from_seq < 1:
            raise InputError(Code.INVALID_ARGUMENT, "--from is an entry's number, from 1")
        await anyio.to_thread.run_sync(_check_out, out)
        checkpoint = await self.make(org_id, actor=op.actor)
        if checkpoint is None or from_seq > checkpoint.size:
            raise InputError(Code.INVALID_ARGUMENT, f"org {org_id} has no entries from {from_seq}")
        staging = Path(await anyio.to_thread.run_sync(lambda: tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent)))
        try:
            exported = await self._bundle(op, org_id, fmt, staging, from_seq, checkpoint)
            await anyio.to_thread.run_sync(_place, staging, out)
        except BaseException:
            await anyio.to_thread.run_sync(lambda: shutil.rmtree(staging, ignore_errors=True))
            raise
        return exported

    async def _bundle(
        self, op: Operator, org_id: str, fmt: str, staging: Path, from_seq: int, checkpoint: Checkpoint
    ) -> Exported:
        name = entries_file(fmt)
        digest, count, first_prev, last_hash = await self._write_entries(
            org_id, fmt, staging / name, from_seq, checkpoint.size
        )
        tree = await self.tree(org_id, checkpoint.size)
        previous = await self.store.read.exports(org_id)
        number = previous[-1].number + 1 if previous else 1
        signer = await self.ctx.keyring.signer(self.store.read, org_id, KeyPurpose.AUDIT)
        now = iso(self.ctx.clock.now())
        body = manifest_body(
            org_id=org_id, number=number, fmt=fmt, from_seq=from_seq, to_seq=checkpoint.size,
            first_prev_hash=first_prev, last_entry_hash=last_hash, checkpoint=checkpoint,
            last_inclusion_path=tree.inclusion_proof(checkpoint.size - 1, checkpoint.size),
            files=[FileDigest(name, digest.hexdigest(), digest.size, count)],
            previous_manifest_sha256=previous[-1].manifest_sha256 if previous else None,
            created_at=now, created_by=op.actor, kid=signer.kid,
        )  # fmt: skip
        signed = {"manifest": body, "signature": b64url(signer.sign(canonical_json(body)))}
        text = json.dumps(signed, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        await anyio.to_thread.run_sync(_write_synced, staging / MANIFEST, text.encode())
        manifest_sha = manifest_digest(body)
        row = ExportRow(org_id, number, fmt, from_seq, checkpoint.size, checkpoint.size, manifest_sha, op.actor, now)
        try:
            async with self.store.write() as w:
                await w.insert_export(row)
                payload = {"number": number, "format": fmt, "from_seq": from_seq, "to_seq": checkpoint.size,
                           "manifest_sha256": manifest_sha.hex()}  # fmt: skip
                await w.audit(org_id, None, actor=op.actor, type="audit.exported", subject=None, payload=payload)
        except ConflictError as exc:
            message = f"another export of {org_id} was recorded at the same time; run it again"
            raise InputError(Code.INVALID_ARGUMENT, message) from exc
        return Exported(row, checkpoint, count)

    async def _write_entries(
        self, org_id: str, fmt: str, path: Path, from_seq: int, to_seq: int
    ) -> tuple[_Digest, int, bytes, bytes]:
        """Stream entries `from_seq`..`to_seq` into `path`; answers its digest, the count, the first
        entry's prev_hash and the last entry's hash."""
        digest, count, first_prev, last_hash = _Digest(), 0, b"", b""
        with path.open("wb") as out:
            if fmt == "csv":
                await anyio.to_thread.run_sync(digest.write, out, csv_header())
            after = from_seq - 1
            while after < to_seq:
                page = await self.store.read.audit_stored(
                    org_id, after_seq=after, limit=min(limits.audit_verify_batch_rows, to_seq - after)
                )
                if not page or page[0].seq != after + 1 or page[-1].seq != after + len(page):
                    raise StoreError(
                        f"org {org_id}'s chain has a gap after entry {after}; run `fiduciary audit verify`"
                    )
                line = csv_line if fmt == "csv" else jsonl_line
                await anyio.to_thread.run_sync(digest.write, out, b"".join(line(e) for e in page))
                first_prev = first_prev or page[0].prev_hash
                last_hash, count, after = page[-1].entry_hash, count + len(page), page[-1].seq
            await anyio.to_thread.run_sync(_synced, out)
        return digest, count, first_prev, last_hash

    async def make(self, org_id: str, *, actor: str) -> Checkpoint | None:
        """Sign and store a checkpoint of the chain as it is now; None for an empty chain."""
        head = await self.store.read.audit_head(org_id)
        if head is None:
            return None
        latest = await self.latest(org_id)
        if latest is not None and head[0] <= latest.size + 1 and await self._only_checkpointed(org_id, latest):
            return latest  # nothing but that checkpoint's own entry was added since
        size = head[0]
        root = await self._root(org_id, size)
        signer = await self.ctx.keyring.signer(self.store.read, org_id, KeyPurpose.AUDIT)
        unsigned = Checkpoint(org_id, size, root, iso(self.ctx.clock.now()), signer.kid)
        made = Checkpoint(org_id, size, unsigned.root, unsigned.ts, unsigned.kid, signer.sign(unsigned.statement()))
        try:
            async with self.store.write() as w:
                await w.insert_checkpoint(made, frontier=self._frontiers[org_id].saved())
                payload = {"size": size, "root": made.root.hex(), "kid": made.kid}
                await w.audit(org_id, None, actor=actor, type="audit.checkpointed", subject=None, payload=payload)
        except ConflictError:  # another instance stored this size first
            stored = {c.size: c for c in await self.store.read.checkpoints(org_id)}
            if size not in stored:
                raise
            return stored[size]
        return made

    async def sweep(self) -> list[Checkpoint]:
        """A system sweep: a checkpoint of each org whose chain grew enough, or long enough ago."""
        made = []
        now = self.ctx.clock.now()
        for org_id in await self.store.read.org_ids():
            head = await self.store.read.audit_head(org_id)
            latest = await self.latest(org_id)
            if head is None:
                continue
            if latest is not None and head[0] <= latest.size + 1 and await self._only_checkpointed(org_id, latest):
                continue
            grown = latest is None or head[0] - latest.size >= limits.checkpoint_entries
            stale = latest is None or now - parse_iso(latest.ts) >= timedelta(seconds=limits.checkpoint_seconds)
            if grown or stale:
                checkpoint = await self.make(org_id, actor="system")
                if checkpoint is not None:
                    made.append(checkpoint)
        return made

    async def latest(self, org_id: str) -> Checkpoint | None:
        return await self.store.read.latest_checkpoint(org_id)

    async def tree(self, org_id: str, size: int) -> MerkleTree:
        """The Merkle tree of the org's first `size` entries."""
        tree = MerkleTree()
        await self._leaves(org_id, tree, size)
        return tree

    async def _root(self, org_id: str, size: int) -> bytes:
        """The Merkle root of the org's first `size` entries, from the entries added since the last."""
        frontier = self._frontiers.get(org_id)
        if frontier is None or frontier.size > size:
            frontier = self._frontiers[org_id] = await self._saved_frontier(org_id, size)
        await self._leaves(org_id, frontier, size)
        return frontier.root()

    async def _saved_frontier(self, org_id: str, size: int) -> Frontier:
        """The frontier stored with the org's latest checkpoint of at most `size` entries, if it still
        gives that checkpoint's signed root; else an empty one (the whole chain is read)."""
        found = await self.store.read.checkpoint_frontier(org_id, at_most=size)
        if found is None:
            return Frontier()
        checkpoint, saved = found
        try:
            frontier = Frontier.restored(checkpoint.size, saved)
        except ValueError:
            return Frontier()
        return frontier if frontier.root() == checkpoint.root else Frontier()

    async def _leaves(self, org_id: str, grown: MerkleTree | Frontier, size: int) -> None:
        """Extend `grown` with the org's entries up to `size`, a page at a time."""
        while grown.size < size:
            page = await self.store.read.audit_hashes(
                org_id, after_seq=grown.size, limit=min(limits.audit_verify_batch_rows, size - grown.size)
            )
            if not page or page[0][0] != grown.size + 1 or page[-1][0] != grown.size + len(page):
                raise StoreError(
                    f"org {org_id}'s chain has a gap after entry {grown.size}; run `fiduciary audit verify`"
                )
            grown.extend(leaf(entry_hash) for _, entry_hash in page)

    async def org(self, org_id: str | None) -> str:
        """The org named, or the only tenant org; the platform org when named."""
        if org_id is None:
            return (await tenant_scope(self.store.read, None, None, whole_org=True))[0]
        if org_id != PLATFORM.org_id and org_id not in await self.store.read.org_ids():
            raise not_found("org", org_id)
        return org_id

    async def _covering(self, org_id: str, seq: int, size: int | None) -> Checkpoint:
        found = await self.store.read.checkpoints(org_id)
        if size is not None:
            chosen = [c for c in found if c.size == size]
            if not chosen:
                raise not_found("checkpoint of size", str(size))
            if seq > size:
                raise InputError(Code.INVALID_ARGUMENT, f"the checkpoint of size {size} does not hold entry {seq}")
            return chosen[0]
        covering = [c for c in found if c.size >= seq]
        if not covering:
            raise InputError(
                Code.NOT_FOUND,
                f"no checkpoint holds entry {seq} yet; make one with `fiduciary audit checkpoint`",
            )
        return covering[-1]

    async def _only_checkpointed(self, org_id: str, latest: Checkpoint) -> bool:
        """Whether the entries after `latest` are only its own `audit.checkpointed` entry."""
        after = await self.store.read.audit_page(org_id, after_seq=latest.size, limit=2)
        return all(e.body.type == "audit.checkpointed" and e.body.payload.get("size") == latest.size for e in after)

    @action(Action.AUDIT_READ)
    async def list(self, op: Operator, org_id: str | None = None) -> list[Checkpoint]:
        """The org's checkpoints, smallest first (last in the class: the name would shadow the builtin)."""
        return await self.store.read.checkpoints(await self.org(org_id))
