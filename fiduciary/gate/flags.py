"""Reconciliation flags: what the engine finds and never resolves itself.

A flag is raised in the same transaction as what found it, with a `reconcile.flagged` audit
entry; the same finding is raised once while it stays open. Only an operator resolves one
(`control.reconciliation`), with a note, and that is audited too.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from fiduciary.domain.clock import iso
from fiduciary.domain.ids import Prefix, new_id
from fiduciary.domain.intents import PLATFORM
from fiduciary.domain.records import FlagRow, TransactionRow
from fiduciary.rails import RailReceipt
from fiduciary.store import WriteTx


class FlagKind(StrEnum):
    ANSWER_MISMATCH = "answer_mismatch"
    """A rail answered about something else than was asked (or unreadably); the hold stays."""
    MISSING_RECEIPT = "missing_receipt"
    """The ledger says settled; the rail's receipts do not show it."""
    ORPHAN_RECEIPT = "orphan_receipt"
    """The rail shows a movement no transaction of ours asked for."""
    AMOUNT_MISMATCH = "amount_mismatch"
    CURRENCY_MISMATCH = "currency_mismatch"
    DUPLICATE_RECEIPT = "duplicate_receipt"
    """Two movements at the rail under one idempotency key."""


async def raise_flag(
    w: WriteTx,
    txn: TransactionRow | None,
    *,
    kind: FlagKind,
    detail: dict[str, Any],
    receipt: RailReceipt | None = None,
    rail: str | None = None,
) -> str | None:
    """Raise a flag about `txn` (or about a receipt alone); its id, or None if it is already open."""
    rail_name = rail or (receipt.rail if receipt is not None else None) or (txn.rail if txn is not None else None)
    assert rail_name is not None, "a flag names its rail"
    org_id = txn.org_id if txn is not None else PLATFORM.org_id
    body = detail | (
        {}
        if receipt is None
        else {"rail_amount_minor": receipt.amount_minor, "rail_currency": receipt.currency, "outcome": receipt.outcome}
    )
    flag = FlagRow(
        flag_id=new_id(Prefix.FLAG),
        org_id=org_id,
        rail=rail_name,
        kind=kind.value,
        transaction_id=None if txn is None else txn.transaction_id,
        rail_reference=None if receipt is None else receipt.rail_reference,
        detail=json.dumps(body, sort_keys=True),
        raised_at=iso(w.now),
        resolved_by=None,
        resolved_at=None,
        note=None,
    )
    if not await w.insert_flag(flag):
        return None
    await w.audit(
        org_id,
        None if txn is None else txn.project_id,
        actor="system",
        type="reconcile.flagged",
        subject=flag.flag_id,
        ref=None if txn is None else txn.reference,
        payload={"kind": kind.value, "rail": rail_name, "transaction_id": flag.transaction_id, **body},
    )
    return flag.flag_id
