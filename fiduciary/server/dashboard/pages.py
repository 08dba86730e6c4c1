"""The dashboard's pages: one control call (or a few reads) each, rendered server-side.

```
/dashboard/sign-in                     GET form, POST operator token -> session cookie
/dashboard/sign-out                    POST
/dashboard/approvals                   pending payments with their context; recently decided
/dashboard/approvals/{id}              one held payment; POST .../approve, .../reject
/dashboard/transactions                filter by agent and state; /dashboard/transactions/{id}
/dashboard/wallets                     balances; POST /dashboard/wallets/fund (sandbox)
/dashboard/mandates                    open mandates; POST issue; POST .../{id}/revoke
/dashboard/kill                        active kill switches; POST pull; POST /dashboard/unfreeze
/dashboard/rails                       rails and breakers; open reconciliation flags; POST .../flags/{id}/resolve
/dashboard/audit                       verification of every chain
```
A POST that changes something answers with a redirect to the page that shows the result
(post/redirect/get), so reloading that page never sends the form again.
"""

from __future__ import annotations

import secrets
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from fiduciary.control import Action, MandateSpec, Scope, may
from fiduciary.domain import limits
from fiduciary.domain.codes import Code
from fiduciary.domain.errors import AccessError, InputError
from fiduciary.domain.states import TxState
from fiduciary.server.dashboard.web import (
    BASE,
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    FormError,
    Handler,
    Page,
    RuntimeGetter,
    UsedForms,
    cookie_secure,
    error_page,
    local_next,
    page,
    read_form,
    redirect,
    render,
    source_of,
    time_left,
)

DONE = {
    "approved": "Approved.",
    "vote": "Your approval is recorded; this payment needs another operator's approval too.",
    "rejected": "Rejected.",
    "issued": "Mandate issued.",
    "revoked": "Mandate revoked.",
    "funded": "Wallet funded.",
    "pulled": "Kill switch pulled.",
    "lifted": "Kill switch lifted.",
    "resolved": "Flag resolved.",
}
"""The banners a redirect may ask for; a page never echoes text from the query string."""


def _done(p: Page) -> str | None:
    return DONE.get(p.query.get("done", ""))


# Approvals.


async def approvals(p: Page) -> Response:
    now = p.rt.gate.clock.now()
    pending = await p.rt.control.approvals.list(p.op)
    recent = await p.rt.control.approvals.recent(p.op, limit=limits.list_page_size_default)
    return p.render("approvals.html", pending=pending, recent=recent, left={
        h.approval.approval_id: time_left(h.approval.expires_at, now) for h in pending
    }, done=_done(p))  # fmt: skip


async def approval(p: Page) -> Response:
    held = await p.rt.control.approvals.show(p.op, p.path("approval_id"))
    left = time_left(held.approval.expires_at, p.rt.gate.clock.now())
    return p.render("approval.html", held=held, left=left, done=_done(p))


async def approve(p: Page) -> Response:
    approval_id = p.path("approval_id")
    result = await p.rt.control.approvals.approve(p.op, approval_id)
    done = "vote" if result.state is TxState.PENDING_APPROVAL else "approved"
    return redirect(f"{BASE}/approvals/{quote(approval_id)}?done={done}")


async def reject(p: Page) -> Response:
    approval_id = p.path("approval_id")
    await p.rt.control.approvals.reject(p.op, approval_id, reason=p.field("reason") or "")
    return redirect(f"{BASE}/approvals/{quote(approval_id)}?done=rejected")


# Transactions.


async def transactions(p: Page) -> Response:
    agent, state = p.query.get("agent") or None, p.query.get("state") or None
    if state is not None and state not in {s.value for s in TxState}:
        raise FormError(Code.INVALID_ARGUMENT, "pick a state from the list")
    before = p.query.get("before") or None
    size = limits.list_page_size_default
    rows = await p.rt.control.records.transactions(p.op, limit=size, agent_id=agent, state=state, before=before)
    older = rows[-1].transaction_id if len(rows) == size else None
    states = [s.value for s in TxState]
    return p.render("transactions.html", rows=rows, agent=agent, state=state, states=states, older=older)


