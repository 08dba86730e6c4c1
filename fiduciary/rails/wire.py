"""The wire rail, on Modern Treasury's payment orders.

- HTTP Basic with `organization_id:api_key` (the credential).
- `pay` (payout) creates a `wire` payment order, `direction = credit`, amount in minor units, to
  the counterparty's account number (`acct:...`) or IBAN (`iban:...`), from the configured
  `originating_account_id`, with `Idempotency-Key` and the key in `metadata.fiduciary_key`. A
  replayed key answers with the stored order; the key with other parameters is refused.
- Order states: `approved`, `processing`, `sent` are pending; `completed` succeeded; `failed`,
  `cancelled`, `returned` failed.
- `status` lists orders by that metadata; `reverse` asks for a reversal of a completed order;
  `receipts` lists orders created since a time, following the `X-After-Cursor` pages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fiduciary.domain import limits
from fiduciary.domain.clock import iso
from fiduciary.domain.errors import RailMismatch, RailRejected
from fiduciary.rails.base import Direction, Outcome, RailReceipt, RailRequest
from fiduciary.rails.http import HttpRail, field, whole

_KEY = "fiduciary_key"
_STATES = {
    "approved": Outcome.PENDING,
    "processing": Outcome.PENDING,
    "sent": Outcome.PENDING,
    "completed": Outcome.SUCCEEDED,
    "failed": Outcome.FAILED,
    "cancelled": Outcome.FAILED,
    "returned": Outcome.FAILED,
}
PAGES_MAX = 50


class WireRail:
    def __init__(self, name: str, base_url: str, *, credential: str, originating_account_id: str, timeout_ms: int):
        org, sep, key = credential.partition(":")
        if not sep or not org or not key:
            raise RailRejected("credential_invalid", f"rail {name}: the credential is organization_id:api_key")
        self.name = name
        self._http = HttpRail(name, base_url, timeout_ms=timeout_ms)
        self._auth = (org, key)
        self._account = originating_account_id

    async def open(self) -> None:
        await self._http.open()

    async def close(self) -> None:
        await self._http.close()

    async def dispatch(self, request: RailRequest) -> RailReceipt:
        if request.direction is not Direction.PAYOUT:
            raise RailRejected("direction_unsupported", "the wire rail pays out; it does not collect")
        kind, _, number = request.counterparty.partition(":")
        if kind not in ("acct", "iban"):
            raise RailRejected("counterparty_unsupported", "the wire rail pays accounts (acct:...) and IBANs")
        body = {
            "type": "wire",
            "amount": request.amount_minor,
            "direction": "credit",
            "currency": request.currency,
            "originating_account_id": self._account,
            "receiving_account": {"account_details": [{"account_number": number}]},
            "metadata": {_KEY: request.idempotency_key},
        }
        headers = {"Idempotency-Key": request.idempotency_key}
        data = await self._http.json("POST", "/api/payment_orders", headers=headers, json_body=body, auth=self._auth)
        return self._receipt(data, kind)

    async def status(self, idempotency_key: str, *, request: RailRequest | None = None) -> RailReceipt | None:
        params = {f"metadata[{_KEY}]": idempotency_key}
        data = await self._http.json("GET", "/api/payment_orders", params=params, auth=self._auth)
        if not isinstance(data, list):
            raise RailMismatch("payment_orders")
        found = [item for item in data if isinstance(item, dict)]
        return None if not found else self._receipt(found[0], None)

    async def reverse(self, receipt: RailReceipt, *, amount_minor: int, idempotency_key: str) -> RailReceipt:
        if amount_minor != receipt.amount_minor:
            raise RailRejected("partial_reversal_unsupported", "a wire reversal returns the whole order")
        headers = {"Idempotency-Key": idempotency_key}
        data = await self._http.json(
            "POST",
            f"/api/payment_orders/{receipt.rail_reference}/reversals",
            headers=headers,
            json_body={"reason": "duplicate"},
            auth=self._auth,
        )
        return RailReceipt(
            rail=self.name,
            rail_reference=str(field(data, "id")),
            idempotency_key=idempotency_key,
            direction=Direction.COLLECT,
            amount_minor=amount_minor,
            currency=receipt.currency,
            counterparty=receipt.counterparty,
            settled_at=str(field(data, "created_at")),
            outcome=Outcome.PENDING,
        )

    async def receipts(self, since: datetime) -> list[RailReceipt]:
        found: list[RailReceipt] = []
        params = {"created_at_start": iso(since), "per_page": str(limits.list_page_size_max)}
        for _ in range(PAGES_MAX):
            data, cursor = await self._page(params)
            found += [self._receipt(item, None) for item in data if _KEY in item.get("metadata", {})]
            if not cursor:
                break
            params = params | {"after_cursor": cursor}
        return found

    async def _page(self, params: dict[str, str]) -> tuple[list[dict[str, Any]], str | None]:
        answer = await self._http.call("GET", "/api/payment_orders", params=params, auth=self._auth)
        if not isinstance(answer.data, list):
            raise RailMismatch("payment_orders")
        items = [item for item in answer.data if isinstance(item, dict)]
        return items, answer.headers.get("x-after-cursor") or None

    def _receipt(self, data: Any, kind: str | None) -> RailReceipt:
        outcome = _STATES.get(str(field(data, "status")))
        if outcome is None:
            raise RailMismatch("status")
        details = field(data, "receiving_account", "account_details")
        if not isinstance(details, list) or not details or not isinstance(details[0], dict):
            raise RailMismatch("receiving_account")
        number = str(details[0].get("account_number", ""))
        prefix = kind or ("iban" if number[:2].isalpha() else "acct")
        return RailReceipt(
            rail=self.name,
            rail_reference=str(field(data, "id")),
            idempotency_key=str(field(data, "metadata", _KEY)),
            direction=Direction.PAYOUT if data.get("direction") == "credit" else Direction.COLLECT,
            amount_minor=whole(field(data, "amount"), "amount"),
            currency=str(field(data, "currency")),
            counterparty=f"{prefix}:{number}",
            settled_at=str(field(data, "created_at")),
            outcome=outcome,
            failure_code=str(data.get("status")) if outcome is Outcome.FAILED else None,
        )
