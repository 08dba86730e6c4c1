"""Control-plane commands: each parses its flags, calls the control service once, and prints."""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Callable
from typing import Any

import anyio

from fiduciary import shapes as render
from fiduciary.cli.printed import REFUSED, Printed, listing, record
from fiduciary.control import MandateSpec, Operator, Role, Scope, diff_policies
from fiduciary.domain import limits
from fiduciary.domain.codes import Code
from fiduciary.domain.decisions import Decision
from fiduciary.domain.errors import InputError
from fiduciary.domain.money import Money
from fiduciary.domain.results import Status
from fiduciary.policies import parse_policy
from fiduciary.runtime import Runtime
from fiduciary.terminal import ERASED, escape, table

Args = argparse.Namespace

_TXN_COLUMNS = [
    ("transaction_id", "transaction"),
    ("agent_id", "agent"),
    ("tool", "tool"),
    ("amount", "amount"),
    ("currency", "currency"),
    ("state", "state"),
    ("code", "code"),
    ("counterparty", "counterparty"),
    ("purpose", "purpose"),
    ("created_at", "created"),
]


# Operators.


async def operators_add(rt: Runtime, op: Operator, args: Args) -> Printed:
    added, token = await rt.control.operators.add(op, args.name, Role(args.role), expires_days=args.expires_days)
    data = {"operator_id": added.operator_id, "name": added.name, "role": added.role.value, "token": token}
    text = table([(added.operator_id, added.name, added.role.value)], ["operator", "name", "role"])
    text += f"\n\nOperator token (shown once, stored only as a hash):\n  {token}"
    return Printed(data, text)


async def operators_list(rt: Runtime, op: Operator, args: Args) -> Printed:
    items = [render.operator(row, status) for row, status in await rt.control.operators.list(op)]
    columns = [("operator_id", "operator"), ("name", "name"), ("role", "role"), ("status", "status")]
    return listing(items, [*columns, ("expires_at", "expires")], key="operators", empty="no operators")


async def operators_revoke(rt: Runtime, op: Operator, args: Args) -> Printed:
    row = await rt.control.operators.revoke(op, args.operator)
    return record(render.operator(row, "revoked"), title=f"operator {row.name} is revoked; its token no longer works")


# Agents.


async def agents_add(rt: Runtime, op: Operator, args: Args) -> Printed:
    row, token = await rt.control.agents.add(op, args.name, project_id=args.project)
    data = render.agent(row) | {"token": token}
    text = table([(row.ref.agent_id, row.name, row.ref.project_id)], ["agent", "name", "project"])
    text += f"\n\nAgent token (shown once, stored only as a hash):\n  {token}"
    text += "\nIt has no mandate yet: issue one with `fiduciary mandates issue --agent " + row.ref.agent_id + "`."
    return Printed(data, text)


async def agents_list(rt: Runtime, op: Operator, args: Args) -> Printed:
    items = [render.agent_details(a) for a in await rt.control.agents.list(op)]
    columns = [("agent_id", "agent"), ("name", "name"), ("project_id", "project"), ("disabled_at", "disabled")]
    return listing(items, [*columns, ("frozen_by", "frozen by")], key="agents", empty="no agents")


async def agents_show(rt: Runtime, op: Operator, args: Args) -> Printed:
    return record(render.agent_details(await rt.control.agents.show(op, args.agent)))


async def agents_rotate(rt: Runtime, op: Operator, args: Args) -> Printed:
    token = await rt.control.agents.rotate_token(op, args.agent)
    text = f"New token for {args.agent} (shown once; the old one no longer works):\n  {token}"
    return Printed({"agent_id": args.agent, "token": token}, text)


async def agents_disable(rt: Runtime, op: Operator, args: Args) -> Printed:
    row = await rt.control.agents.disable(op, args.agent, reason=args.reason)
    return record(render.agent(row), title=f"agent {args.agent} is disabled; its token no longer works")


# Mandates.


async def mandates_issue(rt: Runtime, op: Operator, args: Args) -> Printed:
    spec = MandateSpec(
        agent_id=args.agent,
        currency=args.currency,
        max_per_use=args.max_per_use,
        total_cap=args.total_cap,
        purpose=args.purpose,
        tools=tuple(args.tool or ("pay",)),
        max_uses=args.uses,
        counterparties=None if not args.counterparty else tuple(args.counterparty),
        categories=None if not args.category else tuple(args.category),
        countries=None if not args.country else tuple(args.country),
        rails=None if not args.rail else tuple(args.rail),
        not_before=args.not_before,
        expires_at=args.expires,
    )
    issued = await rt.control.mandates.issue(op, spec)
    return record(render.mandate(issued), title=f"mandate {issued.row.mandate_id} issued")


