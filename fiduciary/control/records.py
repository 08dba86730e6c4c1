"""What operators and auditors read: transactions, the audit chain, and its verification."""

from __future__ import annotations

from collections.abc import AsyncIterator

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


async def verify_chain(reads: Reads, org_id: str) -> VerifyReport:
    """Walk an org's whole chain: hashes, links, sequence and signatures."""
    verifier = ChainVerifier(await reads.public_keys(org_id, KeyPurpose.AUDIT))
    async for entry in audit_entries(reads, org_id):
        if not verifier.feed(entry):
            break
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
    async def verify(self, op: Operator, org_id: str | None = None) -> list[tuple[str, VerifyReport]]:
        """Verify one org's chain, or every chain."""
        orgs = await self.store.read.org_ids()
        if org_id is not None:
            if org_id not in orgs:
                raise not_found("org", org_id)
            orgs = [org_id]
        return [(org, await verify_chain(self.store.read, org)) for org in orgs]

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
