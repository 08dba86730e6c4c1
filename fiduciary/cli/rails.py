"""`fiduciary rails ...` and `fiduciary reconcile ...`: thin shells over the control plane."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

from fiduciary import shapes
from fiduciary.cli.printed import Printed, listing
from fiduciary.control import Operator
from fiduciary.runtime import Runtime

Args = argparse.Namespace
RAIL_COLUMNS = [("name", "rail"), ("kind", "kind"), ("base_url", "address"), ("credential_source", "credential"),
                ("breaker", "breaker")]  # fmt: skip


async def rails_list(rt: Runtime, op: Operator, args: Args) -> Printed:
    found = [asdict(s) for s in await rt.control.rails.status(op)]
    return listing(found, RAIL_COLUMNS, key="rails", empty="No rails.")


async def rails_status(rt: Runtime, op: Operator, args: Args) -> Printed:
    found = [asdict(s) for s in await rt.control.rails.status(op, probe=True)]
    columns = [*RAIL_COLUMNS, ("reachable", "answers"), ("probe_ms", "ms"), ("problem", "problem")]
    printed = listing(found, columns, key="rails", empty="No rails.")
    down = any(item["reachable"] is False for item in found)
    return Printed(printed.data, printed.text, code=1 if down else 0)


async def rails_add(rt: Runtime, op: Operator, args: Args) -> Printed:
    entry: dict[str, Any] = {
        "name": args.name,
        "kind": args.kind,
        "base_url": args.base_url,
        "credential_env": args.credential_env,
        "credential_file": args.credential_file,
        "timeout_ms": args.timeout_ms,
        "payer_key": args.payer_key,
        "originating_account_id": args.originating_account_id,
        "source_wallet_id": args.source_wallet_id,
        "chain": args.chain,
    }
    added = await rt.control.rails.add(op, {k: v for k, v in entry.items() if v is not None})
    data = {"name": added.name, "kind": added.kind.value, "base_url": added.base_url,
            "credential_source": added.credential_source}  # fmt: skip
    return Printed(data, f"Added rail {added.name} ({added.kind}). Restart the server to use it.")


async def reconcile_list(rt: Runtime, op: Operator, args: Args) -> Printed:
    found = [shapes.flag(f) for f in await rt.control.reconciliation.flags(op, include_resolved=args.all)]
    columns = [("flag_id", "flag"), ("kind", "kind"), ("rail", "rail"), ("transaction_id", "transaction"),
               ("rail_reference", "rail reference"), ("raised_at", "raised"), ("resolved_at", "resolved")]  # fmt: skip
    return listing(found, columns, key="flags", empty="No open flags.")


async def reconcile_resolve(rt: Runtime, op: Operator, args: Args) -> Printed:
    resolved = shapes.flag(await rt.control.reconciliation.resolve(op, args.flag, note=args.note))
    return Printed(resolved, f"Resolved {resolved['flag_id']}.")


async def reconcile_decide(rt: Runtime, op: Operator, args: Args) -> Printed:
    txn = await rt.control.reconciliation.decide(op, args.transaction, settled_reference=args.settled, note=args.note)
    data = shapes.transaction(txn)
    return Printed(data, f"Transaction {txn.transaction_id} is {txn.state}.")


async def reconcile_run(rt: Runtime, op: Operator, args: Args) -> Printed:
    reports = [asdict(r) for r in await rt.control.reconciliation.run(op, hours=args.hours)]
    columns = [("rail", "rail"), ("receipts", "receipts"), ("settled", "settled"), ("flags", "new flags"),
               ("error", "problem")]  # fmt: skip
    printed = listing(reports, columns, key="rails", empty="No rails.")
    failed = any(r["error"] for r in reports)
    return Printed(printed.data, printed.text, code=1 if failed else 0)
