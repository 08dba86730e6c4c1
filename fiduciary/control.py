"""The control plane: what operators do. Never reachable from an agent-plane tool.

Bootstrapping a tenant, funding wallets, issuing and revoking open mandates, the kill switch,
applying policies and verifying the audit chain. Every action names its operator and writes
its audit entry in the same transaction as the change.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fiduciary.audit.chain import AuditEntry
from fiduciary.audit.verify import ChainVerifier, VerifyReport
from fiduciary.domain import limits
from fiduciary.domain.clock import Clock
from fiduciary.domain.codes import Code
from fiduciary.domain.errors import InputError
from fiduciary.domain.ids import Prefix, new_agent_token, new_id, token_hash
from fiduciary.domain.intents import PLATFORM, AgentRef
from fiduciary.domain.money import Money
from fiduciary.domain.states import TxState
from fiduciary.gate import Gate
from fiduciary.gate.screening import config_version, parse_injection_config
from fiduciary.mandates import OpenMandate, OpenTerms, sign_open
from fiduciary.mandates.keys import KeyPurpose
from fiduciary.policies import parse_policy
from fiduciary.store import SqliteStore, Writer
from fiduciary.wallets import credit


def operator_actor(operator: str) -> str:
    return f"operator:{operator}"


@dataclass(frozen=True, slots=True)
class Tenant:
    """What `bootstrap` created. `agent_token` exists only here: it is stored hashed."""

    org_id: str
    project_id: str
    agent_id: str
    agent_token: str
    mandate_id: str


async def _create_org(w: Writer, store: SqliteStore, org_id: str, project_id: str, name: str, actor: str) -> None:
    await w.insert_org(org_id, name)
    await w.insert_project(org_id, project_id, name)
    for purpose in KeyPurpose:
        await w.insert_key(org_id, store.new_key(purpose))
    keys = {purpose.value: [k.kid for k in await w.sealed_keys(org_id, purpose)] for purpose in KeyPurpose}
    await w.audit(org_id, project_id, actor=actor, type="org.created", subject=org_id, payload={"keys": keys})


async def ensure_platform(store: SqliteStore, *, operator: str) -> None:
    """The platform tenant audits what belongs to no tenant, such as calls with an unknown token."""
    async with store.write() as w:
        if not await w.project_exists(PLATFORM.org_id, PLATFORM.project_id):
            await _create_org(w, store, PLATFORM.org_id, PLATFORM.project_id, "platform", operator_actor(operator))


@dataclass(frozen=True, slots=True)
class TenantSpec:
    """What `bootstrap` creates: names, the first policy, the wallet's funds and the open mandate."""

    org_name: str
    agent_name: str
    policy_source: str
    funding: Money
    terms: OpenTerms
    mandate_days: int
    operator: str


async def bootstrap(store: SqliteStore, spec: TenantSpec) -> Tenant:
    """Create an org, a project, an agent with its token, a policy, a funded wallet and an open mandate."""
    await ensure_platform(store, operator=spec.operator)
    policy = parse_policy(spec.policy_source)
    org_id, project_id = new_id(Prefix.ORG), new_id(Prefix.PROJECT)
    caller = AgentRef(org_id, project_id, new_id(Prefix.AGENT))
    token, actor = new_agent_token(), operator_actor(spec.operator)
    async with store.write() as w:
        await _create_org(w, store, org_id, project_id, spec.org_name, actor)
        await w.insert_agent(caller, name=spec.agent_name, token_hash=token_hash(token))
        await w.audit(
            org_id,
            project_id,
            actor=actor,
            type="agent.created",
            subject=caller.agent_id,
            payload={"name": spec.agent_name},
        )
        await _apply_policy(w, org_id, project_id, spec.policy_source, policy.version, spec.operator)
        await _fund(w, caller, spec.funding, spec.operator)
        expires = w.now + timedelta(days=spec.mandate_days)
        mandate_id = await _issue(w, caller, spec.terms, w.now, expires, spec.operator)
    return Tenant(org_id, project_id, caller.agent_id, token, mandate_id)


async def create_tenant(path: Path, spec: TenantSpec, *, clock: Clock, master_key: bytes) -> Tenant:
    """Open the database at `path` (creating and migrating it), `bootstrap` a tenant, close it again."""
    store = await SqliteStore.open(path, clock=clock, master_key=master_key)
    try:
        return await bootstrap(store, spec)
    finally:
        await store.close()


async def _apply_policy(w: Writer, org_id: str, project_id: str, source: str, version: str, operator: str) -> int:
    number = await w.insert_policy(org_id, project_id, version_hash=version, source=source, by=operator)
    await w.audit(
        org_id,
        project_id,
        actor=operator_actor(operator),
        type="policy.applied",
        subject=project_id,
        payload={"version": number, "version_hash": version},
    )
    return number


async def apply_policy(store: SqliteStore, org_id: str, project_id: str, source: str, *, operator: str) -> int:
    """Validate and store a new policy version; it applies to the next call, without a restart."""
    policy = parse_policy(source)
    async with store.write() as w:
        if not await w.project_exists(org_id, project_id):
            raise InputError(Code.NOT_FOUND, f"no project {project_id} in org {org_id}")
        return await _apply_policy(w, org_id, project_id, source, policy.version, operator)


