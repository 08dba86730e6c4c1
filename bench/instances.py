"""Several instances on one PostgreSQL database against one instance on SQLite, in the same run.

    python bench/instances.py [--payments 400] [--callers 16] [--orgs 4]

1. Throughput: `--callers` concurrent agents' payments (each agent its own wallet and mandate)
   through 1, 2 and 4 instances on one PostgreSQL database (each instance a runtime of its own:
   its own connection pool, gate and rails, as separate servers would be), and through one
   instance on SQLite; payments per second of each.
   Then the same agents spread over `--orgs` orgs, through 1 and 4 instances: a payment locks only
   its own org, so transactions of different orgs run side by side. Last, the agents over
   `--orgs` orgs through 1, 2 and 4 instances that are each a process of their own, as separate
   servers are (the runs above share one process, and so one core's worth of Python).
2. One budget across instances: 64 concurrent 20.00 USD payments spread over 4 instances against
   a 600.00 USD daily budget: what settled, which must never exceed it, and the chain verified.

PostgreSQL is a throwaway cluster this script starts on a Unix socket (Debian's `postgresql`
server binaries are needed). Prints the figures and writes bench/results/instances.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fiduciary.control import MandateSpec, Operator, Tenant, TenantSpec, verify_chain
from fiduciary.domain.intents import AgentRef, PaymentRequest, Tool
from fiduciary.domain.money import parse_amount
from fiduciary.domain.results import Status
from fiduciary.mandates import OpenTerms
from fiduciary.runtime import Runtime, open_runtime
from fiduciary.settings import Settings
from tests.pg import Cluster, running_cluster

RESULTS = Path(__file__).resolve().parent / "results"
WIDTHS = (1, 2, 4)
WORKER_SECONDS_MAX = 600
OPEN = 'name = "bench"\ncurrencies = ["USD"]\n'
BUDGET = OPEN + '\n[[rules]]\nid = "day"\nkind = "daily_budget"\ncurrency = "USD"\namount = "600.00"\n'


async def tenant(settings: Settings, policy: str, agents: int, *, orgs: int = 1) -> list[AgentRef]:
    """`orgs` tenants with `agents` funded agents between them, each with its own mandate."""
    terms = OpenTerms(currency="USD", max_per_use_minor=10_000, total_cap_minor=10**12, tools=("pay",), purpose="b")
    spec = TenantSpec("bench", "bench-0", policy, parse_amount("1000000.00", "USD"), terms, 1)
    callers: list[AgentRef] = []
    async with open_runtime(settings, resume=False, create=True) as rt:
        made = await rt.control.initialise(spec, admin_name="bench")
        for n in range(orgs):
            org = made if n == 0 else await rt.control.agents.create_tenant(made.admin, spec)
            callers += await _agents(rt, made.admin, org, agents // orgs)
    return callers


async def _agents(rt: Runtime, admin: Operator, made: Tenant, agents: int) -> list[AgentRef]:
    """The tenant's first agent and `agents - 1` more, funded, each with its own mandate."""
    callers = [AgentRef(made.org_id, made.project_id, made.agent_id)]
    for n in range(1, agents):
        row, _ = await rt.control.agents.add(admin, f"bench-{n}", project_id=made.project_id)
        await rt.control.wallets.fund(admin, row.ref.agent_id, parse_amount("1000000.00", "USD"))
        mandate = MandateSpec(agent_id=row.ref.agent_id, currency="USD", max_per_use="100.00",
                              total_cap="10000000.00", purpose="b")  # fmt: skip
        await rt.control.mandates.issue(admin, mandate)
        callers.append(row.ref)
    return callers


