"""The `fiduciary` command: set-up, the server, and the control plane for operators.

Every command takes `--home` (default `./.fiduciary`, or `FIDUCIARY_HOME`). Control-plane
commands record `--operator` (default `FIDUCIARY_OPERATOR` or the OS user) in the audit chain.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import anyio

from fiduciary import control
from fiduciary.domain import limits
from fiduciary.domain.clock import SystemClock
from fiduciary.domain.errors import FiduciaryError
from fiduciary.domain.money import Money, parse_amount
from fiduciary.mandates import OpenTerms
from fiduciary.policies import parse_policy
from fiduciary.runtime import Runtime, open_runtime
from fiduciary.settings import Settings, load_settings
from fiduciary.store import SqliteStore


def default_policy_source() -> str:
    return resources.files("fiduciary.policies").joinpath("default.toml").read_text()


def print_table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> None:
    """A plain aligned table on stdout."""
    cells = [[str(h) for h in headers], *[[("" if c is None else str(c)) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for index, row in enumerate(cells):
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if index == 0:
            print("  ".join("-" * w for w in widths))


# init


def _mcp_entry(settings: Settings, token: str) -> dict[str, Any]:
    return {
        "command": sys.executable,
        "args": ["-m", "fiduciary", "serve", "--home", str(settings.home)],
        "env": {"FIDUCIARY_AGENT_TOKEN": token},
    }


def read_mcp_config(path: Path) -> dict[str, Any]:
    """Read an MCP client config to update; refuse (before anything is created) one we would damage."""
    if not path.exists():
        return {}
    try:
        config = json.loads(path.read_text() or "{}")
    except json.JSONDecodeError as exc:
        raise FiduciaryError(f"{path} is not valid JSON; fix or move it, then run init again") from exc
    if not isinstance(config, dict) or not isinstance(config.get("mcpServers", {}), dict):
        raise FiduciaryError(f"{path} does not hold an MCP config object")
    return config


def write_mcp_config(path: Path, config: dict[str, Any], entry: dict[str, Any]) -> None:
    """Add or replace the `fiduciary` server, keeping every other entry; the file is 0600 (it holds a token)."""
    config.setdefault("mcpServers", {})["fiduciary"] = entry
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps(config, indent=2) + "\n")
    tmp.replace(path)


def _init_terms(args: argparse.Namespace) -> tuple[Money, OpenTerms]:
    funding = parse_amount(args.fund, args.currency)
    cap = parse_amount(args.mandate_cap, args.currency).amount_minor
    per_use = min(parse_amount(args.mandate_max, args.currency).amount_minor, cap)
    terms = OpenTerms(
        currency=args.currency,
        max_per_use_minor=per_use,
        total_cap_minor=cap,
        tools=("pay", "charge", "refund"),
        purpose="default mandate created by fiduciary init",
    )
    return funding, terms


def _check_init(mcp_json: Path, args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    """Everything init could refuse, refused before any data exists: the token is shown only once."""
    config = read_mcp_config(mcp_json)
    if not mcp_json.parent.is_dir() or not os.access(mcp_json.parent, os.W_OK):
        raise FiduciaryError(f"cannot write {mcp_json}: its directory does not exist or is not writable")
    if args.mandate_days < 1:
        raise FiduciaryError("--mandate-days must be at least 1")
    policy = Path(args.policy).read_text() if args.policy else default_policy_source()
    parse_policy(policy)
    return config, policy


def cmd_init(settings: Settings, args: argparse.Namespace) -> int:
    mcp_json = Path(args.mcp_json).absolute()
    config, policy = _check_init(mcp_json, args)
    funding, terms = _init_terms(args)
    tenant = anyio.run(_init_tenant, settings, args, policy, funding, terms)
    if tenant is None:
        return 0
    write_mcp_config(mcp_json, config, _mcp_entry(settings, tenant.agent_token))
    print(f"Initialised fiduciary in {settings.home}")
    rows = [
        ("org", tenant.org_id),
        ("project", tenant.project_id),
        ("agent", tenant.agent_id),
        ("wallet", str(funding)),
        ("open mandate", tenant.mandate_id),
        ("mcp.json", mcp_json),
    ]
    print_table(rows, ["what", "value"])
    print(f"\nAgent token (shown once, stored only as a hash; it is also in {mcp_json}):")
    print(f"  {tenant.agent_token}")
    return 0


async def _init_tenant(
    settings: Settings, args: argparse.Namespace, policy: str, funding: Money, terms: OpenTerms
) -> control.Tenant | None:
    store = await SqliteStore.open(settings.db_path, clock=SystemClock(), master_key=settings.ensure_master_key())
    try:
        agents = await store.read.agents()
        if agents:
            print(f"fiduciary is already initialised in {settings.home}; nothing was changed.")
            print_table(
                [(a.ref.agent_id, a.name, a.ref.org_id, a.ref.project_id) for a in agents],
                ["agent", "name", "org", "project"],
            )
            return None
        spec = control.TenantSpec(
            org_name=args.org_name,
            agent_name=args.agent_name,
            policy_source=policy,
            funding=funding,
            terms=terms,
            mandate_days=args.mandate_days,
            operator=settings.operator,
        )
        return await control.bootstrap(store, spec)
    finally:
        await store.close()


# serve


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from fiduciary.server.agent_plane import AgentPlane

    if not settings.db_path.exists():
        raise FiduciaryError(f"no fiduciary data in {settings.home}: run `fiduciary init` first")
    if args.http:
        import uvicorn

        from fiduciary.server.http import build_http_app

        app = build_http_app(settings, host=args.host, port=args.port)
        uvicorn.run(app, host=args.host, port=args.port, log_level=settings.log_level.lower())
        return 0
    if settings.agent_token is None:
        logging.getLogger("fiduciary").warning("FIDUCIARY_AGENT_TOKEN is not set: every tool call will be refused")
    AgentPlane(lambda: open_runtime(settings), agent_token=settings.agent_token).run("stdio")
    return 0


# control plane


async def _with_runtime(settings: Settings, action: Callable[[Runtime], Awaitable[int]]) -> int:
    async with open_runtime(settings, resume=False) as runtime:
        return await action(runtime)


async def cmd_approvals(settings: Settings, args: argparse.Namespace) -> int:
    async def run(rt: Runtime) -> int:
        await rt.gate.expire_approvals()
        if args.action == "list":
            rows = []
            for approval in await rt.store.read.approvals(status=None if args.all else "pending"):
                txn = await rt.store.read.transaction_by_id(approval.transaction_id)
                assert txn is not None
                rows.append(
                    (
                        approval.approval_id,
                        approval.status,
                        txn.agent_id,
                        txn.tool.value,
                        str(txn.amount),
                        txn.counterparty,
                        txn.purpose[:40],
                        approval.rule_id,
                        approval.expires_at,
                    )
                )
            print_table(
                rows, ["approval", "status", "agent", "tool", "amount", "counterparty", "purpose", "rule", "expires"]
            )
            return 0
        if args.action == "approve":
            outcome = await rt.gate.approve(args.approval_id, operator=settings.operator)
        else:
            outcome = await rt.gate.reject(args.approval_id, operator=settings.operator, reason=args.reason)
        print_table(
            [(outcome.transaction_id, outcome.status.value, outcome.code.value, outcome.rail_reference)],
            ["transaction", "status", "code", "rail reference"],
        )
        return 0

    return await _with_runtime(settings, run)


async def cmd_kill(settings: Settings, args: argparse.Namespace) -> int:
    async def run(rt: Runtime) -> int:
        counts = await control.kill(rt.gate, args.agent, reason=args.reason, operator=settings.operator)
        print(f"Kill switch pulled for {args.agent}; later calls are refused with agent_frozen.")
        print_table([(k.replace("_", " "), v) for k, v in counts.items()], ["what", "count"])
        return 0

    return await _with_runtime(settings, run)


async def cmd_audit(settings: Settings, args: argparse.Namespace) -> int:
    async def run(rt: Runtime) -> int:
        if args.action == "show":
            entries = await rt.store.read.audit_by_ref(args.reference)
            for entry in entries:
                print(json.dumps(entry.body.to_json(), ensure_ascii=False))
            if not entries:
                print(f"no audit entries carry the reference {args.reference}", file=sys.stderr)
            return 0 if entries else 1
        orgs = [args.org] if args.org else await rt.store.read.org_ids()
        broken = 0
        for org_id in orgs:
            report = await control.verify_audit(rt.store, org_id)
            if report.ok:
                print(f"OK      {org_id}: {report.checked} entries, head {report.head_hash.hex()[:16]}")
            else:
                broken += 1
                print(
                    f"BROKEN  {org_id}: entry {report.broken_seq}: {report.reason} "
                    f"({report.checked} entries before it verify)"
                )
        return 1 if broken else 0

    return await _with_runtime(settings, run)


async def cmd_wallets(settings: Settings, args: argparse.Namespace) -> int:
    async def run(rt: Runtime) -> int:
        rows = []
        for agent in await rt.store.read.agents():
            if args.agent and agent.ref.agent_id != args.agent:
                continue
            for wallet in await rt.store.read.wallets(agent.ref):
                rows.append(
                    (
                        agent.ref.agent_id,
                        agent.name,
                        wallet.currency,
                        wallet.available.to_major(),
                        wallet.held.to_major(),
                    )
                )
        print_table(rows, ["agent", "name", "currency", "available", "held"])
        return 0

    return await _with_runtime(settings, run)


async def cmd_scan(settings: Settings, args: argparse.Namespace) -> int:
    from fiduciary import injection
    from fiduciary.injection.report import format_report, report_json

    # Read a little more than the scorer looks at: it truncates (and flags) the rest anyway.
    text = sys.stdin.read(limits.injection_text_chars_max + 1) if args.text == "-" else args.text
    config = None
    if args.org:
        async with open_runtime(settings, resume=False) as rt:
            config = await rt.gate.configs.for_org(rt.store.read, args.org)
    result = injection.score(text, context=injection.ScanContext(tool=args.tool, config=config))
    print(json.dumps(report_json(result), indent=2) if args.json else format_report(result))
    return 2 if result.blocked else 0


async def _tenant_scope(rt: Runtime, *, org: str | None, project: str | None) -> tuple[str, str]:
    """The org and project a command means: as given, or the only one there is."""
    scopes = sorted({(a.ref.org_id, a.ref.project_id) for a in await rt.store.read.agents()})
    scopes = [s for s in scopes if (org is None or s[0] == org) and (project is None or s[1] == project)]
    if len(scopes) != 1:
        raise FiduciaryError("name the tenant with --org/--project" if scopes else "no such org or project")
    return scopes[0]


async def cmd_policy(settings: Settings, args: argparse.Namespace) -> int:
    source = await anyio.Path(args.file).read_text()

    async def run(rt: Runtime) -> int:
        org_id, project_id = await _tenant_scope(rt, org=args.org, project=args.project)
        version = await control.apply_policy(rt.store, org_id, project_id, source, operator=settings.operator)
        print(
            f"policy version {version} is active for {project_id}; pending approvals asked under the old one go stale"
        )
        return 0

    return await _with_runtime(settings, run)


async def cmd_injection(settings: Settings, args: argparse.Namespace) -> int:
    source = await anyio.Path(args.file).read_text()

    async def run(rt: Runtime) -> int:
        org_id, _ = await _tenant_scope(rt, org=args.org, project=None)
        version = await control.apply_injection_config(rt.store, org_id, source, operator=settings.operator)
        print(f"injection screening config version {version} is active for {org_id}")
        return 0

    return await _with_runtime(settings, run)


async def cmd_db(settings: Settings, args: argparse.Namespace) -> int:
    store = await SqliteStore.open(settings.db_path, clock=SystemClock(), master_key=settings.ensure_master_key())
    await store.close()
    print(f"database {settings.db_path} is up to date")
    return 0


async def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from fiduciary.demo import run_demo

    return await run_demo(keep=args.keep)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a flag given before the subcommand is not reset by the subcommand's own default.
    common.add_argument(
        "--home", default=argparse.SUPPRESS, help="data directory (default ./.fiduciary or FIDUCIARY_HOME)"
    )
    common.add_argument(
        "--operator",
        default=argparse.SUPPRESS,
        help="operator name for the audit chain (default FIDUCIARY_OPERATOR or the OS user)",
    )
    parser = argparse.ArgumentParser(prog="fiduciary", description=__doc__, parents=[common])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("init", parents=[common], help="create the data directory, a funded agent and mcp.json")
    p.add_argument("--mcp-json", default="mcp.json", help="MCP client config to write or update (default ./mcp.json)")
    p.add_argument("--org-name", default="my-org")
    p.add_argument("--agent-name", default="agent-1")
    p.add_argument("--policy", help="policy TOML (default: the packaged examples/policies/default.toml)")
    p.add_argument("--fund", default="1000.00", help="sandbox funds for the wallet, major units (default 1000.00)")
    p.add_argument("--currency", default="USD")
    p.add_argument("--mandate-max", default="500.00", help="open mandate: max per payment (default 500.00)")
    p.add_argument("--mandate-cap", default="5000.00", help="open mandate: total cap (default 5000.00)")
    p.add_argument("--mandate-days", type=int, default=30, help="open mandate lifetime in days (default 30)")
    p.set_defaults(run=None, blocking=cmd_init)

    p = sub.add_parser("serve", parents=[common], help="run the MCP server (stdio, or --http)")
    p.add_argument("--http", action="store_true", help="serve Streamable HTTP /mcp, SSE /sse and /healthz")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.set_defaults(run=None, blocking=cmd_serve)

    p = sub.add_parser("demo", parents=[common], help="walk an agent through the gate in a temporary directory")
    p.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    p.set_defaults(run=cmd_demo)

    p = sub.add_parser("approvals", parents=[common], help="list, approve or reject held payments")
    a = p.add_subparsers(dest="action", required=True)
    q = a.add_parser("list", parents=[common])
    q.add_argument("--all", action="store_true", help="include decided approvals")
    a.add_parser("approve", parents=[common]).add_argument("approval_id")
    q = a.add_parser("reject", parents=[common])
    q.add_argument("approval_id")
    q.add_argument("--reason", required=True)
    p.set_defaults(run=cmd_approvals)

    p = sub.add_parser("kill", parents=[common], help="freeze an agent: revoke its mandates, stop what is in flight")
    p.add_argument("--agent", required=True)
    p.add_argument("--reason", required=True)
    p.set_defaults(run=cmd_kill)

    p = sub.add_parser("audit", parents=[common], help="verify the audit chain or show the entries of a reference")
    a = p.add_subparsers(dest="action", required=True)
    a.add_parser("verify", parents=[common]).add_argument("--org", help="only this org (default: every org)")
    a.add_parser("show", parents=[common]).add_argument("reference", help="a ref_... id from a tool result")
    p.set_defaults(run=cmd_audit)

    p = sub.add_parser("wallets", parents=[common], help="show wallet balances")
    a = p.add_subparsers(dest="action", required=True)
    a.add_parser("show", parents=[common]).add_argument("--agent")
    p.set_defaults(run=cmd_wallets)

    p = sub.add_parser("scan", parents=[common], help="score a text for prompt injection (exit 2 if blocked)")
    p.add_argument("text", help="the text, or - to read standard input")
    p.add_argument("--json", action="store_true", help="print the matches as JSON")
    p.add_argument("--org", help="apply this org's screening config (thresholds, custom patterns)")
    p.add_argument("--tool", help="score as an argument of this tool (per-tool thresholds)")
    p.set_defaults(run=cmd_scan)

    p = sub.add_parser("policy", parents=[common], help="apply a policy file to a project (a new version)")
    a = p.add_subparsers(dest="action", required=True)
    q = a.add_parser("apply", parents=[common])
    q.add_argument("file", help="policy TOML, see examples/policies/default.toml")
    q.add_argument("--org")
    q.add_argument("--project")
    p.set_defaults(run=cmd_policy)

    p = sub.add_parser("injection", parents=[common], help="apply an org's injection screening config")
    a = p.add_subparsers(dest="action", required=True)
    q = a.add_parser("apply", parents=[common])
    q.add_argument("file", help="screening TOML, see examples/injection/org.toml")
    q.add_argument("--org")
    p.set_defaults(run=cmd_injection)

    p = sub.add_parser("db", parents=[common], help="database maintenance")
    a = p.add_subparsers(dest="action", required=True)
    a.add_parser("migrate", parents=[common])
    p.set_defaults(run=cmd_db)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(home=getattr(args, "home", None), operator=getattr(args, "operator", None))
        logging.basicConfig(level=settings.log_level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
        if args.run is None:
            blocking: Callable[[Settings, argparse.Namespace], int] = args.blocking
            return blocking(settings, args)
        code: int = anyio.run(args.run, settings, args)
        return code
    except FiduciaryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file named on the command line is missing or unreadable
        logging.getLogger("fiduciary").debug("command failed", exc_info=True)
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
