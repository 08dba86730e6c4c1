"""Erasure of a counterparty's personal data on request, and the legal holds that block it.

A counterparty's canonical value is kept once per org in the vault (`subjects`); the chain, the
exports, the sinks and the rows carry only salted commitments to it. `erase` wipes the value
and the salts, so no commitment can be opened again, while every entry keeps its bytes and the
chain, the checkpoints and the exports still verify. In the same write transaction it redacts
the copies made for people (the bodies of held-payment notices), drops the notes rails returned
about its payments (a bank may name the person), forgets the tokens of
open mandates that named the counterparty and can no longer authorise anything, and writes
`dsr.erased` (the erasure, the subjects' random ids, how many commitments it closed and the
SHA-256 of their sorted list, the reason).

An erasure is refused, with nothing written but the refusal's entry, while
- a legal hold covers the org or the counterparty;
- a transaction or funding with the counterparty is still under way (it needs the value to reach
  its rail), or an open mandate that can still authorise names it (revoke it first).

After an erasure the counterparty is new to the org: a later payment to it starts new counters.
A BR Code carries a Pix key; erasing the key erases the BR Codes of the org that carry it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from fiduciary.control.base import Part, action, check_reason, not_found
from fiduciary.control.config import tenant_scope
from fiduciary.control.roles import Action, Operator
from fiduciary.domain.clock import iso
from fiduciary.domain.codes import Code
from fiduciary.domain.counterparties import Kind, canonical, listed, match_keys
from fiduciary.domain.errors import InputError, MandateError
from fiduciary.domain.ids import Prefix, new_id
from fiduciary.domain.intents import PLATFORM
from fiduciary.domain.records import HoldRow, SubjectRow
from fiduciary.gate.alerts import naming
from fiduciary.mandates import verify_open
from fiduciary.mandates.keys import KeyPurpose
from fiduciary.store import WriteTx
from fiduciary.terminal import ERASED


@dataclass(frozen=True, slots=True)
class Erasure:
    """What one erasure did."""

    erasure_id: str
    org_id: str
    subjects: tuple[str, ...]
    commitments: int
    alerts_redacted: int
    rail_notes_dropped: int
    mandates_forgotten: tuple[str, ...]
    seq: int
    """The seq of the `dsr.erased` entry that records it."""
    scrubbed: bool
    """Whether the database's files hold nothing of the wiped values any more (see `Store.scrub`)."""


