"""What operators and auditors read: transactions, the audit chain, and its verification."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from fiduciary.audit.chain import AuditEntry
from fiduciary.audit.verify import ChainVerifier, VerifyReport
from fiduciary.control.base import Part, action, not_found
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
