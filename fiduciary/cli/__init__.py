"""The `fiduciary` command: set-up, the server, and the control plane for operators.

Control-plane commands act as an authenticated operator: `--token`, else
`FIDUCIARY_OPERATOR_TOKEN`, else the admin token `init` left in the data directory. They find
the data directory from `--home`, else `FIDUCIARY_HOME`, else the nearest `.fiduciary` in the
current directory or its parents. Exit codes: 0 done, 1 refused, denied or broken, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Sequence

import anyio

from fiduciary import __version__, logs
from fiduciary.cli import commands as c
from fiduciary.cli import evidence as e
from fiduciary.cli import keys as k
from fiduciary.cli import privacy as pv
from fiduciary.cli import rails as r
from fiduciary.cli import sinks as sk
from fiduciary.cli.parser import build_parser
from fiduciary.cli.printed import REFUSED, USAGE, Printed, UsageError
from fiduciary.cli.replay import audit_replay
from fiduciary.cli.setup import init, serve
from fiduciary.control import Operator
from fiduciary.domain.errors import AccessError, ConfigError, FiduciaryError, InputError
from fiduciary.runtime import Runtime, open_runtime
from fiduciary.settings import Settings, load_settings, log_level
from fiduciary.terminal import escape

Handler = Callable[[Runtime, Operator, argparse.Namespace], Awaitable[Printed]]

HANDLERS: dict[tuple[str, str | None], Handler] = {
    ("operators", "add"): c.operators_add,
    ("operators", "list"): c.operators_list,
    ("operators", "revoke"): c.operators_revoke,
    ("agents", "add"): c.agents_add,
    ("agents", "list"): c.agents_list,
    ("agents", "show"): c.agents_show,
    ("agents", "rotate-token"): c.agents_rotate,
    ("agents", "disable"): c.agents_disable,
    ("mandates", "issue"): c.mandates_issue,
    ("mandates", "list"): c.mandates_list,
    ("mandates", "show"): c.mandates_show,
    ("mandates", "revoke"): c.mandates_revoke,
    ("mandates", "renew"): c.mandates_renew,
    ("wallets", "fund"): c.wallets_fund,
    ("wallets", "show"): c.wallets_show,
    ("approvals", "list"): c.approvals_list,
    ("approvals", "show"): c.approvals_show,
    ("approvals", "approve"): c.approvals_decide,
    ("approvals", "reject"): c.approvals_decide,
    ("kill", None): c.kill,
    ("unfreeze", None): c.unfreeze,
    ("transactions", "list"): c.transactions_list,
    ("transactions", "show"): c.transactions_show,
    ("audit", "show"): c.audit_show,
    ("audit", "verify"): c.audit_verify,
    ("audit", "replay"): audit_replay,
    ("policy", "apply"): c.policy_apply,
    ("policy", "show"): c.policy_show,
    ("policy", "diff"): c.policy_diff,
    ("policy", "simulate"): c.policy_simulate,
    ("injection", "apply"): c.injection_apply,
    ("db", "migrate"): c.db_migrate,
    ("audit", "checkpoint"): e.audit_checkpoint,
    ("audit", "prove"): e.audit_prove,
    ("audit", "export"): e.audit_export,
    ("audit", "sink"): sk.audit_sink,
    ("keys", "list"): k.keys_list,
    ("keys", "export-jwks"): k.keys_export_jwks,
    ("keys", "rotate"): k.keys_rotate,
    ("dsr", "erase"): pv.dsr_erase,
    ("legal-hold", "set"): pv.legal_hold_set,
    ("legal-hold", "clear"): pv.legal_hold_clear,
    ("legal-hold", "list"): pv.legal_hold_list,
    ("rails", "list"): r.rails_list,
    ("rails", "status"): r.rails_status,
    ("rails", "add"): r.rails_add,
    ("reconcile", "list"): r.reconcile_list,
    ("reconcile", "resolve"): r.reconcile_resolve,
    ("reconcile", "run"): r.reconcile_run,
    ("reconcile", "decide"): r.reconcile_decide,
}


def operator_token(settings: Settings) -> str | None:
    """`--token` or FIDUCIARY_OPERATOR_TOKEN, else the admin token file `init` wrote."""
    if settings.operator_token:
        return settings.operator_token
    try:
        return settings.operator_token_path.read_text().strip() or None
    except FileNotFoundError:
        return None


async def as_operator(settings: Settings, args: argparse.Namespace) -> Printed:
    handler = HANDLERS[(args.command, getattr(args, "action", None))]
    async with open_runtime(settings, resume=False) as rt:
        op = await rt.control.operators.authenticate(operator_token(settings))
        return await handler(rt, op, args)


async def scan(settings_for: Callable[[], Settings], args: argparse.Namespace) -> Printed:
    from fiduciary import injection
    from fiduciary.injection.report import format_report, report_json

    text = c.read_stdin_text() if args.text == "-" else args.text
    config = None
    if args.org:
        settings = settings_for()
        async with open_runtime(settings, resume=False) as rt:
            op = await rt.control.operators.authenticate(operator_token(settings))
            config = await rt.control.config.injection_config(op, args.org)
    result = injection.score(text, context=injection.ScanContext(tool=args.tool, config=config))
    # Exit 1 for a text that would be blocked: a refusal, as everywhere else.
    return Printed(report_json(result), format_report(result), REFUSED if result.blocked else 0)


def emit(printed: Printed, *, as_json: bool) -> int:
    if as_json:
        print(json.dumps(printed.data, indent=2, ensure_ascii=True))
    elif printed.text:
        print(printed.text)
    sys.stdout.flush()  # a closed pipe shows here, inside main's handler, not at interpreter exit
    return printed.code


def _settings(args: argparse.Namespace, *, search: bool) -> Settings:
    return load_settings(
        home=getattr(args, "home", None),
        operator_token=getattr(args, "token", None),
        database_url=getattr(args, "database", None),
        search=search,
    )


def run(args: argparse.Namespace) -> int:
    as_json = bool(getattr(args, "json", False))
    if args.command == "init":
        settings = _settings(args, search=False)
        return emit(anyio.run(init, settings, args), as_json=as_json)
    if args.command == "demo":
        from fiduciary.demo import run_demo

        return int(anyio.run(lambda: run_demo(keep=args.keep, as_json=as_json)))
    if args.command == "policy" and args.action == "validate":
        return emit(c.policy_validate(args), as_json=as_json)
    if args.command == "audit" and args.action == "verify-proof":
        return emit(e.audit_verify_proof(args), as_json=as_json)
    if args.command == "audit" and args.action == "verify-export":
        return emit(e.audit_verify_export(args), as_json=as_json)
    if args.command == "receipts":
        return emit(e.receipts_verify(args), as_json=as_json)
    if args.command == "policy" and args.action == "schema":
        from fiduciary.policies.schema import json_schema

        print(json.dumps(json_schema(), indent=2))
        return 0
    if args.command == "scan":
        return emit(anyio.run(scan, lambda: _settings(args, search=True), args), as_json=as_json)
    settings = _settings(args, search=True)
    if args.command == "serve":
        return serve(settings, args)
    return emit(anyio.run(as_operator, settings, args), as_json=as_json)


def _error(exc: BaseException) -> int:
    message = exc.message if isinstance(exc, InputError | AccessError) else str(exc)
    print(f"error: {escape(message)}", file=sys.stderr)
    return USAGE if isinstance(exc, UsageError) else REFUSED


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser(__version__).parse_args(argv)
    except BrokenPipeError:
        return _closed_pipe()
    try:
        level = log_level(default="INFO" if args.command == "serve" else "WARNING")
        logs.configure(level)
        return run(args)
    except (FiduciaryError, ConfigError) as exc:
        return _error(exc)
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            return _closed_pipe()
        logging.getLogger("fiduciary").debug("command failed", exc_info=True)
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return REFUSED
    except KeyboardInterrupt:
        return 130


def _closed_pipe() -> int:
    """The reader went away (`| head`): not an error. Point stdout at nothing so exit stays quiet."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 0
