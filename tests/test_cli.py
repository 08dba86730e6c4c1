"""The `fiduciary` command, run as a real subprocess against a real data directory.

The agent side of each test connects with the official MCP client to the very server entry
that `init` wrote into mcp.json, as Claude Desktop or the Inspector would.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import stat
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import StdioServerParameters
from mcp.client import Client

from tests.conftest import TEST_POLICY

pytestmark = pytest.mark.anyio

COMMAND_SECONDS_MAX = 60
SERVER_START_SECONDS_MAX = 20
SERVER_STOP_SECONDS_MAX = 10


@dataclass(frozen=True, slots=True)
class Run:
    returncode: int
    stdout: str
    stderr: str


def command_env(**extra: str) -> dict[str, str]:
    """The test process's environment without any FIDUCIARY_* setting, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIDUCIARY_")}
    return {**env, "FIDUCIARY_LOG_LEVEL": "WARNING", **extra}


async def fiduciary(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Run:
    """`python -m fiduciary ARGS`, run to completion."""
    with anyio.fail_after(COMMAND_SECONDS_MAX):
        done = await anyio.run_process(
            [sys.executable, "-m", "fiduciary", *args], cwd=cwd, env=env or command_env(), check=False
        )
    return Run(done.returncode, done.stdout.decode(), done.stderr.decode())


@dataclass(frozen=True, slots=True)
class Initialised:
    """A data directory made by `fiduciary init`, and what init printed about it."""

    cwd: Path
    home: Path
    mcp_json: Path
    output: str

    def value(self, what: str) -> str:
        found = re.search(rf"^{what}\s+(\S+)$", self.output, re.MULTILINE)
        assert found is not None, f"init printed no {what}"
        return found.group(1)

    @property
    def entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = json.loads(self.mcp_json.read_text())["mcpServers"]["fiduciary"]
        return entry

    async def run(self, *args: str) -> Run:
        return await fiduciary(*args, "--home", str(self.home), cwd=self.cwd)


def database(home: Path) -> sqlite3.Connection:
    """The data directory's SQLite file, opened directly, as an operator or an attacker could."""
    return sqlite3.connect(home / "fiduciary.db")


@pytest.fixture
async def initialised(tmp_path: Path) -> Initialised:
    """`fiduciary init` with the default policy less its new-payee review, so tests pay fresh payees."""
    home, mcp_json = tmp_path / "data", tmp_path / "client" / "mcp.json"
    mcp_json.parent.mkdir()
    policy = tmp_path / "policy.toml"
    policy.write_text(TEST_POLICY)
    args = ["--home", str(home), "--mcp-json", str(mcp_json), "--policy", str(policy)]
    run = await fiduciary("init", *args, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    return Initialised(tmp_path, home, mcp_json, run.stdout)


@asynccontextmanager
async def agent(setup: Initialised) -> AsyncIterator[Client]:
    """The agent, connected to exactly the server entry init wrote."""
    entry = setup.entry
    params = StdioServerParameters(command=entry["command"], args=entry["args"], env=entry["env"])
    async with Client(params) as client:
        yield client


async def call(c: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await c.call_tool(tool, args)
    assert isinstance(result.structured_content, dict)
    return result.structured_content


def pay(amount: str, purpose: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD", "counterparty": "acct:laptops", "purpose": purpose}


async def usd_balance(c: Client) -> dict[str, str]:
    balances: list[dict[str, str]] = (await call(c, "get_balance", {}))["balances"]
    return next(row for row in balances if row["currency"] == "USD")


def table_row(output: str, first_cell: str) -> list[str]:
    """The cells of the table row that starts with `first_cell`."""
    for line in output.splitlines():
        cells = line.split()
        if cells and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row for {first_cell} in:\n{output}")


# init


async def test_init_creates_the_data_dir_a_private_key_the_database_and_a_working_mcp_json(
    initialised: Initialised,
) -> None:
    home = initialised.home
    assert stat.S_IMODE((home / "master.key").stat().st_mode) == 0o600
    assert (home / "fiduciary.db").is_file()
    assert stat.S_IMODE(initialised.mcp_json.stat().st_mode) == 0o600, "mcp.json holds a token"

    entry = initialised.entry
    assert entry["command"] == sys.executable
    assert entry["args"] == ["-m", "fiduciary", "serve", "--home", str(home)]
    token = entry["env"]["FIDUCIARY_AGENT_TOKEN"]
    assert token.startswith("fid_agent_") and token in initialised.output, "the token is shown once"

    async with agent(initialised) as c:
        assert await usd_balance(c) == {"currency": "USD", "available": "1000.00", "held": "0.00"}


async def test_init_keeps_the_other_entries_of_an_existing_mcp_json(tmp_path: Path) -> None:
    mcp_json = tmp_path / ".mcp.json"
    other = {"command": "node", "args": ["weather.js"]}
    mcp_json.write_text(json.dumps({"mcpServers": {"weather": other}, "theme": "dark"}))
    run = await fiduciary("init", "--home", str(tmp_path / "data"), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    config = json.loads(mcp_json.read_text())
    assert config["theme"] == "dark"
    assert config["mcpServers"]["weather"] == other
    assert set(config["mcpServers"]) == {"weather", "fiduciary"}


async def test_init_run_twice_changes_nothing_and_says_so(initialised: Initialised) -> None:
    key_before = (initialised.home / "master.key").read_bytes()
    config_before = initialised.mcp_json.read_bytes()
    with closing(database(initialised.home)) as db, db:
        counts_before = db.execute("SELECT (SELECT COUNT(*) FROM agents), (SELECT COUNT(*) FROM audit)").fetchone()

    again = await fiduciary(
        "init", "--home", str(initialised.home), "--mcp-json", str(initialised.mcp_json), cwd=initialised.cwd
    )

    assert again.returncode == 0, again.stderr
    assert "already initialised" in again.stdout and "nothing was changed" in again.stdout
    assert initialised.value("agent") in again.stdout
    assert initialised.mcp_json.read_bytes() == config_before
    assert (initialised.home / "master.key").read_bytes() == key_before
    with closing(database(initialised.home)) as db, db:
        counts = db.execute("SELECT (SELECT COUNT(*) FROM agents), (SELECT COUNT(*) FROM audit)").fetchone()
    assert counts == counts_before


@pytest.mark.parametrize("content", ["{not json", '["a", "list"]', '{"mcpServers": ["a list"]}'])
async def test_init_refuses_an_invalid_mcp_json_before_creating_any_data(tmp_path: Path, content: str) -> None:
    mcp_json = tmp_path / ".mcp.json"
    mcp_json.write_text(content)
    run = await fiduciary("init", "--home", str(tmp_path / "data"), cwd=tmp_path)
    assert run.returncode == 1
    assert run.stderr.startswith("error: ") and run.stderr.count("\n") == 1
    assert not (tmp_path / "data").exists()
    assert mcp_json.read_text() == content


async def test_init_refuses_an_mcp_json_it_cannot_write_before_creating_any_data(tmp_path: Path) -> None:
    # Were the agent created first, its token (shown once, stored hashed) would be lost, and a
    # second init would only say "already initialised".
    run = await fiduciary(
        "init", "--home", str(tmp_path / "data"), "--mcp-json", str(tmp_path / "missing" / "mcp.json"), cwd=tmp_path
    )
    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode == 1
    assert run.stderr.startswith("error: ") and run.stderr.count("\n") == 1
    assert not (tmp_path / "data").exists()


async def test_init_with_a_policy_file_that_does_not_exist_is_a_one_line_error(tmp_path: Path) -> None:
    run = await fiduciary("init", "--home", str(tmp_path / "data"), "--policy", "missing.toml", cwd=tmp_path)
    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode == 1
    assert run.stderr.startswith("error: ") and run.stderr.count("\n") == 1
    assert not (tmp_path / "data").exists()


async def test_fiduciary_home_is_honoured_like_the_home_flag(tmp_path: Path) -> None:
    home = tmp_path / "from-env"
    env = command_env(FIDUCIARY_HOME=str(home))
    init = await fiduciary("init", cwd=tmp_path, env=env)
    assert init.returncode == 0, init.stderr
    assert (home / "fiduciary.db").is_file()
    assert not (tmp_path / ".fiduciary").exists(), "the default home is not used"
    entry = json.loads((tmp_path / ".mcp.json").read_text())["mcpServers"]["fiduciary"]
    assert entry["args"][-2:] == ["--home", str(home)]

    wallets = await fiduciary("wallets", "show", cwd=tmp_path, env=env)
    assert wallets.returncode == 0, wallets.stderr
    agent_id = Initialised(tmp_path, home, tmp_path / ".mcp.json", init.stdout).value("agent")
    assert table_row(wallets.stdout, agent_id)[2:] == ["USD", "1000.00", "0.00"]


# control plane


async def test_approvals_list_shows_a_held_payment_and_approve_executes_it(initialised: Initialised) -> None:
    async with agent(initialised) as c:
        held = await call(c, "pay", pay("300.00", "laptop for the new hire"))
        assert (held["status"], held["code"]) == ("pending_approval", "approval_required")
        approval_id = held["approval_id"]

        listed = await initialised.run("approvals", "list")
        assert listed.returncode == 0, listed.stderr
        row = table_row(listed.stdout, approval_id)
        assert row[1:3] == ["pending", initialised.value("agent")]
        assert "300.00" in row and "acct:laptops" in row

        approved = await initialised.run("approvals", "approve", approval_id)
        assert approved.returncode == 0, approved.stderr
        assert table_row(approved.stdout, held["transaction_id"])[1:3] == ["executed", "executed"]

        txn = await call(c, "get_transaction", {"transaction_id": held["transaction_id"]})
        assert txn["transaction"]["state"] == "settled"
        assert await usd_balance(c) == {"currency": "USD", "available": "700.00", "held": "0.00"}

    after = await initialised.run("approvals", "list")
    assert approval_id not in after.stdout, "a decided approval is no longer pending"


async def test_approvals_reject_with_a_reason_rejects_the_payment(initialised: Initialised) -> None:
    async with agent(initialised) as c:
        held = await call(c, "pay", pay("300.00", "a second laptop"))
        assert held["status"] == "pending_approval"

        rejected = await initialised.run("approvals", "reject", held["approval_id"], "--reason", "not this quarter")
        assert rejected.returncode == 0, rejected.stderr
        assert table_row(rejected.stdout, held["transaction_id"])[1:3] == ["denied", "approval_rejected"]

        txn = await call(c, "get_transaction", {"transaction_id": held["transaction_id"]})
        assert txn["transaction"]["state"] == "rejected"
        assert await usd_balance(c) == {"currency": "USD", "available": "1000.00", "held": "0.00"}

    decided = await initialised.run("approvals", "list", "--all")
    assert table_row(decided.stdout, held["approval_id"])[1] == "rejected"
    with closing(database(initialised.home)) as db, db:
        rejections = db.execute("SELECT payload FROM audit WHERE type = 'transaction.rejected'").fetchall()
    assert [json.loads(payload)["reason"] for (payload,) in rejections] == ["not this quarter"]


async def test_kill_freezes_the_agent_so_its_next_payment_is_refused(initialised: Initialised) -> None:
    agent_id = initialised.value("agent")
    async with agent(initialised) as c:
        before = await call(c, "pay", pay("10.00", "printer paper"))
        assert before["status"] == "executed"

        killed = await initialised.run("kill", "--agent", agent_id, "--reason", "looping on refunds")
        assert killed.returncode == 0, killed.stderr
        assert f"pulled for agent {agent_id}" in killed.stdout

        after = await call(c, "pay", pay("10.00", "more printer paper"))
        assert (after["status"], after["code"]) == ("denied", "agent_frozen")
        assert await usd_balance(c) == {"currency": "USD", "available": "990.00", "held": "0.00"}


async def test_wallets_show_prints_the_balance(initialised: Initialised) -> None:
    async with agent(initialised) as c:
        await call(c, "pay", pay("12.50", "pens"))
    shown = await initialised.run("wallets", "show")
    assert shown.returncode == 0, shown.stderr
    assert table_row(shown.stdout, initialised.value("agent"))[1:] == ["agent-1", "USD", "987.50", "0.00"]


async def test_audit_verify_is_ok_until_the_database_is_tampered_with(initialised: Initialised) -> None:
    org_id = initialised.value("org")
    verified = await initialised.run("audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert f"OK      {org_id}:" in verified.stdout
    assert "OK      org_platform:" in verified.stdout and "BROKEN" not in verified.stdout

    # An attacker with the file: the append-only trigger is no obstacle to them.
    with closing(database(initialised.home)) as db, db:
        db.execute("DROP TRIGGER audit_append_only_update")
        db.execute(
            "UPDATE audit SET payload = ? WHERE org_id = ? AND seq = 3",
            ('{"version": 1, "version_hash": "forged"}', org_id),
        )

    tampered = await initialised.run("audit", "verify")
    assert tampered.returncode != 0
    assert f"BROKEN  {org_id}: entry 3: the entry's columns do not match its hashed content" in tampered.stdout
    assert "OK      org_platform:" in tampered.stdout, "other orgs' chains still verify"
    walked = await initialised.run("audit", "verify", "--no-signatures", "--json")
    assert walked.returncode == 0, "the hash walk checks the hashed bytes, which are intact"
    assert json.loads(walked.stdout)["signatures"] is False

    with closing(database(initialised.home)) as db, db:
        db.execute(
            "UPDATE audit SET body = CAST(replace(CAST(body AS TEXT), 'policy', 'poliCy') AS BLOB) "
            "WHERE org_id = ? AND seq = 3",
            (org_id,),
        )
    for args in (("audit", "verify"), ("audit", "verify", "--no-signatures")):
        edited = await initialised.run(*args)
        assert edited.returncode != 0
        assert f"BROKEN  {org_id}: entry 3: entry hash does not match its content (edited)" in edited.stdout


async def test_audit_show_prints_the_entries_of_a_reference_from_a_tool_result(initialised: Initialised) -> None:
    async with agent(initialised) as c:
        paid = await call(c, "pay", pay("12.50", "pens"))
    shown = await initialised.run("audit", "show", paid["reference"], "--json")
    assert shown.returncode == 0, shown.stderr
    entries = json.loads(shown.stdout)["entries"]
    assert {entry["ref"] for entry in entries} == {paid["reference"]}
    assert {entry["subject"] for entry in entries} == {paid["transaction_id"]}
    assert entries[0]["type"] == "transaction.received" and entries[-1]["type"] == "transaction.settled"
    assert [entry["seq"] for entry in entries] == sorted(entry["seq"] for entry in entries)


@pytest.mark.parametrize(
    "args",
    [
        ["approvals", "approve", "apr_nope"],
        ["approvals", "reject", "apr_nope", "--reason", "no such thing"],
        ["kill", "--agent", "agt_nope", "--reason", "no such agent"],
    ],
)
async def test_an_operator_error_is_one_line_on_stderr_and_exit_1(initialised: Initialised, args: list[str]) -> None:
    run = await initialised.run(*args)
    assert run.returncode == 1
    assert run.stderr.startswith("error: ") and run.stderr.count("\n") == 1, run.stderr
    assert "Traceback" not in run.stderr and run.stdout == ""


@pytest.mark.parametrize("args", [["wallets", "show"], ["approvals", "list"], ["audit", "verify"], ["serve"]])
async def test_a_command_on_a_home_without_data_says_to_run_init(tmp_path: Path, args: list[str]) -> None:
    run = await fiduciary(*args, "--home", str(tmp_path / "empty"), cwd=tmp_path)
    assert run.returncode == 1
    assert run.stderr.startswith("error: no fiduciary data in ") and "fiduciary init" in run.stderr
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr


# serve --http


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_serve_http_answers_healthz_and_the_admin_api_on_its_own_port(initialised: Initialised) -> None:
    port, admin_port = free_port(), free_port()
    command = [sys.executable, "-m", "fiduciary", "serve", "--http", "--home", str(initialised.home)]
    command += ["--port", str(port), "--admin-port", str(admin_port)]
    token = (initialised.home / "operator.token").read_text().strip()
    log_path = initialised.cwd / "serve.log"
    with log_path.open("wb") as log:
        process = await anyio.open_process(command, env=command_env(), stdout=log, stderr=log)
        try:
            async with httpx2.AsyncClient() as http:
                with anyio.fail_after(SERVER_START_SECONDS_MAX):
                    while True:
                        assert process.returncode is None, log_path.read_text()
                        try:
                            response = await http.get(f"http://127.0.0.1:{port}/healthz")
                            admin = await http.get(
                                f"http://127.0.0.1:{admin_port}/admin/v1/agents",
                                headers={"Authorization": f"Bearer {token}"},
                            )
                            break
                        except httpx2.ConnectError:
                            await anyio.sleep(0.05)
                not_here = await http.get(f"http://127.0.0.1:{port}/admin/v1/agents")
        finally:
            process.terminate()
            with anyio.move_on_after(SERVER_STOP_SECONDS_MAX):
                await process.wait()
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert admin.status_code == 200 and admin.json()["agents"][0]["agent_id"] == initialised.value("agent")
    assert not_here.status_code == 404, "the agents' listener does not serve the admin API"
