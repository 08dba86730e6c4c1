"""Reconciliation for operators: the open flags, resolving one with a note, and a round on demand.

The engine raises flags and never resolves them; resolving is an admin's decision, audited with
the note. A round on demand is the same round a running server does every minute.
"""

from __future__ import annotations

from datetime import timedelta

from fiduciary.control.base import Part, action, check_reason, not_found
from fiduciary.control.roles import Action, Operator
from fiduciary.domain import limits
from fiduciary.domain.codes import Code
from fiduciary.domain.errors import InputError
from fiduciary.domain.records import FlagRow, TransactionRow
from fiduciary.domain.states import TxState
from fiduciary.gate.reconcile import RailReport


class Reconciliation(Part):
    @action(Action.RECONCILE_READ)
    async def flags(self, op: Operator, *, include_resolved: bool = False) -> list[FlagRow]:
        """Reconciliation flags, newest first; by default only the open ones."""
        return await self.store.read.flags(open_only=not include_resolved, limit=limits.flags_page_max)

    @action(Action.RECONCILE_RESOLVE)
    async def resolve(self, op: Operator, flag_id: str, *, note: str) -> FlagRow:
        """Close an open flag with what the operator found; the chain records who and why."""
        note = check_reason(note)
        async with self.store.write() as w:
            flag = await w.flag(flag_id)
            if flag is None:
                raise not_found("flag", flag_id)
            if not await w.resolve_flag(flag_id, by=op.actor, note=note):
                raise InputError(Code.INVALID_ARGUMENT, f"flag {flag_id} is already resolved")
            await w.audit(
                flag.org_id,
                None,
                actor=op.actor,
                type="reconcile.resolved",
                subject=flag_id,
                payload={"kind": flag.kind, "transaction_id": flag.transaction_id, "note": note},
            )
            resolved = await w.flag(flag_id)
        assert resolved is not None
        return resolved

    @action(Action.RECONCILE_RESOLVE)
    async def decide(
        self, op: Operator, transaction_id: str, *, settled_reference: str | None, note: str
    ) -> TransactionRow:
        """Decide a payment the rail never made clear: settled (with the rail's reference the operator
        found, which captures its hold) or failed (which releases it). Only an `unknown` one; audited."""
        note = check_reason(note)
        if settled_reference is not None and not 1 <= len(settled_reference.strip()) <= limits.name_chars_max * 2:
            raise InputError(Code.INVALID_ARGUMENT, "give the rail's reference as it shows it")
        async with self.store.write() as w:
            txn = await w.transaction_by_id(transaction_id)
            if txn is None:
                raise not_found("transaction", transaction_id)
            if txn.state is not TxState.UNKNOWN:
                raise InputError(Code.INVALID_ARGUMENT, f"transaction {transaction_id} is {txn.state}, not unknown")
            reference = None if settled_reference is None else settled_reference.strip()
            return await self.ctx.gate.settlement.decide_unknown(
                w, txn, settled_reference=reference, actor=op.actor, note=note
            )

    @action(Action.RECONCILE_RUN)
    async def run(self, op: Operator, *, hours: int = limits.reconcile_first_window_hours) -> list[RailReport]:
        """One round now over every rail, looking `hours` back."""
        if not 1 <= hours <= 24 * 90:
            raise InputError(Code.INVALID_ARGUMENT, "--hours must be 1 to 2160")
        since = self.ctx.clock.now() - timedelta(hours=hours)
        return await self.ctx.gate.reconcile_rails(since)
