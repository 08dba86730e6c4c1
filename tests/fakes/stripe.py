"""A fake Stripe: PaymentIntents and refunds, the part of its API a card rail uses.

- Credentials: `Authorization: Bearer <secret>`; anything else is 401 `api_key_invalid`.
- Bodies are form-encoded, metadata in brackets: `metadata[fiduciary_key]=...`. Unknown parameters
  are refused, as Stripe refuses them.
- `Idempotency-Key` on a POST: the same key and parameters replay the stored answer (same status,
  same body, `Idempotent-Replayed: true`) and create nothing; the same key with other parameters is
  an `idempotency_error`. As at Stripe, a request refused by validation (400) stores nothing.
- Test cards: `pm_card_declined` is declined (402; stored as `requires_payment_method`, no money
  moved); `pm_card_processing` stays `processing` until its next read; any other `pm_...` succeeds,
  and a `customer` without a payment method pays with that customer's card, `pm_card_visa`.
"""

from __future__ import annotations

import operator
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final
from urllib.parse import parse_qsl

from starlette.requests import Request

from fiduciary.domain.clock import Clock
from tests.fakes.base import (
    IDEMPOTENCY_KEY_CHARS_MAX,
    ApiRoute,
    FakeProvider,
    Replays,
    Reply,
    bearer_token,
    fingerprint,
    same_secret,
    strict_int,
)

AMOUNT_MINOR_MAX: Final = 99_999_999
METADATA_KEYS_MAX: Final = 50
METADATA_KEY_CHARS_MAX: Final = 40
METADATA_VALUE_CHARS_MAX: Final = 500
DESCRIPTION_CHARS_MAX: Final = 1_000
FORM_FIELDS_MAX: Final = 200
LIST_LIMIT_DEFAULT: Final = 10
LIST_LIMIT_MAX: Final = 100
ID_RANDOM_CHARS: Final = 24

DECLINED_CARD: Final = "pm_card_declined"
PROCESSING_CARD: Final = "pm_card_processing"
CUSTOMER_CARD: Final = "pm_card_visa"
CURRENCIES: Final = frozenset(
    {
        "usd",
        "eur",
        "gbp",
        "brl",
        "cad",
        "aud",
        "jpy",
        "chf",
        "mxn",
        "sek",
        "nok",
        "dkk",
        "nzd",
        "sgd",
        "hkd",
        "pln",
        "czk",
        "huf",
        "inr",
        "zar",
        "krw",
    }
)
REFUND_REASONS: Final = frozenset({"duplicate", "fraudulent", "requested_by_customer"})

_INTENT_PARAMS: Final = frozenset({"amount", "currency", "payment_method", "customer", "confirm", "description"})
_REFUND_PARAMS: Final = frozenset({"payment_intent", "amount", "reason"})
_SEARCH_PARAMS: Final = frozenset({"query", "limit"})
_CREATED_BOUNDS: Final[Mapping[str, Callable[[int, int], bool]]] = {
    "created": operator.eq,
    "created[gte]": operator.ge,
    "created[gt]": operator.gt,
    "created[lte]": operator.le,
    "created[lt]": operator.lt,
}
_LIST_PARAMS: Final = frozenset({"limit", "starting_after", "customer", *_CREATED_BOUNDS})
_METADATA = re.compile(r"metadata\[([^\[\]]+)\]")
_ACCEPTED_AND_IGNORED = re.compile(
    r"off_session|capture_method|return_url|statement_descriptor|receipt_email|expand\[\d*\]"
    r"|payment_method_types\[\d*\]|automatic_payment_methods\[(enabled|allow_redirects)\]"
)
_SEARCH = re.compile(r"""metadata\[(['"])([^'"\[\]]+)\1\]:(['"])([^'"]*)\3""")


