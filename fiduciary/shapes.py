"""The stable JSON shapes of control-plane records: what `--json` prints and what the admin API returns."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from fiduciary.audit.chain import AuditEntry
from fiduciary.audit.replay import Rebuilt, WalletKey
from fiduciary.audit.verify import VerifyReport
from fiduciary.control import AgentDetails, HeldPayment, KillReport, MandateDetails, UnfreezeReport
from fiduciary.control.replay import ReplayReport
from fiduciary.domain.money import Money
from fiduciary.domain.records import AgentRow, FlagRow, FundingRow, OperatorRow, TransactionRow
from fiduciary.domain.results import Outcome
from fiduciary.wallets import Wallet

Data = dict[str, Any]


def _ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def transaction(txn: TransactionRow) -> Data:
    return {
        "transaction_id": txn.transaction_id,
        "org_id": txn.org_id,
        "project_id": txn.project_id,
        "agent_id": txn.agent_id,
        "tool": txn.tool.value,
        "state": txn.state.value,
        "code": txn.code,
        "amount": txn.amount.to_major(),
        "currency": txn.amount.currency,
        "counterparty": txn.counterparty,
        "counterparty_commitment": txn.counterparty_commitment,
        "purpose": txn.purpose,
        "category": txn.category,
        "country": txn.country,
        "memo": txn.memo,
        "approval_id": txn.approval_id,
        "open_mandate_id": txn.open_mandate_id,
        "rail": txn.rail,
        "rail_reference": txn.rail_reference,
        "reference": txn.reference,
        "created_at": txn.created_at,
        "updated_at": txn.updated_at,
    }


def covering(item: MandateDetails | None, txn: TransactionRow) -> Data | None:
    """What an approval would spend: the covering mandate, what it has left, and what it leaves after."""
    if item is None or item.mandate is None:
        return None
    t, row = item.mandate.terms, item.row
    remaining = t.total_cap_minor - row.used_minor
    return {
        "mandate_id": row.mandate_id,
        "status": item.status,
        "max_per_use": _money(t.max_per_use_minor, t.currency),
        "remaining": _money(remaining, t.currency),
        "left_after": _money(max(remaining - txn.amount.amount_minor, 0), t.currency),
        "uses_left": None if t.max_uses is None else t.max_uses - row.uses,
        "expires_at": _ts(item.mandate.expires_at),
    }


def held(item: HeldPayment) -> Data:
    a = item.approval
    return {
        "approval_id": a.approval_id,
        "status": a.status,
        "rule_id": a.rule_id,
        "requested_at": a.requested_at,
        "expires_at": a.expires_at,
        "decided_by": a.decided_by,
        "decided_at": a.decided_at,
        "reason": a.reason,
        "approvers_required": a.approvers_required,
        "approved_by": list(item.votes),
        "agent_name": item.agent_name,
        "screening": None
        if item.screened is None
        else {"risk": item.screened.risk_bp / 10_000, "matched": list(item.screened.matched)},
        "wallet_available": None if item.wallet is None else item.wallet.available.to_major(),
        "wallet_after": None if item.balance_after is None else item.balance_after.to_major(),
        "transaction": transaction(item.transaction),
        "mandate": covering(item.mandate, item.transaction),
    }


def outcome(result: Outcome) -> Data:
    return {
        "transaction_id": result.transaction_id,
        "status": result.status.value,
        "code": result.code.value,
        "state": None if result.state is None else result.state.value,
        "rail_reference": result.rail_reference,
        "reference": result.reference,
    }


def _money(value: int, currency: str) -> str:
    return Money(value, currency).to_major()


def mandate(item: MandateDetails) -> Data:
    row, m = item.row, item.mandate
    data: Data = {
        "mandate_id": row.mandate_id,
        "org_id": row.org_id,
        "project_id": row.project_id,
        "agent_id": row.agent_id,
        "status": item.status,
        "uses": row.uses,
        "issued_by": row.issued_by,
        "issued_at": row.issued_at,
        "revoked_by": row.revoked_by,
        "revoked_at": row.revoked_at,
        "revoked_reason": row.revoked_reason,
    }
    if m is None:
        return data
    t = m.terms
    return data | {
        "currency": t.currency,
        "max_per_use": _money(t.max_per_use_minor, t.currency),
        "total_cap": _money(t.total_cap_minor, t.currency),
        "used": _money(row.used_minor, t.currency),
        "max_uses": t.max_uses,
        "tools": list(t.tools),
        "counterparties": None if t.counterparties is None else list(t.counterparties),
        "categories": None if t.categories is None else list(t.categories),
        "countries": None if t.countries is None else list(t.countries),
        "rails": None if t.rails is None else list(t.rails),
        "purpose": t.purpose,
        "not_before": _ts(m.not_before),
        "expires_at": _ts(m.expires_at),
    }


def agent(row: AgentRow, *, frozen_by: str | None = None) -> Data:
    return {
        "agent_id": row.ref.agent_id,
        "name": row.name,
        "org_id": row.ref.org_id,
        "project_id": row.ref.project_id,
        "created_at": row.created_at,
        "disabled_at": row.disabled_at,
        "frozen_by": frozen_by,
    }


def agent_details(item: AgentDetails) -> Data:
    return agent(item.agent, frozen_by=item.frozen_by)


def operator(row: OperatorRow, status: str) -> Data:
    return {
        "operator_id": row.operator_id,
        "name": row.name,
        "role": row.role,
        "status": status,
        "created_by": row.created_by,
        "created_at": row.created_at,
        "expires_at": row.expires_at,
        "revoked_at": row.revoked_at,
    }


def wallet(agent_id: str, item: Wallet) -> Data:
    return {
        "agent_id": agent_id,
        "currency": item.currency,
        "available": item.available.to_major(),
        "held": item.held.to_major(),
    }


def kill(report: KillReport) -> Data:
    return {
        "switch_id": report.switch_id,
        "scope": report.scope.value,
        "target": report.target,
        "agents": report.agents,
        "mandates_revoked": report.mandates_revoked,
        "approvals_rejected": report.approvals_rejected,
        "rolled_back": report.rolled_back,
    }


def unfreeze(report: UnfreezeReport) -> Data:
    return {"scope": report.scope.value, "target": report.target, "lifted": report.lifted}


def verify(org_id: str, report: VerifyReport) -> Data:
    return {
        "org_id": org_id,
        "ok": report.ok,
        "checked": report.checked,
        "head_hash": report.head_hash.hex(),
        "broken_seq": report.broken_seq,
        "reason": report.reason,
    }


def replay(report: ReplayReport) -> Data:
    """An org's replay: amounts in minor units, and None for what the chain could not rebuild."""
    built = report.rebuilt
    return {
        "org_id": report.org_id,
        "through_seq": built.through_seq,
        "through_ts": built.through_ts,
        "head_seq": report.head_seq,
        "compared": report.compared,
        "agrees": report.agrees if report.compared else None,
        "steady": report.steady,
        "wallets": [_rebuilt_wallet(built, key) for key in sorted(built.wallets.keys() | built.unrebuilt_wallets)],
        "holds": [
            {"transaction_id": txn_id, **_wallet_key(hold.wallet), "amount_minor": hold.amount_minor}
            for txn_id, hold in sorted(built.holds.items())
            if txn_id not in built.unrebuilt_holds
        ],
        "mandates": [
            {
                "mandate_id": m.mandate_id,
                "project_id": m.project_id,
                "agent_id": m.agent_id,
                "currency": m.currency,
                "status": m.status,
                "uses": m.uses,
                "used_minor": m.used_minor,
            }
            for mandate_id, m in sorted(built.mandates.items())
            if mandate_id not in built.unrebuilt_mandates
        ],
        "transactions": [
            {
                "transaction_id": t.transaction_id,
                "project_id": t.project_id,
                "agent_id": t.agent_id,
                "tool": t.tool,
                "amount_minor": t.amount_minor,
                "currency": t.currency,
                "state": t.state,
                "seq": t.seq,
            }
            for _, t in sorted(built.transactions.items())
        ],
        "not_rebuilt": {
            "wallets": [_wallet_key(key) for key in sorted(built.unrebuilt_wallets)],
            "holds": sorted(built.unrebuilt_holds),
            "mandates": sorted(built.unrebuilt_mandates),
        },
        "gaps": [
            {"seq": g.seq, "type": g.type, "subject": g.subject, "reason": g.reason, "affects": list(g.affects)}
            for g in built.gaps
        ],
        "differences": [asdict(d) for d in report.differences],
    }


