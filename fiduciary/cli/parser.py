"""The command line's grammar: every subcommand and option, with help and defaults shown."""

from __future__ import annotations

import argparse

from fiduciary.control import Role
from fiduciary.domain import limits


class _Help(argparse.HelpFormatter):
    """Shows `(default: X)` for options that have a meaningful default."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if "%(default)" not in text and default not in (None, False, argparse.SUPPRESS) and action.option_strings:
            text += " (default: %(default)s)"
        return text


def _common(*, json_output: bool = True) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False, formatter_class=_Help)
    # SUPPRESS: a flag given before the subcommand is not reset by the subcommand's own default.
    p.add_argument(
        "--home",
        default=argparse.SUPPRESS,
        help="data directory (else FIDUCIARY_HOME, else the nearest .fiduciary here or above)",
    )
    p.add_argument(
        "--database",
        default=argparse.SUPPRESS,
        metavar="URL",
        help="a postgresql:// database instead of the home's SQLite file (else FIDUCIARY_DATABASE_URL)",
    )
    p.add_argument(
        "--token",
        default=argparse.SUPPRESS,
        help="operator token (else FIDUCIARY_OPERATOR_TOKEN, else the admin token init left in the home)",
    )
    if json_output:
        p.add_argument(
            "--json", action="store_true", default=argparse.SUPPRESS, help="print JSON with stable field names"
        )
    return p


def _group(sub: argparse._SubParsersAction, name: str, help_text: str) -> argparse._SubParsersAction:  # type: ignore[type-arg]
    p = sub.add_parser(name, parents=[_common()], help=help_text, description=help_text, formatter_class=_Help)
    actions: argparse._SubParsersAction = p.add_subparsers(  # type: ignore[type-arg]
        dest="action", required=True, metavar="ACTION"
    )
    return actions


def _cmd(sub: argparse._SubParsersAction, name: str, help_text: str) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    p: argparse.ArgumentParser = sub.add_parser(
        name, parents=[_common()], help=help_text, description=help_text, formatter_class=_Help
    )
    return p


def _scope(p: argparse.ArgumentParser) -> None:
    scope = p.add_mutually_exclusive_group(required=True)
    scope.add_argument("--agent", metavar="AGT", help="one agent")
    scope.add_argument("--project", metavar="PRJ", help="every agent of a project")
    scope.add_argument("--org", metavar="ORG", help="every agent of an org")
    scope.add_argument("--all", action="store_true", help="every agent of the platform")
    scope.add_argument("--rail", metavar="NAME", help="one rail: nothing more is sent to it")


def _tenant(p: argparse.ArgumentParser) -> None:
    p.add_argument("--org", metavar="ORG", help="the org (default: the only one)")
    p.add_argument("--project", metavar="PRJ", help="the project (default: the only one)")


def _init(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = _cmd(sub, "init", "create the data directory, the first admin, a funded agent and the MCP client entry")
    p.add_argument(
        "--mcp-json", default=".mcp.json", help="MCP client config to write or update (Claude Code reads ./.mcp.json)"
    )
    p.add_argument("--org-name", default="my-org", help="name of the first org")
    p.add_argument("--agent-name", default="agent-1", help="name of the first agent")
    p.add_argument("--admin-name", default="admin", help="name of the first admin operator")
    p.add_argument("--policy", help="policy TOML (default: the packaged examples/policies/default.toml)")
    p.add_argument("--fund", default="1000.00", help="sandbox funds for the wallet, major units")
    p.add_argument("--currency", default="USD", help="currency of the wallet and the first mandate")
    p.add_argument("--mandate-max", default="500.00", help="first open mandate: max per payment")
    p.add_argument("--mandate-cap", default="5000.00", help="first open mandate: total cap")
    p.add_argument("--mandate-days", type=int, default=30, help="first open mandate: lifetime in days")


def _serve(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = _cmd(sub, "serve", "run the MCP server for agents (stdio, or --http)")
    p.add_argument("--http", action="store_true", help="serve Streamable HTTP /mcp, SSE /sse and /healthz")
    p.add_argument("--host", default="127.0.0.1", help="address to bind with --http")
    p.add_argument("--port", type=int, default=8765, help="port to bind with --http")
    p.add_argument("--admin-host", default="127.0.0.1", help="address of the admin API listener with --http")
    p.add_argument(
        "--admin-port",
        type=int,
        default=8766,
        help="port of the admin listener (/admin/v1 and /dashboard); 0: no admin listener",
    )
    p.add_argument(
        "--dashboard-url",
        default=None,
        help="the dashboard's public address, for links in notices and MCP clients "
        "(default: FIDUCIARY_DASHBOARD_URL, else http://ADMIN-HOST:ADMIN-PORT)",
    )
    p = sub.add_parser("demo", help="walk an agent through the gate in a temporary directory", formatter_class=_Help)
    p.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    p.add_argument("--json", action="store_true", help="print the steps as JSON")


def _operators(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    a = _group(sub, "operators", "operator identities and their roles (admin only)")
    q = _cmd(a, "add", "add an operator; prints its token once")
    q.add_argument("name", help="a unique name, e.g. alice")
    q.add_argument(
        "--role",
        required=True,
        choices=[r.value for r in Role],
        help="admin configures, approver decides, auditor reads",
    )
    q.add_argument(
        "--expires-days",
        type=int,
        help=f"token lifetime in days, at most {limits.operator_token_days_max} (default: until revoked)",
    )
    _cmd(a, "list", "every operator with its role and status")
    _cmd(a, "revoke", "revoke an operator's token at once").add_argument("operator", help="operator id or name")


def _agents(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    a = _group(sub, "agents", "the agents that call the MCP tools")
    q = _cmd(a, "add", "add an agent; prints its token once")
    q.add_argument("name", help="a name, e.g. invoices-bot")
    q.add_argument("--project", metavar="PRJ", help="project to add it to (default: the only one)")
    _cmd(a, "list", "every agent")
    _cmd(a, "show", "one agent").add_argument("agent", metavar="AGT", help="agent id")
    _cmd(a, "rotate-token", "give an agent a new token; the old one stops working").add_argument(
        "agent", metavar="AGT", help="agent id"
    )
    q = _cmd(a, "disable", "disable an agent for good; its token stops working")
    q.add_argument("agent", metavar="AGT", help="agent id")
    q.add_argument("--reason", required=True, help="why, for the audit chain")


def _mandates(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    a = _group(sub, "mandates", "open mandates: the standing authority an agent pays under")
    q = _cmd(a, "issue", "sign a new open mandate for an agent")
    q.add_argument("--agent", required=True, metavar="AGT", help="the agent it authorises")
    q.add_argument("--currency", required=True, help="ISO 4217 code, e.g. USD")
    q.add_argument("--max-per-use", required=True, metavar="AMOUNT", help="most one payment may move, major units")
    q.add_argument("--total-cap", required=True, metavar="AMOUNT", help="most all payments together may move")
    q.add_argument("--uses", type=int, help="most payments it authorises (default: no count)")
    q.add_argument(
        "--tool", action="append", choices=["pay", "charge", "refund"], help="a tool it covers; repeat (default: pay)"
    )
    q.add_argument(
        "--counterparty", action="append", metavar="ID", help="an allowed counterparty; repeat (default: any)"
    )
    q.add_argument("--category", action="append", help="an allowed category; repeat (default: any)")
    q.add_argument(
        "--country", action="append", metavar="CC", help="an allowed country, ISO alpha-2; repeat (default: any)"
    )
    q.add_argument("--rail", action="append", metavar="NAME", help="an allowed rail; repeat (default: any)")
    q.add_argument("--purpose", required=True, help="what the mandate is for")
    q.add_argument("--not-before", metavar="TIME", help="ISO 8601 time or date it starts (default: now)")
    q.add_argument("--expires", metavar="TIME", help="ISO 8601 time or date it ends (default: 30 days after it starts)")
    q = _cmd(a, "list", "open mandates that can still authorise (or --all)")
    q.add_argument("--agent", metavar="AGT", help="only this agent's")
    q.add_argument("--all", action="store_true", help="include revoked, expired and invalid ones")
    _cmd(a, "show", "one mandate: terms as signed, amount used and uses").add_argument(
        "mandate", metavar="MDT", help="mandate id"
    )
    q = _cmd(a, "revoke", "revoke a mandate at once")
    q.add_argument("mandate", metavar="MDT", help="mandate id")
    q.add_argument("--reason", required=True, help="why, for the audit chain")
    q = _cmd(a, "renew", "re-sign an active mandate with a later expiry; terms and usage stay")
    q.add_argument("mandate", metavar="MDT", help="mandate id")
    q.add_argument("--expires", metavar="TIME", help="the new expiry (default: as long again as it was valid)")


def _money(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    a = _group(sub, "wallets", "agent wallets")
    q = _cmd(a, "fund", "fund an agent's wallet: sandbox money, or collected through a rail (--rail, --from)")
    q.add_argument("--agent", required=True, metavar="AGT", help="the agent whose wallet to fund")
    q.add_argument("--amount", required=True, help="major units, e.g. 250.00")
    q.add_argument("--currency", required=True, help="ISO 4217 code")
    q.add_argument("--rail", metavar="NAME", help="collect through this rail; credited only when it confirms")
    q.add_argument("--from", dest="source", metavar="ID", help="with --rail: who pays, e.g. cus:cus_123 or pix:...")
    _cmd(a, "show", "balances").add_argument("--agent", metavar="AGT", help="only this agent")
    a = _group(sub, "approvals", "payments held for a person")
    _cmd(a, "list", "payments waiting for a person").add_argument(
        "--all", action="store_true", help="include decided ones"
    )
    _cmd(a, "show", "one approval and its payment").add_argument("approval", metavar="APR", help="approval id")
    _cmd(a, "approve", "approve: checked again, then executed").add_argument(
        "approval", metavar="APR", help="approval id"
    )
    q = _cmd(a, "reject", "reject a held payment")
    q.add_argument("approval", metavar="APR", help="approval id")
    q.add_argument("--reason", required=True, help="why, for the audit chain")
    a = _group(sub, "transactions", "payments in every state")
    q = _cmd(a, "list", "transactions, newest first")
    q.add_argument("--agent", metavar="AGT", help="only this agent's")
    q.add_argument("--org", metavar="ORG", help="only this org's")
    q.add_argument("--state", help="only this state, e.g. settled")
    q.add_argument(
        "--limit", type=int, default=limits.list_page_size_default, help=f"rows, 1-{limits.list_page_size_max}"
    )
    q.add_argument("--before", metavar="TXN", help="page: what came before this transaction")
    _cmd(a, "show", "one transaction").add_argument("transaction", metavar="TXN", help="transaction id")


def _safety(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = _cmd(sub, "kill", "kill switch: revoke every mandate in scope, stop what is in flight, freeze new calls")
    _scope(p)
    p.add_argument("--reason", required=True, help="why, for the audit chain")
    _scope(_cmd(sub, "unfreeze", "lift a kill switch of the same scope (admin only)"))
    a = _group(sub, "audit", "the tamper-evident audit chain")
    q = _cmd(a, "verify", "verify every chain (exit 1 at the first broken entry)")
    q.add_argument("--org", help="only this org")
    q.add_argument(
        "--no-signatures",
        action="store_true",
        help="the hash walk alone: every link and entry hash, not the signatures or the indexed columns",
    )
    q = _cmd(
        a,
        "replay",
        "rebuild balances, holds, mandate usage and transaction states from the chain alone; at the head, "
        "compare them with the tables (exit 1 with every difference)",
    )
    q.add_argument("--org", metavar="ORG", help="only this org")
    point = q.add_mutually_exclusive_group()
    point.add_argument(
        "--to",
        type=int,
        metavar="SEQ",
        help="stop after this entry of the org's chain (needs --org; default: the head)",
    )
    point.add_argument(
        "--to-time",
        metavar="TIME",
        help="stop before the first entry stamped after this ISO 8601 time or date (default: the head)",
    )
    _cmd(a, "show", "the entries about an id").add_argument("id", help="a ref_, txn_, apr_, mdt_, agt_ or opr_ id")
    _evidence(a)
    _sinks(a)
    a = _group(sub, "policy", "project policies")
    q = _cmd(a, "apply", "apply a policy file to a project (a new version; the same file changes nothing)")
    q.add_argument("file", help="policy TOML, see examples/policies/default.toml")
    _tenant(q)
    q = _cmd(a, "validate", "check a policy file (no data directory needed); exit 1 with the line and key")
    q.add_argument("file", help="policy TOML")
    _cmd(a, "schema", "print the JSON Schema of policy files, for editors")
    _tenant(_cmd(a, "show", "the active policy of a project and who applied it"))
    q = _cmd(a, "diff", "what applying a file would change: rules added, removed and changed, and the text")
    q.add_argument("file", help="policy TOML")
    _tenant(q)
    q = _cmd(a, "simulate", "replay the recorded calls of the last N days under a file: the decisions that change")
    q.add_argument("file", help="policy TOML")
    q.add_argument("--days", type=int, default=7, help="how far back to replay, 1-90")
    _tenant(q)
    a = _group(sub, "injection", "injection screening configuration")
    q = _cmd(a, "apply", "apply an org's screening file")
    q.add_argument("file", help="screening TOML, see examples/injection/org.toml")
    q.add_argument("--org", metavar="ORG", help="the org (default: the only one)")
    p = _cmd(sub, "scan", "score a text for prompt injection (exit 1 if it would be blocked)")
    p.add_argument("text", help="the text, or - to read standard input")
    p.add_argument("--org", help="apply this org's screening config (needs an operator)")
    p.add_argument("--tool", help="score as an argument of this tool (per-tool thresholds)")
    a = _group(sub, "db", "database maintenance")
    _cmd(a, "migrate", "apply pending migrations (also done on every start)")


def _rails(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    a = _group(sub, "rails", "the payment rails in HOME/rails.toml")
    _cmd(a, "list", "every configured rail, where it is and where its credential comes from")
    _cmd(a, "status", "ask every rail for its latest receipts (nothing moves); breaker states")
    q = _cmd(a, "add", "add a rail to the rails file (it takes effect when the server starts again)")
    q.add_argument("name", help="how routing and transactions name it: lower-case letters, digits, - and _")
    q.add_argument(
        "--kind", required=True, choices=["sandbox", "card", "pix", "wire", "stablecoin"], help="the kind of rail"
    )
    q.add_argument("--base-url", help="the provider's API address, e.g. https://api.stripe.com")
    secret = q.add_mutually_exclusive_group()
    secret.add_argument("--credential-env", metavar="VAR", help="the environment variable that holds the credential")
    secret.add_argument("--credential-file", metavar="PATH", help="an absolute path to a file that holds it")
    q.add_argument("--timeout-ms", type=int, help="each request's timeout (default 5000)")
    q.add_argument("--payer-key", help="pix: the account's own Pix key")
    q.add_argument("--originating-account-id", help="wire: the account payment orders are sent from")
    q.add_argument("--source-wallet-id", help="stablecoin: the Circle wallet transfers are paid from")
    q.add_argument("--chain", help="stablecoin: the blockchain, e.g. ETH or BASE")
    a = _group(sub, "reconcile", "receipts against the ledger; flags only people resolve")
    _cmd(a, "list", "open reconciliation flags").add_argument("--all", action="store_true", help="resolved too")
    q = _cmd(a, "resolve", "close a flag with what you found")
    q.add_argument("flag", metavar="FLG", help="flag id")
    q.add_argument("--note", required=True, help="what you found and did, for the audit chain")
    q = _cmd(a, "decide", "settle or fail a payment whose outcome the rail never made clear (unknown)")
    q.add_argument("transaction", metavar="TXN", help="an unknown transaction")
    outcome = q.add_mutually_exclusive_group(required=True)
    outcome.add_argument("--settled", metavar="REF", help="it went through: the rail's reference for it")
    outcome.add_argument("--failed", action="store_true", help="it did not go through: release its hold")
    q.add_argument("--note", required=True, help="what you found, for the audit chain")
    _cmd(a, "run", "one round now over every rail").add_argument(
        "--hours", type=int, default=limits.reconcile_first_window_hours, help="how far back to look"
    )


def _evidence(a: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`audit checkpoint`, `prove`, `verify-proof`: what an outsider checks the chain with."""
    q = _cmd(a, "checkpoint", "sign a checkpoint of an org's chain now (its size and Merkle root)")
    q.add_argument("--org", metavar="ORG", help="the org (default: the only one)")
    q.add_argument("--list", action="store_true", help="list the org's checkpoints instead")
    q = _cmd(a, "prove", "print an inclusion proof of one entry, or a consistency proof of two checkpoints")
    q.add_argument("--org", metavar="ORG", help="the org (default: the only one)")
    what = q.add_mutually_exclusive_group(required=True)
    what.add_argument("--seq", type=int, metavar="N", help="the entry to prove in a checkpoint")
    what.add_argument("--consistency", type=int, nargs=2, metavar=("OLD", "NEW"), help="two checkpoint sizes")
    q.add_argument("--size", type=int, metavar="S", help="with --seq: the checkpoint (default: the latest)")
    q.add_argument("--out", metavar="FILE", help="write the proof here (replaced whole); default: standard output")
    q = _cmd(a, "verify-proof", "check a proof with the JWKS alone (no data directory): exit 1 if it does not hold")
    q.add_argument("proof", help="a proof file from `audit prove`")
    q.add_argument("--jwks", required=True, metavar="FILE", help="the org's public keys (`keys export-jwks`)")
    q = _cmd(a, "export", "write a signed bundle of an org's chain (entries, manifest) to a new directory")
    q.add_argument("--org", metavar="ORG", help="the org (default: the only one)")
    q.add_argument("--format", choices=("jsonl", "csv"), default="jsonl", help="the entries file's format")
    q.add_argument("--out", required=True, metavar="DIR", help="a new or empty directory")
    q.add_argument("--from", dest="from_seq", type=int, default=1, metavar="SEQ", help="the first entry (default 1)")
    q = _cmd(a, "verify-export", "check a bundle with the JWKS alone (no data directory): exit 1 if it does not hold")
    q.add_argument("dir", help="a bundle from `audit export`")
    q.add_argument("--jwks", required=True, metavar="FILE", help="the org's public keys (`keys export-jwks`)")


