"""Open mandates: the only standing authority. Issued, renewed and revoked by operators, audited."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fiduciary.control.base import Part, action, check_reason, not_found
from fiduciary.control.roles import Action, Operator
from fiduciary.domain import limits
from fiduciary.domain.codes import Code
from fiduciary.domain.counterparties import canonical
from fiduciary.domain.errors import InputError, MandateError
from fiduciary.domain.ids import Prefix, new_id
from fiduciary.domain.intents import PLATFORM, RAIL_NAME_RE, AgentRef, Tool
from fiduciary.domain.money import parse_amount
from fiduciary.keyring import Keyring
from fiduciary.mandates import OpenMandate, OpenTerms, sign_open, status_at, verify_open
from fiduciary.mandates.keys import KeyPurpose
from fiduciary.store import OpenMandateRow, Reads, WriteTx

_COUNTRY_RE = re.compile(r"[A-Z]{2}")
DEFAULT_DAYS = 30


@dataclass(frozen=True, slots=True)
class MandateSpec:
    """An open mandate as an operator asks for it; amounts in major units, as typed."""

    agent_id: str
    currency: str
    max_per_use: str
    total_cap: str
    purpose: str
    tools: tuple[str, ...] = (Tool.PAY.value,)
    max_uses: int | None = None
    counterparties: tuple[str, ...] | None = None
    categories: tuple[str, ...] | None = None
    countries: tuple[str, ...] | None = None
    rails: tuple[str, ...] | None = None
    """The rails its payments may go through, by name (default: any)."""
    not_before: datetime | str | None = None
    """When it starts (default: now); a string is an ISO 8601 time or a date."""
    expires_at: datetime | str | None = None
    """When it ends (default: 30 days after it starts)."""


@dataclass(frozen=True, slots=True)
class MandateDetails:
    """A mandate as stored and as signed. `terms` is None when the token no longer verifies."""

    row: OpenMandateRow
    status: str
    mandate: OpenMandate | None


def _bad(message: str) -> InputError:
    return InputError(Code.INVALID_ARGUMENT, message)


def _listed(values: tuple[str, ...] | None, what: str, chars_max: int) -> tuple[str, ...] | None:
    if values is None:
        return None
    if not values or len(values) > limits.open_mandate_constraint_list_max:
        raise _bad(f"give 1 to {limits.open_mandate_constraint_list_max} {what}")
    for value in values:
        if not value.strip() or len(value) > chars_max or not value.isprintable():
            raise _bad(f"each of the {what} must be 1 to {chars_max} printable characters")
    return tuple(dict.fromkeys(values))


def _payees(values: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """An allow-list, each entry in canonical form (a mandate signs what every comparison uses)."""
    entries = _listed(values, "counterparties", limits.counterparty_chars_max)
    return None if entries is None else tuple(dict.fromkeys(canonical(entry) for entry in entries))


def terms_of(spec: MandateSpec) -> OpenTerms:
    """Validate an operator's mandate request into signed terms; `InputError` says what to fix."""
    per_use = parse_amount(spec.max_per_use, spec.currency)
    cap = parse_amount(spec.total_cap, spec.currency)
    if per_use.amount_minor > cap.amount_minor:
        raise _bad(f"the per-use maximum ({per_use}) is above the total cap ({cap})")
    tools = tuple(dict.fromkeys(spec.tools))
    known = {tool.value for tool in Tool}
    if not tools or not set(tools) <= known:
        raise _bad(f"tools must be one or more of {', '.join(sorted(known))}")
    if spec.max_uses is not None and spec.max_uses < 1:
        raise _bad("--uses must be at least 1")
    countries = _listed(spec.countries, "countries", 2)
    if countries is not None and not all(_COUNTRY_RE.fullmatch(c) for c in countries):
        raise _bad("countries are ISO 3166 alpha-2 codes such as BR")
    rails = _listed(spec.rails, "rails", 32)
    if rails is not None and not all(RAIL_NAME_RE.fullmatch(r) for r in rails):
        raise _bad("rails are named as in the rails file: lower-case letters, digits, - and _")
    purpose = spec.purpose.strip()
    if not purpose or len(purpose) > limits.purpose_chars_max or not purpose.isprintable():
        raise _bad(f"the purpose must be 1 to {limits.purpose_chars_max} printable characters")
    return OpenTerms(
        currency=per_use.currency,
        max_per_use_minor=per_use.amount_minor,
        total_cap_minor=cap.amount_minor,
        tools=tools,
        purpose=purpose,
        max_uses=spec.max_uses,
        counterparties=_payees(spec.counterparties),
        categories=_listed(spec.categories, "categories", limits.category_chars_max),
        countries=countries,
        rails=rails,
    )