@dataclass(slots=True)
class _Intent:
    id: str
    seq: int
    amount: int
    currency: str
    payment_method: str | None
    customer: str | None
    description: str | None
    metadata: dict[str, str]
    status: str
    created: int
    refunded: int = 0

    def read(self) -> dict[str, Any]:
        """The intent as a read finds it: a `processing` payment has settled by its next read."""
        if self.status == "processing":
            self.status = "succeeded"
        return self.view()

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "payment_intent",
            "amount": self.amount,
            "amount_received": self.amount if self.status == "succeeded" else 0,
            "currency": self.currency,
            "status": self.status,
            "payment_method": self.payment_method,
            "customer": self.customer,
            "description": self.description,
            "metadata": dict(self.metadata),
            "created": self.created,
            "livemode": False,
        }


@dataclass(slots=True)
class _Refund:
    id: str
    amount: int
    currency: str
    payment_intent: str
    reason: str | None
    metadata: dict[str, str]
    created: int

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "refund",
            "amount": self.amount,
            "currency": self.currency,
            "payment_intent": self.payment_intent,
            "reason": self.reason,
            "status": "succeeded",
            "metadata": dict(self.metadata),
            "created": self.created,
        }


@dataclass(frozen=True, slots=True)
class _IntentParams:
    amount: int
    currency: str
    payment_method: str | None
    customer: str | None
    confirm: bool
    description: str | None
    metadata: dict[str, str]


