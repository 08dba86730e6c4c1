"""dry_run through a real MCP client: the whole decision, and nothing reserved, sent or kept."""

from __future__ import annotations

import json
import sqlite3

import pytest

from fiduciary.control import Tenant
from fiduciary.runtime import Runtime
from fiduciary.settings import Settings
from tests.server.test_agent_plane import call, client

pytestmark = pytest.mark.anyio


def pay(amount: str, **extra: object) -> dict[str, object]:
    return {"amount": amount, "currency": "USD", "counterparty": "acct:shop", "purpose": "pens", **extra}


def counts(settings: Settings) -> tuple[int, ...]:
    with sqlite3.connect(settings.db_path) as db:
        row = db.execute(
            "SELECT (SELECT COUNT(*) FROM transactions), (SELECT COUNT(*) FROM ledger), "
            "(SELECT SUM(uses) FROM open_mandates), (SELECT COUNT(*) FROM approvals), "
            "(SELECT COALESCE(SUM(amount_minor), 0) FROM spend_buckets)"
        ).fetchone()
    return tuple(row)


async def test_a_dry_run_returns_the_decision_and_changes_nothing_but_one_audit_entry(
    runtime: Runtime, tenant: Tenant, settings: Settings, clock: object
) -> None:
    before = counts(settings)
    async with client(settings, clock, tenant.agent_token, "auto") as c:  # type: ignore[arg-type]
        is_error, result = await call(c, "pay", pay("20.00", dry_run=True))
        assert not is_error and (result["status"], result["code"]) == ("dry_run", "executed")
        trace = result["trace"]
        assert trace["would"] == "executed" and trace["open_mandate_id"] == tenant.mandate_id
        assert trace["balance_after_minor"] == 98_000 and result.get("transaction_id") is None
        assert {hit["rule_id"] for hit in trace["rules"]} == set(), "nothing matched a small payment"
        assert counts(settings) == before, "nothing reserved, sent or kept"

        _, held = await call(c, "pay", pay("300.00", dry_run=True))
        assert (held["trace"]["would"], held["code"]) == ("pending_approval", "approval_required")
        assert [h["rule_id"] for h in held["trace"]["rules"]] == ["approval-from-250-usd"]
        assert held["trace"]["balance_after_minor"] == 70_000, "what approving it would leave"
        is_error, over = await call(c, "pay", pay("501.00", dry_run=True))
        assert not is_error and (over["trace"]["would"], over["code"]) == ("denied", "amount_over_limit")

        _, real = await call(c, "pay", pay("20.00"))
        assert real["status"] == "executed" and real["replayed"] is False, "the dry run reserved no key"
        _, replay = await call(c, "pay", pay("20.00", dry_run=True))
        assert replay["trace"]["would"] == "replayed"
    with sqlite3.connect(settings.db_path) as db:
        entries = db.execute("SELECT payload FROM audit WHERE type = 'call.dry_run'").fetchall()
    assert len(entries) == 4 and "acct:shop" not in json.dumps(entries)


async def test_a_project_in_shadow_mode_decides_and_records_every_call_and_moves_no_money(
    runtime: Runtime, tenant: Tenant, settings: Settings, clock: object
) -> None:
    shadow = 'name = "shadow"\ncurrencies = ["USD"]\nmode = "shadow"\n[[rules]]\nid = "cap"\nkind = "max_amount"\n'
    shadow += 'currency = "USD"\namount = "100.00"\n'
    await runtime.control.config.apply_policy(tenant.admin, None, None, shadow)
    before = counts(settings)
    async with client(settings, clock, tenant.agent_token, "auto") as c:  # type: ignore[arg-type]
        is_error, small = await call(c, "pay", pay("20.00"))
        assert not is_error and (small["status"], small["trace"]["would"]) == ("dry_run", "executed")
        _, big = await call(c, "pay", pay("150.00"))
        assert (big["status"], big["code"]) == ("dry_run", "amount_over_limit")
    assert counts(settings) == before
    with sqlite3.connect(settings.db_path) as db:
        recorded = db.execute("SELECT COUNT(*) FROM audit WHERE type = 'call.shadow'").fetchone()[0]
    assert recorded == 2
