"""Tool handlers: turn validated arguments into gate requests and gate answers into results."""

from __future__ import annotations

from typing import Any, TypeVar

from fiduciary import views
from fiduciary.domain.codes import Code, message_for
from fiduciary.domain.errors import InputError
from fiduciary.domain.intents import AgentRef, PaymentRequest, Tool
from fiduciary.domain.money import Money, check_currency
from fiduciary.domain.records import TransactionRow
from fiduciary.domain.results import Outcome
from fiduciary.runtime import Runtime
from fiduciary.server import schemas as s

R = TypeVar("R", bound=s.Result)


def _ok(model: type[R], reference: str, **fields: Any) -> R:
    return model(status="ok", code=Code.OK.value, message=message_for(Code.OK), reference=reference, **fields)


def _refused(model: type[R], code: Code, reference: str, message: str | None = None) -> R:
    return model(status="denied", code=code.value, message=message or message_for(code), reference=reference)


def refused(code: Code, reference: str, *, fields: list[str] | None = None) -> s.PaymentResult:
    """A refusal before any transaction: status, code, a fixed message, the reference."""
    message = message_for(code) + (": " + ", ".join(fields) if fields else "")
    return _refused(s.PaymentResult, code, reference, message)


def _payment(outcome: Outcome) -> s.PaymentResult:
    return s.PaymentResult(
        status=outcome.status.value,
        code=outcome.code.value,
        message=outcome.message,
        reference=outcome.reference,
        transaction_id=outcome.transaction_id,
        state=outcome.state.value if outcome.state else None,
        amount=outcome.amount.to_major() if outcome.amount else None,
        currency=outcome.amount.currency if outcome.amount else None,
        approval_id=outcome.approval_id,
        rail_reference=outcome.rail_reference,
        rail_note=outcome.rail_note,
        replayed=outcome.replayed,
        trace=outcome.trace,
        receipt=outcome.receipt,
    )


def _request(tool: Tool, args: s.PayArgs) -> PaymentRequest:
    return PaymentRequest(
        tool=tool,
        purpose=args.purpose,
        amount=args.amount,
        currency=args.currency,
        counterparty=args.counterparty,
        idempotency_key=args.idempotency_key,
        category=args.category,
        country=args.country,
        memo=args.memo,
        metadata=tuple(sorted((args.metadata or {}).items())),
        dry_run=args.dry_run,
        rail=args.rail,
    )


async def pay(rt: Runtime, caller: AgentRef, args: s.PayArgs, reference: str) -> s.PaymentResult:
    return _payment(await rt.gate.request(caller, _request(Tool.PAY, args), reference=reference))


async def charge(rt: Runtime, caller: AgentRef, args: s.ChargeArgs, reference: str) -> s.PaymentResult:
    return _payment(await rt.gate.request(caller, _request(Tool.CHARGE, args), reference=reference))


async def refund(rt: Runtime, caller: AgentRef, args: s.RefundArgs, reference: str) -> s.PaymentResult:
    request = PaymentRequest(
        tool=Tool.REFUND,
        purpose=args.reason,
        amount=args.amount,
        idempotency_key=args.idempotency_key,
        original_transaction_id=args.transaction_id,
        dry_run=args.dry_run,
    )
    return _payment(await rt.gate.request(caller, request, reference=reference))


async def balance(rt: Runtime, caller: AgentRef, args: s.BalanceArgs, reference: str) -> s.BalanceResult:
    if args.currency is not None:
        try:
            check_currency(args.currency)
        except InputError as exc:
            await rt.gate.refuse(caller, tool="get_balance", code=Code(exc.code), reference=reference)
            return _refused(s.BalanceResult, Code(exc.code), reference, exc.message)
    wallets = await views.balances(rt.store.read, caller, args.currency)
    rows = [s.Balance(currency=w.currency, available=w.available.to_major(), held=w.held.to_major()) for w in wallets]
    return _ok(s.BalanceResult, reference, balances=rows)


def _view(txn: TransactionRow) -> s.TransactionView:
    return s.TransactionView(
        transaction_id=txn.transaction_id,
        tool=txn.tool.value,
        state=txn.state.value,
        code=txn.code,
        amount=txn.amount.to_major(),
        currency=txn.amount.currency,
        counterparty=txn.counterparty,
        purpose=txn.purpose,
        approval_id=txn.approval_id,
        rail_reference=txn.rail_reference,
        rail_note=txn.rail_note,
        created_at=txn.created_at,
        updated_at=txn.updated_at,
    )


async def transaction(rt: Runtime, caller: AgentRef, args: s.TransactionArgs, reference: str) -> s.TransactionResult:
    txn = await views.transaction(rt.store.read, caller, args.transaction_id)
    if txn is None:
        await rt.gate.refuse(caller, tool="get_transaction", code=Code.NOT_FOUND, reference=reference)
        return _refused(s.TransactionResult, Code.NOT_FOUND, reference)
    return _ok(s.TransactionResult, reference, transaction=_view(txn))


async def transactions(
    rt: Runtime, caller: AgentRef, args: s.ListTransactionsArgs, reference: str
) -> s.TransactionListResult:
    if args.before is not None and await views.transaction(rt.store.read, caller, args.before) is None:
        # A cursor is one of the caller's own transactions; anything else says nothing about other tenants.
        await rt.gate.refuse(caller, tool="list_transactions", code=Code.NOT_FOUND, reference=reference)
        return _refused(s.TransactionListResult, Code.NOT_FOUND, reference)
    rows = await views.transactions(rt.store.read, caller, limit=args.limit, before=args.before, state=args.state)
    next_before = rows[-1].transaction_id if len(rows) == args.limit else None
    return _ok(s.TransactionListResult, reference, transactions=[_view(t) for t in rows], next_before=next_before)


def _money(value: Money | None) -> str | None:
    return None if value is None else value.to_major()


async def mandates(rt: Runtime, caller: AgentRef, args: s.ListMandatesArgs, reference: str) -> s.MandateListResult:
    found = await views.mandates(rt.store.read, caller, now=rt.store.clock.now())
    rows = [
        s.MandateView(
            mandate_id=m.mandate_id,
            status=m.status,
            currency=m.currency,
            max_per_use=_money(m.max_per_use),
            total_cap=_money(m.total_cap),
            used=_money(m.used),
            uses=m.uses,
            max_uses=m.max_uses,
            tools=list(m.tools),
            counterparties=None if m.counterparties is None else list(m.counterparties),
            expires_at=m.expires_at,
        )
        for m in found
    ]
    return _ok(s.MandateListResult, reference, mandates=rows)
