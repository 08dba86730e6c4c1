"""No log level prints secrets or personal data: not the token, not a counterparty, not SQL parameters."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from mcp import StdioServerParameters
from mcp.client import Client
from mcp.client.stdio import stdio_client

from fiduciary.control import Tenant
from fiduciary.settings import Settings

pytestmark = pytest.mark.anyio

COUNTERPARTY = "acct:maria-silva-4471"
PURPOSE = "rent for flat 12B, Maria Silva"


async def test_debug_logs_of_a_payment_carry_no_token_counterparty_salt_or_sql(
    settings: Settings, live_tenant: Tenant, tmp_path: Path
) -> None:
    log_path = tmp_path / "server.log"
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "fiduciary", "serve", "--home", str(settings.home)],
        env={"FIDUCIARY_AGENT_TOKEN": live_tenant.agent_token, "FIDUCIARY_LOG_LEVEL": "DEBUG"},
    )
    with log_path.open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            args = {"amount": "12.50", "currency": "USD", "counterparty": COUNTERPARTY, "purpose": PURPOSE}
            paid = await client.call_tool("pay", args)
            assert isinstance(paid.structured_content, dict)
            assert paid.structured_content["status"] == "executed"
            await client.call_tool("get_transaction", {"transaction_id": paid.structured_content["transaction_id"]})
    logs = log_path.read_text()
    assert "DEBUG" in logs, "the server did log at DEBUG"
    for secret in (live_tenant.agent_token, COUNTERPARTY, "maria-silva", "Maria Silva", "INSERT INTO", "SELECT "):
        assert secret not in logs, f"{secret!r} reached the log"
    assert (settings.home / "master.key").read_text().strip() not in logs
