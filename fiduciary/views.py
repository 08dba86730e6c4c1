"""Read-only views of an agent's own state, for the agent plane. Nothing here changes anything."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fiduciary.domain import limits
from fiduciary.domain.errors import MandateError
from fiduciary.domain.intents import AgentRef
from fiduciary.domain.money import Money
from fiduciary.mandates import status_at, verify_open
from fiduciary.mandates.keys import KeyPurpose
from fiduciary.store import Reads, TransactionRow
from fiduciary.wallets import Wallet


@dataclass(frozen=True, slots=True)
class MandateView:
    mandate_id: str
    status: str
    """`active`, `revoked`, `expired`, `not_yet_valid` or `invalid` (signature or terms no longer verify)."""
    currency: str | None
    max_per_use: Money | None
    total_cap: Money | None
    used: Money | None
    uses: int
    max_uses: int | None
    tools: tuple[str, ...]
    counterparties: tuple[str, ...] | None
    expires_at: str | None


async def balances(reads: Reads, caller: AgentRef, currency: str | None) -> list[Wallet]:
    wallets = await reads.wallets(caller)
    return [w for w in wallets if currency is None or w.currency == currency]


async def transaction(reads: Reads, caller: AgentRef, transaction_id: str) -> TransactionRow | None:
    return await reads.agent_transaction(caller, transaction_id)


async def transactions(
    reads: Reads, caller: AgentRef, *, limit: int, before: str | None, state: str | None
) -> list[TransactionRow]:
    limit = max(1, min(limit, limits.list_page_size_max))
    return await reads.list_transactions(caller, limit=limit, before=before, state=state)


async def mandates(reads: Reads, caller: AgentRef, *, now: datetime) -> list[MandateView]:
    """The agent's open mandates with their terms as signed (not as the table says)."""
    keys = await reads.public_keys(caller.org_id, KeyPurpose.MANDATE)
    views = []
    for row in await reads.open_mandates(caller):
        try:
            m = verify_open(
                row.token, keys, org_id=caller.org_id, project_id=caller.project_id, agent_id=caller.agent_id, now=None
            )
        except MandateError:
            status = row.status if row.status == "revoked" else "invalid"
            views.append(MandateView(row.mandate_id, status, None, None, None, None, row.uses, None, (), None, None))
            continue
        t = m.terms
        views.append(
            MandateView(
                mandate_id=row.mandate_id,
                status=status_at(row.status, now, m),
                currency=t.currency,
                max_per_use=Money(t.max_per_use_minor, t.currency),
                total_cap=Money(t.total_cap_minor, t.currency),
                used=Money(row.used_minor, t.currency),
                uses=row.uses,
                max_uses=t.max_uses,
                tools=t.tools,
                counterparties=t.counterparties,
                expires_at=m.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            )
        )
    return views
