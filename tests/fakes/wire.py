"""A fake Modern Treasury: wire payment orders and their reversals.

- Credentials: HTTP Basic `organization_id:api_key`; anything else is 401 `unauthorized`.
- `Idempotency-Key` on a POST: the same key and body answer the stored response (same status,
  same body) and create nothing; the same key with another body is 422 `parameter_invalid`.
  A request refused by validation stores nothing.
- A payment order starts `approved` and moves one step on each read (retrieve, or a list page it
  appears on): `approved` → `processing` → `completed`, or `failed` when its receiving account
  number is `failing_account`.
- Only a completed order can be reversed, once.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Final

from starlette.requests import Request

from fiduciary.domain.clock import Clock, iso
from tests.fakes.base import (
    IDEMPOTENCY_KEY_CHARS_MAX,
    ApiRoute,
    FakeProvider,
    Replays,
    Reply,
    basic_credentials,
    fingerprint,
    is_json_int,
    json_object,
    same_secret,
    strict_int,
)

AMOUNT_MINOR_MAX: Final = 10**15
METADATA_KEYS_MAX: Final = 50
METADATA_CHARS_MAX: Final = 500
TEXT_CHARS_MAX: Final = 1_000
ACCOUNT_DETAILS_MAX: Final = 10
PER_PAGE_DEFAULT: Final = 25
PER_PAGE_MAX: Final = 100
FAILING_ACCOUNT_DEFAULT: Final = "000000000"

CURRENCIES: Final = frozenset({"USD", "EUR", "GBP", "CAD", "MXN", "BRL", "JPY", "CHF", "AUD"})
DIRECTIONS: Final = frozenset({"credit", "debit"})
REVERSAL_REASONS: Final = frozenset(
    {
        "duplicate",
        "incorrect_amount",
        "incorrect_receiving_account",
        "date_earlier_than_intended",
        "date_later_than_intended",
    }
)
ORDER_STEPS: Final[Mapping[str, str]] = {"approved": "processing", "processing": "completed"}
"""The transition a read makes; `completed` and `failed` are final."""

_ORDER_FIELDS: Final = frozenset(
    {
        "type",
        "amount",
        "direction",
        "currency",
        "originating_account_id",
        "receiving_account",
        "metadata",
        "description",
        "effective_date",
        "priority",
        "remittance_information",
    }
)
_REVERSAL_FIELDS: Final = frozenset({"reason", "metadata"})
_FILTERS: Final = frozenset({"status", "type", "direction"})
_LIST_PARAMS: Final = frozenset({"created_at_start", "created_at_end", "per_page", "after_cursor", *_FILTERS})


@dataclass(slots=True)
class _Order:
    id: str
    seq: int
    type: str
    amount: int
    direction: str
    currency: str
    originating_account_id: str
    receiving_account: dict[str, Any]
    metadata: dict[str, str]
    description: str | None
    created_at: datetime
    updated_at: datetime
    status: str = "approved"

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "payment_order",
            "type": self.type,
            "amount": self.amount,
            "direction": self.direction,
            "currency": self.currency,
            "originating_account_id": self.originating_account_id,
            "receiving_account": self.receiving_account,
            "metadata": dict(self.metadata),
            "description": self.description,
            "status": self.status,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }

    def account_numbers(self) -> list[str]:
        return [detail["account_number"] for detail in self.receiving_account["account_details"]]


@dataclass(slots=True)
class _Reversal:
    id: str
    payment_order_id: str
    reason: str
    metadata: dict[str, str]
    created_at: datetime

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "reversal",
            "payment_order_id": self.payment_order_id,
            "reason": self.reason,
            "metadata": dict(self.metadata),
            "status": "pending",
            "created_at": iso(self.created_at),
            "updated_at": iso(self.created_at),
        }


class FakeWire(FakeProvider):
    """Modern Treasury's payment orders in memory, for one organization and API key."""

    reference_fields: ClassVar[Mapping[str, tuple[str, ...]]] = {"payment_order": ("id",), "reversal": ("id",)}

    def __init__(
        self,
        organization_id: str,
        api_key: str,
        *,
        failing_account: str = FAILING_ACCOUNT_DEFAULT,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(clock=clock, rng=rng)
        self._organization_id = organization_id
        self._api_key = api_key
        self._failing_account = failing_account
        self._orders: dict[str, _Order] = {}
        self._reversals: dict[str, _Reversal] = {}
        self._replays = Replays()

    def _routes(self) -> list[ApiRoute]:
        return [
            ApiRoute("POST", "/api/payment_orders", self._create_order),
            ApiRoute("GET", "/api/payment_orders", self._list_orders),
            ApiRoute("GET", "/api/payment_orders/{order_id}", self._get_order),
            ApiRoute("POST", "/api/payment_orders/{order_id}/reversals", self._create_reversal),
        ]

    def _authorize(self, request: Request) -> Reply | None:
        user, password = basic_credentials(request) or ("", "")
        if all([same_secret(user, self._organization_id), same_secret(password, self._api_key)]):
            return None
        return Reply(401, {"errors": {"code": "unauthorized", "message": "Invalid organization id or API key"}})

    def _error(self, status: int, code: str, message: str) -> Reply:
        return Reply(status, {"errors": {"code": code, "message": message}})

    def _views(self) -> list[dict[str, Any]]:
        return [order.view() for order in self._orders.values()] + [r.view() for r in self._reversals.values()]

    def _kind_of(self, view: Mapping[str, Any]) -> str | None:
        kind = view.get("object")
        return kind if kind in self.reference_fields else None

    def _new_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _read(self, order: _Order) -> dict[str, Any]:
        """The order as a read finds it: one step further along its lifecycle."""
        step = ORDER_STEPS.get(order.status)
        if step == "completed" and self._failing_account in order.account_numbers():
            step = "failed"
        if step is not None:
            order.status = step
            order.updated_at = self.clock.now()
        return order.view()

    def _idempotent(self, request: Request, data: object, create: Callable[[str | None], Reply]) -> Reply:
        """Run `create` once per `Idempotency-Key`; later requests with the key get its stored answer."""
        key = request.headers.get("idempotency-key")
        if key is None:
            return create(None)
        if not 1 <= len(key) <= IDEMPOTENCY_KEY_CHARS_MAX:
            return _invalid("Idempotency-Key", f"is 1 to {IDEMPOTENCY_KEY_CHARS_MAX} characters")
        request_print = fingerprint(request.method, request.url.path, data)
        stored = self._replays.get(key)
        if stored is not None and stored.fingerprint != request_print:
            return _invalid("Idempotency-Key", "idempotency key already used with other parameters", bare=True)
        if stored is not None:
            return stored.reply.with_headers({"Idempotent-Replayed": "true"})
        reply = create(key)
        if reply.status != 422:
            self._replays.keep(key, request_print, reply)
        return reply

    def _create_order(self, request: Request, body: bytes) -> Reply:
        data = json_object(body)
        return self._idempotent(
            request, data if data is not None else body.hex(), lambda key: self._new_order(data, key)
        )

    def _new_order(self, data: dict[str, Any] | None, key: str | None) -> Reply:
        if data is None:
            return _invalid("body", "must be a JSON object")
        refused = _order_refusal(data)
        if refused is not None:
            return refused
        now = self.clock.now()
        order = _Order(
            id=self._new_id(),
            seq=len(self._orders),
            type=data["type"],
            amount=data["amount"],
            direction=data["direction"],
            currency=data.get("currency", "USD"),
            originating_account_id=data["originating_account_id"],
            receiving_account=data["receiving_account"],
            metadata=data.get("metadata", {}),
            description=data.get("description"),
            created_at=now,
            updated_at=now,
        )
        self._orders[order.id] = order
        self._record_creation("payment_order", [key, order.metadata.get("fiduciary_key")], order.view())
        return Reply(201, order.view())

    def _get_order(self, request: Request, body: bytes) -> Reply:
        order = self._orders.get(request.path_params["order_id"])
        if order is None:
            return _not_found("payment order")
        return Reply(200, self._read(order))

    def _list_orders(self, request: Request, body: bytes) -> Reply:
        query = dict(request.query_params)
        unknown = sorted(name for name in query if name not in _LIST_PARAMS and not _metadata_filter(name))
        if unknown:
            return _invalid(unknown[0], "is not a parameter of this list")
        bounds = _time_bounds(query)
        if isinstance(bounds, Reply):
            return bounds
        start, end = bounds
        per_page = strict_int(query.get("per_page", str(PER_PAGE_DEFAULT)))
        if per_page is None or not 1 <= per_page <= PER_PAGE_MAX:
            return _invalid("per_page", f"is an integer from 1 to {PER_PAGE_MAX}")
        cursor = self._orders.get(query["after_cursor"]) if "after_cursor" in query else None
        if "after_cursor" in query and cursor is None:
            return _invalid("after_cursor", "is not a cursor of this list")
        found = [
            order
            for order in reversed(self._orders.values())
            if _order_matches(order, query)
            and (start is None or order.created_at >= start)
            and (end is None or order.created_at <= end)
            and (cursor is None or order.seq < cursor.seq)
        ]
        shown = found[:per_page]
        headers = {"X-Per-Page": str(per_page)}
        if len(found) > per_page:
            headers["X-After-Cursor"] = shown[-1].id
        return Reply(200, [self._read(order) for order in shown], headers)

    def _create_reversal(self, request: Request, body: bytes) -> Reply:
        data = json_object(body)
        order_id = request.path_params["order_id"]
        print_data = data if data is not None else body.hex()
        return self._idempotent(request, print_data, lambda key: self._new_reversal(order_id, data, key))

    def _new_reversal(self, order_id: str, data: dict[str, Any] | None, key: str | None) -> Reply:
        order = self._orders.get(order_id)
        if order is None:
            return _not_found("payment order")
        if data is None or not set(data) <= _REVERSAL_FIELDS or data.get("reason") not in REVERSAL_REASONS:
            return _invalid("reason", f"is one of {', '.join(sorted(REVERSAL_REASONS))}")
        metadata = data.get("metadata", {})
        if not _valid_metadata(metadata):
            return _invalid("metadata", "is an object of strings")
        if order.status != "completed":
            return _invalid("payment_order_id", f"a {order.status} payment order cannot be reversed")
        if any(reversal.payment_order_id == order.id for reversal in self._reversals.values()):
            return _invalid("payment_order_id", "the payment order is already reversed")
        reversal = _Reversal(self._new_id(), order.id, data["reason"], metadata, self.clock.now())
        self._reversals[reversal.id] = reversal
        self._record_creation("reversal", [key, metadata.get("fiduciary_key")], reversal.view())
        return Reply(201, reversal.view())


def _invalid(parameter: str, message: str, *, bare: bool = False) -> Reply:
    """422 `parameter_invalid`; `bare` leaves out the parameter, as the idempotency refusal does."""
    errors: dict[str, str] = {"code": "parameter_invalid", "message": message if bare else f"{parameter} {message}"}
    if not bare:
        errors["parameter"] = parameter
    return Reply(422, {"errors": errors})


def _not_found(what: str) -> Reply:
    return Reply(404, {"errors": {"code": "resource_not_found", "message": f"{what} not found"}})


def _short_text(value: object) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= TEXT_CHARS_MAX


def _valid_metadata(metadata: object) -> bool:
    return (
        isinstance(metadata, dict)
        and len(metadata) <= METADATA_KEYS_MAX
        and all(
            isinstance(k, str) and isinstance(v, str) and len(k + v) <= METADATA_CHARS_MAX for k, v in metadata.items()
        )
    )


def _valid_receiving_account(account: object) -> bool:
    """An account with 1 to `ACCOUNT_DETAILS_MAX` account numbers; routing details, if any, are a list."""
    if not isinstance(account, dict):
        return False
    details, routing = account.get("account_details"), account.get("routing_details", [])
    return (
        isinstance(details, list)
        and 1 <= len(details) <= ACCOUNT_DETAILS_MAX
        and all(isinstance(detail, dict) and _short_text(detail.get("account_number")) for detail in details)
        and isinstance(routing, list)
        and len(routing) <= ACCOUNT_DETAILS_MAX
        and all(isinstance(detail, dict) for detail in routing)
    )


def _order_refusal(data: Mapping[str, Any]) -> Reply | None:
    """The first thing wrong with a payment order's body, or None."""
    unknown = sorted(set(data) - _ORDER_FIELDS)
    checks: list[tuple[str, bool, str]] = [
        (unknown[0] if unknown else "", not unknown, "is not a payment order parameter"),
        ("type", data.get("type") == "wire", "must be wire"),
        ("amount", is_json_int(data.get("amount")) and 0 < data["amount"] <= AMOUNT_MINOR_MAX, "must be above 0"),
        ("direction", data.get("direction") in DIRECTIONS, "must be credit or debit"),
        ("currency", data.get("currency", "USD") in CURRENCIES, "is not a supported currency"),
        ("originating_account_id", _short_text(data.get("originating_account_id")), "is required"),
        ("receiving_account", _valid_receiving_account(data.get("receiving_account")), "needs account_details"),
        ("metadata", _valid_metadata(data.get("metadata", {})), "is an object of strings"),
        ("description", data.get("description") is None or _short_text(data["description"]), "is too long"),
    ]
    for parameter, valid, message in checks:
        if not valid:
            return _invalid(parameter, message)
    return None


def _metadata_filter(name: str) -> str | None:
    """The metadata key of a `metadata[KEY]` query parameter, or None."""
    inner = name.removeprefix("metadata[").removesuffix("]")
    return inner if name.startswith("metadata[") and name.endswith("]") and inner else None


def _order_matches(order: _Order, query: Mapping[str, str]) -> bool:
    for name, value in query.items():
        key = _metadata_filter(name)
        if key is not None and order.metadata.get(key) != value:
            return False
        if name in _FILTERS and getattr(order, name) != value:
            return False
    return True


def _time_bounds(query: Mapping[str, str]) -> tuple[datetime | None, datetime | None] | Reply:
    """The `created_at_start` and `created_at_end` of a list, each None when absent."""
    bounds: list[datetime | None] = []
    for name, end in (("created_at_start", False), ("created_at_end", True)):
        text = query.get(name)
        instant = _instant(text, end=end) if text is not None else None
        if text is not None and instant is None:
            return _invalid(name, "is an ISO 8601 date or date and time")
        bounds.append(instant)
    return bounds[0], bounds[1]


def _instant(text: str, *, end: bool) -> datetime | None:
    """A time bound; a date covers its whole UTC day, a time without an offset is UTC."""
    try:
        if len(text) == len("2026-01-05"):
            day = date.fromisoformat(text)
            return datetime.combine(day, datetime.max.time() if end else datetime.min.time(), UTC)
        instant = datetime.fromisoformat(text)
    except ValueError:
        return None
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)
