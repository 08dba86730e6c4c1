"""The admin API: JSON over HTTP at `/admin/v1`, a thin shell over the control service.

Every request carries an operator token (`Authorization: Bearer fid_op_...`); a missing or
unknown one is 401, a role that may not act is 403, and the control service audits both, as it
does every change, with the operator's id. Errors are `{"error": {"code", "message"}}` with a
stable code; nothing internal is ever in them. `GET /admin/v1/openapi.json` describes it all.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fiduciary import metrics, shapes
from fiduciary.control import MandateSpec, Operator, Role, Scope, diff_policies
from fiduciary.domain import limits
from fiduciary.domain.codes import Code
from fiduciary.domain.errors import AccessError, ConfigError, InputError
from fiduciary.runtime import Runtime
from fiduciary.server.dashboard import dashboard_routes

log = logging.getLogger(__name__)

PREFIX = "/admin/v1"
Handler = Callable[[Runtime, Operator, "Call"], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Call:
    """What a handler gets from the request: path parameters, query and JSON body."""

    path: dict[str, str]
    query: dict[str, str]
    body: dict[str, Any]

    def text(self, key: str, *, required: bool = True) -> str | None:
        value = self.body.get(key, self.query.get(key))
        if value is None and required:
            raise InputError(Code.MISSING_ARGUMENT, f"`{key}` is required")
        if value is not None and not isinstance(value, str):
            raise InputError(Code.INVALID_ARGUMENT, f"`{key}` must be a string")
        return value

    def flag(self, key: str) -> bool:
        return self.query.get(key, "") in ("1", "true", "yes")


def _status(exc: Exception) -> int:
    if isinstance(exc, AccessError):
        return 401 if exc.code == Code.UNAUTHENTICATED else 403
    if isinstance(exc, InputError) and exc.code == Code.NOT_FOUND:
        return 404
    return 400


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def _body(request: Request) -> dict[str, Any]:
    if request.method == "GET":
        return {}
    raw = await request.body()
    if len(raw) > limits.admin_body_bytes_max:
        raise _TooLarge
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(Code.INVALID_ARGUMENT, "the body is not JSON") from exc
    if not isinstance(data, dict):
        raise InputError(Code.INVALID_ARGUMENT, "the body must be a JSON object")
    return data


class _TooLarge(Exception):
    """A body over `limits.admin_body_bytes_max`."""


def endpoint(runtime: Callable[[], Runtime | None], handler: Handler) -> Callable[[Request], Awaitable[JSONResponse]]:
    async def run(request: Request) -> JSONResponse:
        rt = runtime()
        if rt is None:
            return _error(503, "starting", "the server is starting; try again")
        try:
            call = Call(dict(request.path_params), dict(request.query_params), await _body(request))
            op = await rt.control.operators.authenticate(_bearer(request), source=f"admin-api:{_client(request)}")
            return JSONResponse(await handler(rt, op, call))
        except _TooLarge:
            return _error(413, "too_large", f"the body is larger than {limits.admin_body_bytes_max} bytes")
        except (AccessError, InputError) as exc:
            return _error(_status(exc), exc.code, exc.message)
        except ConfigError as exc:
            return _error(400, Code.INVALID_ARGUMENT.value, str(exc))

    return run


# Handlers: one control call each, rendered with the same shapes as the command line's --json.


async def approvals(rt: Runtime, op: Operator, call: Call) -> Any:
    return {
        "approvals": [shapes.held(h) for h in await rt.control.approvals.list(op, include_decided=call.flag("all"))]
    }


async def approval(rt: Runtime, op: Operator, call: Call) -> Any:
    return shapes.held(await rt.control.approvals.show(op, call.path["approval_id"]))


async def approve(rt: Runtime, op: Operator, call: Call) -> Any:
    approval_id = call.path["approval_id"]
    current = await rt.control.approvals.show(op, approval_id)
    if current.approval.status == "approved":
        # Approving twice is one approval: the second call answers with the first one's result.
        return {"replayed": True, **shapes.transaction(current.transaction)}
    return {"replayed": False, **shapes.outcome(await rt.control.approvals.approve(op, approval_id))}


async def reject(rt: Runtime, op: Operator, call: Call) -> Any:
    reason = call.text("reason") or ""
    return shapes.outcome(await rt.control.approvals.reject(op, call.path["approval_id"], reason=reason))


async def transactions(rt: Runtime, op: Operator, call: Call) -> Any:
    limit = call.query.get("limit", str(limits.list_page_size_default))
    if not limit.isdigit():
        raise InputError(Code.INVALID_ARGUMENT, "`limit` must be a number")
    rows = await rt.control.records.transactions(
        op,
        limit=int(limit),
        org_id=call.query.get("org"),
        agent_id=call.query.get("agent"),
        state=call.query.get("state"),
        before=call.query.get("before"),
    )
    next_before = rows[-1].transaction_id if len(rows) == int(limit) else None
    return {"transactions": [shapes.transaction(t) for t in rows], "next_before": next_before}


async def transaction(rt: Runtime, op: Operator, call: Call) -> Any:
    return shapes.transaction(await rt.control.records.transaction(op, call.path["transaction_id"]))


async def agents(rt: Runtime, op: Operator, call: Call) -> Any:
    return {"agents": [shapes.agent_details(a) for a in await rt.control.agents.list(op)]}


async def agent(rt: Runtime, op: Operator, call: Call) -> Any:
    return shapes.agent_details(await rt.control.agents.show(op, call.path["agent_id"]))


async def mandates(rt: Runtime, op: Operator, call: Call) -> Any:
    found = await rt.control.mandates.list(op, agent_id=call.query.get("agent"), include_all=call.flag("all"))
    return {"mandates": [shapes.mandate(m) for m in found]}


async def mandate(rt: Runtime, op: Operator, call: Call) -> Any:
    return shapes.mandate(await rt.control.mandates.show(op, call.path["mandate_id"]))


def _names(call: Call, key: str) -> tuple[str, ...] | None:
    value = call.body.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(Code.INVALID_ARGUMENT, f"`{key}` must be a list of strings")
    return tuple(value)


async def issue_mandate(rt: Runtime, op: Operator, call: Call) -> Any:
    uses = call.body.get("uses")
    if uses is not None and (isinstance(uses, bool) or not isinstance(uses, int)):
        raise InputError(Code.INVALID_ARGUMENT, "`uses` must be a whole number")
    spec = MandateSpec(
        agent_id=call.text("agent_id") or "",
        currency=call.text("currency") or "",
        max_per_use=call.text("max_per_use") or "",
        total_cap=call.text("total_cap") or "",
        purpose=call.text("purpose") or "",
        tools=_names(call, "tools") or ("pay",),
        max_uses=uses,
        counterparties=_names(call, "counterparties"),
        categories=_names(call, "categories"),
        countries=_names(call, "countries"),
        rails=_names(call, "rails"),
        not_before=call.text("not_before", required=False),
        expires_at=call.text("expires_at", required=False),
    )
    return shapes.mandate(await rt.control.mandates.issue(op, spec))


async def revoke_mandate(rt: Runtime, op: Operator, call: Call) -> Any:
    reason = call.text("reason") or ""
    return shapes.mandate(await rt.control.mandates.revoke(op, call.path["mandate_id"], reason=reason))


async def wallets(rt: Runtime, op: Operator, call: Call) -> Any:
    found = await rt.control.wallets.show(op, call.query.get("agent"))
    return {"wallets": [shapes.wallet(a.agent.ref.agent_id, w) for a in found for w in a.wallets]}


def _scope(call: Call) -> tuple[Scope, str | None]:
    try:
        scope = Scope(call.text("scope") or "")
    except ValueError as exc:
        raise InputError(Code.INVALID_ARGUMENT, "`scope` is agent, project, org, platform or rail") from exc
    return scope, None if scope is Scope.PLATFORM else call.text("target")


async def kill(rt: Runtime, op: Operator, call: Call) -> Any:
    scope, target = _scope(call)
    return shapes.kill(await rt.control.kill.pull(op, scope, target, reason=call.text("reason") or ""))


async def unfreeze(rt: Runtime, op: Operator, call: Call) -> Any:
    scope, target = _scope(call)
    return shapes.unfreeze(await rt.control.kill.lift(op, scope, target))


async def policy(rt: Runtime, op: Operator, call: Call) -> Any:
    row = await rt.control.config.active_policy(op, call.query.get("org"), call.query.get("project"))
    return {
        "version": row.version,
        "version_hash": row.version_hash,
        "applied_by": row.applied_by,
        "source": row.source,
    }


async def validate_policy(rt: Runtime, op: Operator, call: Call) -> Any:
    parsed = await rt.control.config.validate_policy(op, call.text("source") or "")
    return {"valid": True, "name": parsed.name, "rules": len(parsed.rules), "version_hash": parsed.version}


async def apply_policy(rt: Runtime, op: Operator, call: Call) -> Any:
    org, project = call.text("org_id", required=False), call.text("project_id", required=False)
    org_id, project_id, applied = await rt.control.config.apply_policy(op, org, project, call.text("source") or "")
    return {"org_id": org_id, "project_id": project_id, "version": applied.version, "changed": applied.changed}


async def audit_verify(rt: Runtime, op: Operator, call: Call) -> Any:
    reports = await rt.control.records.verify(op, call.query.get("org"))
    return {"chains": [shapes.verify(org, report) for org, report in reports]}


async def audit_show(rt: Runtime, op: Operator, call: Call) -> Any:
    return {"entries": [shapes.entry(e) for e in await rt.control.records.entries(op, call.path["id"])]}


async def operators(rt: Runtime, op: Operator, call: Call) -> Any:
    return {"operators": [shapes.operator(row, status) for row, status in await rt.control.operators.list(op)]}


async def add_operator(rt: Runtime, op: Operator, call: Call) -> Any:
    try:
        role = Role(call.text("role") or "")
    except ValueError as exc:
        raise InputError(Code.INVALID_ARGUMENT, "`role` is admin, approver or auditor") from exc
    days = call.body.get("expires_days")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int)):
        raise InputError(Code.INVALID_ARGUMENT, "`expires_days` must be a whole number")
    added, token = await rt.control.operators.add(op, call.text("name") or "", role, expires_days=days)
    return {"operator_id": added.operator_id, "name": added.name, "role": added.role.value, "token": token}


async def revoke_operator(rt: Runtime, op: Operator, call: Call) -> Any:
    row = await rt.control.operators.revoke(op, call.path["operator"])
    return shapes.operator(row, "revoked")


async def add_agent(rt: Runtime, op: Operator, call: Call) -> Any:
    project = call.text("project_id", required=False)
    row, token = await rt.control.agents.add(op, call.text("name") or "", project_id=project)
    return shapes.agent(row) | {"token": token}


async def rotate_agent_token(rt: Runtime, op: Operator, call: Call) -> Any:
    agent_id = call.path["agent_id"]
    return {"agent_id": agent_id, "token": await rt.control.agents.rotate_token(op, agent_id)}


async def disable_agent(rt: Runtime, op: Operator, call: Call) -> Any:
    reason = call.text("reason") or ""
    return shapes.agent(await rt.control.agents.disable(op, call.path["agent_id"], reason=reason))


async def renew_mandate(rt: Runtime, op: Operator, call: Call) -> Any:
    expires = call.text("expires_at", required=False)
    return shapes.mandate(await rt.control.mandates.renew(op, call.path["mandate_id"], expires_at=expires))


async def fund_wallet(rt: Runtime, op: Operator, call: Call) -> Any:
    agent_id = call.text("agent_id") or ""
    rail = call.text("rail", required=False)
    if rail is not None:
        amount = (call.text("amount") or "", call.text("currency") or "")
        source = call.text("from") or ""
        return shapes.funding(await rt.control.wallets.fund_through(op, agent_id, amount, rail=rail, source=source))
    after = await rt.control.wallets.fund(op, agent_id, (call.text("amount") or "", call.text("currency") or ""))
    return shapes.wallet(agent_id, after)


async def diff_policy(rt: Runtime, op: Operator, call: Call) -> Any:
    row = await rt.control.config.active_policy(
        op, call.text("org_id", required=False), call.text("project_id", required=False)
    )
    found = diff_policies(row.source, call.text("source") or "")
    return {"version": row.version, "added": found.added, "removed": found.removed, "changed": found.changed,
            "no_change": found.same_version}  # fmt: skip


async def simulate_policy(rt: Runtime, op: Operator, call: Call) -> Any:
    days = call.body.get("days", 7)
    if isinstance(days, bool) or not isinstance(days, int):
        raise InputError(Code.INVALID_ARGUMENT, "`days` must be a whole number")
    org, project = call.text("org_id", required=False), call.text("project_id", required=False)
    project_id, found = await rt.control.config.simulate(op, org, project, call.text("source") or "", days=days)
    changes = [
        {
            "transaction_id": c.transaction_id,
            "created_at": c.created_at,
            "agent_id": c.agent_id,
            "before": {"verdict": c.before.verdict.value, "code": c.before.code.value},
            "after": {"verdict": c.after.verdict.value, "code": c.after.code.value, "rule_id": c.after.rule_id},
        }
        for c in found.changes
    ]
    return {"project_id": project_id, "replayed": found.replayed, "truncated": found.truncated, "changes": changes}


async def rails(rt: Runtime, op: Operator, call: Call) -> Any:
    found = await rt.control.rails.status(op, probe=call.flag("probe"))
    return {"rails": [asdict(item) for item in found]}


async def flags(rt: Runtime, op: Operator, call: Call) -> Any:
    found = await rt.control.reconciliation.flags(op, include_resolved=call.flag("all"))
    return {"flags": [shapes.flag(item) for item in found]}


async def resolve_flag(rt: Runtime, op: Operator, call: Call) -> Any:
    return shapes.flag(await rt.control.reconciliation.resolve(op, call.path["flag_id"], note=call.text("note") or ""))


async def reconcile(rt: Runtime, op: Operator, call: Call) -> Any:
    hours = call.body.get("hours", limits.reconcile_first_window_hours)
    if isinstance(hours, bool) or not isinstance(hours, int):
        raise InputError(Code.INVALID_ARGUMENT, "`hours` must be a whole number")
    return {"rails": [asdict(report) for report in await rt.control.reconciliation.run(op, hours=hours)]}


ROUTES: list[tuple[str, str, Handler, str]] = [
    ("GET", "/operators", operators, "Every operator with its role and status."),
    ("POST", "/operators", add_operator, 'Add an operator {"name", "role", "expires_days"}; its token, once.'),
    ("POST", "/operators/{operator}/revoke", revoke_operator, "Revoke an operator's token at once."),
    ("POST", "/agents", add_agent, 'Add an agent {"name", "project_id"}; its token, once.'),
    ("POST", "/agents/{agent_id}/rotate-token", rotate_agent_token, "A new token; the old one stops at once."),
    ("POST", "/agents/{agent_id}/disable", disable_agent, 'Disable an agent for good, with {"reason"}.'),
    ("POST", "/mandates/{mandate_id}/renew", renew_mandate, 'Re-sign with a later expiry {"expires_at"}.'),
    ("POST", "/wallets/fund", fund_wallet, 'Fund {"agent_id", "amount", "currency"}; with {"rail", "from"} collected.'),
    ("POST", "/policy/diff", diff_policy, 'What applying {"source"} would change, rule by rule.'),
    ("POST", "/policy/simulate", simulate_policy, 'Replay {"days"} of calls under {"source"}.'),
    ("GET", "/approvals", approvals, "Payments held for a person (?all=1 for decided ones too)."),
    ("GET", "/approvals/{approval_id}", approval, "One held payment, its covering mandate and what it leaves."),
    ("POST", "/approvals/{approval_id}/approve", approve, "Approve: checked again, then executed; idempotent."),
    ("POST", "/approvals/{approval_id}/reject", reject, 'Reject with {"reason"}.'),
    ("GET", "/transactions", transactions, "Transactions, newest first (?agent, ?org, ?state, ?limit, ?before)."),
    ("GET", "/transactions/{transaction_id}", transaction, "One transaction."),
    ("GET", "/agents", agents, "Every agent."),
    ("GET", "/agents/{agent_id}", agent, "One agent."),
    ("GET", "/mandates", mandates, "Open mandates that can still authorise (?agent, ?all=1)."),
    (
        "POST",
        "/mandates",
        issue_mandate,
        "Issue an open mandate (agent_id, currency, max_per_use, total_cap, purpose, ...).",
    ),
    ("GET", "/mandates/{mandate_id}", mandate, "One mandate: terms as signed, used amount and uses."),
    ("POST", "/mandates/{mandate_id}/revoke", revoke_mandate, 'Revoke with {"reason"}.'),
    ("GET", "/wallets", wallets, "Balances (?agent)."),
    ("POST", "/kill", kill, 'Kill switch: {"scope", "target", "reason"}.'),
    ("POST", "/unfreeze", unfreeze, 'Lift a kill switch: {"scope", "target"}.'),
    ("GET", "/policy", policy, "The active policy (?org, ?project)."),
    ("POST", "/policy", apply_policy, 'Apply {"source"} as a new version (identical content changes nothing).'),
    ("POST", "/policy/validate", validate_policy, 'Validate {"source"} without applying it.'),
    ("GET", "/audit/verify", audit_verify, "Verify every chain (?org)."),
    ("GET", "/rails", rails, "The configured rails and their breakers (?probe=1 asks each for its receipts)."),
    ("GET", "/reconcile/flags", flags, "Open reconciliation flags (?all=1 for resolved ones too)."),
    ("POST", "/reconcile/flags/{flag_id}/resolve", resolve_flag, 'Resolve a flag with {"note"}.'),
    ("POST", "/reconcile/run", reconcile, 'One reconciliation round now, {"hours"} back.'),
    ("GET", "/audit/{id}", audit_show, "The audit entries about any id."),
]


def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 description of the admin API."""
    paths: dict[str, dict[str, Any]] = {}
    for method, path, handler, summary in ROUTES:
        operation = {
            "operationId": handler.__name__,
            "summary": summary,
            "security": [{"operatorToken": []}],
            "responses": {
                "200": {"description": "done"},
                "400": {"description": "refused input", "content": {"application/json": {}}},
                "401": {"description": "no or unknown operator token"},
                "403": {"description": "this role may not do that"},
                "404": {"description": "no such record"},
            },
        }
        paths.setdefault(PREFIX + path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "fiduciary admin API", "version": "1"},
        "components": {"securitySchemes": {"operatorToken": {"type": "http", "scheme": "bearer"}}},
        "paths": paths,
    }


