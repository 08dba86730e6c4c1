"""Operator identities: tokens shown once and stored hashed, roles, expiry and revocation."""

from __future__ import annotations

import re
from datetime import timedelta

from fiduciary.control.base import Part, action, audit_platform, not_found
from fiduciary.control.roles import Action, Operator, Role
from fiduciary.domain import limits
from fiduciary.domain.clock import iso, parse_iso
from fiduciary.domain.codes import Code
from fiduciary.domain.errors import AccessError, InputError
from fiduciary.domain.ids import AGENT_TOKEN_PREFIX, OPERATOR_TOKEN_PREFIX, Prefix, new_id, new_operator_token
from fiduciary.domain.ids import token_hash as hash_token
from fiduciary.domain.records import OperatorRow
from fiduciary.gate.refusals import record_unauthenticated
from fiduciary.store import WriteTx

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@\-]*")


def check_name(name: str, what: str) -> str:
    """A name an operator gives: 1-64 characters of letters, digits and . _ @ -."""
    if len(name) > limits.name_chars_max or not _NAME_RE.fullmatch(name) or name.startswith(f"{Prefix.OPERATOR}_"):
        raise InputError(
            Code.INVALID_ARGUMENT,
            f"{what} name must be 1-{limits.name_chars_max} letters, digits or . _ @ -, "
            f"start with a letter or a digit, and not look like an id ({Prefix.OPERATOR}_...)",
        )
    return name


def operator_of(row: OperatorRow) -> Operator:
    return Operator(row.operator_id, row.name, Role(row.role))


def operator_status(row: OperatorRow, now_iso: str) -> str:
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= now_iso:
        return "expired"
    return "active"


async def insert_operator(
    w: WriteTx, *, name: str, role: Role, by: str, expires_days: int | None
) -> tuple[Operator, str]:
    """Create an operator in `w` and audit it; the token is returned once and stored only hashed."""
    check_name(name, "an operator")
    if expires_days is not None and not 1 <= expires_days <= limits.operator_token_days_max:
        raise InputError(Code.INVALID_ARGUMENT, f"--expires-days must be 1 to {limits.operator_token_days_max}")
    if await w.operator(name) is not None:
        raise InputError(Code.INVALID_ARGUMENT, f"an operator named {name} already exists")
    operator_id, token = new_id(Prefix.OPERATOR), new_operator_token()
    expires = None if expires_days is None else w.now + timedelta(days=expires_days)
    await w.insert_operator(
        operator_id, name=name, role=role.value, token_hash=hash_token(token), by=by, expires_at=expires
    )
    payload = {"name": name, "role": role.value, "expires_at": None if expires is None else int(expires.timestamp())}
    await audit_platform(w, actor=by, type="operator.added", subject=operator_id, payload=payload)
    return Operator(operator_id, name, role), token


class Operators(Part):
    """Who may act on the control plane."""

    async def authenticate(self, token: str | None, *, source: str = "cli") -> Operator:
        """The operator a token belongs to; anything else is refused and audited.

        An agent token never authenticates here, whatever it is: the two kinds live apart.
        """
        row = None
        if token and len(token) <= limits.token_chars_max and token.startswith(OPERATOR_TOKEN_PREFIX):
            row = await self.store.read.operator_by_token_hash(hash_token(token))
        now = self.ctx.clock.now()
        if row is not None and row.revoked_at is None and (row.expires_at is None or now < parse_iso(row.expires_at)):
            return operator_of(row)
        cause = "missing" if not token else "agent_token" if token.startswith(AGENT_TOKEN_PREFIX) else "unknown"
        if row is not None:
            cause = "revoked" if row.revoked_at is not None else "expired"
        async with self.store.write() as w:
            await record_unauthenticated(
                w,
                source=source,
                kind="operator_token",
                reference=new_id(Prefix.REFERENCE),
                actor="operator:unauthenticated",
                type="control.unauthenticated",
                payload={"cause": cause},
            )
        hint = {
            "missing": "give --token, set FIDUCIARY_OPERATOR_TOKEN, or run where `fiduciary init` left its admin token",
            "agent_token": "an agent token cannot act on the control plane; use an operator token",
            "revoked": "this operator token was revoked; ask an admin for a new one",
            "expired": "this operator token expired; ask an admin for a new one",
            "unknown": "this is not a known operator token",
        }[cause]
        raise AccessError(Code.UNAUTHENTICATED, hint)

    @action(Action.OPERATORS_ADD)
    async def add(
        self, op: Operator, name: str, role: Role, *, expires_days: int | None = None
    ) -> tuple[Operator, str]:
        """A new operator and its token (shown once)."""
        async with self.store.write() as w:
            return await insert_operator(w, name=name, role=role, by=op.actor, expires_days=expires_days)

    @action(Action.OPERATORS_READ)
    async def list(self, op: Operator) -> list[tuple[OperatorRow, str]]:
        """Every operator with its status (`active`, `expired`, `revoked`)."""
        now = iso(self.ctx.clock.now())
        return [(row, operator_status(row, now)) for row in await self.store.read.operators()]

    @action(Action.OPERATORS_REVOKE)
    async def revoke(self, op: Operator, operator: str) -> OperatorRow:
        """Revoke an operator's token at once. The last active admin cannot be revoked."""
        async with self.store.write() as w:
            row = await w.operator(operator)
            if row is None:
                raise not_found("operator", operator)
            if row.revoked_at is not None:
                raise InputError(Code.INVALID_ARGUMENT, f"operator {row.name} is already revoked")
            if row.role == Role.ADMIN.value:
                admins = [o for o in await w.operators() if o.role == Role.ADMIN.value and o.revoked_at is None]
                if len(admins) <= 1:
                    raise InputError(Code.INVALID_ARGUMENT, "this is the last admin; add another admin first")
            await w.revoke_operator(row.operator_id, by=op.actor)
            await w.end_sessions(row.operator_id)
            await audit_platform(
                w, actor=op.actor, type="operator.revoked", subject=row.operator_id, payload={"name": row.name}
            )
        fresh = await self.store.read.operator(row.operator_id)
        assert fresh is not None
        return fresh
