"""The agent plane through the official MCP client, in memory, in both protocol eras."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace
from typing import Any

import pytest
from mcp.client import Client
from mcp.shared.exceptions import MCPError, UrlElicitationRequiredError
from mcp.types import URL_ELICITATION_REQUIRED

from fiduciary.control import Tenant
from fiduciary.domain.clock import FakeClock
from fiduciary.gate import Gate
from fiduciary.gate.screening import ScreeningConfigs
from fiduciary.runtime import Runtime, open_runtime
from fiduciary.server.agent_plane import AgentPlane
from fiduciary.settings import Settings

pytestmark = pytest.mark.anyio

MODES = ["auto", "legacy"]
PAY = {"amount": "12.50", "currency": "USD", "counterparty": "acct:supplies", "purpose": "pens"}


def factory(settings: Settings, clock: FakeClock) -> Callable[[], AbstractAsyncContextManager[Runtime]]:
    return lambda: open_runtime(settings, clock=clock)


@asynccontextmanager
async def client(settings: Settings, clock: FakeClock, token: str | None, mode: str) -> AsyncIterator[Client]:
    plane = AgentPlane(factory(settings, clock), agent_token=token)
    async with Client(plane, mode=mode) as connected:
        yield connected


async def call(c: Client, tool: str, args: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    result = await c.call_tool(tool, args)
    assert isinstance(result.structured_content, dict)
    assert json.loads(result.content[0].text) == result.structured_content  # type: ignore[union-attr]
    return bool(result.is_error), result.structured_content


def rows(settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    return sqlite3.connect(settings.db_path).execute(sql).fetchall()


@pytest.mark.parametrize("mode", MODES)
async def test_the_tools_are_listed_with_strict_schemas_and_annotations(
    settings: Settings, clock: FakeClock, tenant: Tenant, mode: str
) -> None:
    async with client(settings, clock, tenant.agent_token, mode) as c:
        tools = {t.name: t for t in (await c.list_tools()).tools}
    assert set(tools) == {
        "pay",
        "charge",
        "refund",
        "get_balance",
        "get_transaction",
        "list_transactions",
        "list_mandates",
    }
    pay = tools["pay"]
    assert pay.input_schema["additionalProperties"] is False
    assert set(pay.input_schema["required"]) == {"amount", "currency", "counterparty", "purpose"}
    assert pay.input_schema["properties"]["amount"]["type"] == "string"
    assert pay.output_schema is not None and "status" in pay.output_schema["properties"]
    assert pay.annotations is not None and pay.annotations.destructive_hint is True
    assert tools["get_balance"].annotations.read_only_hint is True  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", MODES)
async def test_an_agent_pays_and_reads_its_own_state(
    settings: Settings, clock: FakeClock, tenant: Tenant, mode: str
) -> None:
    async with client(settings, clock, tenant.agent_token, mode) as c:
        is_error, paid = await call(c, "pay", PAY)
        assert not is_error and paid["status"] == "executed" and paid["amount"] == "12.50"
        assert re.fullmatch(r"ref_[a-z2-7]+", paid["reference"])
        _, balance = await call(c, "get_balance", {})
        assert balance["balances"] == [{"currency": "USD", "available": "987.50", "held": "0.00"}]
        _, txn = await call(c, "get_transaction", {"transaction_id": paid["transaction_id"]})
        assert txn["transaction"]["state"] == "settled" and txn["transaction"]["counterparty"] == "acct:supplies"
        _, listed = await call(c, "list_transactions", {"limit": 5})
        assert [t["transaction_id"] for t in listed["transactions"]] == [paid["transaction_id"]]
        _, mandates = await call(c, "list_mandates", {})
        assert mandates["mandates"][0]["status"] == "active" and mandates["mandates"][0]["used"] == "12.50"


BAD_INPUT: list[tuple[dict[str, Any], str]] = [
    ({**PAY, "amount": "abc"}, "invalid_amount"),
    ({**PAY, "amount": "-5"}, "invalid_amount"),
    ({**PAY, "amount": "0"}, "invalid_amount"),
    ({**PAY, "amount": "1.234", "currency": "BRL"}, "invalid_amount"),
    ({**PAY, "amount": "1e400"}, "invalid_amount"),
    ({**PAY, "amount": "12345678901234567890"}, "invalid_amount"),
    ({**PAY, "amount": 12.5}, "invalid_amount"),
    ({**PAY, "currency": "XYZ"}, "unknown_currency"),
    ({**PAY, "purpose": "x" * 100_000}, "text_too_long"),
    ({k: v for k, v in PAY.items() if k != "counterparty"}, "missing_argument"),
    ({**PAY, "surprise": "field"}, "unknown_argument"),
    ({**PAY, "metadata": {"k": 5}}, "invalid_argument"),
    ({**PAY, "counterparty": ["acct:x"]}, "invalid_argument"),
    ({**PAY, "country": "Brazil"}, "text_too_long"),
    ({**PAY, "idempotency_key": "has spaces"}, "invalid_argument"),
]


@pytest.mark.parametrize("mode", MODES)
async def test_bad_input_gets_a_stable_code_an_audit_entry_and_moves_nothing(
    settings: Settings, clock: FakeClock, tenant: Tenant, mode: str
) -> None:
    async with client(settings, clock, tenant.agent_token, mode) as c:
        for args, code in BAD_INPUT:
            is_error, result = await call(c, "pay", args)
            assert is_error, args
            assert (result["status"], result["code"]) == ("denied", code), (args, result)
            assert "Traceback" not in result["message"] and "xxxx" not in result["message"]
            refusals = rows(settings, f"SELECT type FROM audit WHERE ref = '{result['reference']}'")
            assert refusals == [("call.refused",)], args
        _, still = await call(c, "pay", PAY)
        assert still["status"] == "executed", "the server keeps serving"
    assert rows(settings, "SELECT COUNT(*) FROM transactions") == [(1,)]


@pytest.mark.parametrize("token", [None, "fid_agent_wrong", "x" * 5000])
async def test_a_wrong_or_missing_token_is_refused_and_audited(
    settings: Settings, clock: FakeClock, tenant: Tenant, token: str | None
) -> None:
    async with client(settings, clock, token, "auto") as c:
        is_error, result = await call(c, "pay", PAY)
        assert is_error and result["code"] == "unauthenticated"
        _, again = await call(c, "get_balance", {})
        assert again["code"] == "unauthenticated"
    assert rows(settings, "SELECT COUNT(*) FROM transactions") == [(0,)]
    refusals = rows(
        settings, "SELECT org_id, type, json_extract(payload, '$.source') FROM audit WHERE type = 'call.refused'"
    )
    assert refusals == [("org_platform", "call.refused", "stdio")], "the second in the same minute is counted"
    assert rows(settings, "SELECT source, kind, count FROM refusal_windows") == [("stdio", "agent_token", 2)]


async def test_a_flood_of_unknown_tokens_grows_the_chain_by_two_entries_a_minute_and_loses_no_count(
    settings: Settings, clock: FakeClock, tenant: Tenant
) -> None:
    def platform_entries() -> int:
        return int(rows(settings, "SELECT COUNT(*) FROM audit WHERE org_id = 'org_platform'")[0][0])

    before = platform_entries()
    async with client(settings, clock, "fid_agent_guess", "auto") as c:
        for _ in range(60):
            assert (await call(c, "get_balance", {}))[1]["code"] == "unauthenticated"
        assert platform_entries() == before + 1
        clock.advance(seconds=60)
        for _ in range(30):
            await call(c, "get_balance", {})
    assert platform_entries() == before + 3
    summary = rows(settings, "SELECT payload FROM audit WHERE type = 'call.refused_repeated'")
    assert [json.loads(p)["count"] for (p,) in summary] == [59]

    clock.advance(seconds=60)
    async with open_runtime(settings, clock=clock) as rt:
        await rt.maintain()
    counts = [
        json.loads(p)["count"]
        for (p,) in rows(settings, "SELECT payload FROM audit WHERE type = 'call.refused_repeated'")
    ]
    assert counts == [59, 29], "the sweep closes the last window too"
    assert rows(settings, "SELECT COUNT(*) FROM refusal_windows") == [(0,)]


async def test_an_agent_cannot_read_another_agents_transaction(
    settings: Settings, clock: FakeClock, tenant: Tenant
) -> None:
    from tests.conftest import make_tenant

    other = await make_tenant(settings, clock)
    async with client(settings, clock, other.agent_token, "auto") as c:
        _, paid = await call(c, "pay", PAY)
    async with client(settings, clock, tenant.agent_token, "auto") as c:
        is_error, result = await call(c, "get_transaction", {"transaction_id": paid["transaction_id"]})
        assert is_error and result["code"] == "not_found"


async def test_a_list_cursor_from_another_tenant_is_refused_and_reveals_nothing(
    settings: Settings, clock: FakeClock, tenant: Tenant
) -> None:
    from tests.conftest import make_tenant

    other = await make_tenant(settings, clock)
    async with client(settings, clock, other.agent_token, "auto") as c:
        _, foreign = await call(c, "pay", PAY)
    async with client(settings, clock, tenant.agent_token, "auto") as c:
        _, own = await call(c, "pay", {**PAY, "amount": "11.00"})
        _, page = await call(c, "list_transactions", {"before": own["transaction_id"]})
        assert page["code"] == "ok" and page["transactions"] == []
        for cursor in (foreign["transaction_id"], "txn_doesnotexist"):
            is_error, result = await call(c, "list_transactions", {"before": cursor})
            assert is_error and set(result) == {"status", "code", "message", "reference"} | {
                "transactions",
                "next_before",
            }
            assert result["code"] == "not_found" and result["transactions"] == []


async def test_no_agent_tool_can_reach_the_control_plane(settings: Settings, clock: FakeClock, tenant: Tenant) -> None:
    async with client(settings, clock, tenant.agent_token, "auto") as c:
        names = {t.name for t in (await c.list_tools()).tools}
        for forbidden in ("approve", "reject", "revoke", "kill", "apply_policy", "issue_mandate", "lift"):
            assert not any(forbidden in name for name in names)
        for tool, args in (("pay", {**PAY, "approval_id": "apr_x"}), ("get_balance", {"operator": "alice"})):
            is_error, result = await call(c, tool, args)
            assert is_error and result["code"] == "unknown_argument"


class ExplodingRail:
    """A provider whose adapter crashes with text that must never reach the model."""

    name = "sandbox"

    async def dispatch(self, request: object) -> object:
        raise RuntimeError("sqlite3.OperationalError at /srv/secret/path token=fid_agent_abc")

    async def lookup(self, idempotency_key: str) -> None:
        return None


async def test_an_internal_failure_reaches_the_model_only_as_a_code_and_reference(
    settings: Settings, clock: FakeClock, tenant: Tenant
) -> None:
    @asynccontextmanager
    async def broken() -> AsyncIterator[Runtime]:
        async with open_runtime(settings, clock=clock) as rt:
            gate = Gate(
                rt.store,
                {"sandbox": ExplodingRail()},  # type: ignore[dict-item]
                signers=rt.keyring,
                digests=rt.keyring,
                configs=ScreeningConfigs(),
                clock=rt.store.clock,
                owner="exploding",
            )
            yield replace(rt, gate=gate)

    async with Client(AgentPlane(broken, agent_token=tenant.agent_token)) as c:
        is_error, result = await call(c, "pay", PAY)
    assert is_error and result["code"] == "internal_error"
    assert set(result) >= {"status", "code", "message", "reference"}
    text = json.dumps(result).lower()
    assert "sqlite" not in text and "secret" not in text and "fid_agent" not in text
    assert rows(settings, "SELECT state FROM transactions") == [("dispatching",)], "left for reconciliation"


@pytest.mark.parametrize("mode", MODES)
async def test_a_client_that_opens_urls_is_sent_to_the_dashboard_page_of_a_held_payment(
    settings: Settings, clock: FakeClock, tenant: Tenant, mode: str
) -> None:
    linked = replace(settings, dashboard_url="https://ops.example.com")
    plane = AgentPlane(lambda: open_runtime(linked, clock=clock), agent_token=tenant.agent_token)

    async def person(context: Any, params: Any) -> Any:
        raise AssertionError("a held payment asks nothing through the client; it sends the person to a page")

    big = PAY | {"amount": "300.00", "idempotency_key": "laptop-1"}
    async with Client(plane, mode=mode, elicitation_callback=person) as c:
        with pytest.raises(MCPError) as held:
            await c.call_tool("pay", big)
        assert held.value.error.code == URL_ELICITATION_REQUIRED
        (page,) = UrlElicitationRequiredError.from_error(held.value.error).elicitations
        approval_id = page.elicitation_id
        assert page.url == f"https://ops.example.com/dashboard/approvals/{approval_id}"
        assert "300.00 USD" in page.message and "supplies" not in page.message, "no agent text in the message"

        async with open_runtime(settings, clock=clock, resume=False) as rt:
            await rt.control.approvals.approve(tenant.admin, approval_id)
        is_error, data = await call(c, "pay", big)
    assert not is_error and data["state"] == "settled" and data["approval_id"] == approval_id

    async with Client(plane, mode=mode) as plain:  # no elicitation support: the structured result, as before
        is_error, data = await call(plain, "pay", PAY | {"amount": "260.00"})
    assert data["status"] == "pending_approval" and data["approval_id"].startswith("apr_")
