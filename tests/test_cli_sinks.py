"""`fiduciary audit sink status|resume` against a real data directory and a real HEC receiver."""

from __future__ import annotations

import json
from dataclasses import replace

import anyio
import pytest

from fiduciary.cli import main
from fiduciary.control import Role, Tenant
from fiduciary.domain.clock import FakeClock
from fiduciary.runtime import open_runtime
from fiduciary.settings import Settings
from tests.control.test_sinks import ENVIRON, HEC_TOKEN
from tests.fakes import serve
from tests.fakes.hec import FakeHec

pytestmark = pytest.mark.anyio


async def command(*argv: str) -> int:
    """`fiduciary ARGV` in this process (its own event loop, on a worker thread); the exit code."""
    return await anyio.to_thread.run_sync(main, list(argv))


async def test_status_shows_lag_and_error_and_an_admin_resumes_a_stopped_sink(
    settings: Settings, tenant: Tenant, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    hec = FakeHec("the-receivers-own-token")
    async with serve(hec) as url:
        settings.sinks_path.write_text(
            f'[[sinks]]\nname = "splunk"\nkind = "splunk_hec"\nbase_url = "{url}"\n'
            'credential_env = "SPLUNK_HEC_TOKEN"\n'
        )
        async with open_runtime(replace(settings, environ=ENVIRON), clock=clock) as rt:
            _, admin_token = await rt.control.operators.add(tenant.admin, "ops", Role.ADMIN)
            _, auditor_token = await rt.control.operators.add(tenant.admin, "reader", Role.AUDITOR)
            await rt.control.sinks.deliver()
    home = ["--home", str(settings.home)]
    capsys.readouterr()

    assert await command("audit", "sink", "status", "--json", *home, "--token", auditor_token) == 1
    shown = capsys.readouterr().out
    found = json.loads(shown)["sinks"]
    assert {s["org_id"] for s in found} == {tenant.org_id, "org_platform"}
    assert all(s["stopped"] and s["lag"] == s["head_seq"] > 0 and s["cursor_seq"] == 0 for s in found)
    assert any(s["last_error_status"] == 403 and "HTTP 403" in s["last_error"] for s in found)
    assert await command("audit", "sink", "status", *home, "--token", auditor_token) == 1
    text = capsys.readouterr().out
    assert "stopped" in text and "fiduciary audit sink resume splunk" in text

    assert await command("audit", "sink", "resume", "splunk", *home, "--token", auditor_token) == 1
    assert "may not" in capsys.readouterr().err
    assert await command("audit", "sink", "resume", "splunk", "--json", *home, "--token", admin_token) == 0
    assert json.loads(capsys.readouterr().out) == {"sink": "splunk", "resumed": True}
    assert await command("audit", "sink", "status", "--json", *home, "--token", admin_token) == 0
    after = json.loads(capsys.readouterr().out)["sinks"]
    assert not any(s["stopped"] for s in after)
    for out in (shown, text, json.dumps(after)):
        assert HEC_TOKEN not in out