async def apply_injection_config(store: SqliteStore, org_id: str, source: str, *, operator: str) -> int:
    """Validate and store an org's screening configuration (thresholds, custom patterns); used from the next call."""
    parse_injection_config(source)
    version_hash = config_version(source)
    async with store.write() as w:
        if org_id not in await w.org_ids():
            raise InputError(Code.NOT_FOUND, f"no org {org_id}")
        number = await w.insert_injection_config(org_id, version_hash=version_hash, source=source, by=operator)
        await w.audit(
            org_id,
            None,
            actor=operator_actor(operator),
            type="injection_config.applied",
            subject=org_id,
            payload={"version": number, "version_hash": version_hash},
        )
    return number


async def _fund(w: Writer, caller: AgentRef, amount: Money, operator: str) -> None:
    wallet = await w.wallet(caller, amount.currency) or await w.create_wallet(caller, amount.currency)
    await w.move_wallet(
        caller, wallet, credit(wallet, amount), kind="fund", amount=amount, transaction_id=None, closed_mandate_id=None
    )
    await w.audit(
        caller.org_id,
        caller.project_id,
        actor=operator_actor(operator),
        type="wallet.funded",
        subject=caller.agent_id,
        payload={"amount_minor": amount.amount_minor, "currency": amount.currency},
    )


async def fund(store: SqliteStore, agent_id: str, amount: Money, *, operator: str) -> None:
    """Add sandbox funds to an agent's wallet (creating the wallet for a new currency)."""
    async with store.write() as w:
        row = await w.agent(agent_id)
        if row is None:
            raise InputError(Code.NOT_FOUND, f"no agent {agent_id}")
        await _fund(w, row.ref, amount, operator)


async def _issue(
    w: Writer, caller: AgentRef, terms: OpenTerms, not_before: datetime, expires_at: datetime, operator: str
) -> str:
    mandate = OpenMandate(
        new_id(Prefix.MANDATE), caller.org_id, caller.project_id, caller.agent_id, not_before, expires_at, terms
    )
    token = sign_open(mandate, await w.signer(caller.org_id, KeyPurpose.MANDATE), issued_at=w.now)
    await w.insert_open_mandate(caller, mandate.mandate_id, token=token, issued_by=operator)
    await w.audit(
        caller.org_id,
        caller.project_id,
        actor=operator_actor(operator),
        type="mandate.issued",
        subject=mandate.mandate_id,
        payload={
            "agent_id": caller.agent_id,
            "currency": terms.currency,
            "max_per_use_minor": terms.max_per_use_minor,
            "total_cap_minor": terms.total_cap_minor,
            "tools": list(terms.tools),
            "expires_at": int(expires_at.timestamp()),
        },
    )
    return mandate.mandate_id


async def kill(gate: Gate, agent_id: str, *, reason: str, operator: str) -> dict[str, int]:
    """Freeze an agent: revoke its mandates, reject its pending approvals, roll back what is in flight.

    Payments already at the rail (`dispatching`, `unknown`) cannot be recalled; they settle or
    fail through reconciliation and the chain shows which.
    """
    if not reason.strip() or len(reason) > limits.reason_chars_max:
        raise InputError(Code.INVALID_ARGUMENT, "a kill switch needs a reason of at most 500 characters")
    actor = operator_actor(operator)
    counts = {"mandates_revoked": 0, "approvals_rejected": 0, "rolled_back": 0}
    async with gate.store.write() as w:
        row = await w.agent(agent_id)
        if row is None:
            raise InputError(Code.NOT_FOUND, f"no agent {agent_id}")
        caller, switch_id = row.ref, new_id(Prefix.KILL_SWITCH)
        await w.insert_kill_switch(switch_id, caller.org_id, scope="agent", target=agent_id, reason=reason, by=operator)
        await w.audit(
            caller.org_id,
            caller.project_id,
            actor=actor,
            type="kill_switch.pulled",
            subject=agent_id,
            payload={"switch_id": switch_id, "scope": "agent", "reason": reason},
        )
        for mandate in await w.open_mandates(caller):
            if await w.revoke_open_mandate(
                caller.org_id, caller.project_id, mandate.mandate_id, by=operator, reason=reason
            ):
                await w.audit(
                    caller.org_id,
                    caller.project_id,
                    actor=actor,
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
                await w.decide_approval(txn.approval_id, "rejected", by=operator, reason="kill switch")
                await w.move(txn, TxState.REJECTED, actor=actor, code=Code.AGENT_FROZEN, payload=detail)
                counts["approvals_rejected"] += 1
        for state in ("authorized", "held"):
            while stopped := await w.list_transactions(caller, limit=limits.list_page_size_max, state=state):
                for txn in stopped:
                    await gate.settlement.roll_back(w, txn, code=Code.AGENT_FROZEN, actor=actor, detail=detail)
                    counts["rolled_back"] += 1
    return counts


async def audit_entries(store: SqliteStore, org_id: str) -> AsyncIterator[AuditEntry]:
    """Every entry of an org's chain, in order, a page at a time."""
    after = 0
    while page := await store.read.audit_page(org_id, after_seq=after, limit=limits.audit_verify_batch_rows):
        for entry in page:
            yield entry
        after = page[-1].body.seq


async def verify_audit(store: SqliteStore, org_id: str) -> VerifyReport:
    """Walk an org's whole chain: hashes, links, sequence and signatures."""
    verifier = ChainVerifier(await store.read.public_keys(org_id, KeyPurpose.AUDIT))
    async for entry in audit_entries(store, org_id):
        if not verifier.feed(entry):
            break
    return verifier.report()