class Privacy(Part):
    """`dsr erase` and `legal-hold set|clear|list`."""

    @action(Action.DSR_ERASE)
    async def erase(self, op: Operator, org_id: str | None, subject: str, *, reason: str) -> Erasure:
        """Erase a counterparty (any form of its identifier) from the org's vault (None: the only
        tenant org's); see the module."""
        reason, value = check_reason(reason), canonical(subject)
        org_id = await self._org(org_id)
        async with self.store.write() as w:
            found = await _subjects_answering(w, org_id, value)
            if not found:
                raise not_found("counterparty with that identifier in org", org_id)
            await _check_erasable(w, org_id, found)
            mandates = await self._mandates_naming(w, org_id, value)
            erasure_id, commitments, alerts, notes = new_id(Prefix.ERASURE), [], 0, 0
            for row in found:
                assert row.value is not None, "only subjects with a value are found"
                commitments += await w.subject_commitments(row.subject_id)
                alerts += await w.redact_alerts(org_id, naming(row.value), naming(ERASED))
                notes += await w.drop_rail_notes(row.subject_id)
                await w.erase_subject(row.subject_id, erasure_id)
            for project_id, mandate_id in mandates:
                await w.drop_open_mandate_token(org_id, project_id, mandate_id)
            payload = {
                "erasure_id": erasure_id,
                "subjects": [row.subject_id for row in found],
                "commitments": len(commitments),
                "commitments_sha256": hashlib.sha256("\n".join(sorted(commitments)).encode()).hexdigest(),
                "alerts_redacted": alerts,
                "rail_notes_dropped": notes,
                "mandates_forgotten": [m for _, m in mandates],
                "reason": reason,
            }
            entry = await w.audit(org_id, None, actor=op.actor, type="dsr.erased", subject=erasure_id, payload=payload)
        scrubbed = await self.store.scrub()
        return Erasure(
            erasure_id,
            org_id,
            tuple(row.subject_id for row in found),
            len(commitments),
            alerts,
            notes,
            tuple(m for _, m in mandates),
            entry.body.seq,
            scrubbed,
        )

    @action(Action.LEGAL_HOLD_SET)
    async def hold(self, op: Operator, org_id: str | None, subject: str | None, *, reason: str) -> HoldRow:
        """Block erasure for the whole org (None: the only tenant org), or for one counterparty of
        it, until the hold is cleared."""
        reason = check_reason(reason)
        value = None if subject is None else canonical(subject)
        org_id = await self._org(org_id)
        async with self.store.write() as w:
            subject_id = None if value is None else await w.ensure_subject(org_id, value)
            hold = HoldRow(new_id(Prefix.HOLD), org_id, subject_id, reason, op.actor, iso(w.now), None, None, None)
            await w.insert_hold(hold)
            payload = {"hold_id": hold.hold_id, "subject_id": subject_id, "reason": reason}
            await w.audit(org_id, None, actor=op.actor, type="legal_hold.set", subject=hold.hold_id, payload=payload)
        return hold

    @action(Action.LEGAL_HOLD_CLEAR)
    async def clear(self, op: Operator, hold_id: str, *, reason: str) -> HoldRow:
        """Clear an open hold; erasure is possible again if no other hold covers it."""
        reason = check_reason(reason)
        async with self.store.write() as w:
            hold = await w.legal_hold(hold_id)
            if hold is None:
                raise not_found("legal hold", hold_id)
            if not await w.clear_hold(hold_id, by=op.actor, reason=reason):
                raise InputError(Code.INVALID_ARGUMENT, f"legal hold {hold_id} is already cleared")
            payload = {"hold_id": hold_id, "subject_id": hold.subject_id, "reason": reason}
            await w.audit(
                hold.org_id, None, actor=op.actor, type="legal_hold.cleared", subject=hold_id, payload=payload
            )
            cleared = await w.legal_hold(hold_id)
        assert cleared is not None
        return cleared

    @action(Action.LEGAL_HOLD_READ)
    async def holds(self, op: Operator, org_id: str | None = None, *, cleared: bool = False) -> list[HoldRow]:
        """The open holds (with `cleared`, every hold ever set), of one org or all."""
        if org_id is not None:
            org_id = await self._org(org_id)
        return await self.store.read.legal_holds(org_id, open_only=not cleared)

    async def _org(self, org_id: str | None) -> str:
        if org_id is None:
            org_id, _ = await tenant_scope(self.store.read, None, None, whole_org=True)
        elif org_id not in await self.store.read.org_ids() or org_id == PLATFORM.org_id:
            raise not_found("org", org_id)
        return org_id

    async def _mandates_naming(self, w: WriteTx, org_id: str, value: str) -> list[tuple[str, str]]:
        """(project, mandate) of the org's open mandates whose counterparty list names `value`; refused
        if one of them can still authorise a payment."""
        keys = await w.public_keys(org_id, KeyPurpose.MANDATE)
        dead = []
        for row in await w.org_open_mandates(org_id):
            if not row.token:
                continue
            try:
                mandate = verify_open(
                    row.token, keys, org_id=org_id, project_id=row.project_id, agent_id=row.agent_id, now=None
                )
            except MandateError:
                continue
            allowed = mandate.terms.counterparties
            if allowed is None or not listed(allowed, value):
                continue
            if row.status == "active" and w.now < mandate.expires_at:
                raise InputError(
                    Code.ERASURE_BLOCKED,
                    f"open mandate {row.mandate_id} names this counterparty and can still authorise payments; "
                    "revoke it first",
                )
            dead.append((row.project_id, row.mandate_id))
        return dead


async def _subjects_answering(w: WriteTx, org_id: str, value: str) -> list[SubjectRow]:
    """The org's subjects that are `value`: itself, and for a Pix key the BR Codes that carry it."""
    found = [row for row in [await w.subject(org_id, value)] if row is not None]
    if value.startswith(f"{Kind.PIX}:"):
        for row in await w.subjects_of_kind(org_id, Kind.BR_CODE):
            if row.value is not None and value in match_keys(row.value):
                found.append(row)
    return found


async def _check_erasable(w: WriteTx, org_id: str, found: list[SubjectRow]) -> None:
    """Refuse while a legal hold covers the org or a subject, or a dealing with one is under way."""
    ids = {row.subject_id for row in found}
    for hold in await w.legal_holds(org_id):
        if hold.subject_id is None or hold.subject_id in ids:
            raise InputError(Code.ERASURE_BLOCKED, f"legal hold {hold.hold_id} covers this counterparty")
    for row in found:
        under_way = await w.open_dealings(org_id, row.subject_id)
        if under_way:
            shown = ", ".join(under_way[:5]) + (" ..." if len(under_way) > 5 else "")
            raise InputError(
                Code.ERASURE_BLOCKED,
                f"{len(under_way)} payment(s) or funding(s) with this counterparty are still under way ({shown}); "
                "erase it once they have settled",
            )
