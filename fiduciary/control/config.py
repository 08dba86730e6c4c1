"""Policies and screening configuration: validated, versioned by hash, applied without a restart."""

from __future__ import annotations

from dataclasses import dataclass

from fiduciary.control.base import Part, action, not_found
from fiduciary.control.roles import Action, Operator
from fiduciary.gate.screening import config_version, parse_injection_config
from fiduciary.injection import InjectionConfig
from fiduciary.policies import parse_policy
from fiduciary.store import WriteTx


@dataclass(frozen=True, slots=True)
class Applied:
    """The version now active, and whether this call made it (an identical file changes nothing)."""

    version: int
    changed: bool


async def store_policy(
    w: WriteTx, org_id: str, project_id: str, source: str, version_hash: str, by: Operator
) -> Applied:
    current = await w.active_policy(org_id, project_id)
    if current is not None and current.version_hash == version_hash:
        return Applied(current.version, changed=False)
    number = await w.insert_policy(org_id, project_id, version_hash=version_hash, source=source, by=by.operator_id)
    await w.audit(
        org_id,
        project_id,
        actor=by.actor,
        type="policy.applied",
        subject=project_id,
        payload={"version": number, "version_hash": version_hash},
    )
    return Applied(number, changed=True)


class Config(Part):
    """Policy files per project and screening files per org."""

    @action(Action.POLICY_APPLY)
    async def apply_policy(self, op: Operator, org_id: str, project_id: str, source: str) -> Applied:
        """Validate and store a new policy version; it applies to the next call, without a restart."""
        policy = parse_policy(source)
        async with self.store.write() as w:
            if not await w.project_exists(org_id, project_id):
                raise not_found("project", f"{project_id} in org {org_id}")
            return await store_policy(w, org_id, project_id, source, policy.version, op)

    @action(Action.INJECTION_APPLY)
    async def apply_injection(self, op: Operator, org_id: str, source: str) -> Applied:
        """Validate and store an org's screening configuration; used from the next call."""
        parse_injection_config(source)
        version_hash = config_version(source)
        async with self.store.write() as w:
            if org_id not in await w.org_ids():
                raise not_found("org", org_id)
            current = await w.injection_config(org_id)
            if current is not None and current.version_hash == version_hash:
                return Applied(current.version, changed=False)
            number = await w.insert_injection_config(
                org_id, version_hash=version_hash, source=source, by=op.operator_id
            )
            await w.audit(
                org_id,
                None,
                actor=op.actor,
                type="injection_config.applied",
                subject=org_id,
                payload={"version": number, "version_hash": version_hash},
            )
        return Applied(number, changed=True)

    @action(Action.CONFIG_READ)
    async def injection_config(self, op: Operator, org_id: str) -> InjectionConfig | None:
        """The org's current screening configuration (None: the defaults)."""
        if org_id not in await self.store.read.org_ids():
            raise not_found("org", org_id)
        return await self.ctx.gate.configs.for_org(self.store.read, org_id)
