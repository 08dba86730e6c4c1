"""Tool arguments and results of the agent plane: the JSON schemas an MCP client sees.

Arguments are strict (no coercion: `5` is not `"5"`), bounded, and refuse unknown fields.
Results follow DESIGN.md §11: `status`, `code`, `message`, `reference`, then tool-specific
fields; a refusal carries only the first four.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from fiduciary.domain import limits
from fiduciary.domain.intents import RAIL_NAME_PATTERN

AmountText = Annotated[
    str,
    Field(
        max_length=limits.amount_chars_max,
        description='Decimal string in major units, e.g. "125.50". No signs, exponents or thousands separators.',
    ),
]
CurrencyCode = Annotated[str, Field(max_length=4, description="ISO 4217 code, e.g. USD, BRL, EUR (USDC too).")]
Purpose = Annotated[
    str, Field(min_length=1, max_length=limits.purpose_chars_max, description="Why this money moves; audited.")
]
Counterparty = Annotated[
    str,
    Field(
        min_length=1,
        max_length=limits.counterparty_chars_max,
        description=(
            "Who receives (pay) or pays (charge): acct:ID, cus:ID, an IBAN, a Pix key (e-mail, +phone, CPF, "
            "CNPJ, random key), a BR Code, a 0x address or a card token (tok_...). Compared in canonical form."
        ),
    ),
]
IdempotencyKey = Annotated[
    str | None,
    Field(
        max_length=limits.idempotency_key_chars_max,
        description=(
            "Your key for this payment (A-Z a-z 0-9 . _ : -). Retrying with the same key and arguments returns "
            "the first result and never pays twice. Without one, identical calls on the same UTC day are one payment."
        ),
    ),
]
DryRun = Annotated[
    bool,
    Field(
        description=(
            "True: return the whole decision (score, matched rules, covering mandate, balance after) "
            "and reserve, send and keep nothing."
        )
    ),
]
Metadata = Annotated[
    dict[
        Annotated[str, Field(max_length=limits.metadata_key_chars_max)],
        Annotated[str, Field(max_length=limits.metadata_value_chars_max)],
    ]
    | None,
    Field(max_length=limits.metadata_entries_max, description="Up to 16 short string pairs kept with the payment."),
]


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class PayArgs(_Args):
    amount: AmountText
    currency: CurrencyCode
    counterparty: Counterparty
    purpose: Purpose
    idempotency_key: IdempotencyKey = None
    category: Annotated[str | None, Field(max_length=limits.category_chars_max)] = None
    country: Annotated[str | None, Field(max_length=2, description="ISO 3166 alpha-2 of the counterparty.")] = None
    memo: Annotated[str | None, Field(max_length=limits.memo_chars_max)] = None
    metadata: Metadata = None
    dry_run: DryRun = False
    rail: Annotated[
        str | None,
        Field(
            max_length=32,
            pattern=f"^{RAIL_NAME_PATTERN}$",
            description="A configured rail by name; default: chosen by the counterparty's kind.",
        ),
    ] = None


class ChargeArgs(PayArgs):
    pass


class RefundArgs(_Args):
    transaction_id: Annotated[str, Field(max_length=64, description="The settled charge to refund.")]
    reason: Purpose
    amount: Annotated[
        str | None,
        Field(max_length=limits.amount_chars_max, description="Major units; default: all that is left to refund."),
    ] = None
    idempotency_key: IdempotencyKey = None
    dry_run: DryRun = False


class BalanceArgs(_Args):
    currency: Annotated[str | None, Field(max_length=4, description="Only this currency; default: all.")] = None


class TransactionArgs(_Args):
    transaction_id: Annotated[str, Field(max_length=64)]


class ListTransactionsArgs(_Args):
    limit: Annotated[int, Field(ge=1, le=limits.list_page_size_max)] = limits.list_page_size_default
    before: Annotated[
        str | None, Field(max_length=64, description="A transaction id: list what came before it (next page).")
    ] = None
    state: Annotated[str | None, Field(max_length=32, description="Only transactions in this state.")] = None


class ListMandatesArgs(_Args):
    pass


Status = Literal["executed", "pending_approval", "denied", "dry_run", "failed", "unknown", "ok"]


class Result(BaseModel):
    status: Status
    code: str = Field(description="Stable snake_case reason, e.g. executed, budget_exceeded, injection_blocked.")
    message: str
    reference: str = Field(description="Quote this to an operator: it finds the call in the audit chain.")


class PaymentResult(Result):
    transaction_id: str | None = None
    state: str | None = None
    amount: str | None = None
    currency: str | None = None
    approval_id: str | None = Field(default=None, description="Set while a person has to approve the payment.")
    rail_reference: str | None = None
    rail_note: str | None = Field(default=None, description="The rail's own words, shown only if screened clean.")
    replayed: bool = Field(default=False, description="True when this is the stored result of an earlier call.")
    trace: dict[str, Any] | None = Field(default=None, description="A dry run's decision: what the call would do.")
    receipt: dict[str, Any] | None = Field(
        default=None,
        description="When the mandate was revoked or the agent frozen: the org's signed receipt of the refusal.",
    )


class Balance(BaseModel):
    currency: str
    available: str
    held: str


class BalanceResult(Result):
    balances: list[Balance] = []


class TransactionView(BaseModel):
    transaction_id: str
    tool: str
    state: str
    code: str
    amount: str
    currency: str
    counterparty: str | None = Field(description="Canonical form; null once an erasure removed it.")
    purpose: str
    approval_id: str | None = None
    rail_reference: str | None = None
    rail_note: str | None = None
    created_at: str
    updated_at: str


class TransactionResult(Result):
    transaction: TransactionView | None = None


class TransactionListResult(Result):
    transactions: list[TransactionView] = []
    next_before: str | None = Field(default=None, description="Pass as `before` for the next page.")


class MandateView(BaseModel):
    mandate_id: str
    status: str
    currency: str | None = None
    max_per_use: str | None = None
    total_cap: str | None = None
    used: str | None = None
    uses: int
    max_uses: int | None = None
    tools: list[str] = []
    counterparties: list[str] | None = None
    expires_at: str | None = None


class MandateListResult(Result):
    mandates: list[MandateView] = []