def build_admin_app(runtime: Callable[[], Runtime | None]) -> Starlette:
    """The admin listener's app: the JSON API and the dashboard over the runtime the agent listener
    opened (`runtime` answers None until then)."""
    return Starlette(routes=[*admin_routes(runtime), *dashboard_routes(runtime)])


def admin_routes(runtime: Callable[[], Runtime | None]) -> list[Route]:
    routes = [Route(PREFIX + path, endpoint(runtime, handler), methods=[method]) for method, path, handler, _ in ROUTES]

    async def document(request: Request) -> JSONResponse:
        return JSONResponse(openapi())

    async def exposition(request: Request) -> Response:
        """Prometheus metrics; scrape with an operator token (`authorization` in the scrape config)."""
        rt = runtime()
        if rt is None:
            return _error(503, "starting", "the server is starting; try again")
        try:
            op = await rt.control.operators.authenticate(_bearer(request), source=f"metrics:{_client(request)}")
            body = await rt.control.rails.metrics(op)
        except AccessError as exc:
            return _error(_status(exc), exc.code, exc.message)
        return Response(body, media_type=metrics.CONTENT_TYPE)

    routes.append(Route(PREFIX + "/openapi.json", document, methods=["GET"]))
    routes.append(Route("/metrics", exposition, methods=["GET"]))
    return routes


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header[:7].lower() == "bearer " else None


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"
