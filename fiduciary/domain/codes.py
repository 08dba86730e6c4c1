"""Stable reason codes: the only words about a refusal that ever reach an agent.

Codes are snake_case and never change meaning once published; clients may branch on them.
"""

from __future__ import annotations

from enum import StrEnum


class Code(StrEnum):
    """Why a call ended the way it did."""

    OK = "ok"
    EXECUTED = "executed"
    APPROVAL_REQUIRED = "approval_required"

    # Input (parse & bound).
    INVALID_AMOUNT = "invalid_amount"
    UNKNOWN_CURRENCY = "unknown_currency"
    INVALID_ARGUMENT = "invalid_argument"
    MISSING_ARGUMENT = "missing_argument"
    UNKNOWN_ARGUMENT = "unknown_argument"
    TEXT_TOO_LONG = "text_too_long"
    INVALID_COUNTERPARTY = "invalid_counterparty"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"

    # Screening and policy.
    INJECTION_BLOCKED = "injection_blocked"
    AMOUNT_OVER_LIMIT = "amount_over_limit"
    BUDGET_EXCEEDED = "budget_exceeded"
    CURRENCY_NOT_ALLOWED = "currency_not_allowed"
    COUNTERPARTY_BLOCKED = "counterparty_blocked"
    COUNTERPARTY_NOT_ALLOWED = "counterparty_not_allowed"
    COUNTRY_BLOCKED = "country_blocked"
    CATEGORY_BLOCKED = "category_blocked"
    RATE_LIMITED = "rate_limited"
    OUTSIDE_HOURS = "outside_hours"
    COUNTERPARTY_LIMIT_EXCEEDED = "counterparty_limit_exceeded"
    POLICY_MISSING = "policy_missing"

    # Mandates and kill switch.
    NO_MANDATE = "no_mandate"
    MANDATE_REVOKED = "mandate_revoked"
    MANDATE_EXHAUSTED = "mandate_exhausted"
    MANDATE_INVALID = "mandate_invalid"
    AGENT_FROZEN = "agent_frozen"

    # Wallet.
    INSUFFICIENT_FUNDS = "insufficient_funds"
    NO_WALLET = "no_wallet"

    # Refunds.
    REFUND_NOT_ALLOWED = "refund_not_allowed"
    REFUND_EXCEEDS_ORIGINAL = "refund_exceeds_original"

    # Approvals.
    APPROVAL_REJECTED = "approval_rejected"
    APPROVAL_EXPIRED = "approval_expired"
    APPROVAL_STALE = "approval_stale"

    # Rails and settlement.
    RAIL_REJECTED = "rail_rejected"
    RAIL_UNAVAILABLE = "rail_unavailable"
    RAIL_FROZEN = "rail_frozen"
    RAIL_BLOCKED = "rail_blocked"
    OUTCOME_UNKNOWN = "outcome_unknown"
    ROLLED_BACK = "rolled_back"

    # Erasure.
    ERASURE_BLOCKED = "erasure_blocked"

    INTERNAL_ERROR = "internal_error"


MESSAGES: dict[Code, str] = {
    Code.OK: "done",
    Code.EXECUTED: "the payment was executed",
    Code.APPROVAL_REQUIRED: "the payment waits for a person to approve it",
    Code.INVALID_AMOUNT: "the amount is not valid",
    Code.UNKNOWN_CURRENCY: "the currency is not supported",
    Code.INVALID_ARGUMENT: "an argument is not valid",
    Code.MISSING_ARGUMENT: "a required argument is missing",
    Code.UNKNOWN_ARGUMENT: "an argument is not known to this tool",
    Code.TEXT_TOO_LONG: "a text argument is too long",
    Code.INVALID_COUNTERPARTY: "the counterparty is not a valid identifier",
    Code.UNAUTHENTICATED: "the agent token is missing or not valid",
    Code.FORBIDDEN: "this role may not do that",
    Code.NOT_FOUND: "no such record for this agent",
    Code.IDEMPOTENCY_CONFLICT: "this idempotency key was already used with different arguments",
    Code.INJECTION_BLOCKED: "the request was blocked by injection screening",
    Code.AMOUNT_OVER_LIMIT: "the amount is above the per-payment limit",
    Code.BUDGET_EXCEEDED: "the payment would exceed the daily budget",
    Code.CURRENCY_NOT_ALLOWED: "the policy does not allow this currency",
    Code.COUNTERPARTY_BLOCKED: "the policy does not allow this counterparty",
    Code.COUNTERPARTY_NOT_ALLOWED: "the counterparty is not on the policy's list of allowed payees",
    Code.COUNTRY_BLOCKED: "the policy does not allow payments to this country",
    Code.CATEGORY_BLOCKED: "the policy does not allow payments in this category",
    Code.RATE_LIMITED: "too many calls in this window; wait before trying again",
    Code.OUTSIDE_HOURS: "the policy does not allow payments at this time",
    Code.COUNTERPARTY_LIMIT_EXCEEDED: "the payment would exceed the limit for this payee",
    Code.POLICY_MISSING: "no policy is active for this project",
    Code.NO_MANDATE: "no mandate covers this payment",
    Code.MANDATE_REVOKED: "the mandate was revoked",
    Code.MANDATE_EXHAUSTED: "the mandate's limits or uses are exhausted",
    Code.MANDATE_INVALID: "the mandate did not verify",
    Code.AGENT_FROZEN: "a kill switch stops payments for this agent",
    Code.INSUFFICIENT_FUNDS: "the wallet does not hold enough funds",
    Code.NO_WALLET: "the agent has no wallet in this currency",
    Code.REFUND_NOT_ALLOWED: "only a settled charge of this agent can be refunded",
    Code.REFUND_EXCEEDS_ORIGINAL: "the refund exceeds what is left of the original charge",
    Code.APPROVAL_REJECTED: "a person rejected the payment",
    Code.APPROVAL_EXPIRED: "the approval expired before anyone decided",
    Code.APPROVAL_STALE: "the policy changed after the approval was requested; ask again",
    Code.RAIL_REJECTED: "the payment rail refused the payment",
    Code.RAIL_UNAVAILABLE: "the payment rail is not available",
    Code.RAIL_FROZEN: "a kill switch stops payments on this rail",
    Code.RAIL_BLOCKED: "the policy does not allow payments through this rail",
    Code.OUTCOME_UNKNOWN: "the rail's answer is not known yet; the payment will be reconciled, never repeated",
    Code.ROLLED_BACK: "the payment was stopped before it left and the funds were released",
    Code.ERASURE_BLOCKED: "the counterparty cannot be erased now",
    Code.INTERNAL_ERROR: "the request could not be completed; nothing was moved",
}


def message_for(code: str) -> str:
    """The fixed, safe sentence for a code: no internals, nothing from the caller echoed back."""
    try:
        return MESSAGES[Code(code)]
    except ValueError:
        return MESSAGES[Code.INTERNAL_ERROR]