async def rate(settings: Settings, instances: int, callers: list[AgentRef], payments: int) -> float:
    """Payments per second with `len(callers)` agents paying at once through `instances` runtimes."""
    async with AsyncExitStack() as stack:
        runtimes = [await stack.enter_async_context(open_runtime(settings)) for _ in range(instances)]
        each = max(1, payments // len(callers))

        async def agent(n: int, who: AgentRef) -> None:
            rt = runtimes[n % instances]
            for i in range(each):
                request = PaymentRequest(Tool.PAY, "bench", "1.00", "USD", "acct:bench",
                                         idempotency_key=f"i{instances}-{n}-{i}")  # fmt: skip
                outcome = await rt.gate.request(who, request, reference="ref_bench")
                assert outcome.status is Status.EXECUTED, outcome

        start = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for n, who in enumerate(callers):
                tg.start_soon(agent, n, who)
        return each * len(callers) / (time.perf_counter() - start)


def _worker(home: str, url: str, callers: list[AgentRef], each: int, tag: str, start: Any, results: Any) -> None:
    """One instance as a process of its own: open a runtime, wait for the others, pay, report."""
    settings = Settings(home=Path(home), log_level="WARNING", database_url=url)

    async def run() -> None:
        async with open_runtime(settings) as rt:
            start.wait()  # every instance is open before anyone pays

            async def agent(n: int, who: AgentRef) -> None:
                for i in range(each):
                    request = PaymentRequest(Tool.PAY, "bench", "1.00", "USD", "acct:bench",
                                             idempotency_key=f"{tag}-{n}-{i}")  # fmt: skip
                    outcome = await rt.gate.request(who, request, reference="ref_bench")
                    assert outcome.status is Status.EXECUTED, outcome

            began, cpu = time.time(), time.process_time()
            async with anyio.create_task_group() as tg:
                for n, who in enumerate(callers):
                    tg.start_soon(agent, n, who)
            results.put((began, time.time(), each * len(callers), time.process_time() - cpu))

    anyio.run(run)


def process_rate(settings: Settings, processes: int, callers: list[AgentRef], payments: int) -> tuple[float, float]:
    """Payments per second with the agents split over `processes` instances, each its own process,
    and the cores their Python used between them."""
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(processes), context.Queue()
    each = max(1, payments // len(callers))
    home, url = str(settings.home), settings.database_url
    workers = []
    for n in range(processes):
        args = (home, url, callers[n::processes], each, f"p{processes}-{n}", start, results)
        workers.append(context.Process(target=_worker, args=args))
    for worker in workers:
        worker.start()
    reports = [results.get(timeout=WORKER_SECONDS_MAX) for _ in workers]
    for worker in workers:
        worker.join(WORKER_SECONDS_MAX)
        if worker.exitcode != 0:
            raise RuntimeError(f"an instance process exited with {worker.exitcode}")
    began, ended = min(r[0] for r in reports), max(r[1] for r in reports)
    return sum(r[2] for r in reports) / (ended - began), sum(r[3] for r in reports) / (ended - began)


async def one_budget(settings: Settings, caller: AgentRef) -> dict[str, Any]:
    outcomes = []
    async with AsyncExitStack() as stack:
        runtimes: list[Runtime] = [await stack.enter_async_context(open_runtime(settings)) for _ in range(4)]

        async def pay(i: int) -> None:
            request = PaymentRequest(Tool.PAY, "bench", "20.00", "USD", f"acct:p{i}", idempotency_key=f"b{i}")
            outcomes.append(await runtimes[i % 4].gate.request(caller, request, reference="ref_bench"))

        async with anyio.create_task_group() as tg:
            for i in range(64):
                tg.start_soon(pay, i)
        report = await verify_chain(runtimes[0].store.read, caller.org_id)
    settled = sum(o.amount.amount_minor for o in outcomes if o.status is Status.EXECUTED and o.amount)
    return {"payments": 64, "instances": 4, "budget": "600.00", "settled": f"{settled / 100:.2f}",
            "within_budget": settled <= 60_000, "chain_verifies": report.ok}  # fmt: skip


async def measure(args: argparse.Namespace, cluster: Cluster) -> dict[str, Any]:
    report: dict[str, Any] = {"python": platform.python_version(), "machine": platform.machine(),
                              "payments": args.payments, "callers": args.callers, "postgresql": {}}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="fiduciary-bench-") as tmp:
        sqlite = Settings(home=Path(tmp) / "sqlite", log_level="WARNING")
        callers = await tenant(sqlite, OPEN, args.callers)
        report["sqlite_1"] = round(await rate(sqlite, 1, callers, args.payments), 1)
        for width in WIDTHS:
            url = cluster.create_database(f"bench_{width}")
            settings = Settings(home=Path(tmp) / f"pg{width}", log_level="WARNING", database_url=url)
            callers = await tenant(settings, OPEN, args.callers)
            report["postgresql"][str(width)] = round(await rate(settings, width, callers, args.payments), 1)
        report["postgresql_processes"] = {"orgs": args.orgs}
        for width in WIDTHS:
            url = cluster.create_database(f"bench_proc_{width}")
            settings = Settings(home=Path(tmp) / f"pg-proc{width}", log_level="WARNING", database_url=url)
            callers = await tenant(settings, OPEN, args.callers, orgs=args.orgs)
            rate_of, cores = await anyio.to_thread.run_sync(process_rate, settings, width, callers, args.payments)
            report["postgresql_processes"][str(width)] = round(rate_of, 1)
            report["postgresql_processes"][f"{width}_python_cores"] = round(cores, 2)
        report["postgresql_orgs"] = {"orgs": args.orgs}
        for width in (1, WIDTHS[-1]):
            url = cluster.create_database(f"bench_orgs_{width}")
            settings = Settings(home=Path(tmp) / f"pg-orgs{width}", log_level="WARNING", database_url=url)
            callers = await tenant(settings, OPEN, args.callers, orgs=args.orgs)
            report["postgresql_orgs"][str(width)] = round(await rate(settings, width, callers, args.payments), 1)
        settings = Settings(home=Path(tmp) / "budget", log_level="WARNING", database_url=cluster.create_database("b"))
        (caller,) = await tenant(settings, BUDGET, 1)
        report["one_budget"] = await one_budget(settings, caller)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--payments", type=int, default=400, help="payments per throughput measurement")
    parser.add_argument("--callers", type=int, default=16, help="agents paying at once")
    parser.add_argument("--orgs", type=int, default=4, help="orgs the agents are spread over in the last runs")
    args = parser.parse_args()
    with running_cluster() as cluster:
        report = anyio.run(measure, args, cluster)
    print(f"payments/s, {args.callers} agents paying at once, {args.payments} payments each run\n")
    print(f"  SQLite, 1 instance       {report['sqlite_1']:>8}")
    for width, value in report["postgresql"].items():
        print(f"  PostgreSQL, {width} instance{'s' if width != '1' else ' '}  {value:>8}")
    spread = report["postgresql_orgs"]
    for width in (1, WIDTHS[-1]):
        print(f"  PostgreSQL, {width} instance{'s' if width != 1 else ' '}  {spread[str(width)]:>8}   "
              f"(the agents spread over {spread['orgs']} orgs)")  # fmt: skip
    procs = report["postgresql_processes"]
    for width in WIDTHS:
        print(f"  PostgreSQL, {width} process{'es' if width != 1 else '  '}  {procs[str(width)]:>8}   "
              f"(each instance a process of its own; the agents over {procs['orgs']} orgs; their Python used "
              f"{procs[f'{width}_python_cores']} of {os.cpu_count()} cores)")  # fmt: skip
    budget = report["one_budget"]
    print(f"\n64 concurrent 20.00 USD payments over 4 instances, 600.00 USD a day: settled {budget['settled']} "
          f"(within: {budget['within_budget']}), chain verifies: {budget['chain_verifies']}")  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "instances.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULTS / 'instances.json'}")


if __name__ == "__main__":
    main()