async def mandates_list(rt: Runtime, op: Operator, args: Args) -> Printed:
    found = await rt.control.mandates.list(op, agent_id=args.agent, include_all=args.all)
    columns = [
        ("mandate_id", "mandate"),
        ("agent_id", "agent"),
        ("status", "status"),
        ("currency", "currency"),
        ("max_per_use", "per use"),
        ("total_cap", "cap"),
        ("used", "used"),
        ("uses", "uses"),
        ("expires_at", "expires"),
    ]
    return listing([render.mandate(m) for m in found], columns, key="mandates", empty="no mandates")


async def mandates_show(rt: Runtime, op: Operator, args: Args) -> Printed:
    return record(render.mandate(await rt.control.mandates.show(op, args.mandate)))


async def mandates_revoke(rt: Runtime, op: Operator, args: Args) -> Printed:
    found = await rt.control.mandates.revoke(op, args.mandate, reason=args.reason)
    return record(render.mandate(found), title=f"mandate {args.mandate} is revoked")


async def mandates_renew(rt: Runtime, op: Operator, args: Args) -> Printed:
    found = await rt.control.mandates.renew(op, args.mandate, expires_at=args.expires)
    return record(render.mandate(found), title=f"mandate {args.mandate} is renewed")


# Wallets.


async def wallets_fund(rt: Runtime, op: Operator, args: Args) -> Printed:
    if (args.rail is None) != (args.source is None):
        raise InputError(Code.MISSING_ARGUMENT, "--rail and --from go together")
    if args.rail is not None:
        funding = await rt.control.wallets.fund_through(
            op, args.agent, (args.amount, args.currency), rail=args.rail, source=args.source
        )
        data = render.funding(funding)
        titles = {"credited": "credited", "failed": "not credited: the rail did not collect it",
                  "unknown": "waiting for the rail to confirm; credited when it does"}  # fmt: skip
        printed = record(data, title=f"funding {funding.funding_id}: {titles.get(funding.state, funding.state)}")
        return Printed(printed.data, printed.text, code=REFUSED if funding.state == "failed" else 0)
    after = await rt.control.wallets.fund(op, args.agent, (args.amount, args.currency))
    item = render.wallet(args.agent, after)
    return record(item, title=f"funded {args.amount} {after.currency} (sandbox)")


async def wallets_show(rt: Runtime, op: Operator, args: Args) -> Printed:
    items = [
        render.wallet(found.agent.ref.agent_id, w) | {"name": found.agent.name}
        for found in await rt.control.wallets.show(op, args.agent)
        for w in found.wallets
    ]
    columns = [("agent_id", "agent"), ("name", "name"), ("currency", "currency"), ("available", "available")]
    return listing(items, [*columns, ("held", "held")], key="wallets", empty="no wallets")


# Approvals.


async def approvals_list(rt: Runtime, op: Operator, args: Args) -> Printed:
    items = [render.held(h) for h in await rt.control.approvals.list(op, include_decided=args.all)]
    rows = [
        (
            i["approval_id"],
            i["status"],
            i["transaction"]["agent_id"],
            i["transaction"]["tool"],
            f"{i['transaction']['amount']} {i['transaction']['currency']}",
            i["transaction"]["counterparty"] or ERASED,
            i["transaction"]["purpose"][:60],
            i["rule_id"],
            (i["mandate"] or {}).get("mandate_id", "none"),
            (i["mandate"] or {}).get("left_after", ""),
            i["expires_at"],
        )
        for i in items
    ]
    headers = [
        "approval",
        "status",
        "agent",
        "tool",
        "amount",
        "counterparty",
        "purpose",
        "rule",
        "mandate",
        "mandate left",
    ]
    headers.append("expires")
    return Printed({"approvals": items}, table(rows, headers) if rows else "no payments wait for approval")


async def approvals_show(rt: Runtime, op: Operator, args: Args) -> Printed:
    return record(render.held(await rt.control.approvals.show(op, args.approval)))


async def approvals_decide(rt: Runtime, op: Operator, args: Args) -> Printed:
    if args.action == "approve":
        result = await rt.control.approvals.approve(op, args.approval)
    else:
        result = await rt.control.approvals.reject(op, args.approval, reason=args.reason)
    data = render.outcome(result)
    text = table(
        [(data["transaction_id"], data["status"], data["code"], data["rail_reference"])],
        ["transaction", "status", "code", "rail reference"],
    )
    # A rejection that went through is done; an approval that did not execute is not.
    done = result.status is Status.EXECUTED or (args.action == "reject" and result.code is Code.APPROVAL_REJECTED)
    return Printed(data, text, 0 if done else REFUSED)


