"""What an agent asked for, parsed and bounded: the input of every gate stage."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from fiduciary.domain.canonical import digest
from fiduciary.domain.money import Money


class Tool(StrEnum):
    """The money-moving tools of the agent plane."""

    PAY = "pay"
    """Send money from the agent's wallet to a counterparty."""
    CHARGE = "charge"
    """Collect money from a counterparty into the agent's wallet."""
    REFUND = "refund"
    """Return money of a settled charge to the counterparty that paid it."""


OUTFLOWS = frozenset({Tool.PAY, Tool.REFUND})
"""Tools that take money out of the wallet and therefore hold it first."""


@dataclass(frozen=True, slots=True)
class AgentRef:
    """Who is calling: an agent inside its tenant."""

    org_id: str
    project_id: str
    agent_id: str


PLATFORM = AgentRef("org_platform", "prj_platform", "agt_unauthenticated")
"""Where refusals that belong to no tenant (an unknown agent token) are audited."""


RAIL_NAME_PATTERN = r"[a-z][a-z0-9_-]{0,31}"
"""How a rail is named in the rails file, by a call and in a mandate: lower-case letters, digits, - and _."""
RAIL_NAME_RE = re.compile(RAIL_NAME_PATTERN)


@dataclass(frozen=True, slots=True)
class PaymentIntent:
    """One money-moving request, after parse & bound."""

    caller: AgentRef
    tool: Tool
    amount: Money
    counterparty: str
    purpose: str
    idempotency_key: str
    category: str | None = None
    country: str | None = None
    memo: str | None = None
    original_transaction_id: str | None = None
    metadata: tuple[tuple[str, str], ...] = field(default=())
    rail: str | None = None
    """The rail the caller asked for by name; None lets routing choose by counterparty kind."""

    def free_text(self) -> list[tuple[str, str]]:
        """Every caller-written text field as (field name, text), for injection screening."""
        fields = [("counterparty", self.counterparty), ("purpose", self.purpose)]
        if self.memo:
            fields.append(("memo", self.memo))
        if self.category:
            fields.append(("category", self.category))
        fields.extend((f"metadata.{key}", value) for key, value in self.metadata)
        fields.extend((f"metadata_key.{key}", key) for key, _ in self.metadata)
        return fields

    def arguments(self) -> dict[str, object]:
        """The exact arguments as plain values, the counterparty in clear (never hashed as they are:
        see `args_hash`)."""
        values: dict[str, object] = {
            "tool": self.tool.value,
            "amount_minor": self.amount.amount_minor,
            "currency": self.amount.currency,
            "counterparty": self.counterparty,
            "purpose": self.purpose,
            "category": self.category,
            "country": self.country,
            "memo": self.memo,
            "original_transaction_id": self.original_transaction_id,
            "metadata": dict(self.metadata),
        }
        if self.rail is not None:  # absent unless asked, so the hashes of earlier arguments stand
            values["rail"] = self.rail
        return values

    def args_hash(self, commitment: str) -> str:
        """What an approval and an idempotency key bind to: SHA-256 over the canonical JSON of
        `arguments()` with the counterparty replaced by `commitment`, the salted commitment the
        transaction keeps (so the hash, which the chain carries, lets nobody confirm a guessed
        counterparty). Two intents bind alike only if their counterparties are equal too."""
        return digest(self.arguments() | {"counterparty": commitment})


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """A money-moving call as a surface received it: typed and bounded, but not yet money.

    `dry_run` asks for the whole decision with nothing reserved or sent.
    """

    tool: Tool
    purpose: str
    amount: str | None = None
    currency: str | None = None
    counterparty: str | None = None
    idempotency_key: str | None = None
    category: str | None = None
    country: str | None = None
    memo: str | None = None
    original_transaction_id: str | None = None
    metadata: tuple[tuple[str, str], ...] = field(default=())
    dry_run: bool = False
    rail: str | None = None
