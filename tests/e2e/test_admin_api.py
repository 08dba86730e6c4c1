"""The admin API on its own listener, beside the agent listener, both real uvicorn servers on 127.0.0.1.

An agent pays over Streamable HTTP with the official MCP client; operators act over /admin/v1 with
bearer tokens; the roles, the errors and the audit trail are the control service's.
"""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from fiduciary.control import Role
from fiduciary.runtime import open_runtime
from tests.e2e.conftest import HOST, Servers, agent_pays, bearer

pytestmark = pytest.mark.anyio


async def test_an_approver_approves_over_the_api_what_an_agent_paid_over_mcp(servers: Servers) -> None:
    admin_token = servers.tenant.admin_token
    async with httpx2.AsyncClient() as http:
        added = await http.get(servers.admin("/agents"), headers=bearer(admin_token))
        assert added.status_code == 200 and len(added.json()["agents"]) == 1
        held = await agent_pays(servers, "300.00")
        assert held["status"] == "pending_approval"

        pending = (await http.get(servers.admin("/approvals"), headers=bearer(admin_token))).json()["approvals"]
        assert [p["approval_id"] for p in pending] == [held["approval_id"]]
        assert pending[0]["transaction"]["purpose"] == "laptop <b>now</b>", "JSON carries the text as data"
        assert pending[0]["mandate"]["mandate_id"] == servers.tenant.mandate_id

        url = servers.admin(f"/approvals/{held['approval_id']}/approve")
        first = await http.post(url, headers=bearer(admin_token))
        assert first.status_code == 200 and (first.json()["status"], first.json()["replayed"]) == ("executed", False)
        again = await http.post(url, headers=bearer(admin_token))
        assert again.status_code == 200 and again.json()["replayed"] is True, "approving twice is one approval"
        assert again.json()["state"] == "settled"

        verified = await http.get(servers.admin("/audit/verify"), headers=bearer(admin_token))
        assert all(chain["ok"] for chain in verified.json()["chains"])


async def test_tokens_and_roles_are_the_control_planes(servers: Servers) -> None:
    async with httpx2.AsyncClient() as http:
        assert (await http.get(servers.admin("/wallets"))).status_code == 401
        agent = await http.get(servers.admin("/wallets"), headers=bearer(servers.tenant.agent_token))
        assert agent.status_code == 401 and agent.json()["error"]["code"] == "unauthenticated"

        created = await http.post(servers.admin("/mandates"), headers=bearer(servers.tenant.admin_token), json={
            "agent_id": servers.tenant.agent_id, "currency": "USD", "max_per_use": "10.00", "total_cap": "20.00",
            "purpose": "api", "counterparties": ["acct:api"],
        })  # fmt: skip
        assert created.status_code == 200 and created.json()["counterparties"] == ["acct:api"]

    async with servers_runtime(servers) as rt:
        _, auditor_token = await rt.control.operators.add(servers.tenant.admin, "bob", Role.AUDITOR)
    async with httpx2.AsyncClient() as http:
        assert (await http.get(servers.admin("/wallets"), headers=bearer(auditor_token))).status_code == 200
        kill = {"scope": "agent", "target": servers.tenant.agent_id, "reason": "audit"}
        refused = await http.post(servers.admin("/kill"), headers=bearer(auditor_token), json=kill)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"


async def test_bad_requests_get_a_json_error_and_change_nothing(servers: Servers) -> None:
    token = bearer(servers.tenant.admin_token)
    async with httpx2.AsyncClient() as http:
        missing = await http.get(servers.admin("/transactions/txn_nope"), headers=token)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
        not_json = await http.post(servers.admin("/kill"), headers=token, content=b"{nope")
        assert not_json.status_code == 400
        huge = await http.post(servers.admin("/policy/validate"), headers=token, content=b"x" * (600 * 1024))
        assert huge.status_code == 413
        bad_policy = await http.post(servers.admin("/policy/validate"), headers=token, json={"source": "name = 1"})
        assert bad_policy.status_code == 400 and "name" in bad_policy.json()["error"]["message"]
        bad_scope = await http.post(servers.admin("/unfreeze"), headers=token, json={"scope": "galaxy"})
        assert bad_scope.status_code == 400
        document = (await http.get(servers.admin("/openapi.json"))).json()
        assert document["openapi"] == "3.1.0" and "/admin/v1/approvals/{approval_id}/approve" in document["paths"]


def servers_runtime(s: Servers) -> Any:
    return open_runtime(s.settings, resume=False)


async def test_the_lifecycle_over_the_api(servers: Servers) -> None:
    token = bearer(servers.tenant.admin_token)
    async with httpx2.AsyncClient() as http:

        async def post(path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
            response = await http.post(servers.admin(path), headers=token, json=body or {})
            assert response.status_code == 200, response.text
            data: dict[str, Any] = response.json()
            return data

        carol = await post("/operators", {"name": "carol", "role": "approver", "expires_days": 30})
        assert carol["token"].startswith("fid_op_")
        names = [o["name"] for o in (await http.get(servers.admin("/operators"), headers=token)).json()["operators"]]
        assert names == ["test-admin", "carol"]
        assert (await post("/operators/carol/revoke"))["revoked_at"] is not None

        bot = await post("/agents", {"name": "api-bot"})
        rotated = await post(f"/agents/{bot['agent_id']}/rotate-token")
        assert rotated["token"] != bot["token"]
        funded = await post("/wallets/fund", {"agent_id": bot["agent_id"], "amount": "25.00", "currency": "USD"})
        assert funded["available"] == "25.00"
        renewed = await post(f"/mandates/{servers.tenant.mandate_id}/renew")
        assert renewed["status"] == "active"
        assert (await post(f"/agents/{bot['agent_id']}/disable", {"reason": "done"}))["disabled_at"] is not None

        source = (await http.get(servers.admin("/policy"), headers=token)).json()["source"]
        assert (await post("/policy/diff", {"source": source}))["no_change"] is True
        assert (await post("/policy/simulate", {"source": source, "days": 1}))["changes"] == []
        assert (await post("/policy", {"source": source}))["changed"] is False
        assert (await post("/kill", {"scope": "platform", "reason": "drill"}))["scope"] == "platform"
        assert (await post("/unfreeze", {"scope": "platform"}))["lifted"]


async def test_metrics_are_scraped_with_an_operator_token_and_count_what_happened(servers: Servers) -> None:
    paid = await agent_pays(servers, "12.00")
    assert paid["status"] == "executed"
    url = f"http://{HOST}:{servers.admin_port}/metrics"
    async with httpx2.AsyncClient() as http:
        assert (await http.get(url)).status_code == 401
        answer = await http.get(url, headers=bearer(servers.tenant.admin_token))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    assert 'fiduciary_tool_calls_total{code="executed",tool="pay"}' in text
    assert 'fiduciary_rail_breaker_state{rail="sandbox"} 0.0' in text
    assert "fiduciary_reconciliation_flags_open 0.0" in text
    assert 'fiduciary_holds_outstanding_minor{currency="USD"} 0.0' in text
    assert 'fiduciary_gate_stage_seconds_count{stage="rail"}' in text