# Kill switch.


def _scope(args: Args) -> tuple[Scope, str | None]:
    if args.all:
        return Scope.PLATFORM, None
    for scope in (Scope.AGENT, Scope.PROJECT, Scope.ORG, Scope.RAIL):
        target = getattr(args, scope.value)
        if target is not None:
            return scope, target
    raise AssertionError("argparse requires one scope")


async def kill(rt: Runtime, op: Operator, args: Args) -> Printed:
    scope, target = _scope(args)
    report = await rt.control.kill.pull(op, scope, target, reason=args.reason)
    data = render.kill(report)
    what = "the whole platform" if scope is Scope.PLATFORM else f"{scope.value} {report.target}"
    counts = [
        (k.replace("_", " "), data[k]) for k in ("agents", "mandates_revoked", "approvals_rejected", "rolled_back")
    ]
    text = f"Kill switch {report.switch_id} pulled for {what}; new calls are refused with agent_frozen.\n"
    return Printed(data, text + table(counts, ["what", "count"]))


async def unfreeze(rt: Runtime, op: Operator, args: Args) -> Printed:
    scope, target = _scope(args)
    report = await rt.control.kill.lift(op, scope, target)
    text = f"Lifted {', '.join(report.lifted)}. Revoked mandates stay revoked: issue new ones."
    return Printed(render.unfreeze(report), text)


# Transactions and audit.


async def transactions_list(rt: Runtime, op: Operator, args: Args) -> Printed:
    rows = await rt.control.records.transactions(
        op, limit=args.limit, org_id=args.org, agent_id=args.agent, state=args.state, before=args.before
    )
    items = [render.transaction(t) for t in rows]
    printed = listing([_shown(i) for i in items], _TXN_COLUMNS, key="transactions", empty="no transactions")
    next_before = rows[-1].transaction_id if len(rows) == args.limit else None
    return Printed({"transactions": items, "next_before": next_before}, printed.text)


async def transactions_show(rt: Runtime, op: Operator, args: Args) -> Printed:
    item = render.transaction(await rt.control.records.transaction(op, args.transaction))
    return Printed(item, record(_shown(item)).text)


def _shown(item: dict[str, Any]) -> dict[str, Any]:
    """A transaction as a table shows it: an erased counterparty says so (JSON keeps null)."""
    return item if item["counterparty"] is not None else item | {"counterparty": ERASED}


async def audit_show(rt: Runtime, op: Operator, args: Args) -> Printed:
    entries = [render.entry(e) for e in await rt.control.records.entries(op, args.id)]
    columns = [("org_id", "org"), ("seq", "seq"), ("ts", "time"), ("actor", "actor"), ("type", "type")]
    return listing(entries, [*columns, ("subject", "subject"), ("ref", "ref")], key="entries", empty="")


async def audit_verify(rt: Runtime, op: Operator, args: Args) -> Printed:
    reports = await rt.control.records.verify(
        op,
        args.org,
        signatures=not args.no_signatures,
        progress=None if getattr(args, "json", False) else _verify_progress(),
    )
    lines = []
    for org_id, report in reports:
        if report.ok:
            lines.append(f"OK      {org_id}: {report.checked} entries, head {report.head_hash.hex()[:16]}")
        else:
            lines.append(
                f"BROKEN  {org_id}: entry {report.broken_seq}: {report.reason} "
                f"({report.checked} entries before it verify)"
            )
    broken = any(not r.ok for _, r in reports)
    data = {"chains": [render.verify(o, r) for o, r in reports], "signatures": not args.no_signatures}
    return Printed(data, "\n".join(lines), REFUSED if broken else 0)


def _verify_progress() -> Callable[[str, int], None]:
    """On a terminal, a line each time a long chain passes another `limits.audit_progress_entries`."""
    shown: dict[str, int] = {}

    def show(org_id: str, checked: int) -> None:
        step = checked // limits.audit_progress_entries
        if step > shown.get(org_id, 0) and sys.stderr.isatty():
            shown[org_id] = step
            print(f"{org_id}: {checked} entries verified so far", file=sys.stderr, flush=True)

    return show


# Configuration.


async def policy_apply(rt: Runtime, op: Operator, args: Args) -> Printed:
    source = await anyio.Path(args.file).read_text()
    org_id, project_id, applied = await rt.control.config.apply_policy(op, args.org, args.project, source)
    data = {"org_id": org_id, "project_id": project_id, "version": applied.version, "changed": applied.changed}
    if not applied.changed:
        return Printed(data, f"policy version {applied.version} of {project_id} is already this file; nothing changed")
    text = f"policy version {applied.version} is active for {project_id}; approvals asked under the old one go stale"
    return Printed(data, text)


