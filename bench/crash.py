"""Crash harness: SIGKILL `fiduciary serve --http` in the middle of payments, restart it, check the money.

    python bench/crash.py [--rounds 20] [--seed 1] [--pays 8]

Each round, from its seed:

1. a fresh data directory (`fiduciary init` with a policy that holds nothing for approval) whose
   rails file routes `acct:` payees to the wire rail, and a fake Modern Treasury served in this
   process with a few faults queued (slow answers past the rail's timeout, dropped connections,
   500s after the order was made, 503s before it was);
2. the server as a subprocess, and `--pays` concurrent `pay` calls over Streamable HTTP, each
   with its own payee, amount and idempotency key;
3. a watcher thread polls the database read-only every few milliseconds and SIGKILLs the server
   the moment any transaction shows the round's target state (in half the rounds a seeded 10 to
   100 ms later, inside the step), or after a seeded delay when that state never shows;
4. the server starts again (and resumes on start), every payment is retried with its key, the
   server is stopped, and this process sweeps the data directory (`Gate.sweep`) until nothing is
   in flight. A lease the killed server held would keep its payment for a minute, so the sweeps
   run on a clock moved just past the live leases: the minute passes without being waited for;
5. the invariants (`bench/crash_checks.py`), every violation a finding: one payment order per
   payment at the bank, nothing in flight, wallets equal to their ledger, one transaction per
   key, and `fiduciary audit verify` passing.

`received`, `screened`, `authorized` and `held` never show from outside: one write transaction
takes a call from received to dispatching (only a payment a person approved rests in `held`, and
this policy holds nothing for approval), so a round aimed at them kills after its delay. `settled` needs two
status reads of the rail, which only a sweep makes, so it does not show before the kill either.

Prints a line per round and a summary, writes bench/results/crash.json, exits 1 on any finding.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager, suppress
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tests.fakes lives beside the package, not inside it

from bench.crash_checks import (  # noqa: E402
    FUNDING,
    RESTING,
    Answer,
    Calls,
    counts,
    key_findings,
    ledger_findings,
    provider_findings,
    rest_findings,
)
from fiduciary.domain.clock import parse_iso  # noqa: E402
from fiduciary.runtime import open_runtime  # noqa: E402
from fiduciary.settings import Settings, load_settings  # noqa: E402
from tests.fakes import FakeWire, serve  # noqa: E402

RESULTS = ROOT / "bench" / "results"
HOST = "127.0.0.1"
STEPS = ("received", "screened", "authorized", "held", "dispatching", "unknown", "settled")
FAULT_MODES = ("timeout", "drop", "error_after", "unavailable")
WIRE_ORG, WIRE_KEY = "org-1", "key-1"
POLICY = """
name = "crash"
currencies = ["USD"]

[[rules]]
id = "max"
kind = "max_amount"
currency = "USD"
amount = "500.00"
"""
RAILS = """
[[rails]]
name = "mt"
kind = "wire"
base_url = "{base_url}"
credential_env = "MT_CREDENTIAL"
originating_account_id = "acc_ours"
timeout_ms = 500
retry = {{ attempts = 2, base_ms = 5, max_ms = 20 }}
"""
PAYS_MAX = 32
ROUNDS_MAX = 1_000
POLL_SECONDS = 0.002
KILL_AFTER_SECONDS_MIN, KILL_AFTER_SECONDS_MAX = 0.05, 1.2
LINGER_SECONDS_MIN, LINGER_SECONDS_MAX = 0.01, 0.1
FAULT_DELAY_SECONDS_MIN, FAULT_DELAY_SECONDS_MAX = 0.6, 1.0
"""A slow answer outlasts the rail's 500 ms timeout, so the rail sees a timeout and asks again."""
SERVER_START_SECONDS_MAX = 20
SERVER_STOP_SECONDS_MAX = 10
PAY_SECONDS_MAX = 10
COMMAND_SECONDS_MAX = 30
SWEEPS_MAX = 10
LEASE_MARGIN_SECONDS = 1


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """One fault queued on the fake provider before the payments start."""

    mode: str
    count: int
    delay: float


@dataclass(frozen=True, slots=True)
class Plan:
    """What a seed decides: the state to kill at, the faults, the fallback delay, the payments."""

    seed: int
    step: str
    faults: tuple[FaultSpec, ...]
    kill_after_seconds: float
    linger_seconds: float
    """How long the kill waits once the step shows: 0 is the moment itself, more lands inside the step
    (a slow rail keeps a payment in `dispatching` while the provider already holds its order)."""
    pays: int

    def payment(self, index: int) -> dict[str, str]:
        """The `pay` arguments of payment `index`: its own payee, amount and idempotency key."""
        return {
            "amount": f"{10 + index}.{(self.seed * 7 + index) % 100:02d}",
            "currency": "USD",
            "counterparty": f"acct:{100_000_000 + (self.seed % 10_000) * 100 + index}",
            "purpose": f"crash round {self.seed} invoice {index}",
            "idempotency_key": f"crash-{self.seed}-{index}",
        }


