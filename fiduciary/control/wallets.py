"""Wallets: funding (play money on the sandbox, or collected through a rail) and balances."""

from __future__ import annotations

from dataclasses import dataclass

from fiduciary.control.base import Part, action, not_found
from fiduciary.control.roles import Action, Operator
from fiduciary.domain.clock import iso
from fiduciary.domain.counterparties import canonical
from fiduciary.domain.ids import Prefix, new_id
from fiduciary.domain.intents import PLATFORM, AgentRef
from fiduciary.domain.money import Money, parse_amount
from fiduciary.domain.records import FundingRow
from fiduciary.store import AgentRow, WriteTx
from fiduciary.wallets import Wallet, credit


async def credit_wallet(w: WriteTx, caller: AgentRef, amount: Money, by: Operator) -> Wallet:
    """Add funds to the agent's wallet in `amount`'s currency (creating it), audited."""
    wallet = await w.wallet(caller, amount.currency) or await w.create_wallet(caller, amount.currency)
    after = credit(wallet, amount)
    await w.move_wallet(caller, wallet, after, kind="fund", amount=amount, transaction_id=None, closed_mandate_id=None)
    await w.audit(
        caller.org_id,
        caller.project_id,
        actor=by.actor,
        type="wallet.funded",
        subject=caller.agent_id,
        payload={"amount_minor": amount.amount_minor, "currency": amount.currency},
    )
    return after


@dataclass(frozen=True, slots=True)
class AgentWallets:
    agent: AgentRow
    wallets: list[Wallet]


class Wallets(Part):
    @action(Action.WALLETS_FUND)
    async def fund(self, op: Operator, agent_id: str, amount: Money | tuple[str, str]) -> Wallet:
        """Add sandbox funds to an agent's wallet; `amount` is Money or (major units, currency) as typed."""
        if not isinstance(amount, Money):
            amount = parse_amount(*amount)
        async with self.store.write() as w:
            agent = await w.agent(agent_id)
            if agent is None or agent.ref.org_id == PLATFORM.org_id:
                raise not_found("agent", agent_id)
            return await credit_wallet(w, agent.ref, amount, op)

    @action(Action.WALLETS_FUND)
    async def fund_through(
        self, op: Operator, agent_id: str, amount: Money | tuple[str, str], *, rail: str, source: str
    ) -> FundingRow:
        """Collect funds from `source` through `rail` into the agent's wallet; credited only once the rail
        confirms. The answer is the funding as it stands (`credited`, `failed`, or `unknown` until the
        next sweep asks the rail)."""
        if not isinstance(amount, Money):
            amount = parse_amount(*amount)
        if rail not in self.ctx.gate.settlement.rails:
            raise not_found("rail", rail)
        payer = canonical(source)
        async with self.store.write() as w:
            agent = await w.agent(agent_id)
            if agent is None or agent.ref.org_id == PLATFORM.org_id:
                raise not_found("agent", agent_id)
            stamp = iso(w.now)
            funding = FundingRow(
                funding_id=new_id(Prefix.FUNDING),
                org_id=agent.ref.org_id,
                project_id=agent.ref.project_id,
                agent_id=agent_id,
                rail=rail,
                counterparty=payer,
                counterparty_commitment="",  # the vault's, from `insert_funding`
                amount_minor=amount.amount_minor,
                currency=amount.currency,
                state="pending",
                rail_reference=None,
                created_by=op.actor,
                created_at=stamp,
                updated_at=stamp,
            )
            funding = await w.insert_funding(funding)
            await w.audit(
                agent.ref.org_id,
                agent.ref.project_id,
                actor=op.actor,
                type="wallet.funding_requested",
                subject=agent_id,
                payload={"funding_id": funding.funding_id, "rail": rail, "amount_minor": amount.amount_minor,
                         "currency": amount.currency},
            )  # fmt: skip
        return await self.ctx.gate.fundings.collect(funding)

    @action(Action.WALLETS_READ)
    async def show(self, op: Operator, agent_id: str | None = None) -> list[AgentWallets]:
        """Balances of one agent, or of every agent."""
        reads = self.store.read
        agents = [a for a in await reads.agents() if a.ref.org_id != PLATFORM.org_id]
        if agent_id is not None:
            agents = [a for a in agents if a.ref.agent_id == agent_id]
            if not agents:
                raise not_found("agent", agent_id)
        return [AgentWallets(agent, await reads.wallets(agent.ref)) for agent in agents]