async def injection_apply(rt: Runtime, op: Operator, args: Args) -> Printed:
    source = await anyio.Path(args.file).read_text()
    org_id, applied = await rt.control.config.apply_injection(op, args.org, source)
    data = {"org_id": org_id, "version": applied.version, "changed": applied.changed}
    if not applied.changed:
        return Printed(data, f"screening config version {applied.version} of {org_id} is already this file")
    return Printed(data, f"injection screening config version {applied.version} is active for {org_id}")


def read_stdin_text() -> str:
    # Read a little more than the scorer looks at: it truncates (and flags) the rest anyway.
    return sys.stdin.read(limits.injection_text_chars_max + 1)


async def db_migrate(rt: Runtime, op: Operator, args: Args) -> Printed:
    await rt.control.records.migrated(op)
    where = rt.settings.database
    return Printed({"database": where, "up_to_date": True}, f"database {where} is up to date")


def policy_validate(args: Args) -> Printed:
    """Validate a policy file without a data directory; a bad file is exit 1 with its line and key."""
    with open(args.file, encoding="utf-8") as handle:
        parsed = parse_policy(handle.read())
    data = {"valid": True, "name": parsed.name, "rules": len(parsed.rules), "version_hash": parsed.version}
    return Printed(data, f"{args.file}: valid, {len(parsed.rules)} rules, version {parsed.version[:16]}")


async def policy_show(rt: Runtime, op: Operator, args: Args) -> Printed:
    row = await rt.control.config.active_policy(op, args.org, args.project)
    data = {
        "org_id": row.org_id,
        "project_id": row.project_id,
        "version": row.version,
        "version_hash": row.version_hash,
        "applied_by": row.applied_by,
        "applied_at": row.applied_at,
        "source": row.source,
    }
    head = f"# policy version {row.version} of {row.project_id}, applied by {row.applied_by} at {row.applied_at}\n"
    return Printed(data, head + row.source.rstrip("\n"))


async def policy_diff(rt: Runtime, op: Operator, args: Args) -> Printed:
    source = await anyio.Path(args.file).read_text()
    row = await rt.control.config.active_policy(op, args.org, args.project)
    found = diff_policies(row.source, source)
    data = {"version": row.version, "added": found.added, "removed": found.removed, "changed": found.changed}
    data["no_change"] = found.same_version
    if found.same_version:
        return Printed(data, f"{args.file} is the active policy (version {row.version}); applying it changes nothing")
    lines = difflib.unified_diff(
        row.source.splitlines(), source.splitlines(), f"active (version {row.version})", args.file, lineterm=""
    )
    summary = [f"rules added: {', '.join(found.added) or '-'}", f"rules removed: {', '.join(found.removed) or '-'}"]
    summary.append(f"rules changed: {', '.join(found.changed) or '-'}")
    return Printed(data, "\n".join([*summary, "", *(escape(line) for line in lines)]))


def _decision(decision: Decision) -> dict[str, object]:
    return {"verdict": decision.verdict.value, "code": decision.code.value, "rule_id": decision.rule_id}


async def policy_simulate(rt: Runtime, op: Operator, args: Args) -> Printed:
    source = await anyio.Path(args.file).read_text()
    project_id, found = await rt.control.config.simulate(op, args.org, args.project, source, days=args.days)
    changes = [
        {
            "transaction_id": c.transaction_id,
            "created_at": c.created_at,
            "agent_id": c.agent_id,
            "tool": c.tool,
            "amount": Money(c.amount_minor, c.currency).to_major(),
            "currency": c.currency,
            "before": _decision(c.before),
            "after": _decision(c.after),
        }
        for c in found.changes
    ]
    data = {"project_id": project_id, "days": found.days, "replayed": found.replayed, "truncated": found.truncated}
    head = f"replayed {found.replayed} calls of {project_id} from the last {found.days} days"
    head += " (the oldest were left out)" if found.truncated else ""
    if not changes:
        return Printed(data | {"changes": []}, f"{head}: no decision would change")
    rows = [
        (
            c.transaction_id,
            c.created_at,
            c.agent_id,
            f"{Money(c.amount_minor, c.currency)}",
            f"{c.before.verdict} {c.before.code}",
            f"{c.after.verdict} {c.after.code}",
            c.after.rule_id or "",
        )
        for c in found.changes
    ]
    headers = ["transaction", "created", "agent", "amount", "now", "under the file", "rule"]
    return Printed(data | {"changes": changes}, f"{head}; {len(changes)} would change:\n" + table(rows, headers))
