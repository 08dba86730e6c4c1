"""`fiduciary dsr erase` and `fiduciary legal-hold` as an operator runs them, with their refusals."""

from __future__ import annotations

import io
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


@pytest.fixture
def paid(settings: Settings) -> Tenant:
    """A home whose agent paid acct:pens once."""
    tenant = anyio.run(make_tenant, settings, SystemClock())

    async def pay() -> None:
        async with open_runtime(settings, resume=False) as rt:
            request = PaymentRequest(Tool.PAY, "pens", "12.50", "USD", "acct:pens")
            await rt.gate.request(AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id), request, reference="r1")

    anyio.run(pay)
    return tenant


def run(settings: Settings, tenant: Tenant, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    assert tenant.admin_token is not None
    code = main([*args, "--home", str(settings.home), "--token", tenant.admin_token])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_hold_blocks_the_erasure_until_cleared_and_the_erasure_shows_everywhere(
    settings: Settings, paid: Tenant, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(settings, paid, capsys, "legal-hold", "set", "--subject", "acct:pens", "--reason", "case 7",
                       "--json")  # fmt: skip
    assert code == 0
    hold = json.loads(out)
    assert hold["org_id"] == paid.org_id and hold["subject_id"].startswith("sub_")

    code, _, err = run(settings, paid, capsys, "dsr", "erase", "--subject", "acct:pens", "--reason", "DSR-1")
    assert code == 1 and f"legal hold {hold['hold_id']}" in err
    code, out, _ = run(settings, paid, capsys, "legal-hold", "list")
    assert code == 0 and hold["hold_id"] in out and "case 7" in out
    code, _, _ = run(settings, paid, capsys, "legal-hold", "clear", hold["hold_id"], "--reason", "case closed")
    assert code == 0

    monkeypatch.setattr("sys.stdin", io.StringIO("ACCT:Pens\n"))
    code, out, _ = run(settings, paid, capsys, "dsr", "erase", "--subject", "-", "--reason", "DSR-1", "--json")
    assert code == 0
    done = json.loads(out)
    assert done["org_id"] == paid.org_id and len(done["subjects"]) == 1 and done["scrubbed"] is True
    code, out, _ = run(settings, paid, capsys, "transactions", "list")
    assert code == 0 and "(erased)" in out and "acct:pens" not in out
    code, out, _ = run(settings, paid, capsys, "transactions", "list", "--json")
    assert json.loads(out)["transactions"][0]["counterparty"] is None
    code, out, _ = run(settings, paid, capsys, "audit", "verify")
    assert code == 0, out


def test_bad_input_to_erase_and_hold_is_refused_with_the_right_exit_code(
    settings: Settings, paid: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(settings, paid, capsys, "dsr", "erase", "--subject", "acct:nobody", "--reason", "DSR-2")
    assert code == 1 and "no counterparty" in err
    code, _, err = run(settings, paid, capsys, "dsr", "erase", "--subject", "not an id", "--reason", "DSR-2")
    assert code == 1 and "not a known kind of identifier" in err
    with pytest.raises(SystemExit) as usage:
        run(settings, paid, capsys, "dsr", "erase", "--subject", "acct:pens")
    assert usage.value.code == 2
    code, _, err = run(settings, paid, capsys, "legal-hold", "clear", "hld_nope", "--reason", "x")
    assert code == 1 and "no legal hold hld_nope" in err
    code, _, err = run(settings, paid, capsys, "dsr", "erase", "--subject", "acct:pens", "--reason", "x", "--org", "o")
    assert code == 1 and "no org o" in err
