"""The policy engine: decision cost by policy size, a budget under concurrency, and cost against history.

    python bench/policy.py [--decisions 2000] [--history 10000] [--samples 200]

1. Decisions per second of `policies.evaluate` for policies of 10, 100 and 1,000 rules of mixed
   kinds (the counters a counted rule needs are given, as the gate gives them).
2. 64 concurrent payments of 20.00 USD against one 600.00 USD daily budget, through the gate:
   the total settled, which must never exceed the budget.
3. The p50 of a governed payment through the gate after 10 prior payments and after `--history`
   prior payments, in the same run: the ratio shows whether a decision's cost grows with history.

Prints the figures and writes bench/results/policy.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio

from fiduciary.control import Operator, Role, TenantSpec
from fiduciary.domain.intents import AgentRef, PaymentIntent, PaymentRequest, Tool
from fiduciary.domain.money import parse_amount
from fiduciary.domain.results import Status
from fiduciary.mandates import OpenTerms
from fiduciary.policies import PolicyInput, counts_for, evaluate, parse_policy
from fiduciary.runtime import Runtime, open_runtime
from fiduciary.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results"
HEAD = 'name = "bench"\ncurrencies = ["USD", "BRL"]\ntimezone = "America/Sao_Paulo"\n'
KINDS = [
    'kind = "max_amount"\ncurrency = "USD"\namount = "{n}.00"',
    'kind = "budget"\ncurrency = "USD"\namount = "{n}000.00"\nwindow = "week"',
    'kind = "rate_limit"\ncalls = {n}\nwindow = "minute"',
    'kind = "deny_counterparty"\ncounterparties = ["acct:blocked-{n}"]',
    'kind = "deny_country"\ncountries = ["KP"]',
    'kind = "approval_threshold"\ncurrency = "BRL"\namount = "{n}.00"',
    'kind = "counterparty_limit"\npayments = {n}\nwindow = "day"',
    'kind = "blocked_hours"\nstart = "02:00"\nend = "03:00"\ndays = ["sun"]',
    'kind = "approval_required"\nwhen = {{ countries = ["IR"] }}',
    'kind = "injection_review"\nmin_score = 0.4',
]


def policy_of(size: int) -> str:
    rules = [f'[[rules]]\nid = "r{i}"\n' + KINDS[i % len(KINDS)].format(n=i + 10) for i in range(size)]
    return HEAD + "\n".join(rules) + "\n"


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def decisions(size: int, count: int) -> dict[str, float]:
    policy = parse_policy(policy_of(size))
    now = datetime.now(UTC)
    intent = PaymentIntent(
        AgentRef("org_b", "prj_b", "agt_b"), Tool.PAY, parse_amount("5.00", "USD"), "acct:shop", "bench", "k"
    )
    counts = {c.rule_id: 1 for c in counts_for(policy, intent, now)}
    facts = PolicyInput(counts, now=now)
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        evaluate(intent, facts, policy)
        samples.append((time.perf_counter() - start) * 1e6)
    p50 = percentile(samples, 0.5)
    return {"rules": size, "p50_us": round(p50, 2), "p99_us": round(percentile(samples, 0.99), 2),
            "decisions_per_second": round(1e6 / statistics.fmean(samples))}  # fmt: skip


BUDGET_POLICY = HEAD + '[[rules]]\nid = "day"\nkind = "budget"\ncurrency = "USD"\namount = "600.00"\nwindow = "day"\n'
HISTORY_POLICY = (
    HEAD + '[[rules]]\nid = "day"\nkind = "budget"\ncurrency = "USD"\namount = "10000000.00"\nwindow = "month"\n'
    '[[rules]]\nid = "per-payee"\nkind = "counterparty_limit"\npayments = 1000000\nwindow = "month"\n'
    '[[rules]]\nid = "new"\nkind = "approval_new_counterparty"\n'
)


async def tenant(settings: Settings, policy: str) -> tuple[Runtime, AgentRef]:
    terms = OpenTerms(currency="USD", max_per_use_minor=10_000, total_cap_minor=10**13, tools=("pay",), purpose="b")
    spec = TenantSpec("bench", "bench", policy, parse_amount("100000000.00", "USD"), terms, 30)
    async with open_runtime(settings, resume=False, create=True) as rt:
        made = await rt.control.initialise(spec, admin_name="bench")
    return rt, AgentRef(made.org_id, made.project_id, made.agent_id)


async def concurrent_budget() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="fiduciary-bench-") as tmp:
        settings = Settings(home=Path(tmp) / ".fiduciary", log_level="WARNING")
        _, who = await tenant(settings, BUDGET_POLICY)
        async with open_runtime(settings) as rt:
            outcomes = []

            async def one(i: int) -> None:
                request = PaymentRequest(Tool.PAY, "bench", "20.00", "USD", f"acct:p{i}", idempotency_key=f"c{i}")
                outcomes.append(await rt.gate.request(who, request, reference="ref_bench"))

            async with anyio.create_task_group() as tg:
                for i in range(64):
                    tg.start_soon(one, i)
        settled = sum(o.amount.amount_minor for o in outcomes if o.status is Status.EXECUTED and o.amount)
        return {"calls": 64, "budget": "600.00", "settled": f"{settled / 100:.2f}", "within_budget": settled <= 60_000}


async def history_cost(history: int, samples: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="fiduciary-bench-") as tmp:
        settings = Settings(home=Path(tmp) / ".fiduciary", log_level="WARNING")
        _, who = await tenant(settings, HISTORY_POLICY)
        async with open_runtime(settings) as rt:
            row = (await rt.store.read.operators())[0]
            admin = Operator(row.operator_id, row.name, Role(row.role))

            async def pay(key: str) -> float:
                request = PaymentRequest(Tool.PAY, "bench payment", "1.25", "USD", "acct:known", idempotency_key=key)
                start = time.perf_counter()
                outcome = await rt.gate.request(who, request, reference="ref_bench")
                elapsed = (time.perf_counter() - start) * 1000
                if outcome.status is Status.PENDING_APPROVAL:  # the first payment to a new payee
                    await rt.control.approvals.approve(admin, outcome.approval_id or "")
                return elapsed

            for i in range(10):
                await pay(f"warm{i}")
            paid = 10
            early = [await pay(f"early{i}") for i in range(samples)]
            while paid < history:
                await pay(f"h{paid}")
                paid += 1
            late = [await pay(f"late{i}") for i in range(samples)]
        p_early, p_late = percentile(early, 0.5), percentile(late, 0.5)
        return {
            "prior_payments": [10 + samples, paid + samples],
            "pay_p50_ms": [round(p_early, 3), round(p_late, 3)],
            "ratio": round(p_late / p_early, 3),
        }


async def main(args: argparse.Namespace) -> None:
    sizes = [decisions(size, args.decisions) for size in (10, 100, 1000)]
    print("policy.evaluate, one decision (counters given)\n")
    print(f"{'rules':>6}  {'p50 us':>8}  {'p99 us':>8}  {'decisions/s':>12}")
    for row in sizes:
        print(f"{row['rules']:>6}  {row['p50_us']:>8}  {row['p99_us']:>8}  {row['decisions_per_second']:>12}")
    budget = await concurrent_budget()
    print(f"\n64 concurrent 20.00 USD payments, 600.00 USD daily budget: settled {budget['settled']} USD")
    history = await history_cost(args.history, args.samples)
    early, late = history["pay_p50_ms"]
    print(
        f"\npay p50 through the gate: {early} ms after {history['prior_payments'][0]} payments, "
        f"{late} ms after {history['prior_payments'][1]} (ratio {history['ratio']})"
    )
    report = {"machine": platform.machine(), "python": platform.python_version(), "decisions": sizes,
              "concurrent_budget": budget, "history": history}  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "policy.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULTS / 'policy.json'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decisions", type=int, default=2000)
    parser.add_argument("--history", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=200)
    anyio.run(main, parser.parse_args())
