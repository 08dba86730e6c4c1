"""Setting up and running: `init`, `serve`, `demo`, `db migrate` and `scan`."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio

from fiduciary.cli.printed import Printed
from fiduciary.control import Tenant, TenantSpec
from fiduciary.domain.errors import FiduciaryError
from fiduciary.domain.money import parse_amount
from fiduciary.mandates import OpenTerms
from fiduciary.policies import default_source, parse_policy
from fiduciary.runtime import Runtime, open_runtime
from fiduciary.settings import Settings, check_dashboard_url
from fiduciary.terminal import table

Args = argparse.Namespace
log = logging.getLogger("fiduciary")


def mcp_entry(settings: Settings, token: str) -> dict[str, Any]:
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


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` atomically, mode 0600 (it holds a token)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    tmp.replace(path)


def tracked_by_git(path: Path) -> bool:
    """Whether git tracks `path` (a token must never be written into such a file)."""
    try:
        done = subprocess.run(  # noqa: S603 (fixed argv, no shell)
            ["git", "ls-files", "--error-unmatch", path.name],  # noqa: S607 (git from PATH)
            cwd=path.parent,
            capture_output=True,
            check=False,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _terms(args: Args) -> tuple[Any, OpenTerms]:
    funding = parse_amount(args.fund, args.currency)
    cap = parse_amount(args.mandate_cap, args.currency).amount_minor
    per_use = min(parse_amount(args.mandate_max, args.currency).amount_minor, cap)
    terms = OpenTerms(
        currency=funding.currency,
        max_per_use_minor=per_use,
        total_cap_minor=cap,
        tools=("pay", "charge", "refund"),
        purpose="default mandate created by fiduciary init",
    )
    return funding, terms


def _check_init(args: Args) -> tuple[Path, dict[str, Any], str]:
    """Everything init could refuse, refused before any data exists: tokens are shown only once."""
    mcp_json = Path(args.mcp_json).absolute()
    config = read_mcp_config(mcp_json)
    if not mcp_json.parent.is_dir() or not os.access(mcp_json.parent, os.W_OK):
        raise FiduciaryError(f"cannot write {mcp_json}: its directory does not exist or is not writable")
    if not 1 <= args.mandate_days <= 366:
        raise FiduciaryError("--mandate-days must be 1 to 366")
    policy_source = Path(args.policy).read_text() if args.policy else default_source()
    policy = parse_policy(policy_source)
    if args.currency not in policy.currencies:
        allowed = ", ".join(sorted(policy.currencies))
        raise FiduciaryError(
            f"the policy allows only {allowed}, so every {args.currency} payment would be refused; "
            f"pass --policy with a policy that allows {args.currency}"
        )
    return mcp_json, config, policy_source


async def init(settings: Settings, args: Args) -> Printed:
    mcp_json, config, policy_source = await anyio.to_thread.run_sync(_check_init, args)
    funding, terms = _terms(args)
    async with open_runtime(settings, resume=False, create=True) as rt:
        agents, operators = await rt.store.read.agents(), await rt.store.read.operators()
        if agents and not operators:
            return await _upgrade(rt, settings, args)
        if agents or operators:
            rows = [(a.ref.agent_id, a.name, a.ref.org_id, a.ref.project_id) for a in agents]
            text = f"fiduciary is already initialised in {settings.home}; nothing was changed.\n"
            data = {"home": str(settings.home), "initialised": False}
            return Printed(data, text + table(rows, ["agent", "name", "org", "project"]))
        spec = TenantSpec(args.org_name, args.agent_name, policy_source, funding, terms, args.mandate_days)
        tenant = await rt.control.initialise(spec, admin_name=args.admin_name)
    assert tenant.admin_token is not None
    write_private(settings.operator_token_path, tenant.admin_token + "\n")
    return _wire_client(settings, mcp_json, config, tenant, funding)


async def _upgrade(rt: Runtime, settings: Settings, args: Args) -> Printed:
    """A home made before operators existed: give it its first admin, change nothing else."""
    admin, token = await rt.control.first_admin(admin_name=args.admin_name)
    write_private(settings.operator_token_path, token + "\n")
    text = (
        f"fiduciary in {settings.home} had no operators: {admin.name} ({admin.operator_id}) is its first admin.\n"
        f"The admin's operator token is in {settings.operator_token_path} (0600); commands here use it."
    )
    data = {
        "home": str(settings.home),
        "admin_operator_id": admin.operator_id,
        "admin_token_file": str(settings.operator_token_path),
    }
    return Printed(data, text)


def _wire_client(settings: Settings, mcp_json: Path, config: dict[str, Any], tenant: Tenant, funding: Any) -> Printed:
    entry = mcp_entry(settings, tenant.agent_token)
    tracked = tracked_by_git(mcp_json)
    if not tracked:
        config.setdefault("mcpServers", {})["fiduciary"] = entry
        write_private(mcp_json, json.dumps(config, indent=2) + "\n")
    claude = shlex.join(
        [
            "claude",
            "mcp",
            "add",
            "fiduciary",
            "-e",
            f"FIDUCIARY_AGENT_TOKEN={tenant.agent_token}",
            "--",
            entry["command"],
            *entry["args"],
        ]
    )
    data = {
        "home": str(settings.home),
        "org_id": tenant.org_id,
        "project_id": tenant.project_id,
        "agent_id": tenant.agent_id,
        "agent_token": tenant.agent_token,
        "mandate_id": tenant.mandate_id,
        "admin_operator_id": tenant.admin.operator_id,
        "admin_token_file": str(settings.operator_token_path),
        "mcp_json": None if tracked else str(mcp_json),
        "mcp_entry": entry,
        "claude_mcp_add": claude,
    }
    rows = [
        ("org", tenant.org_id),
        ("project", tenant.project_id),
        ("agent", tenant.agent_id),
        ("wallet", str(funding)),
        ("open mandate", tenant.mandate_id),
        ("admin", f"{tenant.admin.name} ({tenant.admin.operator_id})"),
        ("admin token", settings.operator_token_path),
        ("mcp.json", "not written (tracked by git)" if tracked else mcp_json),
    ]
    text = f"Initialised fiduciary in {settings.home}\n" + table(rows, ["what", "value"])
    if tracked:
        text += (
            f"\n\n{mcp_json} is tracked by git, so the agent token was not written into it. "
            "Add this entry to your client's config yourself:\n"
            + json.dumps({"mcpServers": {"fiduciary": entry}}, indent=2)
        )
        text += f"\n\nAgent token (shown once, stored only as a hash):\n  {tenant.agent_token}"
    else:
        text += (
            f"\n\nAgent token (shown once, stored only as a hash; it is also in {mcp_json}):\n  {tenant.agent_token}"
        )
    text += f"\n\nOr register it with Claude Code:\n  {claude}"
    text += f"\n\nThe admin's operator token is in {settings.operator_token_path} (0600); commands here use it."
    return Printed(data, text)


def _with_dashboard_url(settings: Settings, args: Args) -> Settings:
    """The dashboard's address: --dashboard-url, else FIDUCIARY_DASHBOARD_URL, else the admin listener's."""
    if args.dashboard_url:
        return replace(settings, dashboard_url=check_dashboard_url(args.dashboard_url, what="--dashboard-url"))
    if settings.dashboard_url is None and args.admin_port:
        host = f"[{args.admin_host}]" if ":" in args.admin_host else args.admin_host
        return replace(settings, dashboard_url=f"http://{host}:{args.admin_port}")
    return settings


def serve(settings: Settings, args: Args) -> int:
    from fiduciary.server.agent_plane import AgentPlane

    if not settings.initialised:
        raise FiduciaryError(f"no fiduciary data in {settings.home}: run `fiduciary init` first")
    if args.http:
        import uvicorn

        from fiduciary.server.admin import build_admin_app
        from fiduciary.server.http import build_http_app

        settings = _with_dashboard_url(settings, args)
        app = build_http_app(settings, host=args.host, port=args.port)
        level = settings.log_level.lower()
        servers = [
            uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port, log_config=None, log_level=level))
        ]
        if args.admin_port:
            # The admin listener binds apart, so a network that reaches /mcp need not reach /admin.
            admin = build_admin_app(app.state.runtime)
            config = uvicorn.Config(
                admin, host=args.admin_host, port=args.admin_port, log_config=None, log_level=level, lifespan="off"
            )
            servers.append(uvicorn.Server(config))

        async def run_all() -> None:
            async with anyio.create_task_group() as tg:
                for server in servers:
                    tg.start_soon(server.serve)

        anyio.run(run_all)
        return 0
    if settings.agent_token is None:
        log.warning("FIDUCIARY_AGENT_TOKEN is not set: every tool call will be refused")
    AgentPlane(lambda: open_runtime(settings, maintain=True), agent_token=settings.agent_token).run("stdio")
    return 0