def plan_round(seed: int, *, pays: int = 8) -> Plan:
    """The round a seed stands for; the step cycles with the seed so consecutive rounds cover every step."""
    assert 1 <= pays <= PAYS_MAX, f"between 1 and {PAYS_MAX} payments a round"
    rng = random.Random(seed)
    faults = []
    for _ in range(rng.choice((0, 1, 1, 2))):
        mode = rng.choice(FAULT_MODES)
        delay = round(rng.uniform(FAULT_DELAY_SECONDS_MIN, FAULT_DELAY_SECONDS_MAX), 2) if mode == "timeout" else 0.0
        faults.append(FaultSpec(mode, rng.randint(1, 2), delay))
    kill_after = round(rng.uniform(KILL_AFTER_SECONDS_MIN, KILL_AFTER_SECONDS_MAX), 3)
    linger = round(rng.uniform(LINGER_SECONDS_MIN, LINGER_SECONDS_MAX), 3) if rng.random() < 0.5 else 0.0
    return Plan(seed, STEPS[seed % len(STEPS)], tuple(faults), kill_after, linger, pays)


@dataclass(frozen=True, slots=True)
class Kill:
    """What the watcher did: whether it killed, at the target state or after the delay, and what it saw."""

    killed: bool
    at_step: bool
    seconds: float
    states: dict[str, int]


@dataclass(slots=True)
class RoundResult:
    """Everything a round found out, as written to crash.json."""

    seed: int
    step: str
    faults: list[dict[str, Any]]
    kill: dict[str, Any] = field(default_factory=dict)
    first: dict[str, int] = field(default_factory=dict)
    retried: dict[str, int] = field(default_factory=dict)
    orders_at_kill: int = 0
    """Payment orders the provider held when the server died (none can be made after)."""
    sweeps: int = 0
    taken_over: int = 0
    """Payments a sweep took over from the lease of a dead process."""
    states: dict[str, int] = field(default_factory=dict)
    flags: dict[str, int] = field(default_factory=dict)
    """Reconciliation flags raised by one round over the provider's orders after rest."""
    findings: list[str] = field(default_factory=list)
    seconds: float = 0.0


# The data directory.


def command_env(**extra: str) -> dict[str, str]:
    """This process's environment without FIDUCIARY_* settings, plus the rail credential and `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIDUCIARY_")}
    return {**env, "FIDUCIARY_LOG_LEVEL": "WARNING", "MT_CREDENTIAL": f"{WIRE_ORG}:{WIRE_KEY}", **extra}


async def fiduciary(*args: str) -> subprocess.CompletedProcess[bytes]:
    """`python -m fiduciary ARGS`, run to completion within `COMMAND_SECONDS_MAX`."""
    with anyio.fail_after(COMMAND_SECONDS_MAX):
        return await anyio.run_process([sys.executable, "-m", "fiduciary", *args], env=command_env(), check=False)


async def make_home(tmp: Path, base_url: str) -> tuple[Path, str]:
    """`fiduciary init` in `tmp/home` with the crash policy, and the rails file; answers (home, agent token)."""
    home, policy = tmp / "home", tmp / "policy.toml"
    policy.write_text(POLICY)
    init = await fiduciary(
        "init", "--home", str(home), "--json", "--mcp-json", str(tmp / "mcp.json"),
        "--policy", str(policy), "--fund", FUNDING,
    )  # fmt: skip
    if init.returncode != 0:
        raise RuntimeError(f"fiduciary init failed: {init.stderr.decode()[-2000:]}")
    (home / "rails.toml").write_text(RAILS.format(base_url=base_url))
    return home, str(json.loads(init.stdout)["agent_token"])


def read_only(home: Path) -> sqlite3.Connection:
    """The data directory's database, opened read-only: the harness looks, it never writes."""
    return sqlite3.connect(f"file:{home / 'fiduciary.db'}?mode=ro", uri=True, timeout=1.0, check_same_thread=False)


def state_counts(db: sqlite3.Connection) -> dict[str, int]:
    """Transactions by state."""
    return {row[0]: row[1] for row in db.execute("SELECT state, COUNT(*) FROM transactions GROUP BY state")}


# The server.


