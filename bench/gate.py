"""Latency of a governed `pay` against a no-op tool on the same server (in-memory MCP client).

    python bench/gate.py [--calls 300] [--warmup 30]

Prints p50/p90/p99 for each and the ratio, and writes bench/results/gate.json. A governed pay
runs every stage: schema, token, injection screening of each text field, policy, mandate
verify + closed-mandate signing, wallet hold, re-verification, the sandbox rail (an fsynced
append), settlement, and one audit entry per transition, each in a SQLite transaction with
synchronous=FULL. The no-op tool is the MCP round trip alone.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import anyio
from mcp.client import Client

from fiduciary.control import TenantSpec
from fiduciary.domain.money import parse_amount
from fiduciary.mandates import OpenTerms
from fiduciary.runtime import open_runtime
from fiduciary.server.agent_plane import AgentPlane
from fiduciary.settings import Settings

POLICY = """
name = "bench"
currencies = ["USD"]

[[rules]]
id = "max"
kind = "max_amount"
currency = "USD"
amount = "100.00"
"""
RESULTS = Path(__file__).resolve().parent / "results"


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    return {"p50": pick(0.50), "p90": pick(0.90), "p99": pick(0.99), "mean": round(statistics.fmean(ordered), 3)}


async def setup(settings: Settings) -> str:
    terms = OpenTerms(currency="USD", max_per_use_minor=10_000, total_cap_minor=10**12, tools=("pay",), purpose="bench")
    spec = TenantSpec(
        org_name="bench",
        agent_name="bench",
        policy_source=POLICY,
        funding=parse_amount("10000000.00", "USD"),
        terms=terms,
        mandate_days=1,
    )
    async with open_runtime(settings, resume=False, create=True) as rt:
        tenant = await rt.control.initialise(spec, admin_name="bench")
    return tenant.agent_token


async def measure(calls: int, warmup: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="fiduciary-bench-") as tmp:
        settings = Settings(home=Path(tmp), log_level="WARNING")
        token = await setup(settings)
        plane = AgentPlane(lambda: open_runtime(settings), agent_token=token)

        def noop() -> str:
            """Does nothing: the MCP round trip alone."""
            return "ok"

        plane.add_tool(noop, name="noop")
        timings: dict[str, list[float]] = {"pay": [], "noop": []}
        async with Client(plane) as client:
            for i in range(warmup + calls):
                for name in ("noop", "pay"):
                    args = (
                        {}
                        if name == "noop"
                        else {
                            "amount": "1.25",
                            "currency": "USD",
                            "counterparty": "acct:bench",
                            "purpose": f"bench payment {i} for the March office supplies invoice",
                            "idempotency_key": f"bench-{i}",
                        }
                    )
                    start = time.perf_counter()
                    result = await client.call_tool(name, args)
                    elapsed = (time.perf_counter() - start) * 1000
                    assert not result.is_error, result
                    if name == "pay":
                        assert result.structured_content and result.structured_content["status"] == "executed"
                    if i >= warmup:
                        timings[name].append(elapsed)
    pay, noop = percentiles(timings["pay"]), percentiles(timings["noop"])
    return {
        "calls": calls,
        "warmup": warmup,
        "transport": "in-memory MCP client (auto era)",
        "pay_ms": pay,
        "noop_ms": noop,
        "ratio_p50": round(pay["p50"] / noop["p50"], 1),
        "ratio_p99": round(pay["p99"] / noop["p99"], 1),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    args = parser.parse_args()
    report = anyio.run(measure, args.calls, args.warmup)
    print(f"governed pay vs no-op tool, {args.calls} calls each over {report['transport']}\n")
    print(f"{'tool':<8}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}{'mean ms':>10}")
    for name in ("pay", "noop"):
        row = report[f"{name}_ms"]
        assert isinstance(row, dict)
        print(f"{name:<8}{row['p50']:>10}{row['p90']:>10}{row['p99']:>10}{row['mean']:>10}")
    print(f"\nratio pay/noop: p50 {report['ratio_p50']}x, p99 {report['ratio_p99']}x")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "gate.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULTS / 'gate.json'}")


if __name__ == "__main__":
    main()