def _wallet_key(key: WalletKey) -> Data:
    return {"project_id": key.project_id, "agent_id": key.agent_id, "currency": key.currency}


def _rebuilt_wallet(built: Rebuilt, key: WalletKey) -> Data:
    balance = None if key in built.unrebuilt_wallets else built.wallets[key]
    return _wallet_key(key) | {
        "available_minor": None if balance is None else balance.available_minor,
        "held_minor": None if balance is None else balance.held_minor,
    }


def entry(item: AuditEntry) -> Data:
    return item.body.to_json() | {"entry_hash": item.entry_hash.hex(), "kid": item.kid}


def flag(row: FlagRow) -> Data:
    return {
        "flag_id": row.flag_id,
        "kind": row.kind,
        "rail": row.rail,
        "org_id": row.org_id,
        "transaction_id": row.transaction_id,
        "rail_reference": row.rail_reference,
        "detail": json.loads(row.detail),
        "raised_at": row.raised_at,
        "resolved_by": row.resolved_by,
        "resolved_at": row.resolved_at,
        "note": row.note,
    }


def funding(row: FundingRow) -> Data:
    return {
        "funding_id": row.funding_id,
        "agent_id": row.agent_id,
        "rail": row.rail,
        "from": row.counterparty,
        "amount": Money(row.amount_minor, row.currency).to_major(),
        "currency": row.currency,
        "state": row.state,
        "rail_reference": row.rail_reference,
        "created_by": row.created_by,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }
