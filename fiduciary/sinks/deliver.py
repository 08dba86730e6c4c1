"""One round of delivery to every sink: each org's entries after the sink's cursor, in order.

At least once: a batch is sent, and only once the sink answered 2xx does a write transaction
move the cursor past it. A crash between the answer and that transaction sends the batch again
on the next round, so a sink may receive an entry twice (its `seq` and `entry_hash` tell a
duplicate) but never misses one. A cursor's move is bookkeeping, not an audited state change:
an entry for it would itself need delivering, and the chain would grow for ever. A sink that
stops (a 4xx other than 408 and 429) is audited as `sink.stopped` in the platform chain; an
admin's resume as `sink.resumed`.

Each round is bounded: per sink and org at most `limits.sink_batches_per_round` requests (an S3
sink: one bundle), each bounded by the sink's timeout; a failure backs that pair off and moves on
to the next sink, so a sink that answers 500 for ever holds back nothing but itself.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any, Protocol

import anyio
import httpx2

from fiduciary.audit.checkpoint import Checkpoint
from fiduciary.audit.export import MANIFEST, FileDigest, entries_file, jsonl_line, manifest_body, manifest_digest
from fiduciary.audit.jwks import b64url
from fiduciary.audit.merkle import MerkleTree
from fiduciary.domain import limits
from fiduciary.domain.canonical import canonical_json
from fiduciary.domain.clock import iso, parse_iso
from fiduciary.domain.errors import ConfigError, StoreError
from fiduciary.domain.intents import PLATFORM
from fiduciary.domain.records import SinkCursorRow
from fiduciary.mandates.keys import KeyPurpose
from fiduciary.sinks import s3
from fiduciary.sinks.config import SinkConfig, SinkKind, SinksFile
from fiduciary.sinks.formats import batch
from fiduciary.sinks.http import Answer, backoff, post
from fiduciary.store import Store
from fiduciary.store.ports import SignerSource

log = logging.getLogger(__name__)

STOPPED = "sink.stopped"
RESUMED = "sink.resumed"
SPOOL_BYTES = 8 * 1024 * 1024
"""An S3 bundle's entries stay in memory up to this size, then spill to a temporary file."""


class Checkpoints(Protocol):
    """What an S3 bundle needs of the evidence service: a signed checkpoint now, and the org's tree."""

    async def make(self, org_id: str, *, actor: str) -> Checkpoint | None: ...

    async def tree(self, org_id: str, size: int) -> MerkleTree: ...


@dataclass(frozen=True, slots=True)
class _Spooled:
    file: IO[bytes]
    digest: FileDigest
    first_prev: bytes
    last_hash: bytes


