"""Three `fiduciary serve --http` processes on one PostgreSQL database, paid through all at once.

The processes are those a load balancer would spread agents over: one data directory (its
master key and rails), one database. Every payment is made once whichever server takes it, a
retry through another server finds the same transaction, the daily budget holds across them,
and the chain verifies after.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path

import anyio
import pytest

from tests.conftest import TEST_POLICY
from tests.e2e.test_crash import crash

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

SERVERS = 3
PAYMENTS = 36
"""20.00 USD each against the policy's 600.00 USD day: 30 fit, 6 do not."""


def payment(i: int) -> dict[str, str]:
    return {"amount": "20.00", "currency": "USD", "counterparty": f"acct:shop{i}", "purpose": "supplies",
            "idempotency_key": f"inv-{i}"}  # fmt: skip


async def test_three_servers_on_one_database_pay_each_payment_once_within_one_budget(
    tmp_path: Path, pg_url: str
) -> None:
    (tmp_path / "policy.toml").write_text(TEST_POLICY)
    home, database = tmp_path / "home", ["--database", pg_url]
    init = await crash.fiduciary("init", "--home", str(home), *database, "--json", "--mcp-json",
                                 str(tmp_path / "mcp.json"), "--policy", str(tmp_path / "policy.toml"))  # fmt: skip
    assert init.returncode == 0, init.stderr.decode()[-2000:]
    token = json.loads(init.stdout)["agent_token"]
    assert not (home / "fiduciary.db").exists(), "the data is in PostgreSQL"

    with ExitStack() as stack:
        servers = [
            stack.enter_context(crash.served(home, tmp_path / f"server{n}.log", *database)) for n in range(SERVERS)
        ]
        for server in servers:
            await crash.wait_healthy(server)
        answers: dict[int, crash.Answer] = {}
        retries: dict[int, crash.Answer] = {}

        async def pay(i: int) -> None:
            answers[i] = await crash.pay(servers[i % SERVERS].url, token, payment(i))
            retries[i] = await crash.pay(servers[(i + 1) % SERVERS].url, token, payment(i))

        async with anyio.create_task_group() as tg:
            for i in range(PAYMENTS):
                tg.start_soon(pay, i)

    assert all(a.error is None for a in [*answers.values(), *retries.values()]), answers
    assert sum(a.status == "executed" for a in answers.values()) == 30
    assert {a.code for a in answers.values() if a.status != "executed"} == {"budget_exceeded"}
    for i, first in answers.items():
        assert retries[i].replayed and retries[i].transaction_id == first.transaction_id, "one transaction per key"
    paid = [json.loads(line) for line in (home / "rails" / "sandbox.jsonl").read_text().splitlines()]
    assert len(paid) == 30 and len({p["idempotency_key"] for p in paid}) == 30, "the rail paid each payment once"
    verified = await crash.fiduciary("audit", "verify", "--home", str(home), *database, "--json")
    assert verified.returncode == 0, verified.stdout.decode() + verified.stderr.decode()
    migrated = await crash.fiduciary("db", "migrate", "--home", str(home), *database, "--json")
    assert migrated.returncode == 0 and json.loads(migrated.stdout)["database"] == pg_url