class FakeStripe(FakeProvider):
    """Stripe's PaymentIntents and refunds in memory; `secret` is the only API key it accepts."""

    amount_fields = frozenset({"amount", "amount_received"})
    reference_fields: ClassVar[Mapping[str, tuple[str, ...]]] = {"payment_intent": ("id",), "refund": ("id",)}

    def __init__(self, secret: str, *, clock: Clock | None = None, rng: random.Random | None = None) -> None:
        super().__init__(clock=clock, rng=rng)
        self._secret = secret
        self._intents: dict[str, _Intent] = {}
        self._refunds: dict[str, _Refund] = {}
        self._replays = Replays()

    def _routes(self) -> list[ApiRoute]:
        return [
            ApiRoute("POST", "/v1/payment_intents", self._create_intent),
            ApiRoute("GET", "/v1/payment_intents", self._list_intents),
            ApiRoute("GET", "/v1/payment_intents/search", self._search_intents),
            ApiRoute("GET", "/v1/payment_intents/{intent_id}", self._retrieve_intent),
            ApiRoute("POST", "/v1/refunds", self._create_refund),
            ApiRoute("GET", "/v1/refunds/{refund_id}", self._retrieve_refund),
        ]

    def _authorize(self, request: Request) -> Reply | None:
        token = bearer_token(request)
        if token is not None and same_secret(token, self._secret):
            return None
        message = "Invalid API Key provided." if token else "You did not provide an API key."
        return Reply(401, {"error": {"type": "invalid_request_error", "code": "api_key_invalid", "message": message}})

    def _error(self, status: int, code: str, message: str) -> Reply:
        kind = "api_error" if status >= 500 else "invalid_request_error"
        return Reply(status, {"error": {"type": kind, "code": code, "message": message}})

    def _views(self) -> list[dict[str, Any]]:
        return [intent.view() for intent in self._intents.values()] + [r.view() for r in self._refunds.values()]

    def _kind_of(self, view: Mapping[str, Any]) -> str | None:
        kind = view.get("object")
        return kind if kind in self.reference_fields else None

    def _now(self) -> int:
        return int(self.clock.now().timestamp())

    def _idempotent(self, request: Request, form: dict[str, str], create: Callable[[str | None], Reply]) -> Reply:
        """Run `create` once per `Idempotency-Key`; later requests with the key get its stored answer."""
        key = request.headers.get("idempotency-key")
        if key is None:
            return create(None)
        if not 1 <= len(key) <= IDEMPOTENCY_KEY_CHARS_MAX:
            message = f"Idempotency-Key is 1 to {IDEMPOTENCY_KEY_CHARS_MAX} characters"
            return _invalid("idempotency_key", "idempotency_key_invalid", message)
        request_print = fingerprint(request.method, request.url.path, form)
        stored = self._replays.get(key)
        if stored is not None and stored.fingerprint != request_print:
            return _idempotency_error(key)
        if stored is not None:
            return stored.reply.with_headers({"Idempotent-Replayed": "true"})
        reply = create(key).with_headers({"Idempotency-Key": key})
        if reply.status != 400:
            self._replays.keep(key, request_print, reply)
        return reply

    def _create_intent(self, request: Request, body: bytes) -> Reply:
        form = _form(request, body)
        if isinstance(form, Reply):
            return form
        return self._idempotent(request, form, lambda key: self._new_intent(form, key))

    def _new_intent(self, form: dict[str, str], key: str | None) -> Reply:
        params = _intent_params(form)
        if isinstance(params, Reply):
            return params
        status = _first_status(params)
        intent = _Intent(
            id=f"pi_{self._random_text(ID_RANDOM_CHARS)}",
            seq=len(self._intents),
            amount=params.amount,
            currency=params.currency,
            payment_method=params.payment_method,
            customer=params.customer,
            description=params.description,
            metadata=params.metadata,
            status=status,
            created=self._now(),
        )
        self._intents[intent.id] = intent
        self._record_creation("payment_intent", [key, params.metadata.get("fiduciary_key")], intent.view())
        if params.confirm and status == "requires_payment_method":
            return _declined(intent.view())
        return Reply(200, intent.view())

    def _retrieve_intent(self, request: Request, body: bytes) -> Reply:
        intent_id = request.path_params["intent_id"]
        intent = self._intents.get(intent_id)
        if intent is None:
            return _invalid("intent", "resource_missing", f"No such payment_intent: '{intent_id}'", status=404)
        return Reply(200, intent.read())

    def _search_intents(self, request: Request, body: bytes) -> Reply:
        query = _query(request, _SEARCH_PARAMS)
        if isinstance(query, Reply):
            return query
        if "query" not in query:
            return _invalid("query", "parameter_missing", "Missing required param: query.")
        match = _SEARCH.fullmatch(query["query"].strip())
        if match is None:
            message = "Only queries of the form metadata['KEY']:'VALUE' are supported."
            return _invalid("query", "parameter_invalid_string", message)
        limit = _limit(query)
        if isinstance(limit, Reply):
            return limit
        key, value = match[2], match[4]
        found = [intent for intent in reversed(self._intents.values()) if intent.metadata.get(key) == value]
        data = [intent.read() for intent in found[:limit]]
        url = "/v1/payment_intents/search"
        return Reply(200, {"object": "search_result", "url": url, "data": data, "has_more": len(found) > limit})

    def _list_intents(self, request: Request, body: bytes) -> Reply:
        query = _query(request, _LIST_PARAMS)
        if isinstance(query, Reply):
            return query
        bounds = _created_bounds(query)
        if isinstance(bounds, Reply):
            return bounds
        limit = _limit(query)
        if isinstance(limit, Reply):
            return limit
        after = query.get("starting_after")
        cursor = self._intents.get(after) if after is not None else None
        if after is not None and cursor is None:
            return _invalid("starting_after", "resource_missing", f"No such payment_intent: '{after}'")
        customer = query.get("customer")
        found = [
            intent
            for intent in reversed(self._intents.values())
            if all(compare(intent.created, value) for compare, value in bounds)
            and (cursor is None or intent.seq < cursor.seq)
            and (customer is None or intent.customer == customer)
        ]
        data = [intent.read() for intent in found[:limit]]
        return Reply(
            200, {"object": "list", "url": "/v1/payment_intents", "data": data, "has_more": len(found) > limit}
        )

    def _create_refund(self, request: Request, body: bytes) -> Reply:
        form = _form(request, body)
        if isinstance(form, Reply):
            return form
        return self._idempotent(request, form, lambda key: self._new_refund(form, key))

    def _new_refund(self, form: dict[str, str], key: str | None) -> Reply:
        refused = _unknown(form, _REFUND_PARAMS)
        if refused is not None:
            return refused
        metadata = _metadata(form)
        if isinstance(metadata, Reply):
            return metadata
        if "payment_intent" not in form:
            return _invalid("payment_intent", "parameter_missing", "Missing required param: payment_intent.")
        intent = self._intents.get(form["payment_intent"])
        if intent is None:
            return _invalid("payment_intent", "resource_missing", f"No such payment_intent: '{form['payment_intent']}'")
        if intent.status != "succeeded":
            message = f"This PaymentIntent is {intent.status}; only a succeeded payment can be refunded."
            return _invalid("payment_intent", "payment_intent_unexpected_state", message)
        amount = _refund_amount(form, remaining=intent.amount - intent.refunded)
        if isinstance(amount, Reply):
            return amount
        reason = form.get("reason")
        if reason is not None and reason not in REFUND_REASONS:
            return _invalid(
                "reason", "parameter_invalid_string", f"Invalid reason: must be one of {sorted(REFUND_REASONS)}"
            )
        refund = _Refund(
            f"re_{self._random_text(ID_RANDOM_CHARS)}",
            amount,
            intent.currency,
            intent.id,
            reason,
            metadata,
            self._now(),
        )
        intent.refunded += amount
        self._refunds[refund.id] = refund
        self._record_creation("refund", [key, metadata.get("fiduciary_key")], refund.view())
        return Reply(200, refund.view())

    def _retrieve_refund(self, request: Request, body: bytes) -> Reply:
        refund_id = request.path_params["refund_id"]
        refund = self._refunds.get(refund_id)
        if refund is None:
            return _invalid("id", "resource_missing", f"No such refund: '{refund_id}'", status=404)
        return Reply(200, refund.view())


