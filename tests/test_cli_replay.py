"""`fiduciary audit replay` from the command line: 0 when the chain and the tables agree, 1 with every
difference, 2 for bad input."""

from __future__ import annotations

import json

import anyio
import pytest

from fiduciary.cli import main
from fiduciary.control import Tenant
from fiduciary.domain.clock import SystemClock
from fiduciary.domain.intents import AgentRef, PaymentRequest, Tool
from fiduciary.runtime import open_runtime
from fiduciary.settings import Settings
from tests.conftest import make_tenant
from tests.rows import execute, rows


@pytest.fixture
def paid(settings: Settings) -> Tenant:
    """A home whose agent paid 12.50 USD of its 1000.00."""
    tenant = anyio.run(make_tenant, settings, SystemClock())

    async def pay() -> None:
        async with open_runtime(settings, resume=False) as rt:
            request = PaymentRequest(Tool.PAY, "pens", "12.50", "USD", "acct:pens")
            ref = AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id)
            await rt.gate.request(ref, request, reference="ref_cli_replay")

    anyio.run(pay)
    return tenant


def replay(settings: Settings, tenant: Tenant, *args: str) -> int:
    assert tenant.admin_token is not None
    return main(["audit", "replay", *args, "--home", str(settings.home), "--token", tenant.admin_token])


def test_replay_exits_0_when_every_chain_agrees_with_the_tables(
    settings: Settings, paid: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    assert replay(settings, paid) == 0
    out = capsys.readouterr().out
    assert f"AGREES   {paid.org_id}:" in out and "AGREES   org_platform:" in out
    assert "987.50" in out and "transactions: 1 settled" in out


def test_replay_exits_1_and_names_an_edited_balance_in_text_and_json(
    settings: Settings, paid: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    execute(settings, "UPDATE wallets SET available_minor = 100000 WHERE agent_id = ?", (paid.agent_id,))
    assert replay(settings, paid, "--org", paid.org_id) == 1
    out = capsys.readouterr().out
    assert f"DIFFERS  {paid.org_id}:" in out and "1 difference" in out
    row = next(line.split() for line in out.splitlines() if line.startswith("wallet "))
    assert row == ["wallet", paid.project_id, paid.agent_id, "USD", "available", "987.50", "USD", "1000.00", "USD"]
    assert replay(settings, paid, "--org", paid.org_id, "--json") == 1
    (found,) = json.loads(capsys.readouterr().out)["replays"]
    assert (found["compared"], found["agrees"]) == (True, False)
    assert found["differences"] == [
        {"kind": "wallet", "project_id": paid.project_id, "item": f"{paid.agent_id} USD",
         "field": "available_minor", "rebuilt": 98_750, "table": 100_000, "currency": "USD"}
    ]  # fmt: skip


def test_replay_to_an_entry_prints_the_state_then_and_compares_nothing(
    settings: Settings, paid: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    sql = "SELECT seq FROM audit WHERE org_id = ? AND type = 'transaction.held'"
    ((seq,),) = rows(settings, sql, (paid.org_id,))
    assert replay(settings, paid, "--org", paid.org_id, "--to", str(seq)) == 0
    out = capsys.readouterr().out
    assert f"AS OF    {paid.org_id}: the state after entry {seq} (" in out and "Not compared" in out
    wallet = next(line.split() for line in out.splitlines() if line.startswith(paid.project_id))
    assert wallet[2:] == ["USD", "987.50", "12.50"]
    assert any(line.endswith("held") and "pay" in line for line in out.splitlines()), "its transaction, held"
    assert replay(settings, paid, "--org", paid.org_id, "--to", str(seq), "--json") == 0
    (found,) = json.loads(capsys.readouterr().out)["replays"]
    assert (found["compared"], found["agrees"], found["through_seq"]) == (False, None, seq)
    assert [h["amount_minor"] for h in found["holds"]] == [1_250]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--org", "ORG", "--to", "9999"], "chain has entries 1 to"),
        (["--org", "ORG", "--to", "-1"], "chain has entries 1 to"),
        (["--to", "1"], "--to needs --org"),
        (["--to-time", "half past noon"], "is not a date or an ISO 8601 time"),
        (["--org", "org_nope"], "no org org_nope"),
    ],
)
def test_replay_exits_2_on_input_it_cannot_replay_to(
    settings: Settings, paid: Tenant, capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    args = [paid.org_id if a == "ORG" else a for a in args]
    assert replay(settings, paid, *args) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("error: ") and says in captured.err and captured.out == ""


@pytest.mark.parametrize("args", [["--to", "1", "--to-time", "2026-01-05"], ["--to", "one"]])
def test_replay_exits_2_on_flags_argparse_refuses(
    settings: Settings, paid: Tenant, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        replay(settings, paid, *args)
    assert exited.value.code == 2 and "usage: fiduciary audit replay" in capsys.readouterr().err
