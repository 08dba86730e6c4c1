"""What every dashboard page shares: the session cookie, CSRF and one-time forms, templates, errors.

- The session is a cookie (`HttpOnly`, `SameSite=Strict`, `Path=/dashboard`, `Secure` when the
  request came over HTTPS) holding a `fid_ses_` value the store keeps only hashed.
- Every form carries a one-time token: a fresh nonce and an HMAC of it keyed by the session's
  CSRF secret. A POST without it, with a forged one, or with one already used is refused before
  anything changes, and the refusal is an audit entry naming the operator.
- Templates escape every value; agent-written text also goes through `terminal.escape`, so a
  bidi override or a zero-width character shows as a visible escape, not as a disguise.
- Every response forbids framing, scripts and caching (`Content-Security-Policy`, `no-store`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote

from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from fiduciary import shapes, terminal
from fiduciary.control import Action, Operator, Session, may
from fiduciary.domain import limits
from fiduciary.domain.codes import Code
from fiduciary.domain.errors import AccessError, ConfigError, InputError
from fiduciary.domain.money import Money
from fiduciary.runtime import Runtime

BASE = "/dashboard"
SESSION_COOKIE = "fid_session"
SIGN_IN_COOKIE = "fid_sign_in"
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

NAV: tuple[tuple[str, str, Action], ...] = (
    ("approvals", "Approvals", Action.APPROVALS_READ),
    ("transactions", "Transactions", Action.TRANSACTIONS_READ),
    ("wallets", "Wallets", Action.WALLETS_READ),
    ("mandates", "Mandates", Action.MANDATES_READ),
    ("kill", "Kill switch", Action.KILL_READ),
    ("rails", "Rails", Action.RAILS_READ),
    ("audit", "Audit", Action.AUDIT_VERIFY),
)


def agent_text(value: object) -> str:
    """Agent-written text for a page: hidden characters made visible (HTML escaping comes after)."""
    return "" if value is None else terminal.escape(str(value))


def time_left(expires_at: str, now: datetime) -> str:
    seconds = int((datetime.fromisoformat(expires_at.replace("Z", "+00:00")) - now).total_seconds())
    if seconds <= 0:
        return "expired"
    hours, minutes = divmod(seconds // 60, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {seconds % 60:02d}s"


def money(value: Money | None) -> str:
    return "" if value is None else f"{value.to_major()} {value.currency}"


TEMPLATES = Environment(
    loader=PackageLoader("fiduciary.server.dashboard", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
TEMPLATES.filters["agent"] = agent_text
TEMPLATES.filters["party"] = lambda value: terminal.ERASED if value is None else agent_text(value)
TEMPLATES.filters["money"] = money
TEMPLATES.filters["minor"] = lambda value, currency: Money(value, currency).to_major()
TEMPLATES.globals["covering"] = shapes.covering


class UsedForms:
    """Nonces of forms already sent, remembered for a session's lifetime (bounded)."""

    def __init__(self, capacity: int = limits.dashboard_forms_remembered_max) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._capacity = capacity

    def first_use(self, nonce: str) -> bool:
        now = time.monotonic()
        while self._seen and (
            len(self._seen) >= self._capacity or next(iter(self._seen.values())) < now - limits.session_ttl_seconds
        ):
            self._seen.popitem(last=False)
        if nonce in self._seen:
            return False
        self._seen[nonce] = now
        return True


def form_token(session: Session) -> str:
    """A one-time form token: a nonce and its HMAC under the session's CSRF secret."""
    nonce = secrets.token_urlsafe(16)
    return f"{nonce}.{_mac(session, nonce)}"