def free_port() -> int:
    """A port nobody listens on now; the server binds it a moment later."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(slots=True)
class Server:
    """A `fiduciary serve --http` subprocess and the port its agents call."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def stop(self, sig: signal.Signals) -> None:
        """Send `sig` unless it is gone, then wait for it (SIGKILL after `SERVER_STOP_SECONDS_MAX`)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            self.process.wait(SERVER_STOP_SECONDS_MAX)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(SERVER_STOP_SECONDS_MAX)


@contextmanager
def served(home: Path, log: Path, *extra: str) -> Iterator[Server]:
    """Start the server on a free port (with `extra` arguments, such as `--database URL`); on the way
    out it is stopped and waited for, whatever happened."""
    port = free_port()
    command = [sys.executable, "-m", "fiduciary", "serve", "--http", "--home", str(home)]
    command += ["--host", HOST, "--port", str(port), "--admin-port", "0", *extra]
    with log.open("ab") as out:
        process = subprocess.Popen(command, env=command_env(), stdout=out, stderr=subprocess.STDOUT)
    server = Server(process, port, log)
    try:
        yield server
    finally:
        server.stop(signal.SIGKILL)


async def wait_healthy(server: Server) -> None:
    """Until `/healthz` answers 200 (start-up resume is done by then), within `SERVER_START_SECONDS_MAX`."""
    async with httpx2.AsyncClient(timeout=1.0) as http:
        with anyio.fail_after(SERVER_START_SECONDS_MAX):
            while True:
                if server.process.poll() is not None:
                    raise RuntimeError(f"the server exited during start-up: {server.log.read_text()[-2000:]}")
                try:
                    if (await http.get(f"{server.url}/healthz")).status_code == 200:
                        return
                except httpx2.TransportError:
                    pass
                await anyio.sleep(0.05)


# The agent.


async def pay(url: str, token: str, args: Mapping[str, str]) -> Answer:
    """One `pay` through the official MCP client; a killed server's transport error is an answer too."""
    try:
        with anyio.fail_after(PAY_SECONDS_MAX):
            http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"})
            async with http, Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client:
                result = await client.call_tool("pay", dict(args))
    except Exception as exc:  # the server was killed under the call: expected
        return Answer(error=error_name(exc))
    data = result.structured_content or {}
    return Answer(data.get("status"), data.get("code"), data.get("transaction_id"), bool(data.get("replayed")))


async def pay_all(url: str, token: str, plan: Plan) -> dict[str, Answer]:
    """Every payment of the plan at once, by idempotency key."""
    answers: dict[str, Answer] = {}

    async def one(index: int) -> None:
        args = plan.payment(index)
        answers[args["idempotency_key"]] = await pay(url, token, args)

    async with anyio.create_task_group() as tg:
        for index in range(plan.pays):
            tg.start_soon(one, index)
    return answers


def error_name(exc: BaseException) -> str:
    """The name of the error under any exception groups the client's task groups wrapped it in."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return type(exc).__name__


def tally(answers: Mapping[str, Answer]) -> dict[str, int]:
    """Answers by status, or by transport error."""
    return dict(Counter(a.status or f"error:{a.error}" for a in answers.values()))


# The kill.


def watch_and_kill(home: Path, server: Server, plan: Plan) -> Kill:
    """Poll the database and SIGKILL the server once a transaction is in `plan.step`, or at the delay.

    Runs in a thread of its own so that the kill does not wait for the event loop that carries the
    payments. Every poll is a fresh read snapshot (autocommit), so a committed state shows at once.
    """
    start = time.monotonic()
    states: dict[str, int] = {}
    seen = False
    with closing(read_only(home)) as db:
        for _ in range(int(plan.kill_after_seconds / POLL_SECONDS) + 1):
            if server.process.poll() is not None:
                return Kill(False, False, round(time.monotonic() - start, 3), states)
            try:
                states = state_counts(db)
            except sqlite3.OperationalError:
                states = {}
            seen = states.get(plan.step, 0) > 0
            if seen or time.monotonic() - start >= plan.kill_after_seconds:
                break
            time.sleep(POLL_SECONDS)
        if seen and plan.linger_seconds:
            time.sleep(plan.linger_seconds)
            with suppress(sqlite3.OperationalError):
                states = state_counts(db)
        server.process.send_signal(signal.SIGKILL)
    return Kill(True, seen, round(time.monotonic() - start, 3), states)


async def first_life(home: Path, token: str, plan: Plan, log: Path) -> tuple[dict[str, Answer], Kill]:
    """Serve, pay everything at once, and kill the server on the plan's cue."""
    with served(home, log) as server:
        await wait_healthy(server)
        kill: Kill | None = None

        async def watcher() -> None:
            nonlocal kill
            kill = await anyio.to_thread.run_sync(watch_and_kill, home, server, plan)

        async with anyio.create_task_group() as tg:
            tg.start_soon(watcher)
            answers = await pay_all(server.url, token, plan)
    assert kill is not None
    return answers, kill


