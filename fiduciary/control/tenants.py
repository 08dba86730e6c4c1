"""Tenants and agents: the first set-up (`init`), more agents, token rotation, disabling."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from fiduciary.control.base import ControlContext, Part, action, check_reason, not_found
from fiduciary.control.config import store_policy
from fiduciary.control.mandates import sign_and_store
from fiduciary.control.operators import check_name, insert_operator
from fiduciary.control.roles import Action, Operator, Role
from fiduciary.control.wallets import credit_wallet
from fiduciary.domain.codes import Code
from fiduciary.domain.errors import InputError
from fiduciary.domain.ids import Prefix, new_agent_token, new_id, token_hash
from fiduciary.domain.intents import PLATFORM, AgentRef
from fiduciary.domain.money import Money
from fiduciary.keyring import Keyring
from fiduciary.mandates import OpenTerms
from fiduciary.mandates.keys import KeyPurpose
from fiduciary.policies import parse_policy
from fiduciary.store import AgentRow, Reads, WriteTx


@dataclass(frozen=True, slots=True)
class TenantSpec:
    """What a new tenant starts with: names, the first policy, the wallet's funds and an open mandate."""

    org_name: str
    agent_name: str
    policy_source: str
    funding: Money
    terms: OpenTerms
    mandate_days: int


@dataclass(frozen=True, slots=True)
class Tenant:
    """What was created. The tokens exist only here: they are stored hashed."""

    org_id: str
    project_id: str
    agent_id: str
    agent_token: str = field(repr=False)
    mandate_id: str
    admin: Operator
    admin_token: str | None = field(default=None, repr=False)
    """Set only when this call created the first admin."""


async def create_org(w: WriteTx, keyring: Keyring, org_id: str, project_id: str, name: str, actor: str) -> None:
    await w.insert_org(org_id, name)
    await w.insert_project(org_id, project_id, name)
    for purpose in KeyPurpose:
        await w.insert_key(org_id, keyring.new_key(purpose))
    keys = {purpose.value: [k.kid for k in await w.sealed_keys(org_id, purpose)] for purpose in KeyPurpose}
    await w.audit(org_id, project_id, actor=actor, type="org.created", subject=org_id, payload={"keys": keys})


async def _insert_agent(w: WriteTx, org_id: str, project_id: str, name: str, actor: str) -> tuple[AgentRef, str]:
    check_name(name, "an agent")
    caller, token = AgentRef(org_id, project_id, new_id(Prefix.AGENT)), new_agent_token()
    await w.insert_agent(caller, name=name, token_hash=token_hash(token))
    await w.audit(
        org_id, project_id, actor=actor, type="agent.created", subject=caller.agent_id, payload={"name": name}
    )
    return caller, token


async def _create_tenant(
    ctx: ControlContext, w: WriteTx, spec: TenantSpec, admin: Operator
) -> tuple[AgentRef, str, str]:
    check_name(spec.org_name, "an org")
    policy = parse_policy(spec.policy_source)
    org_id, project_id = new_id(Prefix.ORG), new_id(Prefix.PROJECT)
    await create_org(w, ctx.keyring, org_id, project_id, spec.org_name, admin.actor)
    caller, token = await _insert_agent(w, org_id, project_id, spec.agent_name, admin.actor)
    await store_policy(w, org_id, project_id, spec.policy_source, policy.version, admin)
    await credit_wallet(w, caller, spec.funding, admin)
    mandate_id = await sign_and_store(
        w,
        ctx.keyring,
        caller,
        spec.terms,
        not_before=w.now,
        expires_at=w.now + timedelta(days=spec.mandate_days),
        by=admin,
    )
    return caller, token, mandate_id


async def initialise(ctx: ControlContext, spec: TenantSpec, *, admin_name: str) -> Tenant:
    """The first set-up of a data directory: the platform org, the first admin, and a tenant.

    Everything commits in one transaction, so a failure leaves no half-made home behind.
    """
    check_name(admin_name, "an operator")
    async with ctx.store.write() as w:
        if await w.operators():
            raise InputError(Code.INVALID_ARGUMENT, "this data directory already has operators")
        if not await w.project_exists(PLATFORM.org_id, PLATFORM.project_id):
            await create_org(w, ctx.keyring, PLATFORM.org_id, PLATFORM.project_id, "platform", "system:init")
        admin, admin_token = await insert_operator(
            w, name=admin_name, role=Role.ADMIN, by="system:init", expires_days=None
        )
        caller, token, mandate_id = await _create_tenant(ctx, w, spec, admin)
    return Tenant(caller.org_id, caller.project_id, caller.agent_id, token, mandate_id, admin, admin_token)


