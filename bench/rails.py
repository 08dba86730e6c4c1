"""Latency of a governed payment through each HTTP rail, beside a direct call of the same fake provider.

    python bench/rails.py [--calls 200] [--warmup 20]

For each adapter (card: a `charge` by Stripe-style PaymentIntent; Pix: a `pay` sent by idEnvio; wire:
a `pay` as a Modern Treasury payment order; stablecoin: a USDC `pay` as a Circle transfer; mcp: a
`pay` through a provider's own MCP server's tool)
the fake provider runs on 127.0.0.1 in this process. A
governed call goes through the gate (screening, policy, mandate, hold, the rail call with its
wrappers, settlement, every audit entry, SQLite with synchronous=FULL); the direct call is one
HTTP request of the same shape to the same fake. The ratio of the two p50s is what fiduciary adds.
Prints p50/p99 for each and writes bench/results/rails.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp.client import Client

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fiduciary.control import MandateSpec, TenantSpec
from fiduciary.domain.intents import AgentRef, PaymentRequest, Tool
from fiduciary.domain.money import parse_amount
from fiduciary.domain.results import Status
from fiduciary.mandates import OpenTerms
from fiduciary.runtime import Runtime, open_runtime
from fiduciary.settings import Settings
from tests.fakes import FakeCircle, FakePix, FakeStripe, FakeWire, serve
from tests.fakes.mcp_upstream import Upstream, served

POLICY = """
name = "bench"
currencies = ["USD", "BRL", "USDC"]