def _window(now: datetime, not_before: datetime | None, expires_at: datetime | None) -> tuple[datetime, datetime]:
    start = not_before or now
    end = expires_at or start + timedelta(days=DEFAULT_DAYS)
    if end <= now:
        raise _bad("the expiry is in the past")
    if end <= start:
        raise _bad("the expiry must come after the not-before time")
    if end - max(start, now) > timedelta(days=limits.open_mandate_days_max):
        raise _bad(f"a mandate is valid for at most {limits.open_mandate_days_max} days; renew it to go on")
    return start, end


async def sign_and_store(
    w: WriteTx,
    keyring: Keyring,
    caller: AgentRef,
    terms: OpenTerms,
    *,
    not_before: datetime,
    expires_at: datetime,
    by: Operator,
) -> str:
    """Sign an open mandate for the agent, store it and audit it; its id."""
    mandate = OpenMandate(
        new_id(Prefix.MANDATE), caller.org_id, caller.project_id, caller.agent_id, not_before, expires_at, terms
    )
    token = sign_open(mandate, await keyring.signer(w, caller.org_id, KeyPurpose.MANDATE), issued_at=w.now)
    await w.insert_open_mandate(caller, mandate.mandate_id, token=token, issued_by=by.operator_id)
    await w.audit(
        caller.org_id,
        caller.project_id,
        actor=by.actor,
        type="mandate.issued",
        subject=mandate.mandate_id,
        payload={
            "agent_id": caller.agent_id,
            "currency": terms.currency,
            "max_per_use_minor": terms.max_per_use_minor,
            "total_cap_minor": terms.total_cap_minor,
            "max_uses": terms.max_uses,
            "tools": list(terms.tools),
            "counterparty_count": None if terms.counterparties is None else len(terms.counterparties),
            "categories": None if terms.categories is None else list(terms.categories),
            "countries": None if terms.countries is None else list(terms.countries),
            "rails": None if terms.rails is None else list(terms.rails),
            "not_before": int(not_before.timestamp()),
            "expires_at": int(expires_at.timestamp()),
        },
    )
    return mandate.mandate_id


async def _existing(reads: Reads, mandate_id: str) -> OpenMandateRow:
    row = await reads.open_mandate_by_id(mandate_id)
    if row is None:
        raise not_found("mandate", mandate_id)
    return row


async def _reload(w: WriteTx, mandate_id: str) -> MandateDetails:
    """A mandate this transaction just wrote, as it now stands."""
    row = await w.open_mandate_by_id(mandate_id)
    assert row is not None, "the mandate was written in this transaction"
    return await details(w, row, w.now)


async def details(reads: Reads, row: OpenMandateRow, now: datetime) -> MandateDetails:
    keys = await reads.public_keys(row.org_id, KeyPurpose.MANDATE)
    try:
        mandate = verify_open(
            row.token, keys, org_id=row.org_id, project_id=row.project_id, agent_id=row.agent_id, now=None
        )
    except MandateError:
        return MandateDetails(row, "revoked" if row.status == "revoked" else "invalid", None)
    return MandateDetails(row, status_at(row.status, now, mandate), mandate)


