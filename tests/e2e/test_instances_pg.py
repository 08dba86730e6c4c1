"""`fiduciary serve --http` processes on one PostgreSQL database: paid through all at once, and one killed.

The processes are those a load balancer would spread agents over: one data directory (its
master key and rails), one database. Every payment is made once whichever server takes it, a
retry through another server finds the same transaction, the daily budget holds across them,
and the chain verifies after. A payment a killed server left in flight is finished by exactly one
other instance, once its lease has run out, and never sent twice.
"""

from __future__ import annotations

import json
import signal
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import anyio
import psycopg
import pytest
from psycopg.rows import dict_row

from bench.crash_checks import ledger_findings, provider_findings
from fiduciary.control import verify_chain
from fiduciary.domain.results import Outcome
from fiduciary.rails import idempotency_key_for
from fiduciary.runtime import Runtime, open_runtime
from fiduciary.settings import load_settings
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


def wait_for_state(url: str, state: str, *, seconds: float = crash.PAY_SECONDS_MAX) -> None:
    """Poll the database until a transaction is in `state` (a fresh snapshot each time)."""
    deadline = time.monotonic() + seconds
    with psycopg.connect(url, autocommit=True) as db:
        while time.monotonic() < deadline:
            if db.execute("SELECT 1 FROM transactions WHERE state = %s", (state,)).fetchone():
                return
            time.sleep(crash.POLL_SECONDS)
    raise AssertionError(f"no transaction reached {state} within {seconds} s")


def wait_for_order(fake: crash.FakeWire, *, seconds: float = crash.PAY_SECONDS_MAX) -> None:
    """Poll the fake provider until it holds a payment order."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(o.get("object") == "payment_order" for o in fake.objects):
            return
        time.sleep(crash.POLL_SECONDS)
    raise AssertionError(f"the provider made no payment order within {seconds} s")


def transaction_row(url: str) -> dict[str, Any]:
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as db:
        (row,) = db.execute("SELECT transaction_id, state, lease_owner, lease_until FROM transactions").fetchall()
        return row


async def test_a_payment_in_flight_on_a_killed_server_is_finished_once_by_another_instance(
    tmp_path: Path, pg_url: str
) -> None:
    """Server A dies while the provider sits on the order it made; server B, started while A's lease
    runs, leaves it alone; once the lease has run out, two instances sweep at once and exactly one
    takes the payment over, asks the provider by key and settles it: one order, one debit."""
    fake = crash.FakeWire(crash.WIRE_ORG, crash.WIRE_KEY)
    database = ["--database", pg_url]
    async with crash.serve(fake) as base_url:
        (tmp_path / "policy.toml").write_text(crash.POLICY)
        home = tmp_path / "home"
        init = await crash.fiduciary("init", "--home", str(home), *database, "--json", "--mcp-json",
                                     str(tmp_path / "mcp.json"), "--policy", str(tmp_path / "policy.toml"),
                                     "--fund", crash.FUNDING)  # fmt: skip
        assert init.returncode == 0, init.stderr.decode()[-2000:]
        token = json.loads(init.stdout)["agent_token"]
        (home / "rails.toml").write_text(crash.RAILS.format(base_url=base_url))
        fake.faults.add("timeout", 50, path_prefix="/api/payment_orders", delay=5.0)
        args = {**payment(1), "counterparty": "acct:100000001"}  # an account number the wire rail takes

        with crash.served(home, tmp_path / "a.log", *database) as a:
            await crash.wait_healthy(a)
            async with anyio.create_task_group() as tg:
                tg.start_soon(crash.pay, a.url, token, args)
                await anyio.to_thread.run_sync(wait_for_state, pg_url, "dispatching")
                await anyio.to_thread.run_sync(wait_for_order, fake)  # and the slow provider holds it
                a.stop(signal.SIGKILL)
        orphaned = transaction_row(pg_url)
        assert orphaned["state"] == "dispatching" and orphaned["lease_owner"], orphaned
        assert fake.created_count(idempotency_key_for(orphaned["transaction_id"])) == 1, "the provider made it"

        with crash.served(home, tmp_path / "b.log", *database) as b:
            await crash.wait_healthy(b)  # B resumed on start: A's lease is still live
            retry = await crash.pay(b.url, token, args)
        assert retry.replayed and retry.transaction_id == orphaned["transaction_id"], retry
        assert transaction_row(pg_url)["lease_owner"] == orphaned["lease_owner"], "nobody took a live lease"

        fake.faults.clear()
        clock = crash.LeaseClock()
        settings = load_settings(home=str(home), environ=crash.command_env(FIDUCIARY_DATABASE_URL=pg_url))
        async with (
            open_runtime(settings, clock=clock, resume=False) as one,
            open_runtime(settings, clock=clock, resume=False) as two,
        ):
            assert await one.gate.sweep(idle_seconds=0) == [], "the lease has not run out"
            taken: list[list[Outcome]] = []
            for _ in range(crash.SWEEPS_MAX):
                row = transaction_row(pg_url)
                if row["state"] == "settled":
                    break
                clock.pass_leases([row["lease_until"]] if row["lease_until"] else [])

                async def sweep(rt: Runtime) -> None:
                    taken.append(await rt.gate.sweep(idle_seconds=0))

                async with anyio.create_task_group() as tg:
                    tg.start_soon(sweep, one)
                    tg.start_soon(sweep, two)
            report = await verify_chain(one.store.read, (await one.store.read.org_ids())[0])

    assert transaction_row(pg_url)["state"] == "settled"
    assert fake.created_count(idempotency_key_for(orphaned["transaction_id"])) == 1, "never sent twice"
    with psycopg.connect(pg_url, autocommit=True) as db:
        assert provider_findings(db, fake) == [] and ledger_findings(db) == []  # type: ignore[arg-type]
        (taken_over,) = db.execute("SELECT COUNT(*) FROM audit WHERE type = 'transaction.taken_over'").fetchall()[0]
    assert taken_over == 1, "exactly one instance took the payment over"
    assert sorted(len(outcomes) for outcomes in taken[:2]) == [0, 1], "of the two sweeping at once, one took it"
    assert report.ok, report