async def second_life(home: Path, token: str, plan: Plan, log: Path) -> dict[str, Answer]:
    """Serve again (resume runs on start), retry every payment with its key, and stop the server."""
    with served(home, log) as server:
        await wait_healthy(server)
        answers = await pay_all(server.url, token, plan)
        await anyio.to_thread.run_sync(server.stop, signal.SIGTERM)
    return answers


# At rest.


class LeaseClock:
    """The wall clock, moved forward only as far as the sweeps need to see the live leases run out."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def pass_leases(self, leases: list[str]) -> None:
        """Move just past the latest lease, so a sweep takes over what a dead process held."""
        latest = max((parse_iso(lease) for lease in leases), default=None)
        if latest is not None and latest >= self.now():
            self.offset += latest - self.now() + timedelta(seconds=LEASE_MARGIN_SECONDS)


def in_flight(db: sqlite3.Connection) -> list[tuple[str, str | None]]:
    """(state, lease_until) of every transaction not at rest."""
    marks = ",".join("?" for _ in RESTING)
    sql = f"SELECT state, lease_until FROM transactions WHERE state NOT IN ({marks})"
    return [(row[0], row[1]) for row in db.execute(sql, sorted(RESTING))]


def harness_settings(home: Path) -> Settings:
    """The data directory's settings for a runtime in this process, with the rail's credential."""
    return load_settings(home=str(home), environ=command_env())


async def drive_to_rest(home: Path) -> int:
    """Sweep in this process until nothing is in flight, at most `SWEEPS_MAX` times; answers the sweeps run."""
    clock = LeaseClock()
    settings = harness_settings(home)
    with closing(read_only(home)) as db:
        clock.pass_leases([lease for _, lease in in_flight(db) if lease])
        async with open_runtime(settings, clock=clock) as rt:  # opening resumes: the first sweep
            for sweep in range(1, SWEEPS_MAX + 1):
                waiting = in_flight(db)
                if not waiting:
                    return sweep
                clock.pass_leases([lease for _, lease in waiting if lease])
                await rt.gate.sweep(idle_seconds=0)
    return SWEEPS_MAX + 1


async def reconcile(home: Path, *, since: datetime) -> None:
    """One reconciliation round: the provider's orders against the ledger, any disagreement a flag."""
    async with open_runtime(harness_settings(home), resume=False) as rt:
        await rt.gate.reconcile_rails(since)


# The invariants.


async def audit_findings(home: Path) -> list[str]:
    """(d) `fiduciary audit verify` passes."""
    run = await fiduciary("audit", "verify", "--home", str(home), "--json")
    if run.returncode == 0:
        return []
    return [f"d: audit verify exited {run.returncode}: {(run.stdout or run.stderr).decode()[-500:]}"]


async def check(home: Path, fake: FakeWire, plan: Plan, calls: Calls) -> list[str]:
    """Every invariant, read from the tables, the provider and `audit verify`."""
    with closing(read_only(home)) as db:
        findings = provider_findings(db, fake) + rest_findings(db) + ledger_findings(db)
        findings += key_findings(db, [plan.payment(i)["idempotency_key"] for i in range(plan.pays)], calls)
    return findings + await audit_findings(home)


# A round.