def _mac(session: Session, nonce: str) -> str:
    return hmac.new(session.csrf.encode(), nonce.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Page:
    """One dashboard request: the runtime, who is signed in, the form (for a POST), the query."""

    rt: Runtime
    session: Session
    request: Request
    form: dict[str, str]

    @property
    def op(self) -> Operator:
        return self.session.operator

    @property
    def query(self) -> dict[str, str]:
        return dict(self.request.query_params)

    def path(self, key: str) -> str:
        return str(self.request.path_params[key])

    def field(self, key: str, *, required: bool = True) -> str | None:
        value = self.form.get(key, "").strip()
        if not value:
            if required:
                raise FormError(Code.MISSING_ARGUMENT, f"fill in {key.replace('_', ' ')}")
            return None
        return value

    def render(self, template: str, *, status: int = 200, **values: Any) -> HTMLResponse:
        return render(self.request, template, status=status, session=self.session, **values)


def render(
    request: Request, template: str, *, status: int = 200, session: Session | None = None, **values: Any
) -> HTMLResponse:
    nav = [] if session is None else [(p, label) for p, label, action in NAV if may(session.operator.role, action)]
    values.setdefault("done", None)
    html = TEMPLATES.get_template(template).render(
        base=BASE,
        active=request.url.path.removeprefix(f"{BASE}/").split("/")[0],
        nav=nav,
        session=session,
        operator=None if session is None else session.operator,
        may=(lambda action: session is not None and may(session.operator.role, Action(action))),
        form_token=(lambda: "" if session is None else form_token(session)),
        **values,
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def redirect(to: str) -> RedirectResponse:
    return RedirectResponse(to, status_code=303, headers=HEADERS)


def local_next(value: str | None) -> str:
    """Where to go after signing in: a dashboard path of ours, or the approvals page."""
    if value and value.startswith(f"{BASE}/") and "//" not in value and "\\" not in value and len(value) < 512:
        return value
    return f"{BASE}/approvals"


def cookie_secure(request: Request) -> bool:
    return request.url.scheme == "https"


async def read_form(request: Request) -> dict[str, str]:
    """A bounded `application/x-www-form-urlencoded` body; one value per field."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise FormError(Code.INVALID_ARGUMENT, "send the form as application/x-www-form-urlencoded")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limits.dashboard_form_bytes_max:
            raise FormTooLarge
    try:
        parsed = parse_qs(raw.decode(), keep_blank_values=True, max_num_fields=limits.dashboard_form_fields_max)
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormError(Code.INVALID_ARGUMENT, "the form could not be read") from exc
    return {key: values[-1] for key, values in parsed.items()}


class FormTooLarge(Exception):
    """A form body over `limits.dashboard_form_bytes_max`."""


class FormError(InputError):
    """Input the dashboard refuses itself, before any control action could check (and record) it."""


Handler = Callable[[Page], Awaitable[Response]]
RuntimeGetter = Callable[[], Runtime | None]


def source_of(request: Request) -> str:
    return f"dashboard:{request.client.host if request.client else 'unknown'}"


def error_page(request: Request, exc: Exception, session: Session | None) -> Response:
    """The page for a refused request; messages are the control plane's own, never internals."""
    if isinstance(exc, AccessError):
        status = 401 if exc.code == Code.UNAUTHENTICATED else 403
        message = exc.message
    elif isinstance(exc, InputError):
        status = 404 if exc.code == Code.NOT_FOUND else 400
        message = exc.message
    elif isinstance(exc, FormTooLarge):
        status, message = 413, f"the form is larger than {limits.dashboard_form_bytes_max} bytes"
    else:
        assert isinstance(exc, ConfigError)
        status, message = 400, str(exc)
    return render(request, "error.html", status=status, session=session, status_code=status, message=message)


def page(runtime: RuntimeGetter, handler: Handler, *, used: UsedForms) -> Callable[[Request], Awaitable[Response]]:
    """A signed-in page: GET renders, POST first checks the one-time form token."""

    async def run(request: Request) -> Response:
        rt = runtime()
        if rt is None:
            return HTMLResponse("The server is starting; try again.", status_code=503, headers=HEADERS)
        session: Session | None = None
        try:
            token = request.cookies.get(SESSION_COOKIE)
            if token is None and request.method == "GET":
                return redirect(f"{BASE}/sign-in?next={quote(request.url.path)}")
            try:
                session = await rt.control.sessions.resume(token, source=source_of(request))
            except AccessError:
                if request.method == "GET":
                    return redirect(f"{BASE}/sign-in?next={quote(request.url.path)}")
                raise
            form: dict[str, str] = {}
            if request.method == "POST":
                form = await read_form(request)
                problem = _form_problem(session, form.get("csrf", ""), used)
                if problem is not None:
                    await rt.control.sessions.refused_form(session, request.url.path, problem)
                    raise AccessError(Code.FORBIDDEN, _FORM_PROBLEMS[problem])
            return await handler(Page(rt, session, request, form))
        except (FormError, FormTooLarge) as exc:
            if session is not None:  # the control actions record their own refusals; these never reached one
                code = exc.code if isinstance(exc, FormError) else "too_large"
                await rt.control.sessions.refused_form(session, request.url.path, code)
            return error_page(request, exc, session)
        except (AccessError, InputError, ConfigError) as exc:
            return error_page(request, exc, session)

    return run


_FORM_PROBLEMS = {
    "csrf_missing": "this form has no security token; reload the page and send it again",
    "csrf_invalid": "this form's security token is not valid for your session; reload the page",
    "form_replayed": "this form was already sent; reload the page to act again",
}


def _form_problem(session: Session, token: str, used: UsedForms) -> str | None:
    nonce, _, mac = token.partition(".")
    if not nonce or not mac:
        return "csrf_missing"
    if len(token) > 256 or not hmac.compare_digest(mac, _mac(session, nonce)):
        return "csrf_invalid"
    if not used.first_use(nonce):
        return "form_replayed"
    return None
