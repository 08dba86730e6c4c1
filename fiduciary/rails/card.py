"""The card rail, on Stripe's PaymentIntents API.

- `charge` (collect) creates and confirms a PaymentIntent for the counterparty's card
  (`card:pm_...` as `payment_method`, or `cus:cus_...` as `customer`), amount in minor units,
  `Idempotency-Key` set to the transaction's key and the key kept in `metadata[fiduciary_key]`.
  Stripe answers a replayed key with its stored response and refuses the key with other
  parameters, so a resend never charges twice.
- `status` searches PaymentIntents by that metadata; `processing` is pending.
- `reverse` is a refund of the PaymentIntent, under its own idempotency key.
- `receipts` lists PaymentIntents created since a time, page by page.
- Paying out to a card is not something this rail does: it is refused, nothing moved.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fiduciary.domain import limits
from fiduciary.domain.errors import RailMismatch, RailRejected
from fiduciary.rails.base import Direction, Outcome, RailReceipt, RailRequest
from fiduciary.rails.http import HttpRail, field, whole

_KEY = "fiduciary_key"
_STATES = {
    "succeeded": Outcome.SUCCEEDED,
    "processing": Outcome.PENDING,
    "requires_payment_method": Outcome.FAILED,
    "canceled": Outcome.FAILED,
}
PAGES_MAX = 50


class CardRail:
    def __init__(self, name: str, base_url: str, *, secret: str, timeout_ms: int) -> None:
        self.name = name
        self._http = HttpRail(name, base_url, timeout_ms=timeout_ms)
        self._auth = {"Authorization": f"Bearer {secret}"}

    async def open(self) -> None:
        await self._http.open()

    async def close(self) -> None:
        await self._http.close()

    async def dispatch(self, request: RailRequest) -> RailReceipt:
        if request.direction is not Direction.COLLECT:
            raise RailRejected("direction_unsupported", "the card rail collects; it does not pay out")
        kind, _, value = request.counterparty.partition(":")
        form = {
            "amount": str(request.amount_minor),
            "currency": request.currency.lower(),
            "confirm": "true",
            f"metadata[{_KEY}]": request.idempotency_key,
            "customer" if kind == "cus" else "payment_method": value,
        }
        headers = self._auth | {"Idempotency-Key": request.idempotency_key}
        data = await self._http.json("POST", "/v1/payment_intents", headers=headers, form=form)
        return self._receipt(data, direction=Direction.COLLECT)

    async def status(self, idempotency_key: str, *, request: RailRequest | None = None) -> RailReceipt | None:
        query = f"metadata['{_KEY}']:'{idempotency_key}'"
        data = await self._http.json("GET", "/v1/payment_intents/search", headers=self._auth, params={"query": query})
        found = [item for item in _items(data) if isinstance(item, dict)]
        if not found:
            return None
        return self._receipt(max(found, key=lambda item: item.get("created", 0)), direction=Direction.COLLECT)

    async def reverse(self, receipt: RailReceipt, *, amount_minor: int, idempotency_key: str) -> RailReceipt:
        form = {
            "payment_intent": receipt.rail_reference,
            "amount": str(amount_minor),
            f"metadata[{_KEY}]": idempotency_key,
        }
        headers = self._auth | {"Idempotency-Key": idempotency_key}
        data = await self._http.json("POST", "/v1/refunds", headers=headers, form=form)
        return RailReceipt(
            rail=self.name,
            rail_reference=str(field(data, "id")),
            idempotency_key=idempotency_key,
            direction=Direction.PAYOUT,
            amount_minor=whole(field(data, "amount"), "amount"),
            currency=str(field(data, "currency")).upper(),
            counterparty=receipt.counterparty,
            settled_at=_time(data.get("created")),
            outcome=Outcome.SUCCEEDED if data.get("status") == "succeeded" else Outcome.PENDING,
        )

    async def receipts(self, since: datetime) -> list[RailReceipt]:
        found: list[RailReceipt] = []
        params = {"created[gte]": str(int(since.timestamp())), "limit": str(limits.list_page_size_max)}
        for _ in range(PAGES_MAX):
            data = await self._http.json("GET", "/v1/payment_intents", headers=self._auth, params=params)
            page = [item for item in _items(data) if isinstance(item, dict)]
            found += [
                self._receipt(item, direction=Direction.COLLECT) for item in page if _KEY in item.get("metadata", {})
            ]
            if not data.get("has_more") or not page:
                break
            params = params | {"starting_after": str(page[-1].get("id"))}
        return found

    def _receipt(self, data: Any, *, direction: Direction) -> RailReceipt:
        metadata = field(data, "metadata")
        customer, method = data.get("customer"), data.get("payment_method")
        counterparty = f"cus:{customer}" if customer else f"card:{method}"
        status = _STATES.get(str(data.get("status")))
        if status is None:
            raise RailMismatch("status")
        return RailReceipt(
            rail=self.name,
            rail_reference=str(field(data, "id")),
            idempotency_key=str(field(metadata, _KEY)),
            direction=direction,
            amount_minor=whole(field(data, "amount"), "amount"),
            currency=str(field(data, "currency")).upper(),
            counterparty=counterparty,
            settled_at=_time(data.get("created")),
            outcome=status,
            failure_code=None if status is not Outcome.FAILED else "payment_failed",
        )


def _items(data: Any) -> list[Any]:
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise RailMismatch("missing_data")
    return items


def _time(value: Any) -> str:
    if type(value) is not int:
        raise RailMismatch("created")
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