async def run_round(seed: int, *, pays: int = 8, kill_after_seconds: float | None = None) -> RoundResult:
    """One seeded round: set up, pay, kill, restart, retry, sweep to rest, check. Leaves nothing running.

    `kill_after_seconds` replaces the seed's fallback delay: a test that must kill at its step
    gives the step more time to show on a busy machine.
    """
    started, since = time.monotonic(), datetime.now(UTC)
    plan = plan_round(seed, pays=pays)
    if kill_after_seconds is not None:
        assert 0 < kill_after_seconds <= PAY_SECONDS_MAX, "the kill waits a bounded time"
        plan = replace(plan, kill_after_seconds=kill_after_seconds)
    result = RoundResult(seed, plan.step, [asdict(f) for f in plan.faults])
    fake = FakeWire(WIRE_ORG, WIRE_KEY, rng=random.Random(seed))
    with tempfile.TemporaryDirectory(prefix=f"fiduciary-crash-{seed}-") as tmp:
        async with serve(fake) as base_url:
            home, token = await make_home(Path(tmp), base_url)
            for spec in plan.faults:
                fake.faults.add(spec.mode, spec.count, path_prefix="/api/payment_orders", delay=spec.delay)
            log = Path(tmp) / "server.log"
            first, kill = await first_life(home, token, plan, log)
            result.orders_at_kill = sum(1 for o in fake.objects if o.get("object") == "payment_order")
            with closing(read_only(home)) as db:
                committed = dict(db.execute("SELECT idempotency_key, transaction_id FROM transactions").fetchall())
            retried = await second_life(home, token, plan, log)
            result.sweeps = await drive_to_rest(home)
            fake.faults.clear()
            await reconcile(home, since=since)
            result.findings = await check(home, fake, plan, Calls(first, committed, retried))
            with closing(read_only(home)) as db:
                result.states = state_counts(db)
                result.flags = counts(db, "SELECT kind, COUNT(*) FROM reconciliation_flags GROUP BY kind")
                taken = counts(
                    db, "SELECT type, COUNT(*) FROM audit WHERE type = 'transaction.taken_over' GROUP BY type"
                )
                result.taken_over = sum(taken.values())
    result.kill = asdict(kill)
    result.first, result.retried = tally(first), tally(retried)
    result.seconds = round(time.monotonic() - started, 2)
    return result


def round_line(r: RoundResult) -> str:
    """One line: seed, target step, what the kill did, final states, findings, time."""
    kill = r.kill
    if not kill.get("killed"):
        how = "not killed (the server had exited)"
    elif kill.get("at_step"):
        how = f"killed at {r.step} after {kill['seconds']:.2f}s"
    else:
        how = f"killed after {kill['seconds']:.2f}s ({r.step} not seen)"
    faults = ",".join(f"{f['mode']}x{f['count']}" for f in r.faults) or "none"
    states = ", ".join(f"{state} {n}" for state, n in sorted(r.states.items()))
    flags = f", flags {r.flags}" if r.flags else ""
    return (
        f"seed {r.seed:<4} step {r.step:<11} faults {faults:<28} {how:<40} orders {r.orders_at_kill}  "
        f"-> {states:<24} taken over {r.taken_over}{flags}  findings {len(r.findings)}  {r.seconds:.1f}s"
    )


def summarise(results: list[RoundResult]) -> dict[str, Any]:
    """Rounds, kills (and by the step they hit), findings, round times."""
    kills = [r for r in results if r.kill.get("killed")]
    return {
        "rounds": len(results),
        "kills": len(kills),
        "kills_at_step": dict(Counter(r.step for r in kills if r.kill.get("at_step"))),
        "kills_after_delay": dict(Counter(r.step for r in kills if not r.kill.get("at_step"))),
        "findings": sum(len(r.findings) for r in results),
        "flags": sum(sum(r.flags.values()) for r in results),
        "rounds_with_findings": [r.seed for r in results if r.findings],
        "round_seconds_mean": round(sum(r.seconds for r in results) / max(len(results), 1), 2),
        "round_seconds_max": max((r.seconds for r in results), default=0.0),
    }


async def run(rounds: int, seed: int, pays: int) -> dict[str, Any]:
    """`rounds` rounds from `seed` on, printed as they finish."""
    results = []
    for offset in range(rounds):
        result = await run_round(seed + offset, pays=pays)
        print(round_line(result), flush=True)
        for finding in result.findings:
            print(f"    {finding}", flush=True)
        results.append(result)
    return {
        "rounds": [asdict(r) for r in results],
        "summary": summarise(results),
        "config": {"rounds": rounds, "seed": seed, "pays": pays, "python": sys.version.split()[0]},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pays", type=int, default=8)
    args = parser.parse_args()
    if not 1 <= args.rounds <= ROUNDS_MAX or not 1 <= args.pays <= PAYS_MAX:
        parser.error(f"--rounds is 1 to {ROUNDS_MAX}, --pays 1 to {PAYS_MAX}")
    logging.basicConfig(level=logging.ERROR)  # the rail's expected timeout warnings are not news here
    logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)  # a `drop` fault is meant to cut answers short
    report = anyio.run(run, args.rounds, args.seed, args.pays)
    summary = report["summary"]
    print(
        f"\n{summary['rounds']} rounds, {summary['kills']} kills "
        f"(at the step: {summary['kills_at_step']}; after the delay: {summary['kills_after_delay']}), "
        f"{summary['findings']} findings; a round takes {summary['round_seconds_mean']}s "
        f"(at most {summary['round_seconds_max']}s)"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "crash.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULTS / 'crash.json'}")
    return 1 if summary["findings"] else 0


if __name__ == "__main__":
    sys.exit(main())