class Delivery:
    """Delivers every org's chain to the sinks of the sinks file."""

    def __init__(
        self,
        store: Store,
        sinks: SinksFile,
        *,
        signers: SignerSource,
        checkpoints: Checkpoints,
        environ: Mapping[str, str],
    ) -> None:
        self.store = store
        self.sinks = sinks
        self._signers = signers
        self._checkpoints = checkpoints
        self._environ = environ
        self._paused: dict[str, datetime] = {}
        """Sinks that failed, and when this process tries them again: a throttled or failing service
        is backed off as a whole, not once for each org."""

    async def run(self) -> int:
        """One round over every sink that is not stopped; how many entries were delivered."""
        if not self.sinks.sinks:
            return 0
        stopped = {s.sink for s in await self.store.read.sink_states() if s.stopped_at is not None}
        orgs = await self.store.read.org_ids()
        delivered = 0
        for config in self.sinks.sinks:
            if config.name not in stopped:
                delivered += await self._sink(config, orgs)
        return delivered

    async def _sink(self, config: SinkConfig, orgs: list[str]) -> int:
        now = self.store.clock.now()
        if now < self._paused.get(config.name, now):
            return 0
        cursors = {c.org_id: c for c in await self.store.read.sink_cursors(config.name)}
        due = [org for org in orgs if _due(cursors.get(org), now)]
        if not due:
            return 0
        try:
            credential = config.credential(self._environ)
            client = (
                await anyio.to_thread.run_sync(s3.client, config, credential) if config.kind is SinkKind.S3 else None
            )
        except ConfigError as exc:
            self._paused[config.name] = await self._failed(config, due[0], cursors.get(due[0]), Answer(None, str(exc)))
            return 0
        delivered = 0
        async with httpx2.AsyncClient(follow_redirects=False) as http:
            for org_id in due:
                if not await self._claim(config, org_id):
                    continue  # another process is sending this org's entries to this sink
                cursor = (await self._cursors(config)).get(org_id)
                try:
                    if config.kind is SinkKind.S3:
                        sent, answer = await self._bundle(config, client, org_id, cursor, now)
                    else:
                        sent, answer = await self._batches(config, http, credential, org_id, cursor)
                except StoreError as exc:  # a chain that cannot be read whole: say so, and try again later
                    await self._failed(config, org_id, cursor, Answer(None, str(exc)))
                    continue
                delivered += sent
                if answer is not None:
                    self._paused[config.name] = await self._failed(config, org_id, None if sent else cursor, answer)
                    break  # the sink is failing: the other orgs wait until it is due again
                async with self.store.write() as w:
                    await w.release_sink(config.name, org_id)
        return delivered

    async def _claim(self, config: SinkConfig, org_id: str) -> bool:
        """Hold the (sink, org) pair while this process sends, so no two instances send it at once."""
        async with self.store.write() as w:
            return await w.claim_sink(config.name, org_id, until=w.now + timedelta(seconds=limits.sink_claim_seconds))

    async def _cursors(self, config: SinkConfig) -> dict[str, SinkCursorRow]:
        return {c.org_id: c for c in await self.store.read.sink_cursors(config.name)}

    async def _batches(
        self, config: SinkConfig, http: httpx2.AsyncClient, credential: str | None, org_id: str,
        cursor: SinkCursorRow | None,
    ) -> tuple[int, Answer | None]:  # fmt: skip
        seq, sent = (cursor.seq if cursor else 0), 0
        for _ in range(limits.sink_batches_per_round):
            page = await self.store.read.audit_stored(org_id, after_seq=seq, limit=config.batch_events)
            if not page:
                break
            if page[0].seq != seq + 1 or page[-1].seq != seq + len(page):
                return sent, Answer(None, f"the chain has a gap after entry {seq}; run `fiduciary audit verify`")
            made = batch(config, page)
            if made.count == 0:
                reason = f"entry {seq + 1} is larger than one request may carry"
                return sent, Answer(None, reason, permanent=True)
            answer = await post(http, config, credential, made.body, now=self.store.clock.now())
            if not answer.delivered:
                return sent, answer
            seq = page[made.count - 1].seq
            async with self.store.write() as w:
                await w.advance_sink(config.name, org_id, seq=seq)
            sent += made.count
        return sent, None

    async def _bundle(
        self, config: SinkConfig, client: Any, org_id: str, cursor: SinkCursorRow | None, now: datetime
    ) -> tuple[int, Answer | None]:
        seq = cursor.seq if cursor else 0
        last = cursor.delivered_at if cursor else None
        if last is not None and now - parse_iso(last) < timedelta(seconds=config.manifest_seconds):
            return 0, None
        head = await self.store.read.audit_head(org_id)
        if head is None or head[0] <= seq:
            return 0, None
        await self._checkpoints.make(org_id, actor="system")
        checkpoint = await self.store.read.bundle_checkpoint(org_id, after=seq, at_most=seq + config.batch_events)
        if checkpoint is None:
            return 0, None
        number = (cursor.bundles if cursor else 0) + 1
        spooled = await self._spool(org_id, seq, checkpoint.size)
        try:
            manifest, text = await self._manifest(config, org_id, number, seq + 1, checkpoint, spooled, cursor)
            prefix = s3.bundle_prefix(config, org_id, number)
            spooled.file.seek(0)
            answer = await anyio.to_thread.run_sync(
                s3.put, client, config, prefix + entries_file("jsonl"), spooled.file, "application/x-ndjson"
            )
            if answer.delivered:
                answer = await anyio.to_thread.run_sync(
                    s3.put, client, config, prefix + MANIFEST, text, "application/json"
                )
        finally:
            spooled.file.close()
        if not answer.delivered:
            return 0, answer
        async with self.store.write() as w:
            await w.advance_sink(
                config.name, org_id, seq=checkpoint.size, bundles=number, manifest_sha256=manifest_digest(manifest)
            )
        return checkpoint.size - seq, None

    async def _spool(self, org_id: str, after: int, to_seq: int) -> _Spooled:
        out: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (closed by the caller)
        digest, size, count, first_prev, last_hash = hashlib.sha256(), 0, 0, b"", b""
        while after < to_seq:
            page = await self.store.read.audit_stored(
                org_id, after_seq=after, limit=min(limits.audit_verify_batch_rows, to_seq - after)
            )
            if not page or page[0].seq != after + 1 or page[-1].seq != after + len(page):
                out.close()
                raise StoreError(f"org {org_id}'s chain has a gap after entry {after}; run `fiduciary audit verify`")
            data = b"".join(jsonl_line(e) for e in page)
            await anyio.to_thread.run_sync(out.write, data)
            digest.update(data)
            size, count = size + len(data), count + len(page)
            first_prev = first_prev or page[0].prev_hash
            last_hash, after = page[-1].entry_hash, page[-1].seq
        file = FileDigest(entries_file("jsonl"), digest.hexdigest(), size, count)
        return _Spooled(out, file, first_prev, last_hash)

    async def _manifest(
        self, config: SinkConfig, org_id: str, number: int, from_seq: int, checkpoint: Checkpoint, spooled: _Spooled,
        cursor: SinkCursorRow | None,
    ) -> tuple[dict[str, Any], bytes]:  # fmt: skip
        """The signed manifest of one bundle, in exactly an export's form, and its bytes."""
        tree = await self._checkpoints.tree(org_id, checkpoint.size)
        signer = await self._signers.signer(self.store.read, org_id, KeyPurpose.AUDIT)
        body = manifest_body(
            org_id=org_id, number=number, fmt="jsonl", from_seq=from_seq, to_seq=checkpoint.size,
            first_prev_hash=spooled.first_prev, last_entry_hash=spooled.last_hash, checkpoint=checkpoint,
            last_inclusion_path=tree.inclusion_proof(checkpoint.size - 1, checkpoint.size), files=[spooled.digest],
            previous_manifest_sha256=cursor.manifest_sha256 if cursor else None,
            created_at=iso(self.store.clock.now()), created_by=f"sink:{config.name}", kid=signer.kid,
        )  # fmt: skip
        signed = {"manifest": body, "signature": b64url(signer.sign(canonical_json(body)))}
        return body, (json.dumps(signed, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()

    async def _failed(self, config: SinkConfig, org_id: str, cursor: SinkCursorRow | None, answer: Answer) -> datetime:
        """Record a failed attempt; when to try again. A refusal that sending again cannot cure stops
        the sink, audited."""
        reason = answer.reason[: limits.sink_error_chars_max]
        async with self.store.write() as w:
            next_at = w.now
            if answer.retryable:
                next_at = w.now + backoff(cursor.attempts if cursor else 0, answer)
                await w.sink_failed(config.name, org_id, status=answer.status, error=reason, next_at=next_at)
            else:
                await w.sink_failed(config.name, org_id, status=answer.status, error=reason, next_at=w.now)
                if await w.stop_sink(config.name, status=answer.status, reason=reason):
                    payload = {"org_id": org_id, "status": answer.status, "reason": reason}
                    await w.audit(
                        PLATFORM.org_id, None, actor="system", type=STOPPED, subject=config.name, payload=payload
                    )
        log.warning("audit sink %s (%s): %s", config.name, org_id, reason)
        return next_at


def check_sinks(sinks: SinksFile, environ: Mapping[str, str]) -> None:
    """Refuse, with a `ConfigError` naming what is missing, sinks a server could not use: an unset
    credential, or an S3 sink without boto3 (the `s3` extra)."""
    for config in sinks.sinks:
        config.credential(environ)
        if config.kind is SinkKind.S3 and not s3.available():
            raise ConfigError(f"sink {config.name}: an S3 sink needs boto3: {s3.EXTRA_HINT}")


def _due(cursor: SinkCursorRow | None, now: datetime) -> bool:
    return cursor is None or cursor.next_at is None or parse_iso(cursor.next_at) <= now
