"""Dashboard sessions: an operator token exchanged once for a session that ends on its own.

Signing in checks the operator token like any other control call, then hands the browser a
fresh `fid_ses_` value that the store keeps only as its hash. Each request presents it again:
a session that ended, expired, or whose operator was revoked or expired since is refused and
that refusal recorded, like an unknown operator token. Signing in and out are audit entries.
The CSRF token of a session is derived from it, so it needs no storage and dies with it.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from fiduciary.control.base import ControlContext, Part, audit_platform
from fiduciary.control.operators import Operators, operator_of
from fiduciary.control.roles import Operator
from fiduciary.domain import limits
from fiduciary.domain.clock import parse_iso
from fiduciary.domain.codes import Code
from fiduciary.domain.errors import AccessError
from fiduciary.domain.ids import SESSION_TOKEN_PREFIX, Prefix, new_id, new_session_token, token_hash
from fiduciary.gate.refusals import record_unauthenticated


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in operator, the session's secret (the cookie's value) and when it ends."""

    operator: Operator
    token: str
    expires_at: datetime

    @property
    def csrf(self) -> str:
        return csrf_token(self.token)


def csrf_token(session_token: str) -> str:
    """The CSRF token of a session: a keyed hash of the session's secret, which pages embed in forms."""
    return hmac.new(session_token.encode(), b"fiduciary dashboard csrf", hashlib.sha256).hexdigest()


class Sessions(Part):
    def __init__(self, ctx: ControlContext, operators: Operators) -> None:
        super().__init__(ctx)
        self.operators = operators

    async def sign_in(self, operator_token: str | None, *, source: str) -> Session:
        """A new session for the operator whose token this is (refused and recorded otherwise)."""
        op = await self.operators.authenticate(operator_token, source=source)
        token = new_session_token()
        async with self.store.write() as w:
            expires = w.now + timedelta(seconds=limits.session_ttl_seconds)
            await w.insert_session(token_hash(token), op.operator_id, expires_at=expires)
            await audit_platform(
                w,
                actor=op.actor,
                type="operator.signed_in",
                subject=op.operator_id,
                payload={"source": source[: limits.refusal_source_chars_max], "expires_at": int(expires.timestamp())},
            )
        return Session(op, token, expires)

    async def resume(self, session_token: str | None, *, source: str) -> Session:
        """The session a browser presents, if it is still good; anything else is refused and recorded."""
        cause = "missing"
        if session_token and len(session_token) <= limits.token_chars_max:
            cause = "unknown"
            if session_token.startswith(SESSION_TOKEN_PREFIX):
                found = await self._live(session_token)
                if isinstance(found, Session):
                    return found
                cause = found
        async with self.store.write() as w:
            await record_unauthenticated(
                w,
                source=source,
                kind="dashboard_session",
                reference=new_id(Prefix.REFERENCE),
                actor="operator:unauthenticated",
                type="control.unauthenticated",
                payload={"cause": f"session_{cause}"},
            )
        raise AccessError(Code.UNAUTHENTICATED, "sign in again" if cause != "missing" else "sign in first")

    async def _live(self, session_token: str) -> Session | str:
        reads = self.store.read
        row = await reads.operator_session(token_hash(session_token))
        if row is None:
            return "unknown"
        now = self.ctx.clock.now()
        if row.ended_at is not None:
            return "ended"
        if now >= parse_iso(row.expires_at):
            return "expired"
        operator = await reads.operator(row.operator_id)
        if operator is None or operator.revoked_at is not None:
            return "operator_revoked"
        if operator.expires_at is not None and now >= parse_iso(operator.expires_at):
            return "operator_expired"
        return Session(operator_of(operator), session_token, parse_iso(row.expires_at))

    async def refused_form(self, session: Session, path: str, problem: str) -> None:
        """Record a dashboard form refused before it reached any action (no CSRF token, a forged or reused one)."""
        op = session.operator
        async with self.store.write() as w:
            await audit_platform(
                w,
                actor=op.actor,
                type="control.refused",
                subject=op.operator_id,
                payload={"action": "dashboard.form", "role": str(op.role), "code": problem, "path": path[:200]},
            )

    async def sign_out(self, session: Session) -> None:
        """End the session now; signing out twice changes nothing more."""
        async with self.store.write() as w:
            if await w.end_session(token_hash(session.token)):
                op = session.operator
                await audit_platform(w, actor=op.actor, type="operator.signed_out", subject=op.operator_id, payload={})
