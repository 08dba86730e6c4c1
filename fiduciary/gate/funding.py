"""Funding a wallet through a rail: the wallet is credited only when the rail confirms the collection.

An operator asks (`wallets fund --rail`); the funding is recorded `pending` before the rail is
called, so a crash leaves a record that the next sweep finishes. The rail collects under the key
`fid-<funding_id>`:

- succeeded, and about exactly this funding: the wallet is credited, in the same transaction as
  the state change and its audit entry;
- refused, failed, or provably never arrived: `failed`, nothing credited;
- no answer, pending at the provider, or an answer that is not believed: `unknown`; each sweep
  asks the rail about the key, and only a rail that never saw it is asked to collect again
  (under the same key). An answer not believed also raises a reconciliation flag.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import anyio

from fiduciary.domain import limits
from fiduciary.domain.errors import RailError, RailMismatch, RailRejected, RailTimeout, RailUnavailable, StateError
from fiduciary.domain.intents import AgentRef
from fiduciary.domain.money import Money
from fiduciary.domain.records import FundingRow
from fiduciary.gate.flags import FlagKind, raise_flag
from fiduciary.rails import Direction, Outcome, Rail, RailReceipt, RailRequest, idempotency_key_for, mismatch
from fiduciary.store import Store, WriteTx
from fiduciary.wallets import credit

log = logging.getLogger(__name__)

SETTLED = frozenset({"credited", "failed"})


def funding_payer(funding: FundingRow) -> str:
    """The payer of a funding still open: an erasure waits until none to that payer is."""
    if funding.counterparty is None:
        raise StateError(f"the payer of {funding.funding_id} was erased")
    return funding.counterparty


def _request(funding: FundingRow) -> RailRequest:
    return RailRequest(
        idempotency_key_for(funding.funding_id),
        Direction.COLLECT,
        funding.amount_minor,
        funding.currency,
        funding_payer(funding),
        funding.created_at,
    )


class Fundings:
    def __init__(self, store: Store, rails: Mapping[str, Rail], *, timeout_seconds: float) -> None:
        self.store = store
        self._rails = rails
        self._timeout = timeout_seconds

    async def collect(self, funding: FundingRow) -> FundingRow:
        """Ask the funding's rail to collect it, then record what happened."""
        rail = self._rails.get(funding.rail)
        if rail is None:
            return await self._finish(funding, None, failed="rail_not_configured")
        try:
            with anyio.fail_after(self._timeout):
                receipt = await rail.dispatch(_request(funding))
        except RailRejected as exc:
            return await self._finish(funding, None, failed=exc.code)
        except RailUnavailable:
            return await self._finish(funding, None, failed="unavailable")
        except RailMismatch as exc:
            return await self._finish(funding, None, cause=exc.cause)
        except (RailTimeout, TimeoutError):
            log.warning("rail %s did not answer for funding %s; it will be looked up", funding.rail, funding.funding_id)
            return await self._finish(funding, None)
        return await self._finish(funding, receipt)

    async def sweep(self) -> int:
        """Finish fundings a crash or a lost answer left open; how many reached an end."""
        ended = 0
        for funding in await self.store.read.unsettled_fundings(limit=limits.resume_transactions_max):
            rail = self._rails.get(funding.rail)
            if rail is None:
                continue
            try:
                with anyio.fail_after(self._timeout):
                    found = await rail.status(idempotency_key_for(funding.funding_id), request=_request(funding))
            except (RailError, TimeoutError):
                continue  # no answer about the key: ask again next time, never collect blind
            after = await (self.collect(funding) if found is None else self._finish(funding, found))
            ended += after.state in SETTLED
        return ended

    async def _finish(
        self, funding: FundingRow, receipt: RailReceipt | None, *, failed: str | None = None, cause: str | None = None
    ) -> FundingRow:
        async with self.store.write() as w:
            fresh = await w.funding(funding.funding_id)
            assert fresh is not None, "a funding is recorded before its rail is called"
            if fresh.state in SETTLED:
                return fresh  # another round finished it first
            if receipt is not None and cause is None:
                cause = mismatch(_request(fresh), receipt, rail=fresh.rail)
            if failed is None and receipt is not None and cause is None:
                if receipt.outcome is Outcome.SUCCEEDED:
                    return await _credit(w, fresh, receipt)
                if receipt.outcome is Outcome.FAILED:
                    failed = receipt.failure_code or "failed"
            if failed is not None:
                return await _moved(w, fresh, "failed", None, {"rail_code": failed})
            if cause is not None:
                await raise_flag(
                    w, None, kind=FlagKind.ANSWER_MISMATCH, detail={"funding_id": fresh.funding_id, "cause": cause},
                    receipt=receipt, rail=fresh.rail,
                )  # fmt: skip
            return await _moved(w, fresh, "unknown", None, {"pending": receipt is not None and cause is None})


async def _credit(w: WriteTx, funding: FundingRow, receipt: RailReceipt) -> FundingRow:
    caller = AgentRef(funding.org_id, funding.project_id, funding.agent_id)
    amount = Money(funding.amount_minor, funding.currency)
    wallet = await w.wallet(caller, amount.currency) or await w.create_wallet(caller, amount.currency)
    after = credit(wallet, amount)
    await w.move_wallet(caller, wallet, after, kind="fund", amount=amount, transaction_id=None, closed_mandate_id=None)
    detail = {
        "rail_reference": receipt.rail_reference,
        "amount_minor": amount.amount_minor,
        "currency": amount.currency,
    }
    return await _moved(w, funding, "credited", receipt.rail_reference, detail, event="wallet.funded")


async def _moved(
    w: WriteTx,
    funding: FundingRow,
    state: str,
    reference: str | None,
    detail: dict[str, object],
    *,
    event: str | None = None,
) -> FundingRow:
    if funding.state == state:
        return funding
    await w.update_funding(funding.funding_id, state=state, rail_reference=reference)
    await w.audit(
        funding.org_id,
        funding.project_id,
        actor="system",
        type=event or f"wallet.funding_{state}",
        subject=funding.agent_id,
        payload={"funding_id": funding.funding_id, "rail": funding.rail, **detail},
    )
    fresh = await w.funding(funding.funding_id)
    assert fresh is not None
    return fresh