async def first_admin(ctx: ControlContext, *, admin_name: str) -> tuple[Operator, str]:
    """The first admin of a data directory made before operators existed; its token is shown once."""
    async with ctx.store.write() as w:
        if await w.operators():
            raise InputError(Code.INVALID_ARGUMENT, "this data directory already has operators")
        if not await w.project_exists(PLATFORM.org_id, PLATFORM.project_id):
            await create_org(w, ctx.keyring, PLATFORM.org_id, PLATFORM.project_id, "platform", "system:init")
        return await insert_operator(w, name=admin_name, role=Role.ADMIN, by="system:init", expires_days=None)


@dataclass(frozen=True, slots=True)
class AgentDetails:
    """One agent as an operator sees it."""

    agent: AgentRow
    frozen_by: str | None
    """The id of an active kill switch that covers the agent, if any."""


class Agents(Part):
    """Tenants and their agents."""

    @action(Action.AGENTS_ADD)
    async def create_tenant(self, op: Operator, spec: TenantSpec) -> Tenant:
        """A new org with one project, agent, policy, funded wallet and open mandate."""
        async with self.store.write() as w:
            caller, token, mandate_id = await _create_tenant(self.ctx, w, spec, op)
        return Tenant(caller.org_id, caller.project_id, caller.agent_id, token, mandate_id, op)

    @action(Action.AGENTS_ADD)
    async def add(self, op: Operator, name: str, *, project_id: str | None = None) -> tuple[AgentRow, str]:
        """A new agent in a project (the only one, when there is one); its token is shown once."""
        async with self.store.write() as w:
            org_id, project = await _project(w, project_id)
            caller, token = await _insert_agent(w, org_id, project, name, op.actor)
            row = await w.agent(caller.agent_id)
        assert row is not None
        return row, token

    @action(Action.AGENTS_READ)
    async def list(self, op: Operator) -> list[AgentDetails]:
        reads = self.store.read
        return [
            AgentDetails(agent, await _frozen_by(reads, agent))
            for agent in await reads.agents()
            if agent.ref.org_id != PLATFORM.org_id
        ]

    @action(Action.AGENTS_READ)
    async def show(self, op: Operator, agent_id: str) -> AgentDetails:
        agent = await self.store.read.agent(agent_id)
        if agent is None:
            raise not_found("agent", agent_id)
        return AgentDetails(agent, await _frozen_by(self.store.read, agent))

    @action(Action.AGENTS_ROTATE_TOKEN)
    async def rotate_token(self, op: Operator, agent_id: str) -> str:
        """A new token for the agent; the old one stops working at once."""
        token = new_agent_token()
        async with self.store.write() as w:
            agent = await _enabled_agent(w, agent_id)
            await w.update_agent_token(agent.ref, token_hash=token_hash(token))
            await w.audit(
                agent.ref.org_id, agent.ref.project_id, actor=op.actor, type="agent.token_rotated", subject=agent_id
            )
        return token

    @action(Action.AGENTS_DISABLE)
    async def disable(self, op: Operator, agent_id: str, *, reason: str) -> AgentRow:
        """Disable an agent for good: its token stops working. Its history stays."""
        reason = check_reason(reason)
        async with self.store.write() as w:
            agent = await _enabled_agent(w, agent_id)
            await w.disable_agent(agent.ref, by=op.actor)
            await w.audit(
                agent.ref.org_id,
                agent.ref.project_id,
                actor=op.actor,
                type="agent.disabled",
                subject=agent_id,
                payload={"reason": reason},
            )
            row = await w.agent(agent_id)
        assert row is not None
        return row


async def _enabled_agent(w: WriteTx, agent_id: str) -> AgentRow:
    agent = await w.agent(agent_id)
    if agent is None or agent.ref.org_id == PLATFORM.org_id:
        raise not_found("agent", agent_id)
    if agent.disabled_at is not None:
        raise InputError(Code.INVALID_ARGUMENT, f"agent {agent_id} is disabled")
    return agent


async def _project(w: WriteTx, project_id: str | None) -> tuple[str, str]:
    """(org_id, project_id) of the named project, or of the only tenant project there is."""
    projects = [(org, prj) for org, prj, _ in await w.projects() if org != PLATFORM.org_id]
    if project_id is not None:
        projects = [p for p in projects if p[1] == project_id]
        if not projects:
            raise not_found("project", project_id)
    if len(projects) != 1:
        raise InputError(Code.INVALID_ARGUMENT, "there are several projects; name one with --project")
    return projects[0]


async def _frozen_by(reads: Reads, agent: AgentRow) -> str | None:
    switch = await reads.active_kill_switch(agent.ref)
    return None if switch is None else switch.switch_id
