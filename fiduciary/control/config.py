"""Policies and screening configuration: validated, versioned by hash, applied without a restart."""

from __future__ import annotations

from dataclasses import dataclass

from fiduciary.control.base import Part, action, not_found
from fiduciary.control.roles import Action, Operator
from fiduciary.control.simulate import SIMULATE_DAYS_MAX, Simulation, simulate, window
from fiduciary.domain.codes import Code
from fiduciary.domain.errors import InputError
from fiduciary.domain.intents import PLATFORM
from fiduciary.gate.screening import config_version, parse_injection_config
from fiduciary.injection import InjectionConfig
from fiduciary.policies import Policy, parse_policy
from fiduciary.store import PolicyRow, Reads, WriteTx


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


async def tenant_scope(
    reads: Reads, org_id: str | None, project_id: str | None, *, whole_org: bool = False
) -> tuple[str, str]:
    """The tenant a request means: as named, or the only one there is."""
    projects = [(o, p) for o, p, _ in await reads.projects() if o != PLATFORM.org_id]
    found = [(o, p) for o, p in projects if org_id in (None, o) and project_id in (None, p)]
    if whole_org:
        found = list({o: (o, p) for o, p in found}.values())
    if not found:
        raise not_found("org or project", project_id or org_id or "")
    if len(found) > 1:
        raise InputError(Code.INVALID_ARGUMENT, "there are several; name one with --org or --project")
    return found[0]


class Config(Part):
    """Policy files per project and screening files per org."""

    @action(Action.POLICY_APPLY)
    async def apply_policy(
        self, op: Operator, org_id: str | None, project_id: str | None, source: str
    ) -> tuple[str, str, Applied]:
        """Validate and store a new policy version for a project (None: the only one there is)."""
        policy = parse_policy(source)
        async with self.store.write() as w:
            org_id, project_id = await tenant_scope(w, org_id, project_id)
            return org_id, project_id, await store_policy(w, org_id, project_id, source, policy.version, op)

    @action(Action.INJECTION_APPLY)
    async def apply_injection(self, op: Operator, org_id: str | None, source: str) -> tuple[str, Applied]:
        """Validate and store an org's screening configuration (None: the only org); used from the next call."""
        parse_injection_config(source)
        version_hash = config_version(source)
        async with self.store.write() as w:
            org_id, _ = await tenant_scope(w, org_id, None, whole_org=True)
            current = await w.injection_config(org_id)
            if current is not None and current.version_hash == version_hash:
                return org_id, Applied(current.version, changed=False)
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
        return org_id, Applied(number, changed=True)

    @action(Action.CONFIG_READ)
    async def injection_config(self, op: Operator, org_id: str) -> InjectionConfig | None:
        """The org's current screening configuration (None: the defaults)."""
        if org_id not in await self.store.read.org_ids():
            raise not_found("org", org_id)
        return await self.ctx.gate.configs.for_org(self.store.read, org_id)

    @action(Action.CONFIG_READ)
    async def validate_policy(self, op: Operator, source: str) -> Policy:
        """Validate a policy file without applying it; `ConfigError` names its line, rule and key."""
        return parse_policy(source)

    @action(Action.CONFIG_READ)
    async def active_policy(self, op: Operator, org_id: str | None, project_id: str | None) -> PolicyRow:
        """The policy version a project runs under now."""
        org_id, project_id = await tenant_scope(self.store.read, org_id, project_id)
        row = await self.store.read.active_policy(org_id, project_id)
        if row is None:
            raise not_found("policy for project", project_id)
        return row

    @action(Action.CONFIG_READ)
    async def simulate(
        self, op: Operator, org_id: str | None, project_id: str | None, source: str, *, days: int
    ) -> tuple[str, Simulation]:
        """Replay the project's last `days` days of calls under `source`; the decisions that change."""
        if not 1 <= days <= SIMULATE_DAYS_MAX:
            raise InputError(Code.INVALID_ARGUMENT, f"--days must be 1 to {SIMULATE_DAYS_MAX}")
        proposed = parse_policy(source)
        reads = self.store.read
        org_id, project_id = await tenant_scope(reads, org_id, project_id)
        row = await reads.active_policy(org_id, project_id)
        if row is None:
            raise not_found("policy for project", project_id)
        history = await reads.project_history(org_id, project_id, since=window(self.ctx.clock.now(), days))
        return project_id, simulate(parse_policy(row.source), proposed, history, days=days)


@dataclass(frozen=True, slots=True)
class PolicyDiff:
    """What applying a file would change, rule by rule (compared as validated, not as typed)."""

    added: list[str]
    removed: list[str]
    changed: list[str]
    same_version: bool


def diff_policies(current: str, proposed: str) -> PolicyDiff:
    """Compare two policy sources; raises `ConfigError` if the proposed one does not validate."""
    new = parse_policy(proposed)
    old = parse_policy(current)
    before, after = {r.id: r for r in old.rules}, {r.id: r for r in new.rules}
    changed = sorted(rule_id for rule_id in before.keys() & after.keys() if before[rule_id] != after[rule_id])
    return PolicyDiff(
        added=sorted(after.keys() - before.keys()),
        removed=sorted(before.keys() - after.keys()),
        changed=changed,
        same_version=old.version == new.version,
    )