def _invalid(param: str, code: str, message: str, *, status: int = 400) -> Reply:
    return Reply(status, {"error": {"type": "invalid_request_error", "code": code, "param": param, "message": message}})


def _idempotency_error(key: str) -> Reply:
    message = (
        "Keys for idempotent requests can only be used with the same parameters they were first used with. "
        f"Try using a key other than '{key}' if you meant to execute a different request."
    )
    return Reply(400, {"error": {"type": "idempotency_error", "message": message}})


def _declined(intent: dict[str, Any]) -> Reply:
    error = {
        "type": "card_error",
        "code": "card_declined",
        "decline_code": "generic_decline",
        "message": "Your card was declined.",
        "param": "payment_method",
        "payment_intent": intent,
    }
    return Reply(402, {"error": error})


def _form(request: Request, body: bytes) -> dict[str, str] | Reply:
    """The form-encoded parameters of a POST; Stripe reads no other body."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if body and content_type != "application/x-www-form-urlencoded":
        message = "Request bodies are application/x-www-form-urlencoded."
        return _invalid("body", "invalid_content_type", message)
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=True, max_num_fields=FORM_FIELDS_MAX)
    except (UnicodeDecodeError, ValueError):
        return _invalid("body", "parameter_invalid", "The request body could not be parsed.")
    return dict(pairs)


def _query(request: Request, allowed: frozenset[str]) -> dict[str, str] | Reply:
    query = dict(request.query_params)
    unknown = sorted(name for name in query if name not in allowed and not _ACCEPTED_AND_IGNORED.fullmatch(name))
    if unknown:
        return _invalid(unknown[0], "parameter_unknown", f"Received unknown parameter: {unknown[0]}")
    return query


def _unknown(form: Mapping[str, str], allowed: frozenset[str]) -> Reply | None:
    for name in form:
        if name not in allowed and not _METADATA.fullmatch(name) and not _ACCEPTED_AND_IGNORED.fullmatch(name):
            return _invalid(name, "parameter_unknown", f"Received unknown parameter: {name}")
    return None


def _metadata(form: Mapping[str, str]) -> dict[str, str] | Reply:
    """The `metadata[...]` parameters; an empty value sets nothing, as it unsets at Stripe."""
    metadata: dict[str, str] = {}
    for name, value in form.items():
        match = _METADATA.fullmatch(name)
        if match is None:
            continue
        if len(match[1]) > METADATA_KEY_CHARS_MAX or len(value) > METADATA_VALUE_CHARS_MAX:
            return _invalid(name, "parameter_invalid_string", "Metadata keys and values are too long.")
        if value:
            metadata[match[1]] = value
    if len(metadata) > METADATA_KEYS_MAX:
        return _invalid("metadata", "parameter_invalid_string", f"At most {METADATA_KEYS_MAX} metadata keys.")
    return metadata


def _positive_amount(text: str | None, *, param: str = "amount") -> int | Reply:
    if text is None:
        return _invalid(param, "parameter_missing", f"Missing required param: {param}.")
    amount = strict_int(text)
    if amount is None or amount <= 0:
        return _invalid(param, "parameter_invalid_integer", "This value must be an integer greater than 0.")
    if amount > AMOUNT_MINOR_MAX:
        return _invalid(param, "amount_too_large", f"Amount must be no more than {AMOUNT_MINOR_MAX}.")
    return amount


def _intent_params(form: dict[str, str]) -> _IntentParams | Reply:
    refused = _unknown(form, _INTENT_PARAMS)
    if refused is not None:
        return refused
    amount = _positive_amount(form.get("amount"))
    if isinstance(amount, Reply):
        return amount
    metadata = _metadata(form)
    if isinstance(metadata, Reply):
        return metadata
    currency = form.get("currency")
    if currency is None:
        return _invalid("currency", "parameter_missing", "Missing required param: currency.")
    if currency not in CURRENCIES:
        return _invalid("currency", "parameter_invalid_string", f"Invalid currency: {currency}.")
    customer = form.get("customer") or None
    if customer is not None and not customer.startswith("cus_"):
        return _invalid("customer", "resource_missing", f"No such customer: '{customer}'")
    payment_method = form.get("payment_method") or (CUSTOMER_CARD if customer else None)
    if payment_method is not None and not payment_method.startswith(("pm_", "card_")):
        return _invalid("payment_method", "resource_missing", f"No such PaymentMethod: '{payment_method}'")
    confirm = form.get("confirm", "false")
    if confirm not in ("true", "false"):
        return _invalid("confirm", "parameter_invalid_boolean", "Invalid boolean: confirm.")
    if confirm == "true" and payment_method is None:
        return _invalid("payment_method", "parameter_missing", "Missing required param: payment_method.")
    description = form.get("description") or None
    if description is not None and len(description) > DESCRIPTION_CHARS_MAX:
        return _invalid("description", "parameter_invalid_string", "The description is too long.")
    return _IntentParams(amount, currency, payment_method, customer, confirm == "true", description, metadata)


def _first_status(params: _IntentParams) -> str:
    """The status a new intent starts in: only a confirmed intent charges the card."""
    if not params.confirm:
        return "requires_confirmation" if params.payment_method else "requires_payment_method"
    if params.payment_method == DECLINED_CARD:
        return "requires_payment_method"
    return "processing" if params.payment_method == PROCESSING_CARD else "succeeded"


def _refund_amount(form: Mapping[str, str], *, remaining: int) -> int | Reply:
    """The refund's amount (all that remains by default); more than remains is refused."""
    amount = _positive_amount(form["amount"]) if "amount" in form else remaining
    if isinstance(amount, Reply):
        return amount
    if remaining == 0 or amount > remaining:
        message = "The amount is more than what remains to refund on this payment."
        return _invalid("amount", "charge_already_refunded", message)
    return amount


def _limit(query: Mapping[str, str]) -> int | Reply:
    limit = strict_int(query.get("limit", str(LIST_LIMIT_DEFAULT)))
    if limit is None or not 1 <= limit <= LIST_LIMIT_MAX:
        return _invalid("limit", "parameter_invalid_integer", f"limit is an integer from 1 to {LIST_LIMIT_MAX}.")
    return limit


def _created_bounds(query: Mapping[str, str]) -> list[tuple[Callable[[int, int], bool], int]] | Reply:
    bounds: list[tuple[Callable[[int, int], bool], int]] = []
    for name, compare in _CREATED_BOUNDS.items():
        if name in query:
            value = strict_int(query[name])
            if value is None:
                return _invalid(name, "parameter_invalid_integer", f"Invalid integer: {query[name]}")
            bounds.append((compare, value))
    return bounds
