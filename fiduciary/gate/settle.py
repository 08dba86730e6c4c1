"""From an authorized transaction to money that moved, or did not: dispatch, settle, fail, roll back.

Right before the rail the closed mandate is verified again; the dispatch is recorded before
the rail is called, so a crash leaves `dispatching` and reconciliation asks the rail about the
idempotency key before anything is sent again. Never pays twice.

The rollback plan of each kind of payment, by where it stops:

- Before the rail (`roll_back`: a kill switch, a frozen rail, no rail for it, a mandate that no
  longer verifies): a pay's or refund's hold is released; the mandate's use and the budget
  counters are given back; a charge credits nothing.
- The rail refused it, failed it, or provably never got it (`_fail`): the same, then `released`.
- The outcome is not known (`unknown`): the hold is kept and nothing is credited; every sweep
  asks the rail about the key, and an answer that was not believed is a flag in front of a person.
- Settled (`_settle`): a pay's or refund's hold is captured into a debit (a pay's payee is no
  longer new); a charge credits the wallet.

A reversal after settlement is a new transaction (a refund), never an edit of the old one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import anyio

from fiduciary.domain import limits
from fiduciary.domain.clock import iso, parse_iso
from fiduciary.domain.codes import Code
from fiduciary.domain.counterparties import parse_counterparty
from fiduciary.domain.errors import MandateError, RailError, RailMismatch, RailRejected, RailTimeout, RailUnavailable
from fiduciary.domain.intents import OUTFLOWS, PaymentIntent, Tool
from fiduciary.domain.states import TxState
from fiduciary.gate.authorize import closed_terms
from fiduciary.gate.flags import FlagKind, raise_flag
from fiduciary.gate.screening import ScreeningConfigs, screen_upstream
from fiduciary.mandates import ClosedMandate, verify_closed
from fiduciary.mandates.keys import KeyPurpose
from fiduciary.rails import Direction, Outcome, Rail, RailReceipt, RailRequest, idempotency_key_for
from fiduciary.rails import mismatch as rail_mismatch
from fiduciary.rails.config import RailConfig, RailKind, RailsFile, route
from fiduciary.store import Store, TransactionRow, WriteTx
from fiduciary.wallets import capture, credit, release

log = logging.getLogger(__name__)

S = TxState
_NO_LEASE: dict[str, str | None] = {"lease_owner": None, "lease_until": None}


class Settlement:
    """Owns the rails: everything after a transaction is authorized."""

    def __init__(
        self,
        store: Store,
        rails: Mapping[str, Rail],
        *,
        rail: str,
        owner: str,
        configs: ScreeningConfigs | None = None,
        rail_timeout_seconds: float = limits.rail_timeout_ms / 1000,
        routes: RailsFile | None = None,
    ) -> None:
        assert routes is not None or rail in rails, "the default rail must be configured"
        assert 0 < rail_timeout_seconds <= limits.rail_timeout_ms / 1000, "rail waits are bounded"
        self._rail_timeout = rail_timeout_seconds
        self.owner = owner
        self.store = store
        self._rails = rails
        self._rail_name = rail
        self._routes = routes
        self._configs = configs or ScreeningConfigs()

    @property
    def rails(self) -> Mapping[str, Rail]:
        return self._rails

    @property
    def routes(self) -> RailsFile:
        """The rails file this settlement routes by (without one, its single default rail)."""
        if self._routes is not None:
            return self._routes
        return RailsFile((RailConfig(self._rail_name, RailKind.SANDBOX),), {})

    async def _route(self, w: WriteTx, txn: TransactionRow) -> str | None:
        """The rail that carries this transaction: a refund's original rail, else by counterparty kind."""
        if txn.original_transaction_id is not None:
            original = await w.transaction(txn.org_id, txn.project_id, txn.original_transaction_id)
            if original is not None and original.rail is not None:
                return original.rail if original.rail in self._rails else None
        name = self.route_of(txn.intent(), follow_charge=False)
        return name if name in self._rails else None

    def route_of(self, intent: PaymentIntent, *, follow_charge: bool = True) -> str | None:
        """Where a new payment would go (None: no configured rail carries it); a refund follows its charge,
        which is known only in the database (`_route`)."""
        if follow_charge and intent.tool is Tool.REFUND:
            return None
        if self._routes is None:
            return self._rail_name if intent.rail in (None, self._rail_name) else None
        return route(self._routes, parse_counterparty(intent.counterparty).kind, requested=intent.rail)

    async def dispatch(self, txn: TransactionRow) -> TransactionRow:
        """Verify the closed mandate again, record the dispatch, call the rail, settle."""
        async with self.store.write(txn.org_id) as w:
            fresh = await w.transaction(txn.org_id, txn.project_id, txn.transaction_id)
            assert fresh is not None
            if fresh.state not in (S.AUTHORIZED, S.HELD):
                return fresh  # an operator or a kill switch moved it meanwhile
            txn = await self.prepare(w, fresh)
        return await self.send(txn)

    async def prepare(self, w: WriteTx, txn: TransactionRow) -> TransactionRow:
        """In `w`, for an authorized or held transaction: route it, verify its closed mandate again,
        use the mandate and record the dispatch (`dispatching`, leased to this process), or roll it
        back. Commit `w` before `send`: the dispatch is durable before the rail hears of it."""
        assert txn.state in (S.AUTHORIZED, S.HELD), "only what was authorized is prepared"
        name = await self._route(w, txn)
        if name is None:
            detail = {"cause": "no configured rail carries this counterparty"}
            return await self.roll_back(w, txn, code=Code.RAIL_UNAVAILABLE, actor="system", detail=detail)
        problem = await self._recheck(w, txn, rail=name)
        if problem is not None:
            code, cause = problem
            return await self.roll_back(w, txn, code=code, actor="system", detail={"cause": cause, "rail": name})
        assert txn.closed_mandate_id is not None
        await w.use_closed_mandate(txn.org_id, txn.project_id, txn.closed_mandate_id)
        # The lease tells every other process that this one is at the rail with it.
        lease = {
            "lease_owner": self.owner,
            "lease_until": iso(w.now + timedelta(seconds=limits.dispatch_lease_seconds)),
        }
        return await w.move(txn, S.DISPATCHING, actor="system", rail=name, payload={"rail": name}, **lease)

    async def send(self, txn: TransactionRow) -> TransactionRow:
        """Call the rail for a prepared (`dispatching`) transaction and settle what it answers; any
        other state is returned as it is."""
        return await self._call_rail(txn) if txn.state is S.DISPATCHING else txn

    async def _recheck(self, w: WriteTx, txn: TransactionRow, *, rail: str) -> tuple[Code, str] | None:
        """Right before the rail: the closed mandate verifies, its parent stands, no kill switch covers
        the agent or the rail."""
        closed = await w.closed_mandate(txn.org_id, txn.project_id, txn.transaction_id)
        if closed is None or closed.used_at is not None:
            return Code.MANDATE_INVALID, "closed mandate missing or used"
        keys = await w.public_keys(txn.org_id, KeyPurpose.MANDATE)
        expected = ClosedMandate(
            mandate_id=closed.mandate_id,
            org_id=txn.org_id,
            project_id=txn.project_id,
            agent_id=txn.agent_id,
            issued_at=parse_iso(closed.issued_at),
            expires_at=parse_iso(closed.expires_at),
            terms=closed_terms(txn, closed.parent_id),
        )
        try:
            verify_closed(closed.token, keys, expected=expected, now=w.now)
        except MandateError as exc:
            return Code.MANDATE_INVALID, exc.cause
        switch = await w.active_kill_switch(txn.caller, rail=rail)
        if switch is not None:
            return (Code.RAIL_FROZEN if switch.scope == "rail" else Code.AGENT_FROZEN), "kill switch"
        if txn.open_mandate_id is None:
            # Only a payment authorised by an approval alone, before approvals needed a mandate, lacks one.
            return Code.MANDATE_INVALID, "no open mandate"
        parent = await w.open_mandate(txn.org_id, txn.project_id, txn.open_mandate_id)
        if parent is None or parent.status != "active":
            return Code.MANDATE_REVOKED, "open mandate revoked"
        if txn.approval_id is not None:
            approval = await w.approval(txn.approval_id)
            if approval is None or approval.status != "approved":
                return Code.MANDATE_REVOKED, "approval withdrawn"
        return None

    async def _call_rail(self, txn: TransactionRow) -> TransactionRow:
        rail = self._rails[txn.rail or self._rail_name]
        request = _rail_request(txn)
        receipt: RailReceipt | None
        try:
            with anyio.fail_after(self._rail_timeout):
                receipt = await rail.dispatch(request)
        except RailRejected as exc:
            return await self.finish(txn, None, rejected=exc.code)
        except RailUnavailable:
            # The request never arrived: nothing moved, and the payment fails cleanly.
            return await self.finish(txn, None, rejected="unavailable", code=Code.RAIL_UNAVAILABLE)
        except RailMismatch as exc:
            return await self.finish(txn, None, rejected=None, mismatch=exc.cause)
        except (RailTimeout, TimeoutError):
            # The request may have arrived: only the idempotency key can tell, never a second send.
            log.warning("rail %s timed out for %s; reconciling", rail.name, txn.transaction_id)
            found = await self._lookup(rail, request)
            receipt = found if isinstance(found, RailReceipt) else None
        return await self.finish(txn, receipt, rejected=None)

    async def _lookup(self, rail: Rail, request: RailRequest) -> RailReceipt | _Unanswered | None:
        """What the rail knows of the key: a receipt, None (it never saw it), or no answer at all."""
        try:
            with anyio.fail_after(self._rail_timeout):
                return await rail.status(request.idempotency_key, request=request)
        except (RailError, TimeoutError):
            return UNANSWERED

    async def finish(
        self,
        txn: TransactionRow,
        receipt: RailReceipt | None,
        *,
        rejected: str | None,
        code: Code = Code.RAIL_REJECTED,
        mismatch: str | None = None,
    ) -> TransactionRow:
        """Settle, fail or mark unknown, in one transaction with the wallet movement."""
        async with self.store.write(txn.org_id) as w:
            fresh = await w.transaction(txn.org_id, txn.project_id, txn.transaction_id)
            assert fresh is not None
            if fresh.state not in (S.DISPATCHING, S.UNKNOWN):
                return fresh  # another process reconciled it first; the rail's idempotency kept it single
            if rejected is not None:
                return await self._fail(w, fresh, rail_code=rejected, code=code)
            request = _rail_request(fresh)
            rail = fresh.rail or self._rail_name
            if receipt is not None and mismatch is None:
                mismatch = rail_mismatch(request, receipt, rail=rail)
            if receipt is not None and mismatch is None:
                owner = await w.transaction_by_rail_reference(rail, receipt.rail_reference)
                if owner is not None and owner.transaction_id != fresh.transaction_id:
                    mismatch = "reference_of_another_transaction"  # a provider repeating an old reference
            if receipt is not None and mismatch is None:
                if receipt.outcome is Outcome.SUCCEEDED:
                    return await self._settle(w, fresh, receipt)
                if receipt.outcome is Outcome.FAILED:
                    return await self._fail(w, fresh, rail_code=receipt.failure_code or "failed", code=code)
            if mismatch is not None:
                # Not believed: the hold stays, and a person decides what really happened.
                await raise_flag(w, fresh, kind=FlagKind.ANSWER_MISMATCH, detail={"cause": mismatch}, receipt=receipt)
            if fresh.state is S.UNKNOWN:
                await w.release_lease(fresh, owner=self.owner)  # any process's next sweep asks again
                return fresh
            detail = {"receipt_mismatch": mismatch is not None, "pending": receipt is not None and mismatch is None}
            # Unknown rests without a lease: the next sweep of any process reconciles it.
            return await w.move(
                fresh, S.UNKNOWN, actor="system", code=Code.OUTCOME_UNKNOWN, payload=detail, **_NO_LEASE
            )

    async def _settle(
        self,
        w: WriteTx,
        txn: TransactionRow,
        receipt: RailReceipt,
        *,
        actor: str = "system",
        detail: dict[str, Any] | None = None,
    ) -> TransactionRow:
        caller = txn.caller
        wallet = await w.wallet(caller, txn.amount.currency)
        if txn.tool is Tool.PAY:
            await w.count_payment_to(caller, txn.party)  # the payee is no longer new
        if txn.tool in OUTFLOWS:
            assert wallet is not None, "an outflow was held on an existing wallet"
            await w.move_wallet(
                caller,
                wallet,
                capture(wallet, txn.amount),
                kind="debit",
                amount=txn.amount,
                transaction_id=txn.transaction_id,
                closed_mandate_id=txn.closed_mandate_id,
            )
        else:
            wallet = wallet or await w.create_wallet(caller, txn.amount.currency)
            await w.move_wallet(
                caller,
                wallet,
                credit(wallet, txn.amount),
                kind="credit",
                amount=txn.amount,
                transaction_id=txn.transaction_id,
                closed_mandate_id=txn.closed_mandate_id,
            )
        note = None
        if receipt.note:
            config = await self._configs.for_org(w, txn.org_id)
            source = f"rail.{receipt.rail}.note"
            note = await screen_upstream(w, caller, receipt.note, source=source, reference=txn.reference, config=config)
        moved = "debited_minor" if txn.tool in OUTFLOWS else "credited_minor"  # out of the hold, or in
        payload: dict[str, Any] = {"rail": receipt.rail, "rail_reference": receipt.rail_reference}
        payload |= {"settled_at": receipt.settled_at, moved: txn.amount.amount_minor}
        payload |= detail or {}
        return await w.move(
            txn,
            S.SETTLED,
            actor=actor,
            code=Code.EXECUTED,
            payload=payload | {"note_shown": note is not None},
            rail_reference=receipt.rail_reference,
            rail_note=note,
            **_NO_LEASE,
        )

    async def _fail(
        self,
        w: WriteTx,
        txn: TransactionRow,
        *,
        rail_code: str,
        code: Code,
        actor: str = "system",
        detail: dict[str, Any] | None = None,
    ) -> TransactionRow:
        payload = {"rail_code": rail_code} | returned_use(txn) | (detail or {})
        txn = await w.move(txn, S.FAILED, actor=actor, code=code, payload=payload, **_NO_LEASE)
        await self._give_back(w, txn)
        if txn.tool not in OUTFLOWS:
            return txn
        await self.release(w, txn)
        return await w.move(txn, S.RELEASED, actor=actor, payload=released(txn))

    async def _give_back(self, w: WriteTx, txn: TransactionRow) -> None:
        """Money that never moved counts against neither the open mandate nor any budget."""
        if txn.open_mandate_id is not None:
            await w.return_open_mandate_use(txn.org_id, txn.project_id, txn.open_mandate_id, txn.amount.amount_minor)
        await w.count_spend(
            txn.caller,
            tool=txn.tool.value,
            currency=txn.amount.currency,
            counterparty=txn.party,
            at=parse_iso(txn.created_at),
            amount_minor=-txn.amount.amount_minor,
        )

    async def release(self, w: WriteTx, txn: TransactionRow) -> None:
        wallet = await w.wallet(txn.caller, txn.amount.currency)
        assert wallet is not None, "a held transaction has a wallet"
        await w.move_wallet(
            txn.caller,
            wallet,
            release(wallet, txn.amount),
            kind="release",
            amount=txn.amount,
            transaction_id=txn.transaction_id,
            closed_mandate_id=txn.closed_mandate_id,
        )

    async def roll_back(
        self, w: WriteTx, txn: TransactionRow, *, code: Code, actor: str, detail: dict[str, Any]
    ) -> TransactionRow:
        """Stop an authorized or held transaction before it reaches the rail and release its hold."""
        was_held = txn.state is S.HELD
        txn = await w.move(txn, S.ROLLING_BACK, actor=actor, code=code, payload=detail | returned_use(txn))
        await self._give_back(w, txn)
        if was_held:
            await self.release(w, txn)
        return await w.move(txn, S.ROLLED_BACK, actor=actor, code=code, payload=released(txn) if was_held else {})

    # A person's decision about a payment whose outcome the rail never made clear.

    async def decide_unknown(
        self, w: WriteTx, txn: TransactionRow, *, settled_reference: str | None, actor: str, note: str
    ) -> TransactionRow:
        """Settle (with the rail's reference the operator found) or fail an `unknown` transaction."""
        detail = {"decided_by": actor, "note": note}
        if settled_reference is None:
            return await self._fail(w, txn, rail_code="decided_failed", code=Code.RAIL_REJECTED, actor=actor,
                                    detail=detail)  # fmt: skip
        request = _rail_request(txn)
        receipt = RailReceipt(
            rail=txn.rail or self._rail_name,
            rail_reference=settled_reference,
            idempotency_key=request.idempotency_key,
            direction=request.direction,
            amount_minor=request.amount_minor,
            currency=request.currency,
            counterparty=request.counterparty,
            settled_at=iso(w.now),
        )
        return await self._settle(w, txn, receipt, actor=actor, detail=detail)

    # Recovery.

    async def still_held(self, w: WriteTx, txn: TransactionRow) -> bool:
        sums = await w.transaction_ledger(txn.org_id, txn.project_id, txn.transaction_id)
        return sums.get("hold", 0) > sums.get("release", 0) + sums.get("debit", 0)

    async def reconcile(self, txn: TransactionRow) -> TransactionRow:
        """Ask the rail what happened to the idempotency key; only if it never saw it, send it again."""
        rail = self._rails.get(txn.rail or self._rail_name)
        if rail is None:
            return txn  # its rail is no longer configured: it stays for a person to resolve
        request = _rail_request(txn)
        found = await self._lookup(rail, request)
        if isinstance(found, _Unanswered):
            # No answer about the key: never send blind. It rests as unknown (with its hold) so the
            # next round asks again and a person can decide it.
            return await self.finish(txn, None, rejected=None) if txn.state is S.DISPATCHING else txn
        if found is None:
            return await self._send_unless_frozen(txn)
        return await self.finish(txn, found, rejected=None)

    async def _send_unless_frozen(self, txn: TransactionRow) -> TransactionRow:
        """The rail never saw it: send it (same idempotency key, so the rail cannot pay twice), unless a
        kill switch now covers the agent or the rail; then nothing has moved and its hold is released."""
        switch = await self.store.read.active_kill_switch(txn.caller, rail=txn.rail)
        if switch is None:
            return await self._call_rail(txn)
        code = Code.RAIL_FROZEN if switch.scope == "rail" else Code.AGENT_FROZEN
        return await self.finish(txn, None, rejected="kill_switch", code=code)


def returned_use(txn: TransactionRow) -> dict[str, Any]:
    """The entry's record of the open mandate use `_give_back` returns (nothing without a mandate)."""
    if txn.open_mandate_id is None:
        return {}
    return {"open_mandate_id": txn.open_mandate_id, "mandate_returned_minor": txn.amount.amount_minor}


def released(txn: TransactionRow) -> dict[str, Any]:
    """The entry's record of the hold `release` returns to the available balance."""
    return {"released_minor": txn.amount.amount_minor}


class _Unanswered:
    """The rail gave no answer about a key (as opposed to answering that it never saw it)."""


UNANSWERED = _Unanswered()


def _rail_request(txn: TransactionRow) -> RailRequest:
    direction = Direction.PAYOUT if txn.tool in OUTFLOWS else Direction.COLLECT
    return RailRequest(
        idempotency_key=idempotency_key_for(txn.transaction_id),
        direction=direction,
        amount_minor=txn.amount.amount_minor,
        currency=txn.amount.currency,
        counterparty=txn.party,
        created_at=txn.created_at,
    )
