"""The MCP Inspector CLI, a client we did not write, against `fiduciary serve` over stdio."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from fiduciary.control import Tenant
from fiduciary.settings import Settings

pytestmark = [
    pytest.mark.skipif(shutil.which("npx") is None, reason="npx is not installed"),
    pytest.mark.anyio,
]

INSPECTOR = "@modelcontextprotocol/inspector@2.12.0"
# The first run downloads the Inspector into npm's cache; later runs take about two seconds.
INSPECTOR_SECONDS_MAX = 240
TOOLS = {"pay", "charge", "refund", "get_balance", "get_transaction", "list_transactions", "list_mandates"}
PAY_ARGS = ["currency=USD", "counterparty=acct:x", "purpose=pens"]


async def inspector(tmp_path: Path, settings: Settings, tenant: Tenant, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the Inspector CLI on the stdio server; the agent token reaches the server only through `-e`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIDUCIARY_")}
    # The Inspector writes ~/.mcp-inspector: give it a scratch HOME, but keep npm's cache where it
    # was, so the package is downloaded once per machine rather than once per test.
    env.setdefault("npm_config_cache", str(Path.home() / ".npm"))
    env["npm_config_update_notifier"] = "false"
    env["HOME"] = str(tmp_path / "inspector-home")
    command = [
        "npx",
        "-y",
        INSPECTOR,
        "--cli",
        sys.executable,
        "-m",
        "fiduciary",
        "serve",
        "--home",
        str(settings.home),
        "-e",
        f"FIDUCIARY_AGENT_TOKEN={tenant.agent_token}",
        "-e",
        "FIDUCIARY_LOG_LEVEL=WARNING",
        "--format",
        "json",
        *args,
    ]
    with anyio.fail_after(INSPECTOR_SECONDS_MAX):  # on timeout the Inspector is killed, not left behind
        done = await anyio.run_process(command, env=env, check=False)
    return subprocess.CompletedProcess(command, done.returncode, done.stdout.decode(), done.stderr.decode())


def result_of(run: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    output: dict[str, Any] = json.loads(run.stdout)["result"]
    return output


async def test_the_inspector_lists_the_seven_tools(tmp_path: Path, settings: Settings, live_tenant: Tenant) -> None:
    run = await inspector(tmp_path, settings, live_tenant, "--method", "tools/list")
    assert run.returncode == 0, run.stderr
    tools = {tool["name"]: tool for tool in result_of(run)["tools"]}
    assert set(tools) == TOOLS
    assert tools["pay"]["inputSchema"]["properties"]["amount"]["type"] == "string"


async def test_the_inspector_pays_through_the_gate(tmp_path: Path, settings: Settings, live_tenant: Tenant) -> None:
    # `amount="12.50"` keeps the value a string; the Inspector turns a bare 12.50 into a number.
    args = ["--method", "tools/call", "--tool-name", "pay", "--tool-arg", 'amount="12.50"', *PAY_ARGS]
    run = await inspector(tmp_path, settings, live_tenant, *args)
    assert run.returncode == 0, run.stderr
    paid = result_of(run)
    assert paid["isError"] is False
    assert paid["structuredContent"]["status"] == "executed"
    assert paid["structuredContent"]["amount"] == "12.50"


async def test_an_amount_the_inspector_sends_as_a_number_is_refused(
    tmp_path: Path, settings: Settings, live_tenant: Tenant
) -> None:
    args = ["--method", "tools/call", "--tool-name", "pay", "--tool-arg", "amount=12.50", *PAY_ARGS]
    run = await inspector(tmp_path, settings, live_tenant, *args)
    assert run.returncode == 5, "the Inspector exits 5 when the tool result is an error"
    refused = result_of(run)
    assert refused["isError"] is True
    assert (refused["structuredContent"]["status"], refused["structuredContent"]["code"]) == (
        "denied",
        "invalid_amount",
    )
