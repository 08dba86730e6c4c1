"""Reconciliation: each rail's receipts matched against the ledger; what disagrees becomes a flag.

One round, for one rail, over a time window:

- a receipt whose idempotency key no transaction of ours has: `orphan_receipt`;
- two receipts (different references) under one key: `duplicate_receipt`;
- a receipt whose amount or currency differs from its transaction: `amount_mismatch` /
  `currency_mismatch`;
- a transaction settled on the rail with no receipt in the window: `missing_receipt`.

A rail whose provider records no key of ours (Circle's transfers) answers receipts without one;
each is matched to its transaction by the rail's reference instead. One that matches none is an
orphan once it is older than the overlap: a younger one may belong to a payment whose status
is still being asked, and is looked at again on the next round.

The engine never resolves a flag, and never moves money here: unknown outcomes are settled by
the sweep asking `status(idempotency_key)`, never by a resend. A rail that does not answer is
reported and asked again on the next round.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from fiduciary.domain import limits
from fiduciary.domain.clock import iso
from fiduciary.domain.errors import RailError, RailRejected
from fiduciary.gate.flags import FlagKind, raise_flag
from fiduciary.rails import Rail, RailReceipt, idempotency_key_for
from fiduciary.store import Store, TransactionRow

log = logging.getLogger(__name__)

KEY_PREFIX = idempotency_key_for("")


@dataclass(slots=True)
class RailReport:
    rail: str
    receipts: int = 0
    settled: int = 0
    flags: list[str] = field(default_factory=list)
    error: str | None = None
    """Why the rail could not be reconciled this round (it is tried again on the next)."""
    skipped: bool = False
    """The rail cannot list its receipts, so there is nothing to match."""


async def reconcile_rail(store: Store, name: str, rail: Rail, *, since: datetime, now: datetime) -> RailReport:
    """One round for one rail over [since, now]: every disagreement raised as a flag (once)."""
    report = RailReport(name)
    try:
        receipts = await rail.receipts(since - timedelta(seconds=limits.reconcile_overlap_seconds))
    except RailRejected as exc:
        if exc.code != "receipts_unsupported":
            report.error = f"refused: {exc.code}"
            return report
        report.skipped = True  # a rail that cannot list what it did (an upstream MCP tool): nothing to match
        return report
    except RailError as exc:
        report.error = type(exc).__name__
        log.warning("rail %s could not be reconciled (%s)", name, type(exc).__name__)
        return report
    report.receipts = len(receipts)
    cutoff = now - timedelta(seconds=limits.reconcile_overlap_seconds)
    by_key: dict[str, list[RailReceipt]] = defaultdict(list)
    for receipt in receipts:
        key = receipt.idempotency_key or await _key_of(store, name, receipt)
        if key:
            by_key[key].append(receipt)
        elif not _younger(receipt, cutoff):
            report.flags += await _check_receipts(store, name, "", [receipt])
    for key, group in by_key.items():
        report.flags += await _check_receipts(store, name, key, group)
    # What settled before the last moments of the window must show among the receipts.
    settled = await store.read.settled_on_rail(name, since=iso(since), limit=limits.reconcile_transactions_max)
    for txn in settled:
        report.settled += 1
        if txn.updated_at <= iso(cutoff) and idempotency_key_for(txn.transaction_id) not in by_key:
            async with store.write() as w:
                flag = await raise_flag(w, txn, kind=FlagKind.MISSING_RECEIPT, detail={}, rail=name)
            report.flags += [flag] if flag else []
    return report


async def _check_receipts(store: Store, name: str, key: str, group: list[RailReceipt]) -> list[str]:
    txn = await _transaction_of(store, key)
    found: list[str | None] = []
    funding = await store.read.funding(key.removeprefix(KEY_PREFIX)) if txn is None and key else None
    async with store.write() as w:
        if funding is not None:
            receipt = group[0]
            if (receipt.amount_minor, receipt.currency) != (funding.amount_minor, funding.currency):
                about: dict[str, object] = {"funding_id": funding.funding_id}
                found.append(await raise_flag(w, None, kind=FlagKind.AMOUNT_MISMATCH, detail=about, receipt=receipt))
            return [f for f in found if f]
        if txn is None:
            detail: dict[str, object] = {"idempotency_key": key}
            found.append(await raise_flag(w, None, kind=FlagKind.ORPHAN_RECEIPT, detail=detail, receipt=group[0]))
            return [f for f in found if f]
        if len({r.rail_reference for r in group}) > 1:
            detail = {"references": sorted({r.rail_reference for r in group})}
            found.append(await raise_flag(w, txn, kind=FlagKind.DUPLICATE_RECEIPT, detail=detail, rail=name))
        receipt = group[0]
        if receipt.currency != txn.amount.currency:
            found.append(await raise_flag(w, txn, kind=FlagKind.CURRENCY_MISMATCH, detail={}, receipt=receipt))
        elif receipt.amount_minor != txn.amount.amount_minor:
            found.append(await raise_flag(w, txn, kind=FlagKind.AMOUNT_MISMATCH, detail={}, receipt=receipt))
    return [f for f in found if f]


async def _key_of(store: Store, name: str, receipt: RailReceipt) -> str:
    """The key of the transaction a receipt without one was recorded on ("" when none was)."""
    txn = await store.read.transaction_by_rail_reference(name, receipt.rail_reference)
    return "" if txn is None else idempotency_key_for(txn.transaction_id)


def _younger(receipt: RailReceipt, cutoff: datetime) -> bool:
    """Whether the provider made the receipt after `cutoff` (an unreadable time counts as older)."""
    try:
        made = datetime.fromisoformat(receipt.settled_at)
    except ValueError:
        return False
    return made.tzinfo is not None and made > cutoff


async def _transaction_of(store: Store, key: str) -> TransactionRow | None:
    if not key.startswith(KEY_PREFIX):
        return None
    return await store.read.transaction_by_id(key.removeprefix(KEY_PREFIX))
