"""Org signing keys: the public halves as a JWKS, and their rotation (on demand or by age).

A rotation adds a new key for a purpose and retires the current one in one transaction that
also writes the `key.rotated` entry, so an org always has exactly one key signing for each
purpose. A retired key never signs again and verifies forever: it stays in the JWKS. A running
server rotates every key older than `settings.key_rotation_days` (actor `system`); the age is
read again inside the transaction, so instances sharing a database rotate a key once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fiduciary.audit.jwks import jwks
from fiduciary.control.base import ControlContext, Part, action, check_reason, not_found
from fiduciary.control.config import tenant_scope
from fiduciary.control.roles import Action, Operator
from fiduciary.domain.clock import iso
from fiduciary.domain.records import KeyRow
from fiduciary.mandates.keys import KeyPurpose


@dataclass(frozen=True, slots=True)
class Rotation:
    """One key replaced: the org, what it signs, the new key and the keys it retired."""

    org_id: str
    purpose: str
    kid: str
    retired: tuple[str, ...]


async def rotate_keys(
    ctx: ControlContext,
    org_id: str,
    purposes: Sequence[KeyPurpose],
    *,
    actor: str,
    reason: str,
    older_than: datetime | None = None,
) -> list[Rotation]:
    """Replace the org's current key for each purpose (only those made before `older_than`, when given)."""
    done: list[Rotation] = []
    async with ctx.store.write() as w:
        current = [k for k in await w.key_rows(org_id) if k.retired_at is None]
        for purpose in purposes:
            old = [k.kid for k in current if k.purpose == purpose.value]
            if older_than is not None and any(k.created_at >= iso(older_than) for k in current if k.kid in old):
                continue
            new = ctx.keyring.new_key(purpose)
            await w.insert_key(org_id, new)
            for kid in old:
                await w.retire_key(org_id, kid)
            payload = {"purpose": purpose.value, "kid": new.kid, "retired": old, "reason": reason}
            await w.audit(org_id, None, actor=actor, type="key.rotated", subject=new.kid, payload=payload)
            done.append(Rotation(org_id, purpose.value, new.kid, tuple(old)))
    for rotation in done:
        ctx.keyring.forget(org_id, KeyPurpose(rotation.purpose))
    return done


class Keys(Part):
    """The JWKS an outsider verifies with, and key rotation. (`list` comes last: its name would
    shadow the builtin in the annotations below it.)"""

    @action(Action.KEYS_READ)
    async def jwks(self, op: Operator, org_id: str | None = None) -> dict[str, Any]:
        """The public keys as a JWKS."""
        return jwks(await self._rows(org_id))

    @action(Action.KEYS_ROTATE)
    async def rotate(
        self, op: Operator, org_id: str | None, purposes: Sequence[KeyPurpose], *, reason: str
    ) -> list[Rotation]:
        """Replace the org's current key for each purpose now (None: the only tenant org's);
        audited with the operator and reason."""
        reason = check_reason(reason)
        if org_id is None:
            org_id, _ = await tenant_scope(self.store.read, None, None, whole_org=True)
        elif org_id not in await self.store.read.org_ids():
            raise not_found("org", org_id)
        return await rotate_keys(self.ctx, org_id, purposes, actor=op.actor, reason=reason)

    async def rotate_due(self, *, days: int) -> list[Rotation]:
        """A system sweep: replace every current key made more than `days` ago (0: never)."""
        if days <= 0:
            return []
        cutoff = self.ctx.clock.now() - timedelta(days=days)
        due = {
            k.org_id for k in await self.store.read.key_rows() if k.retired_at is None and k.created_at < iso(cutoff)
        }
        done = []
        for org_id in sorted(due):
            reason = f"scheduled: older than {days} days"
            done += await rotate_keys(
                self.ctx, org_id, list(KeyPurpose), actor="system", reason=reason, older_than=cutoff
            )
        return done

    async def _rows(self, org_id: str | None) -> list[KeyRow]:
        if org_id is not None and org_id not in await self.store.read.org_ids():
            raise not_found("org", org_id)
        return await self.store.read.key_rows(org_id)

    @action(Action.KEYS_READ)
    async def list(self, op: Operator, org_id: str | None = None) -> list[KeyRow]:
        """Every key of every org (or of one), retired ones too."""
        return await self._rows(org_id)