class Mandates(Part):
    @action(Action.MANDATES_ISSUE)
    async def issue(self, op: Operator, spec: MandateSpec) -> MandateDetails:
        """Sign a new open mandate for an enabled agent."""
        terms = terms_of(spec)
        async with self.store.write() as w:
            agent = await w.agent(spec.agent_id)
            if agent is None or agent.ref.org_id == PLATFORM.org_id:
                raise not_found("agent", spec.agent_id)
            if agent.disabled_at is not None:
                raise _bad(f"agent {spec.agent_id} is disabled")
            start, end = _window(w.now, _time(spec.not_before), _time(spec.expires_at))
            mandate_id = await sign_and_store(
                w, self.ctx.keyring, agent.ref, terms, not_before=start, expires_at=end, by=op
            )
            return await _reload(w, mandate_id)

    @action(Action.MANDATES_READ)
    async def list(
        self, op: Operator, *, agent_id: str | None = None, include_all: bool = False
    ) -> list[MandateDetails]:
        """Open mandates; by default only those that can still authorise (active or not yet valid)."""
        reads, now = self.store.read, self.ctx.clock.now()
        agents = [a for a in await reads.agents() if a.ref.org_id != PLATFORM.org_id]
        if agent_id is not None:
            agents = [a for a in agents if a.ref.agent_id == agent_id]
            if not agents:
                raise not_found("agent", agent_id)
        found = [await details(reads, row, now) for agent in agents for row in await reads.open_mandates(agent.ref)]
        return found if include_all else [d for d in found if d.status in ("active", "not_yet_valid")]

    @action(Action.MANDATES_READ)
    async def show(self, op: Operator, mandate_id: str) -> MandateDetails:
        row = await _existing(self.store.read, mandate_id)
        return await details(self.store.read, row, self.ctx.clock.now())

    @action(Action.MANDATES_REVOKE)
    async def revoke(self, op: Operator, mandate_id: str, *, reason: str) -> MandateDetails:
        """Revoke at once; a payment it authorised that has not reached the rail is rolled back there."""
        reason = check_reason(reason)
        async with self.store.write() as w:
            row = await _existing(w, mandate_id)
            if not await w.revoke_open_mandate(
                row.org_id, row.project_id, mandate_id, by=op.operator_id, reason=reason
            ):
                raise _bad(f"mandate {mandate_id} is already revoked")
            await w.audit(
                row.org_id,
                row.project_id,
                actor=op.actor,
                type="mandate.revoked",
                subject=mandate_id,
                payload={"reason": reason},
            )
            return await _reload(w, mandate_id)

    @action(Action.MANDATES_RENEW)
    async def renew(self, op: Operator, mandate_id: str, *, expires_at: datetime | str | None = None) -> MandateDetails:
        """Re-sign an active mandate with a later expiry; its terms, uses and spend stay as they are."""
        async with self.store.write() as w:
            row = await _existing(w, mandate_id)
            current = await details(w, row, w.now)
            if row.status != "active" or current.mandate is None:
                raise _bad(f"mandate {mandate_id} is {current.status}; issue a new one instead")
            old = current.mandate
            end = _time(expires_at) or max(w.now, old.expires_at) + (old.expires_at - old.not_before)
            start, end = _window(w.now, old.not_before, end)
            if end <= old.expires_at:
                raise _bad("a renewal must move the expiry later")
            renewed = OpenMandate(old.mandate_id, old.org_id, old.project_id, old.agent_id, start, end, old.terms)
            signer = await self.ctx.keyring.signer(w, row.org_id, KeyPurpose.MANDATE)
            token = sign_open(renewed, signer, issued_at=w.now)
            await w.replace_open_mandate_token(row.org_id, row.project_id, mandate_id, token=token)
            await w.audit(
                row.org_id,
                row.project_id,
                actor=op.actor,
                type="mandate.renewed",
                subject=mandate_id,
                payload={"expires_at": int(end.timestamp()), "previous_expires_at": int(old.expires_at.timestamp())},
            )
            return await _reload(w, mandate_id)


def _time(value: datetime | str | None) -> datetime | None:
    return parse_time(value) if isinstance(value, str) else value


def parse_time(text: str) -> datetime:
    """An operator's time: ISO 8601 with a zone (`2027-01-31T00:00:00Z`) or a date (midnight UTC)."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise _bad(f"{text!r} is not a date or an ISO 8601 time such as 2027-01-31T00:00:00Z") from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