def _sinks(a: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`audit sink status`, `audit sink resume`: delivery of every chain to the sinks file's sinks."""
    p = a.add_parser("sink", help="the audit sinks (sinks.toml)", description="the audit sinks (sinks.toml)")
    s: argparse._SubParsersAction = p.add_subparsers(  # type: ignore[type-arg]
        dest="sink_action", required=True, metavar="ACTION"
    )
    _cmd(s, "status", "per sink and org: cursor, head, lag, last success, last error, stopped (exit 1 if any is)")
    q = _cmd(s, "resume", "clear a stopped sink so delivery starts again (admin; audited)")
    q.add_argument("name", help="the sink's name in sinks.toml")


def _receipts(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    a = _group(sub, "receipts", "signed receipts of refused payments")
    q = _cmd(a, "verify", "check a refusal receipt with the JWKS alone (no data directory): exit 1 if it does not hold")
    q.add_argument("receipt", help="a receipt, as the refused call returned it (JSON)")
    q.add_argument("--jwks", required=True, metavar="FILE", help="the org's public keys (`keys export-jwks`)")


def _keys(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    a = _group(sub, "keys", "the orgs' signing keys: public halves as a JWKS, rotation")
    _cmd(a, "list", "every key, retired ones too, with what it signs").add_argument(
        "--org", metavar="ORG", help="only this org"
    )
    q = _cmd(a, "export-jwks", "write the public keys as a JWKS, for verifiers outside (every key ever used)")
    q.add_argument("--org", metavar="ORG", help="only this org")
    q.add_argument("--out", metavar="FILE", help="write it here (replaced whole); default: standard output")
    q = _cmd(a, "rotate", "replace an org's current key(s) now: the old ones stop signing and still verify")
    q.add_argument("--org", metavar="ORG", help="the org (default: the only one)")
    q.add_argument("--purpose", choices=("audit", "mandate", "all"), default="all", help="which key")
    q.add_argument("--reason", required=True, help="why, for the audit chain")


def _privacy(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    a = _group(sub, "dsr", "data-subject requests about a counterparty's personal data")
    q = _cmd(a, "erase", "wipe a counterparty's identifier from the vault; the chain keeps only commitments (admin)")
    q.add_argument(
        "--subject",
        required=True,
        metavar="ID",
        help="the counterparty, in any form the gate accepts; - reads it from standard input",
    )
    q.add_argument("--org", metavar="ORG", help="the org (default: the only one)")
    q.add_argument("--reason", required=True, help="why, for the audit chain (a ticket, not the person's name)")
    a = _group(sub, "legal-hold", "legal holds: while one is open, what it covers cannot be erased")
    q = _cmd(a, "set", "hold a whole org, or one counterparty of it (admin; audited)")
    q.add_argument("--org", metavar="ORG", help="the org (default: the only one)")
    q.add_argument(
        "--subject", metavar="ID", help="only this counterparty, or - for standard input (default: the whole org)"
    )
    q.add_argument("--reason", required=True, help="why, for the audit chain")
    q = _cmd(a, "clear", "clear an open hold (admin; audited)")
    q.add_argument("hold_id", help="the hold, as `legal-hold list` shows it")
    q.add_argument("--reason", required=True, help="why, for the audit chain")
    q = _cmd(a, "list", "the open holds")
    q.add_argument("--org", metavar="ORG", help="only this org")
    q.add_argument("--all", action="store_true", help="cleared holds too")


def build_parser(version: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fiduciary",
        description="An MCP server through which LLM agents move money safely, and its control plane.",
        epilog="Exit codes: 0 done, 1 refused, denied or broken, 2 usage error.",
        parents=[_common(json_output=False)],
        formatter_class=_Help,
    )
    parser.add_argument("--version", action="version", version=f"fiduciary {version}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_init, _serve, _operators, _agents, _mandates, _money, _safety, _keys, _receipts, _rails, _privacy):
        add(sub)
    return parser
