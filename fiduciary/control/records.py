"""What operators and auditors read: transactions, the audit chain, its verification and its replay."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime

from fiduciary.audit.chain import AuditEntry
from fiduciary.audit.verify import ChainVerifier, VerifyReport
from fiduciary.control.base import Part, action, not_found
from fiduciary.control.mandates import parse_time
from fiduciary.control.replay import ReplayReport, replay_org
from fiduciary.control.roles import Action, Operator
from fiduciary.domain import limits
from fiduciary.domain.codes import Code
from fiduciary.domain.errors import InputError
from fiduciary.domain.ids import Prefix
from fiduciary.mandates.keys import KeyPurpose
from fiduciary.store import Reads, TransactionRow


async def audit_entries(reads: Reads, org_id: str) -> AsyncIterator[AuditEntry]:
    """Every entry of an org's chain, in order, a page at a time."""
    after = 0
    while page := await reads.audit_page(org_id, after_seq=after, limit=limits.audit_verify_batch_rows):
        for entry in page:
            yield entry
        after = page[-1].body.seq


Progress = Callable[[str, int], None]
"""Told (org, entries checked so far) after each page of a long walk."""


async def verify_chain(
    reads: Reads, org_id: str, *, signatures: bool = True, progress: Progress | None = None
) -> VerifyReport:
    """Walk an org's whole chain as stored: sequence, links and hashes, and (by default) every
    signature and every entry's columns against its hashed bytes."""
    verifier = ChainVerifier(await reads.public_keys(org_id, KeyPurpose.AUDIT))
    batch = limits.audit_verify_batch_rows
    while True:
        walked = None
        if not signatures:
            links = await reads.audit_links(org_id, after_seq=verifier.checked, limit=batch)
            if not links:
                break
            walked = verifier.walk(links)
        if walked is None:  # with signatures, or from an entry stored without its bytes
            page = await reads.audit_stored(org_id, after_seq=verifier.checked, limit=batch)
            if not page:
                break
            walked = all(verifier.feed_stored(entry, signatures=signatures) for entry in page)
        if not walked:
            break
        if progress is not None:
            progress(org_id, verifier.checked)
    return verifier.report()


class Records(Part):
    @action(Action.TRANSACTIONS_READ)
    async def transactions(
        self,
        op: Operator,
        *,
        limit: int = limits.list_page_size_default,
        org_id: str | None = None,
        agent_id: str | None = None,
        state: str | None = None,
        before: str | None = None,
    ) -> list[TransactionRow]:
        if not 1 <= limit <= limits.list_page_size_max:
            raise InputError(Code.INVALID_ARGUMENT, f"--limit must be 1 to {limits.list_page_size_max}")
        if before is not None and await self.store.read.transaction_by_id(before) is None:
            raise not_found("transaction", before)
        return await self.store.read.transactions(
            limit=limit, org_id=org_id, agent_id=agent_id, state=state, before=before
        )

    @action(Action.TRANSACTIONS_READ)
    async def transaction(self, op: Operator, transaction_id: str) -> TransactionRow:
        txn = await self.store.read.transaction_by_id(transaction_id)
        if txn is None:
            raise not_found("transaction", transaction_id)
        return txn

    @action(Action.DB_MIGRATE)
    async def migrated(self, op: Operator) -> None:
        """Nothing to do: opening the store applied every pending migration; only an admin asks."""

    @action(Action.AUDIT_VERIFY)
    async def verify(
        self, op: Operator, org_id: str | None = None, *, signatures: bool = True, progress: Progress | None = None
    ) -> list[tuple[str, VerifyReport]]:
        """Verify one org's chain, or every chain; `signatures=False` walks the hashes alone."""
        orgs = await self.store.read.org_ids()
        if org_id is not None:
            if org_id not in orgs:
                raise not_found("org", org_id)
            orgs = [org_id]
        reads = self.store.read
        return [(org, await verify_chain(reads, org, signatures=signatures, progress=progress)) for org in orgs]

    @action(Action.AUDIT_VERIFY)
    async def replay(
        self,
        op: Operator,
        org_id: str | None = None,
        *,
        to_seq: int | None = None,
        to_time: datetime | str | None = None,
    ) -> list[ReplayReport]:
        """Rebuild one org's state (or every org's) from its chain alone, up to entry `to_seq` of that org,
        or up to `to_time`, or to the head; at the head, compare it with the tables."""
        if to_seq is not None and to_time is not None:
            raise InputError(Code.INVALID_ARGUMENT, "give --to or --to-time, not both")
        if to_seq is not None and org_id is None:
            raise InputError(Code.INVALID_ARGUMENT, "--to needs --org: each org's chain numbers its own entries")
        until = parse_time(to_time) if isinstance(to_time, str) else to_time
        reads = self.store.read
        orgs = await reads.org_ids()
        if org_id is not None:
            if org_id not in orgs:
                raise not_found("org", org_id)
            orgs = [org_id]
        if to_seq is not None:
            head = await reads.audit_head(org_id or "")
            size = 0 if head is None else head[0]
            if not 1 <= to_seq <= size:
                has = f"entries 1 to {size}" if size else "no entries"
                raise InputError(Code.INVALID_ARGUMENT, f"--to {to_seq}: {org_id}'s chain has {has}")
        return [await replay_org(reads, org, to_seq=to_seq, to_time=until) for org in orgs]

    @action(Action.AUDIT_READ)
    async def entries(self, op: Operator, identifier: str) -> list[AuditEntry]:
        """The entries about any id: a call's reference, a transaction, an approval, a mandate, an agent..."""
        reads = self.store.read
        if identifier.startswith(f"{Prefix.REFERENCE}_"):
            found = await reads.audit_by_ref(identifier)
        else:
            subject = identifier
            if identifier.startswith(f"{Prefix.APPROVAL}_"):
                approval = await reads.approval(identifier)
                subject = approval.transaction_id if approval is not None else identifier
            found = await reads.audit_by_subject_anywhere(subject)
        if not found:
            raise not_found("audit entries about", identifier)
        return found
