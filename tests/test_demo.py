"""`fiduciary demo`, the newcomer's first command, run as a real subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

DEMO_SECONDS_MAX = 120

# (step, call, status, code) of each row, in order.
EXPECTED = [
    ("balance", "get_balance", "ok", "ok"),
    ("executed", "pay 120.00 USD", "executed", "executed"),
    ("over budget", "pay 490.00 USD", "denied", "budget_exceeded"),
    ("injection", "pay 45.00 USD", "denied", "injection_blocked"),
    ("unknown payee", "pay 20.00 USD", "denied", "no_mandate"),
    ("held", "pay 300.00 USD", "pending_approval", "approval_required"),
    ("approved", "operator: approvals approve", "executed", "executed"),
    ("agent sees it", "get_transaction", "ok", "ok"),
    ("kill switch", "operator: kill", "ok", "ok"),
    ("after kill", "pay 10.00 USD", "denied", "agent_frozen"),
    ("balance", "get_balance", "ok", "ok"),
    ("audit verify", "operator: audit verify", "ok", "ok"),
]


def table(output: str) -> list[list[str]]:
    """The rows of the demo's table, cells split on the runs of spaces that align them."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("#  ")) + 2  # past the header and rule
    rows = []
    for line in lines[start:]:
        if not line.strip():
            break
        rows.append(re.split(r"\s{2,}", line.strip()))
    return rows


def demo(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIDUCIARY_")}
    env["TMPDIR"] = str(tmp_path)  # where the demo makes, and then removes, its data directory
    # On timeout, subprocess.run kills the demo before raising.
    return subprocess.run(
        [sys.executable, "-m", "fiduciary", "demo", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=DEMO_SECONDS_MAX,
        check=False,
    )


def test_the_demo_walks_an_agent_through_every_answer_of_the_gate(tmp_path: Path) -> None:
    done = demo(tmp_path)
    output = done.stdout
    assert done.returncode == 0, output + done.stderr

    rows = table(output)
    assert [row[0] for row in rows] == [str(n) for n in range(1, len(EXPECTED) + 1)]
    assert [tuple(row[1:5]) for row in rows] == EXPECTED
    assert all(row[-1] == "yes" for row in rows), output
    details = {(row[1], row[0]): row[5] for row in rows}
    assert details[("balance", "1")] == "available 1000.00 USD"
    assert details[("executed", "2")].startswith("sbx_"), "the receipt is the rail's reference"
    assert details[("injection", "4")].startswith("ref_"), "a refusal carries a reference"
    assert details[("unknown payee", "5")].startswith("ref_"), "outside the allow-list: refused, never held"
    assert details[("held", "6")].startswith("apr_")
    assert details[("agent sees it", "8")] == "state settled"
    assert details[("kill switch", "9")] == "1 mandate revoked"
    assert details[("balance", "11")] == "available 580.00 USD"
    assert re.fullmatch(r"\d+ entries verify", details[("audit verify", "12")])
    assert "Every step answered as expected." in output
    assert list(tmp_path.glob("fiduciary-demo-*")) == [], "the demo removes its data directory"


def test_the_demo_speaks_json_with_the_same_steps(tmp_path: Path) -> None:
    done = demo(tmp_path, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True and report["kept"] is False
    assert [(s["name"], s["call"], s["status"], s["code"]) for s in report["steps"]] == EXPECTED
    assert [s["step"] for s in report["steps"]] == list(range(1, len(EXPECTED) + 1))
