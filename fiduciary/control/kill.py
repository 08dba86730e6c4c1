"""The kill switch: one command stops an agent, a project, an org or the whole platform.

Pulling it revokes every open mandate in scope, rejects pending approvals, rolls back what is
held but not yet sent, and freezes new calls (`agent_frozen`), all in one transaction. Payments
already at the rail (`dispatching`, `unknown`) cannot be recalled; they settle or fail through
reconciliation and the chain shows which. Lifting it (`unfreeze`, admin only) lets new calls
through again; the revoked mandates stay revoked, so an admin issues new ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from fiduciary.control.base import Part, action, check_reason, not_found
from fiduciary.control.roles import Action, Operator
from fiduciary.domain import limits
from fiduciary.domain.codes import Code
from fiduciary.domain.errors import InputError
from fiduciary.domain.ids import Prefix, new_id
from fiduciary.domain.intents import PLATFORM
from fiduciary.domain.states import TxState
from fiduciary.store import AgentRow, KillSwitchRow, WriteTx

S = TxState


class Scope(StrEnum):
    AGENT = "agent"
    PROJECT = "project"
    ORG = "org"
    PLATFORM = "platform"
    RAIL = "rail"
    """One rail: nothing more is sent to it; payments for it roll back before the rail."""


@dataclass(frozen=True, slots=True)
class KillReport:
    switch_id: str
    scope: Scope
    target: str
    agents: int
    mandates_revoked: int = 0
    approvals_rejected: int = 0
    rolled_back: int = 0


@dataclass(frozen=True, slots=True)
class UnfreezeReport:
    scope: Scope
    target: str
    lifted: list[str] = field(default_factory=list)


async def _agents_in(w: WriteTx, scope: Scope, target: str) -> list[AgentRow]:
    """The agents a scope covers; an unknown target is an error."""
    if scope is Scope.AGENT:
        agent = await w.agent(target)
        return [] if agent is None or agent.ref.org_id == PLATFORM.org_id else [agent]
    if scope is Scope.PROJECT:
        return await w.agents(project_id=target)
    if scope is Scope.ORG:
        return await w.agents(org_id=target)
    return [a for a in await w.agents() if a.ref.org_id != PLATFORM.org_id]


async def _target_exists(w: WriteTx, scope: Scope, target: str) -> bool:
    if scope is Scope.PROJECT:
        return any(prj == target for org, prj, _ in await w.projects() if org != PLATFORM.org_id)
    if scope is Scope.ORG:
        return target != PLATFORM.org_id and target in await w.org_ids()
    return True


class KillSwitch(Part):
    @action(Action.KILL_READ)
    async def active(self, op: Operator) -> list[KillSwitchRow]:
        """Every kill switch still pulled, oldest first."""
        return await self.store.read.kill_switches(active=True)

    @action(Action.KILL)
    async def pull(self, op: Operator, scope: Scope, target: str | None, *, reason: str) -> KillReport:
        """Freeze a scope; `target` is the agent, project or org id, or the rail's name (None for the platform)."""
        reason = check_reason(reason)
        target = PLATFORM.org_id if scope is Scope.PLATFORM else (target or "")
        if scope is Scope.RAIL:
            return await self._freeze_rail(op, target, reason)
        async with self.store.write() as w:
            if not await _target_exists(w, scope, target):
                raise not_found(scope.value, target)
            agents = await _agents_in(w, scope, target)
            if not agents:
                raise not_found(scope.value, target) if scope is Scope.AGENT else _empty(scope.value, target)
            if any(s.scope == scope.value and s.target == target for s in await w.kill_switches()):
                raise InputError(Code.INVALID_ARGUMENT, f"{scope.value} {target} is already frozen; nothing changed")
            switch_id = new_id(Prefix.KILL_SWITCH)
            home_org = PLATFORM.org_id if scope is Scope.PLATFORM else agents[0].ref.org_id
            await w.insert_kill_switch(
                switch_id, home_org, scope=scope.value, target=target, reason=reason, by=op.operator_id
            )
            detail = {"switch_id": switch_id, "scope": scope.value, "target": target, "reason": reason}
            for org_id in sorted({a.ref.org_id for a in agents} | {home_org}):
                await w.audit(org_id, None, actor=op.actor, type="kill_switch.pulled", subject=target, payload=detail)
            counts = {"mandates_revoked": 0, "approvals_rejected": 0, "rolled_back": 0}
            for agent in agents:
                for key, value in (await self._stop_agent(w, op, agent, reason, switch_id)).items():
                    counts[key] += value
        return KillReport(switch_id, scope, target, len(agents), **counts)

    async def _freeze_rail(self, op: Operator, rail: str, reason: str) -> KillReport:
        """Stop sending to one rail. Mandates and approvals stand: this is about the rail, not authority."""
        if rail not in self.ctx.gate.settlement.rails:
            raise not_found("rail", rail)
        async with self.store.write() as w:
            if await w.rail_frozen(rail) is not None:
                raise InputError(Code.INVALID_ARGUMENT, f"rail {rail} is already frozen; nothing changed")
            switch_id = new_id(Prefix.KILL_SWITCH)
            await w.insert_kill_switch(
                switch_id, PLATFORM.org_id, scope=Scope.RAIL.value, target=rail, reason=reason, by=op.operator_id
            )
            detail = {"switch_id": switch_id, "scope": Scope.RAIL.value, "target": rail, "reason": reason}
            await w.audit(
                PLATFORM.org_id, None, actor=op.actor, type="kill_switch.pulled", subject=rail, payload=detail
            )
        return KillReport(switch_id, Scope.RAIL, rail, 0)

    async def _stop_agent(
        self, w: WriteTx, op: Operator, agent: AgentRow, reason: str, switch_id: str
    ) -> dict[str, int]:
        caller = agent.ref
        counts = {"mandates_revoked": 0, "approvals_rejected": 0, "rolled_back": 0}
        for mandate in await w.open_mandates(caller):
            if await w.revoke_open_mandate(
                caller.org_id, caller.project_id, mandate.mandate_id, by=op.operator_id, reason=reason
            ):
                await w.audit(
                    caller.org_id,
                    caller.project_id,
                    actor=op.actor,
                    type="mandate.revoked",
                    subject=mandate.mandate_id,
                    payload={"reason": reason, "switch_id": switch_id},
                )
                counts["mandates_revoked"] += 1
        detail: dict[str, Any] = {"switch_id": switch_id}
        # Each pass moves the page out of the state it was read in, so the loops end.
        while pending := await w.list_transactions(caller, limit=limits.list_page_size_max, state="pending_approval"):
            for txn in pending:
                assert txn.approval_id is not None
                await w.decide_approval(txn.approval_id, "rejected", by=op.operator_id, reason="kill switch")
                await w.move(txn, S.REJECTED, actor=op.actor, code=Code.AGENT_FROZEN, payload=detail)
                counts["approvals_rejected"] += 1
        settlement = self.ctx.gate.settlement
        for state in ("authorized", "held"):
            while stopped := await w.list_transactions(caller, limit=limits.list_page_size_max, state=state):
                for txn in stopped:
                    await settlement.roll_back(w, txn, code=Code.AGENT_FROZEN, actor=op.actor, detail=detail)
                    counts["rolled_back"] += 1
        return counts

    @action(Action.UNFREEZE)
    async def lift(self, op: Operator, scope: Scope, target: str | None) -> UnfreezeReport:
        """Lift the kill switch of exactly this scope; new calls go through again."""
        target = PLATFORM.org_id if scope is Scope.PLATFORM else (target or "")
        async with self.store.write() as w:
            switches = [s for s in await w.kill_switches() if s.scope == scope.value and s.target == target]
            if not switches:
                raise InputError(Code.INVALID_ARGUMENT, f"{scope.value} {target} is not frozen; nothing changed")
            lifted = await w.lift_kill_switches(scope=scope.value, target=target, by=op.operator_id)
            covered = [] if scope is Scope.RAIL else await _agents_in(w, scope, target)
            orgs = {s.org_id for s in switches} | {a.ref.org_id for a in covered}
            detail = {"scope": scope.value, "target": target, "switch_ids": lifted}
            for org_id in sorted(orgs):
                await w.audit(org_id, None, actor=op.actor, type="kill_switch.lifted", subject=target, payload=detail)
        return UnfreezeReport(scope, target, lifted)


def _empty(what: str, target: str) -> InputError:
    return InputError(Code.INVALID_ARGUMENT, f"{what} {target} has no agents; nothing to freeze")