async def transaction(p: Page) -> Response:
    txn = await p.rt.control.records.transaction(p.op, p.path("transaction_id"))
    entries = await p.rt.control.records.entries(p.op, txn.transaction_id)
    return p.render("transaction.html", txn=txn, entries=entries)


# Wallets.


async def wallets(p: Page) -> Response:
    found = await p.rt.control.wallets.show(p.op)
    return p.render("wallets.html", found=found, done=_done(p))


async def fund(p: Page) -> Response:
    amount = (p.field("amount") or "", p.field("currency") or "")
    await p.rt.control.wallets.fund(p.op, p.field("agent_id") or "", amount)
    return redirect(f"{BASE}/wallets?done=funded")


# Mandates.


async def mandates(p: Page) -> Response:
    show_all = p.query.get("all") == "1"
    found = await p.rt.control.mandates.list(p.op, include_all=show_all)
    agents = await p.rt.control.agents.list(p.op) if may(p.op.role, Action.MANDATES_ISSUE) else []
    return p.render("mandates.html", found=found, show_all=show_all, agents=agents, done=_done(p))


def _listed(p: Page, key: str) -> tuple[str, ...] | None:
    text = p.field(key, required=False)
    return None if text is None else tuple(v.strip() for v in text.split(",") if v.strip())


async def issue_mandate(p: Page) -> Response:
    uses = p.field("uses", required=False)
    if uses is not None and not uses.isdigit():
        raise FormError(Code.INVALID_ARGUMENT, "uses must be a whole number")
    spec = MandateSpec(
        agent_id=p.field("agent_id") or "",
        currency=p.field("currency") or "",
        max_per_use=p.field("max_per_use") or "",
        total_cap=p.field("total_cap") or "",
        purpose=p.field("purpose") or "",
        max_uses=None if uses is None else int(uses),
        counterparties=_listed(p, "counterparties"),
        expires_at=p.field("expires_at", required=False),
    )
    await p.rt.control.mandates.issue(p.op, spec)
    return redirect(f"{BASE}/mandates?done=issued")


async def revoke_mandate(p: Page) -> Response:
    await p.rt.control.mandates.revoke(p.op, p.path("mandate_id"), reason=p.field("reason") or "")
    return redirect(f"{BASE}/mandates?done=revoked")


# Kill switch.


def _scope(p: Page) -> tuple[Scope, str | None]:
    try:
        scope = Scope(p.field("scope") or "")
    except ValueError as exc:
        raise FormError(Code.INVALID_ARGUMENT, "pick a scope: agent, project, org, platform or rail") from exc
    return scope, None if scope is Scope.PLATFORM else p.field("target")


async def kill(p: Page) -> Response:
    pulled = await p.rt.control.kill.active(p.op)
    return p.render("kill.html", pulled=pulled, scopes=[s.value for s in Scope], done=_done(p))


async def pull(p: Page) -> Response:
    scope, target = _scope(p)
    await p.rt.control.kill.pull(p.op, scope, target, reason=p.field("reason") or "")
    return redirect(f"{BASE}/kill?done=pulled")


async def unfreeze(p: Page) -> Response:
    scope, target = _scope(p)
    await p.rt.control.kill.lift(p.op, scope, target)
    return redirect(f"{BASE}/kill?done=lifted")


# Rails and reconciliation.


async def rails(p: Page) -> Response:
    found = await p.rt.control.rails.status(p.op)
    flags = await p.rt.control.reconciliation.flags(p.op)
    return p.render("rails.html", found=found, flags=flags, done=_done(p))


async def resolve_flag(p: Page) -> Response:
    await p.rt.control.reconciliation.resolve(p.op, p.path("flag_id"), note=p.field("note") or "")
    return redirect(f"{BASE}/rails?done=resolved")


# Audit.


async def audit(p: Page) -> Response:
    chains = await p.rt.control.records.verify(p.op)
    return p.render("audit.html", chains=chains)


# Signing in and out.