[[rules]]
id = "max"
kind = "max_amount"
currency = "USD"
amount = "100.00"
"""
RESULTS = Path(__file__).resolve().parent / "results"
ENV = {"STRIPE": "sk_bench", "EFI": "cid:csecret", "MT": "org-1:key-1", "CIRCLE": "circle_bench"}
WALLET = "1000216185"
ADDRESS = "0x52908400098527886E0F7030069857D2E4169EE7"


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    return {"p50": pick(0.50), "p99": pick(0.99), "mean": round(statistics.fmean(ordered), 3)}


def rails_file(urls: dict[str, str]) -> str:
    fast = "timeout_ms = 2000\nretry = { attempts = 1, base_ms = 1, max_ms = 1 }\n"
    return (
        f'[[rails]]\nname = "stripe"\nkind = "card"\nbase_url = "{urls["card"]}"\ncredential_env = "STRIPE"\n{fast}\n'
        f'[[rails]]\nname = "efi"\nkind = "pix"\nbase_url = "{urls["pix"]}"\ncredential_env = "EFI"\n'
        f'payer_key = "financeiro@bench.com.br"\n{fast}\n'
        f'[[rails]]\nname = "mt"\nkind = "wire"\nbase_url = "{urls["wire"]}"\ncredential_env = "MT"\n'
        f'originating_account_id = "acc_bench"\n{fast}\n'
        f'[[rails]]\nname = "circle"\nkind = "stablecoin"\nbase_url = "{urls["stablecoin"]}"\n'
        f'credential_env = "CIRCLE"\nsource_wallet_id = "{WALLET}"\nchain = "BASE"\n{fast}\n'
        f'[[rails]]\nname = "acme"\nkind = "mcp"\nurl = "{urls["mcp"]}"\ntool = "create_payment"\n'
        'arguments = { amount = "amount_minor", currency = "currency", to = "counterparty_value", '
        'ref = "idempotency_key" }\n'
        'receipt = { reference = "id", amount = "amount", currency = "currency", status = "status" }\n'
        'succeeded = ["paid"]\nfailed = ["declined"]\ntimeout_ms = 2000\n'
    )


async def tenant(settings: Settings) -> AgentRef:
    terms = OpenTerms(currency="USD", max_per_use_minor=10_000, total_cap_minor=10**12, tools=("pay", "charge"),
                      purpose="bench")  # fmt: skip
    spec = TenantSpec(org_name="bench", agent_name="bench", policy_source=POLICY,
                      funding=parse_amount("10000000.00", "USD"), terms=terms, mandate_days=1)  # fmt: skip
    async with open_runtime(settings, resume=False, create=True) as rt:
        made = await rt.control.initialise(spec, admin_name="bench")
        await rt.control.wallets.fund(made.admin, made.agent_id, parse_amount("10000000.00", "BRL"))
        brl = MandateSpec(agent_id=made.agent_id, currency="BRL", max_per_use="100.00", total_cap="100000000.00",
                          purpose="bench")  # fmt: skip
        await rt.control.mandates.issue(made.admin, brl)
        await rt.control.wallets.fund(made.admin, made.agent_id, parse_amount("10000000.00", "USDC"))
        usdc = MandateSpec(agent_id=made.agent_id, currency="USDC", max_per_use="100.00", total_cap="100000000.00",
                           purpose="bench")  # fmt: skip
        await rt.control.mandates.issue(made.admin, usdc)
    return AgentRef(made.org_id, made.project_id, made.agent_id)


def governed(rt: Runtime, caller: AgentRef, kind: str) -> Callable[[int], Awaitable[None]]:
    shapes = {
        "card": (Tool.CHARGE, "1.00", "USD", "cus:cus_bench", Status.EXECUTED),
        "pix": (Tool.PAY, "1.00", "BRL", "pix:maria@example.com", Status.UNKNOWN),
        "wire": (Tool.PAY, "1.00", "USD", "acct:123456789", Status.UNKNOWN),
        "stablecoin": (Tool.PAY, "1.00", "USDC", ADDRESS, Status.UNKNOWN),
        "mcp": (Tool.PAY, "1.00", "USD", "acct:123456789", Status.EXECUTED),
    }
    tool, amount, currency, counterparty, expected = shapes[kind]
    rail = "acme" if kind == "mcp" else None

    async def call(i: int) -> None:
        request = PaymentRequest(tool, f"bench {kind} {i}", amount, currency, counterparty,
                                 idempotency_key=f"{kind}-{i}", rail=rail)  # fmt: skip
        outcome = await rt.gate.request(caller, request, reference=f"ref_{kind}_{i}")
        assert outcome.status is expected, (kind, outcome)

    return call


def direct(http: httpx2.AsyncClient, kind: str, token: str, url: str) -> Callable[[int], Awaitable[None]]:
    async def call(i: int) -> None:
        key = f"direct-{kind}-{i}"
        if kind == "mcp":  # a session and one tool call, as the rail makes them
            async with Client(url) as client:
                result = await client.call_tool(
                    "create_payment", {"amount": 100, "currency": "USD", "to": "123456789", "ref": key}
                )
            assert not result.is_error, result
            return
        if kind == "card":
            form = {"amount": "100", "currency": "usd", "customer": "cus_bench", "confirm": "true",
                    "metadata[fiduciary_key]": key}  # fmt: skip
            answer = await http.post("/v1/payment_intents", data=form,
                                     headers={"Authorization": "Bearer sk_bench", "Idempotency-Key": key})  # fmt: skip
        elif kind == "pix":
            body = {"valor": "1.00", "pagador": {"chave": "financeiro@bench.com.br"},
                    "favorecido": {"chave": "maria@example.com"}}  # fmt: skip
            answer = await http.put(f"/v3/gn/pix/direct{i}", json=body, headers={"Authorization": f"Bearer {token}"})
        elif kind == "stablecoin":
            body = {"idempotencyKey": str(uuid.uuid4()), "source": {"type": "wallet", "id": WALLET},
                    "destination": {"type": "blockchain", "address": ADDRESS, "chain": "BASE"},
                    "amount": {"amount": "1.00", "currency": "USD"}}  # fmt: skip
            answer = await http.post("/v1/transfers", json=body, headers={"Authorization": "Bearer circle_bench"})
        else:
            body = {"type": "wire", "amount": 100, "direction": "credit", "currency": "USD",
                    "originating_account_id": "acc_bench",
                    "receiving_account": {"account_details": [{"account_number": "123456789"}]},
                    "metadata": {"fiduciary_key": key}}  # fmt: skip
            answer = await http.post("/api/payment_orders", json=body, auth=("org-1", "key-1"),
                                     headers={"Idempotency-Key": key})  # fmt: skip
        assert answer.status_code < 300, answer.text

    return call


async def timed(call: Callable[[int], Awaitable[None]], *, start: int, count: int) -> list[float]:
    samples = []
    for i in range(start, start + count):
        began = time.perf_counter()
        await call(i)
        samples.append((time.perf_counter() - began) * 1000)
    return samples


async def measure(calls: int, warmup: int) -> dict[str, Any]:
    fakes = {"card": FakeStripe("sk_bench"), "pix": FakePix("cid", "csecret"), "wire": FakeWire("org-1", "key-1")}
    circle = FakeCircle("circle_bench", WALLET)
    upstream = Upstream()
    report: dict[str, Any] = {"calls": calls, "warmup": warmup, "python": platform.python_version(),
                              "machine": platform.machine(), "rails": {}}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="fiduciary-bench-") as tmp:
        settings = Settings(home=Path(tmp), log_level="WARNING", environ=ENV)
        caller = await tenant(settings)
        async with (
            serve(fakes["card"]) as card,
            serve(fakes["pix"]) as pix,
            serve(fakes["wire"]) as wire,
            serve(circle) as stablecoin,
            served(upstream) as mcp,
        ):
            urls = {"card": card, "pix": pix, "wire": wire, "stablecoin": stablecoin, "mcp": mcp}
            settings.rails_path.write_text(rails_file(urls))
            async with open_runtime(settings) as rt:
                for kind, url in urls.items():
                    async with httpx2.AsyncClient(base_url=url, timeout=5) as http:
                        token = ""
                        if kind == "pix":
                            got = await http.post("/oauth/token", json={"grant_type": "client_credentials"},
                                                  auth=("cid", "csecret"))  # fmt: skip
                            token = got.json()["access_token"]
                        gov, raw = governed(rt, caller, kind), direct(http, kind, token, url)
                        await timed(gov, start=0, count=warmup)
                        await timed(raw, start=0, count=warmup)
                        gov_ms, raw_ms = [], []
                        for i in range(warmup, warmup + calls):  # interleaved: both see the same machine
                            gov_ms += await timed(gov, start=i, count=1)
                            raw_ms += await timed(raw, start=i, count=1)
                    g, d = percentiles(gov_ms), percentiles(raw_ms)
                    report["rails"][kind] = {"governed_ms": g, "direct_ms": d,
                                             "ratio_p50": round(g["p50"] / d["p50"], 1),
                                             "ratio_p99": round(g["p99"] / d["p99"], 1)}  # fmt: skip
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()
    report = anyio.run(measure, args.calls, args.warmup)
    print(f"governed payment vs a direct call of the same fake provider, {args.calls} calls each\n")
    print(f"{'rail':<12}{'gov p50':>10}{'gov p99':>10}{'direct p50':>12}{'direct p99':>12}{'x p50':>8}{'x p99':>8}")
    for kind, row in report["rails"].items():
        g, d = row["governed_ms"], row["direct_ms"]
        print(f"{kind:<12}{g['p50']:>10}{g['p99']:>10}{d['p50']:>12}{d['p99']:>12}"
              f"{row['ratio_p50']:>8}{row['ratio_p99']:>8}")  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "rails.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {RESULTS / 'rails.json'}")


if __name__ == "__main__":
    main()
