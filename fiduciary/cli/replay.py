"""`fiduciary audit replay`: the state each org's chain rebuilds, and how the tables differ from it.

Exit 0 when every chain replayed to its head agrees with the tables (or the replay stopped before
the head, where nothing is compared), 1 when any difference is found, 2 for bad input.
"""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any

from fiduciary import shapes as render
from fiduciary.cli.printed import REFUSED, Printed, UsageError
from fiduciary.control import Operator
from fiduciary.domain import limits
from fiduciary.domain.errors import InputError
from fiduciary.domain.money import CURRENCY_EXPONENTS, Money
from fiduciary.runtime import Runtime
from fiduciary.terminal import escape, table

Data = dict[str, Any]


async def audit_replay(rt: Runtime, op: Operator, args: argparse.Namespace) -> Printed:
    try:
        reports = await rt.control.records.replay(op, args.org, to_seq=args.to, to_time=args.to_time)
    except InputError as exc:
        raise UsageError(exc.code, exc.message) from exc
    items = [render.replay(report) for report in reports]
    data = {"replays": items, "agrees": all(report.agrees for report in reports)}
    differs = any(report.differences for report in reports)
    return Printed(data, "\n\n".join(_text(item) for item in items), REFUSED if differs else 0)


def _text(item: Data) -> str:
    lines = [_headline(item)]
    if item["differences"]:
        rows = [
            (d["kind"], d["project_id"], d["item"], _field(d["field"]), _value(d["rebuilt"], d), _value(d["table"], d))
            for d in item["differences"]
        ]
        lines += ["", table(rows, ["what", "project", "which", "field", "rebuilt from the chain", "in the table"])]
    if item["gaps"]:
        lines += ["", "Not rebuilt, and so not compared: these entries do not say what they changed."]
        gaps = [(g["seq"], g["type"], g["subject"], g["reason"], ", ".join(g["affects"])) for g in item["gaps"]]
        lines.append(table(gaps, ["seq", "type", "subject", "why", "leaves out"]))
    lines += _state(item)
    return "\n".join(lines)


def _headline(item: Data) -> str:
    org, seq, head = escape(item["org_id"]), item["through_seq"], item["head_seq"]
    if not item["compared"]:
        when = f"after entry {seq} ({escape(item['through_ts'])})" if seq else "before the first entry"
        return (
            f"AS OF    {org}: the state {when}; the head is entry {head}. "
            "Not compared with the tables, which hold only the current state."
        )
    count = len(item["differences"])
    verdict = f"{count} difference{'s' if count != 1 else ''}" if count else "the tables agree"
    line = f"{'DIFFERS' if count else 'AGREES':<8} {org}: {seq} entries replayed to the head; {verdict}"
    if not item["steady"]:
        line += f" (writes moved the head {limits.replay_rounds_max} times while the tables were read; run it again)"
    return line


def _state(item: Data) -> list[str]:
    lines = []
    wallets = [
        (w["project_id"], w["agent_id"], w["currency"], _major(w["available_minor"], w["currency"]),
         _major(w["held_minor"], w["currency"]))
        for w in item["wallets"]
    ]  # fmt: skip
    if wallets:
        lines += [
            "",
            "wallets, rebuilt from the chain",
            table(wallets, ["project", "agent", "currency", "available", "held"]),
        ]
    holds = [
        (h["transaction_id"], h["agent_id"], h["currency"], _major(h["amount_minor"], h["currency"]))
        for h in item["holds"]
    ]
    if holds:
        lines += ["", "holds, rebuilt from the chain", table(holds, ["transaction", "agent", "currency", "held"])]
    mandates = [
        (m["mandate_id"], m["agent_id"], m["status"], m["uses"], _major(m["used_minor"], m["currency"]), m["currency"])
        for m in item["mandates"]
    ]
    if mandates:
        lines += [
            "",
            "open mandates, rebuilt from the chain",
            table(mandates, ["mandate", "agent", "status", "uses", "used", "currency"]),
        ]
    transactions = item["transactions"]
    if transactions and item["compared"]:
        counts = Counter(t["state"] for t in transactions)
        lines += ["", "transactions: " + ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))]
    elif transactions:
        rows = [
            (t["transaction_id"], t["agent_id"], t["tool"], _major(t["amount_minor"], t["currency"]), t["currency"],
             t["state"])
            for t in transactions
        ]  # fmt: skip
        lines += ["", "transactions", table(rows, ["transaction", "agent", "tool", "amount", "currency", "state"])]
    return lines


def _field(name: str) -> str:
    return name.removesuffix("_minor")


def _value(value: object, difference: Data) -> str:
    if value is None:
        return "none"
    if difference["currency"] is not None:
        return f"{_major(value, difference['currency'])} {difference['currency']}"
    return str(value)


def _major(value: object, currency: str | None) -> str:
    """Minor units in major units, where the currency is known (a replayed one may not be)."""
    if type(value) is not int or currency not in CURRENCY_EXPONENTS or abs(value) > limits.amount_minor_max:
        return "unknown" if value is None else str(value)
    return Money(value, currency).to_major()