def _sign_in_form(
    request: Request, *, status: int = 200, message: str | None = None, after: str | None = None
) -> Response:
    nonce = secrets.token_urlsafe(16)
    after = local_next(after or request.query_params.get("next"))
    response = render(request, "sign_in.html", status=status, nonce=nonce, next=after, message=message)
    response.set_cookie(
        SIGN_IN_COOKIE,
        nonce,
        max_age=600,
        path=f"{BASE}/sign-in",
        httponly=True,
        samesite="strict",
        secure=cookie_secure(request),
    )
    return response


def sign_in_routes(runtime: RuntimeGetter) -> list[Route]:
    async def show(request: Request) -> Response:
        return _sign_in_form(request)

    async def submit(request: Request) -> Response:
        rt = runtime()
        if rt is None:
            return _sign_in_form(request, status=503, message="The server is starting; try again.")
        form: dict[str, str] = {}
        try:
            form = await read_form(request)
            expected = request.cookies.get(SIGN_IN_COOKIE, "")
            if not expected or not secrets.compare_digest(form.get("nonce", ""), expected):
                message = "The sign-in form expired; try again."
                return _sign_in_form(request, status=403, message=message, after=form.get("next"))
            session = await rt.control.sessions.sign_in(form.get("token", "").strip(), source=source_of(request))
        except AccessError as exc:
            return _sign_in_form(request, status=401, message=exc.message, after=form.get("next"))
        except InputError as exc:
            return error_page(request, exc, None)
        response = redirect(local_next(form.get("next")))
        response.set_cookie(
            SESSION_COOKIE,
            session.token,
            max_age=limits.session_ttl_seconds,
            path=BASE,
            httponly=True,
            samesite="strict",
            secure=cookie_secure(request),
        )
        response.delete_cookie(SIGN_IN_COOKIE, path=f"{BASE}/sign-in", samesite="strict")
        return response

    return [
        Route(f"{BASE}/sign-in", show, methods=["GET"]),
        Route(f"{BASE}/sign-in", submit, methods=["POST"]),
    ]


async def sign_out(p: Page) -> Response:
    await p.rt.control.sessions.sign_out(p.session)
    response = redirect(f"{BASE}/sign-in")
    response.delete_cookie(SESSION_COOKIE, path=BASE, samesite="strict")
    return response


PAGES: list[tuple[str, str, Handler]] = [
    ("GET", "/approvals", approvals),
    ("GET", "/approvals/{approval_id}", approval),
    ("POST", "/approvals/{approval_id}/approve", approve),
    ("POST", "/approvals/{approval_id}/reject", reject),
    ("GET", "/transactions", transactions),
    ("GET", "/transactions/{transaction_id}", transaction),
    ("GET", "/wallets", wallets),
    ("POST", "/wallets/fund", fund),
    ("GET", "/mandates", mandates),
    ("POST", "/mandates", issue_mandate),
    ("POST", "/mandates/{mandate_id}/revoke", revoke_mandate),
    ("GET", "/kill", kill),
    ("POST", "/kill", pull),
    ("POST", "/unfreeze", unfreeze),
    ("GET", "/rails", rails),
    ("POST", "/flags/{flag_id}/resolve", resolve_flag),
    ("GET", "/audit", audit),
    ("POST", "/sign-out", sign_out),
]


def dashboard_routes(runtime: RuntimeGetter) -> list[BaseRoute]:
    """Every dashboard route, for the admin listener."""
    used = UsedForms()
    routes: list[BaseRoute] = [*sign_in_routes(runtime)]
    routes += [Route(BASE + path, page(runtime, handler, used=used), methods=[m]) for m, path, handler in PAGES]

    async def home(request: Request) -> Response:
        return redirect(f"{BASE}/approvals")

    routes.append(Route(BASE, home, methods=["GET"]))
    routes.append(Route(f"{BASE}/", home, methods=["GET"]))
    routes.append(Mount(f"{BASE}/static", StaticFiles(packages=[("fiduciary.server.dashboard", "static")])))
    return routes
