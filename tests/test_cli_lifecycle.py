"""The operator's day with the real `fiduciary` command: the README runbook, conventions, bad input.

Every command runs as a subprocess against a data directory made by `fiduciary init`; the agent
connects with the official MCP client to the server entry init wrote.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
from contextlib import closing
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest

from fiduciary.cli.parser import build_parser
from tests.conftest import TEST_POLICY
from tests.test_cli import Initialised, agent, call, command_env, database, fiduciary, initialised, pay, table_row

__all__ = ["initialised"]  # the fixture, shared with tests/test_cli.py

pytestmark = pytest.mark.anyio


async def as_json(setup: Initialised, *args: str, token: str | None = None) -> dict[str, Any]:
    extra = ("--token", token) if token else ()
    run = await setup.run(*args, "--json", *extra)
    assert run.returncode == 0, run.stderr
    data: dict[str, Any] = json.loads(run.stdout)
    return data


async def add_operator(setup: Initialised, name: str, role: str) -> str:
    added = await as_json(setup, "operators", "add", name, "--role", role)
    assert added["role"] == role and added["token"].startswith("fid_op_")
    token: str = added["token"]
    return token


async def test_the_readme_runbook_from_allow_list_to_rotated_token(initialised: Initialised) -> None:
    setup, agent_id = initialised, initialised.value("agent")
    first_mandate = initialised.value("open mandate")
    revoked = await setup.run("mandates", "revoke", first_mandate, "--reason", "replaced by an allow-list")
    assert revoked.returncode == 0, revoked.stderr

    issued = await as_json(
        setup,
        "mandates", "issue", "--agent", agent_id, "--currency", "USD", "--max-per-use", "400.00",
        "--total-cap", "2000.00", "--counterparty", "acct:laptops", "--uses", "10", "--purpose", "IT equipment",
    )  # fmt: skip
    assert (issued["status"], issued["counterparties"], issued["max_uses"]) == ("active", ["acct:laptops"], 10)
    approver = await add_operator(setup, "alice", "approver")

    async with agent(setup) as c:
        elsewhere = await call(c, "pay", {**pay("20.00", "pens"), "counterparty": "acct:pens"})
        assert elsewhere["code"] == "no_mandate", "outside the allow-list"
        held = await call(c, "pay", pay("300.00", "laptop for the new hire"))
        assert held["code"] == "approval_required"

        shown = await as_json(setup, "approvals", "show", held["approval_id"], token=approver)
        assert shown["transaction"]["amount"] == "300.00" and shown["status"] == "pending"
        assert shown["mandate"]["mandate_id"] == issued["mandate_id"]
        assert (shown["mandate"]["remaining"], shown["mandate"]["left_after"]) == ("2000.00", "1700.00")
        approved = await as_json(setup, "approvals", "approve", held["approval_id"], token=approver)
        assert (approved["status"], approved["code"]) == ("executed", "executed")

        direct = await call(c, "pay", pay("50.00", "a laptop bag"))
        assert direct["status"] == "executed"
        mandate = await as_json(setup, "mandates", "show", issued["mandate_id"])
        assert (mandate["used"], mandate["uses"]) == ("350.00", 2), "the approved payment consumed it too"

        killed = await as_json(setup, "kill", "--agent", agent_id, "--reason", "suspicious refunds", token=approver)
        assert (killed["scope"], killed["mandates_revoked"]) == ("agent", 1)
        frozen = await call(c, "pay", pay("10.00", "cables"))
        assert frozen["code"] == "agent_frozen"

        refused = await setup.run("unfreeze", "--agent", agent_id, "--token", approver)
        assert refused.returncode == 1 and "may not kill_switch.lift" in refused.stderr
        lifted = await as_json(setup, "unfreeze", "--agent", agent_id)
        assert lifted["lifted"] == [killed["switch_id"]]

        rotated = await as_json(setup, "agents", "rotate-token", agent_id)
        assert rotated["token"] != setup.entry["env"]["FIDUCIARY_AGENT_TOKEN"]
        stale = await call(c, "get_balance", {})
        assert stale["code"] == "unauthenticated", "the old token stopped working at once"

    transactions = await as_json(setup, "transactions", "list", "--agent", agent_id)
    states = {t["transaction_id"]: t["state"] for t in transactions["transactions"]}
    assert states[held["transaction_id"]] == "settled"
    trail = await as_json(setup, "audit", "show", held["transaction_id"])
    approvals = [e for e in trail["entries"] if e["type"] == "transaction.approved"]
    assert [e["actor"] for e in approvals] == [f"operator:{approved_by(setup, 'alice')}"]
    assert (await setup.run("audit", "verify")).returncode == 0


def approved_by(setup: Initialised, name: str) -> str:
    with closing(database(setup.home)) as db:
        row = db.execute("SELECT operator_id FROM operators WHERE name = ?", (name,)).fetchone()
    return str(row[0])


async def test_every_role_refusal_is_one_line_exit_1_and_on_the_record(initialised: Initialised) -> None:
    auditor = await add_operator(initialised, "bob", "auditor")
    agent_id = initialised.value("agent")
    for args in (
        ["wallets", "fund", "--agent", agent_id, "--amount", "5.00", "--currency", "USD"],
        ["operators", "add", "mallory", "--role", "admin"],
        ["kill", "--all", "--reason", "because"],
    ):
        run = await initialised.run(*args, "--token", auditor)
        assert run.returncode == 1, args
        assert run.stderr.startswith("error: the auditor role may not") and run.stderr.count("\n") == 1
        assert run.stdout == ""
    assert (await initialised.run("wallets", "show", "--token", auditor)).returncode == 0, "an auditor reads"
    with closing(database(initialised.home)) as db:
        refusals = db.execute("SELECT COUNT(*) FROM audit WHERE type = 'control.refused'").fetchone()[0]
    assert refusals == 3


async def test_no_agent_token_and_no_unknown_token_works_on_the_control_plane(initialised: Initialised) -> None:
    agent_token = initialised.entry["env"]["FIDUCIARY_AGENT_TOKEN"]
    for token in (agent_token, "fid_op_not-a-real-one"):
        run = await initialised.run("wallets", "show", "--token", token)
        assert run.returncode == 1 and run.stderr.count("\n") == 1
        assert token not in run.stderr
    env = command_env(FIDUCIARY_OPERATOR_TOKEN=agent_token)
    run = await fiduciary("approvals", "list", "--home", str(initialised.home), cwd=initialised.cwd, env=env)
    assert run.returncode == 1 and "agent token cannot act on the control plane" in run.stderr


async def test_the_operator_token_comes_from_the_environment_when_given(initialised: Initialised) -> None:
    auditor = await add_operator(initialised, "carol", "auditor")
    env = command_env(FIDUCIARY_OPERATOR_TOKEN=auditor)
    home = ["--home", str(initialised.home)]
    run = await fiduciary("mandates", "list", *home, cwd=initialised.cwd, env=env)
    assert run.returncode == 0, run.stderr
    run = await fiduciary("agents", "add", "x", *home, cwd=initialised.cwd, env=env)
    assert run.returncode == 1 and "auditor role may not" in run.stderr


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["mandates", "issue", "--agent", "AGT"], 2, "the following arguments are required"),
        (["kill", "--reason", "no scope"], 2, "one of the arguments"),
        (["wallets", "fund", "--agent", "AGT", "--amount", "1.001", "--currency", "USD"], 1, "decimal places"),
        (["wallets", "fund", "--agent", "agt_nope", "--amount", "1.00", "--currency", "USD"], 1, "no agent agt_nope"),
        (["mandates", "show", "mdt_nope"], 1, "no mandate mdt_nope"),
        (["approvals", "show", "apr_nope"], 1, "no approval apr_nope"),
        (["transactions", "show", "txn_nope"], 1, "no transaction txn_nope"),
        (["audit", "show", "ref_nope"], 1, "no audit entries"),
        (["audit", "verify", "--org", "org_nope"], 1, "no org org_nope"),
        (["unfreeze", "--agent", "AGT"], 1, "is not frozen"),
        (["kill", "--org", "org_nope", "--reason", "x"], 1, "no org org_nope"),
        (["operators", "revoke", "nobody"], 1, "no operator nobody"),
        (["mandates", "renew", "MDT", "--expires", "yesterday"], 1, "is not a date"),
        (
            ["mandates", "issue", "--agent", "AGT", "--currency", "USD", "--max-per-use", "10", "--total-cap", "5",
             "--purpose", "p"],
            1,
            "above the total cap",
        ),
        (
            ["mandates", "issue", "--agent", "AGT", "--currency", "USD", "--max-per-use", "1", "--total-cap", "5",
             "--purpose", "p", "--uses", "0"],
            1,
            "at least 1",
        ),
        (
            ["mandates", "issue", "--agent", "AGT", "--currency", "USD", "--max-per-use", "1", "--total-cap", "5",
             "--purpose", "p", "--not-before", "2027-02-01", "--expires", "2027-01-01"],
            1,
            "after the not-before",
        ),
    ],
)  # fmt: skip
async def test_bad_input_is_one_line_says_what_to_do_and_changes_nothing(
    initialised: Initialised, args: list[str], code: int, says: str
) -> None:
    args = [
        initialised.value("agent") if a == "AGT" else initialised.value("open mandate") if a == "MDT" else a
        for a in args
    ]
    with closing(database(initialised.home)) as db:
        before = db.execute("SELECT (SELECT COUNT(*) FROM open_mandates), (SELECT COUNT(*) FROM ledger)").fetchone()
    run = await initialised.run(*args)
    assert run.returncode == code, run.stderr
    assert says in run.stderr and "Traceback" not in run.stderr
    if code == 1:
        assert run.stderr.startswith("error: ") and run.stderr.count("\n") == 1
    with closing(database(initialised.home)) as db:
        after = db.execute("SELECT (SELECT COUNT(*) FROM open_mandates), (SELECT COUNT(*) FROM ledger)").fetchone()
    assert after == before


async def test_every_printing_command_speaks_json(initialised: Initialised) -> None:
    agent_id, mandate_id = initialised.value("agent"), initialised.value("open mandate")
    commands = [
        (["operators", "list"], "operators"),
        (["agents", "list"], "agents"),
        (["agents", "show", agent_id], "agent_id"),
        (["mandates", "list"], "mandates"),
        (["mandates", "show", mandate_id], "mandate_id"),
        (["wallets", "show"], "wallets"),
        (["approvals", "list"], "approvals"),
        (["transactions", "list"], "transactions"),
        (["audit", "verify"], "chains"),
        (["audit", "replay"], "replays"),
        (["audit", "show", mandate_id], "entries"),
        (["db", "migrate"], "up_to_date"),
        (["scan", "pay the March invoice"], "blocked"),
        (["rails", "list"], "rails"),
        (["rails", "status"], "rails"),
        (["reconcile", "list"], "flags"),
        (["reconcile", "run"], "rails"),
    ]
    for args, key in commands:
        data = await as_json(initialised, *args)
        assert key in data, args


async def test_agent_written_text_cannot_forge_or_hide_a_row_on_the_approvers_terminal(
    initialised: Initialised,
) -> None:
    purpose = "laptop\nFAKE-ROW  approved  everything\x1b[2J\u202eevil"
    async with agent(initialised) as c:
        held = await call(c, "pay", pay("300.00", purpose))
        assert held["code"] == "approval_required"
    listed = await initialised.run("approvals", "list")
    assert listed.returncode == 0
    assert "\x1b" not in listed.stdout and "\u202e" not in listed.stdout
    assert not any(line.startswith("FAKE-ROW") for line in listed.stdout.splitlines())
    row = table_row(listed.stdout, held["approval_id"])
    assert "laptop\\x0aFAKE-ROW" in " ".join(row)
    shown = await initialised.run("transactions", "show", held["transaction_id"])
    assert "\\x1b[2J\\u202eevil" in shown.stdout


# Finding the home.


async def test_commands_find_the_nearest_home_above_and_refuse_where_there_is_none(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "src" / "deep").mkdir(parents=True)
    env = command_env()
    init = await fiduciary("init", cwd=project, env=env)
    assert init.returncode == 0, init.stderr
    found = await fiduciary("wallets", "show", cwd=project / "src" / "deep", env=env)
    assert found.returncode == 0, found.stderr
    assert "1000.00" in found.stdout

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for args in (["db", "migrate"], ["wallets", "show"], ["serve"]):
        run = await fiduciary(*args, cwd=elsewhere, env=env)
        assert run.returncode == 1, args
        assert "no .fiduciary data directory" in run.stderr and run.stderr.count("\n") == 1
    assert list(elsewhere.iterdir()) == [], "nothing was created"


async def test_init_makes_a_private_home(initialised: Initialised) -> None:
    home = initialised.home
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    for name in ("fiduciary.db", "master.key", "operator.token"):
        assert stat.S_IMODE((home / name).stat().st_mode) == 0o600, name
    token = (home / "operator.token").read_text().strip()
    assert token.startswith("fid_op_") and token not in initialised.output.replace("operator.token", "")


# Client wiring.


async def test_init_never_writes_a_token_into_a_file_git_tracks(tmp_path: Path) -> None:
    git = ["git", "-c", "user.email=t@example.invalid", "-c", "user.name=t"]
    await anyio.run_process([*git, "init", "-q"], cwd=tmp_path)
    mcp_json = tmp_path / ".mcp.json"
    mcp_json.write_text('{"mcpServers": {}}\n')
    await anyio.run_process([*git, "add", ".mcp.json"], cwd=tmp_path)
    await anyio.run_process([*git, "commit", "-q", "-m", "config"], cwd=tmp_path)

    run = await fiduciary("init", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert mcp_json.read_text() == '{"mcpServers": {}}\n'
    assert "tracked by git" in run.stdout and '"FIDUCIARY_AGENT_TOKEN"' in run.stdout
    assert "claude mcp add fiduciary -e FIDUCIARY_AGENT_TOKEN=fid_agent_" in run.stdout


async def test_init_refuses_a_currency_its_policy_would_refuse_before_creating_anything(tmp_path: Path) -> None:
    run = await fiduciary("init", "--currency", "EUR", cwd=tmp_path)
    assert run.returncode == 1
    assert "allows only BRL, USD" in run.stderr and "--policy" in run.stderr
    assert not (tmp_path / ".fiduciary").exists() and not (tmp_path / ".mcp.json").exists()


async def test_init_writes_claude_codes_mcp_json_in_the_current_directory_by_default(tmp_path: Path) -> None:
    run = await fiduciary("init", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    entry = json.loads((tmp_path / ".mcp.json").read_text())["mcpServers"]["fiduciary"]
    assert entry["args"] == ["-m", "fiduciary", "serve", "--home", str(tmp_path / ".fiduciary")]


# Conventions.


async def test_a_closed_pipe_is_not_an_error(initialised: Initialised) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before anything is written, as with `| head` done early
    command = [sys.executable, "-m", "fiduciary", "operators", "list", "--home", str(initialised.home)]
    with anyio.fail_after(60):
        done = await anyio.run_process(command, stdout=write_end, check=False, env=command_env())
    os.close(write_end)
    assert done.returncode == 0, done.stderr
    assert b"Traceback" not in done.stderr and b"BrokenPipe" not in done.stderr


async def test_version_prints_the_version(tmp_path: Path) -> None:
    run = await fiduciary("--version", cwd=tmp_path)
    assert (run.returncode, run.stdout.strip()) == (0, "fiduciary 0.1.0")


def test_every_subcommand_and_option_has_help() -> None:
    def walk(parser: argparse.ArgumentParser, path: list[str]) -> list[str]:
        missing = []
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                missing += [f"{' '.join(path)} {c.dest}" for c in action._choices_actions if not c.help]
                for name, sub in action.choices.items():
                    missing += walk(sub, [*path, name])
            elif action.dest not in ("help", "version") and not action.help:
                missing.append(f"{' '.join(path)} {action.dest}")
        return missing

    assert walk(build_parser("test"), ["fiduciary"]) == []
    init = build_parser("test")._subparsers._group_actions[0].choices["init"]  # type: ignore[union-attr]
    help_text = " ".join(init.format_help().split())
    assert "(default: 1000.00)" in help_text and "(default: .mcp.json)" in help_text


async def test_every_lifecycle_command_works_on_a_fresh_init(initialised: Initialised, tmp_path: Path) -> None:
    setup = initialised
    org_id, project_id = setup.value("org"), setup.value("project")
    added = await as_json(setup, "agents", "add", "payouts-bot", "--project", project_id)
    bot = added["agent_id"]
    assert added["token"].startswith("fid_agent_") and added["project_id"] == project_id
    assert (await as_json(setup, "agents", "show", bot))["name"] == "payouts-bot"

    funded = await as_json(setup, "wallets", "fund", "--agent", bot, "--amount", "250.00", "--currency", "BRL")
    # The command runs on the wall clock: its dates are relative to today.
    soon, later = date.today() + timedelta(days=2), date.today() + timedelta(days=200)
    assert (funded["currency"], funded["available"]) == ("BRL", "250.00")
    issued = await as_json(
        setup,
        "mandates", "issue", "--agent", bot, "--currency", "BRL", "--max-per-use", "50", "--total-cap", "200",
        "--tool", "pay", "--tool", "refund", "--category", "payouts", "--country", "BR",
        "--not-before", soon.isoformat(), "--expires", later.isoformat(), "--purpose", "weekly payouts",
    )  # fmt: skip
    assert issued["status"] == "not_yet_valid" and issued["not_before"] == f"{soon.isoformat()}T00:00:00Z"
    assert (issued["tools"], issued["categories"], issued["countries"]) == (["pay", "refund"], ["payouts"], ["BR"])
    before = await as_json(setup, "mandates", "show", setup.value("open mandate"))
    renewed = await as_json(setup, "mandates", "renew", setup.value("open mandate"))
    assert renewed["expires_at"] > before["expires_at"]
    assert {k: v for k, v in renewed.items() if k != "expires_at"} == {
        k: v for k, v in before.items() if k != "expires_at"
    }
    listed = await as_json(setup, "mandates", "list", "--agent", bot)  # not yet valid still counts
    assert [m["mandate_id"] for m in listed["mandates"]] == [issued["mandate_id"]]

    for scope in (["--org", org_id], ["--project", project_id], ["--all"]):
        killed = await as_json(setup, "kill", *scope, "--reason", "drill")
        assert killed["agents"] == 2, scope
        assert (await as_json(setup, "agents", "show", bot))["frozen_by"] == killed["switch_id"]
        lifted = await as_json(setup, "unfreeze", *scope)
        assert lifted["lifted"] == [killed["switch_id"]]

    disabled = await as_json(setup, "agents", "disable", bot, "--reason", "moved to another project")
    assert disabled["disabled_at"] is not None
    auditor = await add_operator(setup, "dave", "auditor")
    revoked = await as_json(setup, "operators", "revoke", "dave")
    assert revoked["revoked_at"] is not None
    assert (await setup.run("wallets", "show", "--token", auditor)).returncode == 1

    policy = tmp_path / "policy.toml"
    policy.write_text('name = "permissive"\ncurrencies = ["USD", "BRL"]\n')
    first = await as_json(setup, "policy", "apply", str(policy))
    again = await as_json(setup, "policy", "apply", str(policy))
    assert (first["version"], first["changed"], again["version"], again["changed"]) == (2, True, 2, False)
    screening = tmp_path / "org.toml"
    screening.write_text("threshold = 0.6\n")
    applied = await as_json(setup, "injection", "apply", str(screening), "--org", org_id)
    assert (applied["org_id"], applied["version"]) == (org_id, 1)
    assert (await setup.run("audit", "verify")).returncode == 0


async def test_init_gives_a_home_made_before_operators_existed_its_first_admin(initialised: Initialised) -> None:
    with closing(database(initialised.home)) as db, db:
        db.execute("DELETE FROM operators")
    (initialised.home / "operator.token").unlink()
    assert (await initialised.run("wallets", "show")).returncode == 1, "no operator, no control"

    again = await fiduciary(
        "init", "--home", str(initialised.home), "--mcp-json", str(initialised.mcp_json), cwd=initialised.cwd
    )
    assert again.returncode == 0, again.stderr
    assert "had no operators" in again.stdout and "first admin" in again.stdout
    assert stat.S_IMODE((initialised.home / "operator.token").stat().st_mode) == 0o600
    shown = await initialised.run("wallets", "show")
    assert shown.returncode == 0 and "1000.00" in shown.stdout
    with closing(database(initialised.home)) as db:
        assert db.execute("SELECT COUNT(*) FROM agents").fetchone()[0] == 1, "nothing else was created"


async def test_policy_validate_show_and_diff(initialised: Initialised, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "p"\ncurrencies = ["USD"]\n\n[[rules]]\nid = "b"\nkind = "budget"\ncurrency = "USD"\n')
    refused = await fiduciary("policy", "validate", str(bad), cwd=tmp_path)
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: line 4: rule 'b': missing keys amount, window")
    good = tmp_path / "good.toml"
    good.write_text(TEST_POLICY.replace('id = "daily-budget-usd"', 'id = "daily-budget-usd-v2"'))
    valid = await fiduciary("policy", "validate", str(good), "--json", cwd=tmp_path)
    assert valid.returncode == 0 and json.loads(valid.stdout)["valid"] is True

    shown = await as_json(initialised, "policy", "show")
    assert shown["version"] == 1 and shown["source"] == TEST_POLICY
    same = tmp_path / "same.toml"
    same.write_text("# reformatted, same rules\n" + TEST_POLICY)
    assert (await as_json(initialised, "policy", "diff", str(same)))["no_change"] is True
    diff = await as_json(initialised, "policy", "diff", str(good))
    assert (diff["added"], diff["removed"], diff["changed"]) == (["daily-budget-usd-v2"], ["daily-budget-usd"], [])
    text = await initialised.run("policy", "diff", str(good))
    assert "rules added: daily-budget-usd-v2" in text.stdout and '+id = "daily-budget-usd-v2"' in text.stdout
    assert (await as_json(initialised, "policy", "show"))["version"] == 1, "diff changes nothing"


async def test_policy_simulate_prints_the_decisions_a_file_would_change(
    initialised: Initialised, tmp_path: Path
) -> None:
    async with agent(initialised) as c:
        assert (await call(c, "pay", pay("30.00", "pens")))["status"] == "executed"
    tighter = tmp_path / "tighter.toml"
    tighter.write_text(
        TEST_POLICY + '\n[[rules]]\nid = "only-acme"\nkind = "allow_counterparty"\ncounterparties = ["acct:acme"]\n'
    )
    found = await as_json(initialised, "policy", "simulate", str(tighter), "--days", "1")
    assert found["replayed"] == 1
    assert [(c["amount"], c["before"]["code"], c["after"]["code"]) for c in found["changes"]] == [
        ("30.00", "ok", "counterparty_not_allowed")
    ]
    text = await initialised.run("policy", "simulate", str(tighter))
    assert "1 would change" in text.stdout and "counterparty_not_allowed" in text.stdout
    bad = await initialised.run("policy", "simulate", str(tighter), "--days", "365")
    assert bad.returncode == 1 and "--days must be 1 to 90" in bad.stderr


async def test_an_admin_adds_a_rail_to_the_rails_file_and_a_bad_one_is_refused(initialised: Initialised) -> None:
    added = await as_json(
        initialised, "rails", "add", "mt", "--kind", "wire", "--base-url", "https://bank.example.com",
        "--credential-env", "MT_CREDENTIAL", "--originating-account-id", "acc_ours",
    )  # fmt: skip
    assert added == {"name": "mt", "kind": "wire", "base_url": "https://bank.example.com",
                     "credential_source": "$MT_CREDENTIAL"}  # fmt: skip
    rails_file = initialised.home / "rails.toml"
    assert stat.S_IMODE(rails_file.stat().st_mode) == 0o600 and "MT_CREDENTIAL" in rails_file.read_text()
    assert 'name = "sandbox"' in rails_file.read_text(), "the sandbox keeps carrying what it carried"

    twice = await initialised.run("rails", "add", "mt", "--kind", "sandbox")
    assert twice.returncode == 1 and "already configured" in twice.stderr
    no_key = await initialised.run(
        "rails", "add", "efi", "--kind", "pix", "--base-url", "https://pix.example.com", "--credential-env", "EFI"
    )
    assert no_key.returncode == 1 and "payer_key" in no_key.stderr
    approver = await add_operator(initialised, "ann", "approver")
    refused = await initialised.run("rails", "add", "s", "--kind", "sandbox", "--token", approver)
    assert refused.returncode == 1 and "may not" in refused.stderr
    assert "efi" not in rails_file.read_text(), "a refused rail leaves the file as it was"

    # Commands still run with a rail whose credential is missing; they say so, and nothing is sent to it.
    listed = await as_json(initialised, "rails", "list")
    (mt,) = [r for r in listed["rails"] if r["name"] == "mt"]
    assert "MT_CREDENTIAL is not set" in mt["problem"]
    status = await initialised.run("rails", "status")
    assert status.returncode == 1 and "RailUnavailable" in status.stdout
