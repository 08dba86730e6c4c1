"""A fake Circle Mint: USDC transfers from one wallet to blockchain addresses.

- Credentials: `Authorization: Bearer <api_key>`; anything else is 401. Every error is Circle's
  `{"code": <int>, "message": <str>}`: code 2 `Invalid entity. ...` for a refused body or query,
  otherwise the HTTP status (404, 409, 503...).
- `POST /v1/transfers` takes exactly `idempotencyKey` (a UUID version 4), `source` (this wallet),
  `destination` (`0x` and 40 hex digits on a supported chain) and `amount` (a decimal string of
  at most 6 decimals, in "USD", as Circle names USDC). Unknown or missing fields are refused.
- The body's `idempotencyKey`: the same key and body answer the stored response (201, same body)
  and create nothing; the same key with another body is 409. A request refused (400) stores nothing.
- The wallet starts with `balance_minor` micro-USDC (3.14 USDC is 3_140_000). A transfer beyond it
  is created already `failed` with `insufficient_funds`; any other takes its amount at creation.
- A transfer starts `pending` and moves one step on each read (retrieve, or a list page it appears
  on): to `complete` with a `transactionHash`, or to `failed` with `transfer_failed` when its address
  is `failing_address` (in any case), which gives its amount back to the wallet.
- `GET /v1/transfers` lists newest first, within `from` and `to` (inclusive), in pages of `pageSize`
  after or before a transfer's id (`pageAfter`, `pageBefore`).

Amounts are decimal strings at the edge ("3.14", "10.00", "0.000001") and integer micro-units inside.
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Final

from starlette.requests import Request

from fiduciary.domain.clock import Clock, iso
from tests.fakes.base import (
    ApiRoute,
    FakeProvider,
    Replays,
    Reply,
    bearer_token,
    fingerprint,
    json_object,
    same_secret,
    strict_int,
)

MINOR_PER_UNIT: Final = 10**6
"""USDC has 6 decimals: amounts inside the fake are micro-units."""
AMOUNT_UNITS_MAX: Final = 10**12
BALANCE_MINOR_DEFAULT: Final = 10**15
PAGE_SIZE_DEFAULT: Final = 50
PAGE_SIZE_MAX: Final = 50
TRANSACTION_HASH_DIGITS: Final = 64
INVALID_ENTITY: Final = 2
"""Circle's code for a body or query it refuses."""
FAILING_ADDRESS_DEFAULT: Final = "0x000000000000000000000000000000000000dEaD"
HEX_DIGITS: Final = "0123456789abcdef"

CHAINS: Final = frozenset({"ETH", "MATIC", "AVAX", "SOL", "ALGO", "ARB", "BASE", "NOBLE", "XLM", "HBAR"})

_UUID4 = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_AMOUNT = re.compile(r"(0|[1-9][0-9]{0,12})(\.[0-9]{1,6})?")
_SIGNED_AMOUNT = re.compile(r"-?[0-9]{1,19}(\.[0-9]{1,6})?")
_TRANSFER_FIELDS: Final = frozenset({"idempotencyKey", "source", "destination", "amount"})
_SOURCE_FIELDS: Final = frozenset({"type", "id"})
_DESTINATION_FIELDS: Final = frozenset({"type", "address", "chain"})
_MONEY_FIELDS: Final = frozenset({"amount", "currency"})
_LIST_PARAMS: Final = frozenset({"walletId", "from", "to", "pageSize", "pageAfter", "pageBefore"})
_AMOUNT_RULE: Final = 'amount is {"amount": "<decimal, at most 6 decimals, above 0>", "currency": "USD"}'


@dataclass(slots=True)
class _Transfer:
    id: str
    seq: int
    wallet_id: str
    address: str
    chain: str
    amount: int
    created: datetime
    status: str = "pending"
    transaction_hash: str | None = None
    error_code: str | None = None

    def view(self) -> dict[str, Any]:
        view: dict[str, Any] = {
            "id": self.id,
            "source": {"type": "wallet", "id": self.wallet_id},
            "destination": {"type": "blockchain", "address": self.address, "chain": self.chain},
            "amount": {"amount": render_amount(self.amount), "currency": "USD"},
            "status": self.status,
            "createDate": iso(self.created),
        }
        if self.transaction_hash is not None:
            view["transactionHash"] = self.transaction_hash
        if self.error_code is not None:
            view["errorCode"] = self.error_code
        return view

    def fail(self, error_code: str) -> None:
        self.status, self.error_code = "failed", error_code


class FakeCircle(FakeProvider):
    """Circle Mint's transfers in memory, for one API key and one wallet; see the module docstring."""

    reference_fields: ClassVar[Mapping[str, tuple[str, ...]]] = {"transfer": ("id",)}

    def __init__(
        self,
        api_key: str,
        wallet_id: str,
        *,
        balance_minor: int = BALANCE_MINOR_DEFAULT,
        failing_address: str = FAILING_ADDRESS_DEFAULT,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(clock=clock, rng=rng)
        self._api_key = api_key
        self._wallet_id = wallet_id
        self._balance = balance_minor
        self._failing_address = failing_address.lower()
        self._transfers: dict[str, _Transfer] = {}
        self._replays = Replays()

    def _routes(self) -> list[ApiRoute]:
        return [
            ApiRoute("POST", "/v1/transfers", self._create_transfer),
            ApiRoute("GET", "/v1/transfers", self._list_transfers),
            ApiRoute("GET", "/v1/transfers/{transfer_id}", self._get_transfer),
        ]

    def _authorize(self, request: Request) -> Reply | None:
        token = bearer_token(request)
        if token is not None and same_secret(token, self._api_key):
            return None
        return _circle_error(401, 401, "Malformed authorization. Are the credentials properly encoded?")

    def _error(self, status: int, code: str, message: str) -> Reply:
        return _circle_error(status, status, message)

    def _views(self) -> list[dict[str, Any]]:
        return [transfer.view() for transfer in self._transfers.values()]

    def _extra_state(self) -> dict[str, Any]:
        return {"balance_minor": self._balance}

    def _kind_of(self, view: Mapping[str, Any]) -> str | None:
        return "transfer" if {"id", "destination", "amount"} <= set(view) else None

    def _to_minor(self, value: Any) -> int | None:
        if not isinstance(value, str) or not _SIGNED_AMOUNT.fullmatch(value):
            return None
        return (-1 if value.startswith("-") else 1) * _micro_units(value.removeprefix("-"))

    def _from_minor(self, minor: int) -> Any:
        return render_amount(minor)

    def _new_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _read(self, transfer: _Transfer) -> dict[str, Any]:
        """The transfer as a read finds it: a pending one has completed, or failed at the failing address."""
        if transfer.status == "pending" and transfer.address.lower() == self._failing_address:
            transfer.fail("transfer_failed")
            self._balance += transfer.amount
        elif transfer.status == "pending":
            transfer.status = "complete"
            transfer.transaction_hash = "0x" + self._random_text(TRANSACTION_HASH_DIGITS, HEX_DIGITS)
        return transfer.view()

    def _debit(self, transfer: _Transfer) -> None:
        """Take the transfer's amount from the wallet, or fail it when the wallet holds less."""
        if transfer.amount > self._balance:
            transfer.fail("insufficient_funds")
        else:
            self._balance -= transfer.amount

    def _create_transfer(self, request: Request, body: bytes) -> Reply:
        data = json_object(body)
        if data is None:
            return _invalid("the body must be a JSON object")
        key = data.get("idempotencyKey")
        if not isinstance(key, str) or not _UUID4.fullmatch(key):
            return _invalid("idempotencyKey must be a UUID version 4")
        return self._idempotent(
            key, fingerprint(request.method, request.url.path, data), lambda: self._new_transfer(data, key)
        )

    def _idempotent(self, key: str, request_print: str, create: Callable[[], Reply]) -> Reply:
        """Run `create` once per idempotency key; later requests with the key get its stored answer."""
        stored = self._replays.get(key)
        if stored is not None and stored.fingerprint != request_print:
            return _circle_error(409, 409, "the idempotency key was already used with another request")
        if stored is not None:
            return stored.reply
        reply = create()
        if reply.status != 400:
            self._replays.keep(key, request_print, reply)
        return reply

    def _new_transfer(self, data: Mapping[str, Any], key: str) -> Reply:
        refused = _refusal(data, self._wallet_id)
        if refused is not None:
            return _invalid(refused)
        amount = _money_minor(data["amount"])
        if amount is None:
            return _invalid(_AMOUNT_RULE)
        destination = data["destination"]
        transfer = _Transfer(
            id=self._new_id(),
            seq=len(self._transfers),
            wallet_id=self._wallet_id,
            address=destination["address"],
            chain=destination["chain"],
            amount=amount,
            created=self.clock.now(),
        )
        self._debit(transfer)
        self._transfers[transfer.id] = transfer
        self._record_creation("transfer", [key], transfer.view())
        return Reply(201, {"data": transfer.view()})

    def _get_transfer(self, request: Request, body: bytes) -> Reply:
        transfer = self._transfers.get(request.path_params["transfer_id"])
        if transfer is None:
            return _circle_error(404, 404, "Resource not found")
        return Reply(200, {"data": self._read(transfer)})

    def _list_transfers(self, request: Request, body: bytes) -> Reply:
        query = dict(request.query_params)
        unknown = sorted(set(query) - _LIST_PARAMS)
        if unknown:
            return _invalid(f"{unknown[0]} is not a parameter of this list")
        bounds = _time_bounds(query)
        if isinstance(bounds, Reply):
            return bounds
        start, end = bounds
        page_size = strict_int(query.get("pageSize", str(PAGE_SIZE_DEFAULT)))
        if page_size is None or not 1 <= page_size <= PAGE_SIZE_MAX:
            return _invalid(f"pageSize is an integer from 1 to {PAGE_SIZE_MAX}")
        cursors = self._cursors(query)
        if isinstance(cursors, Reply):
            return cursors
        wallet_id = query.get("walletId", self._wallet_id)
        found = [
            transfer
            for transfer in reversed(self._transfers.values())
            if transfer.wallet_id == wallet_id
            and (start is None or transfer.created >= start)
            and (end is None or transfer.created <= end)
        ]
        shown = _page(found, page_size, *cursors)
        return Reply(200, {"data": [self._read(transfer) for transfer in shown]})

    def _cursors(self, query: Mapping[str, str]) -> tuple[_Transfer | None, _Transfer | None] | Reply:
        """The transfers that `pageAfter` and `pageBefore` name, each None when absent; never both."""
        if "pageAfter" in query and "pageBefore" in query:
            return _invalid("pageAfter and pageBefore cannot be used together")
        cursors: list[_Transfer | None] = []
        for name in ("pageAfter", "pageBefore"):
            cursor = self._transfers.get(query[name]) if name in query else None
            if name in query and cursor is None:
                return _invalid(f"{name} is not the id of a transfer")
            cursors.append(cursor)
        return cursors[0], cursors[1]


def parse_amount(text: object) -> int | None:
    """Micro-units from a USDC amount such as "3.14" (at most 6 decimals, above 0, at most 10**12), or None."""
    if not isinstance(text, str) or not _AMOUNT.fullmatch(text):
        return None
    minor = _micro_units(text)
    return minor if 0 < minor <= AMOUNT_UNITS_MAX * MINOR_PER_UNIT else None


def render_amount(minor: int) -> str:
    """A USDC amount from micro-units, with 2 to 6 decimals: 3_140_000 → "3.14", 1 → "0.000001"."""
    sign = "-" if minor < 0 else ""
    units, fraction = divmod(abs(minor), MINOR_PER_UNIT)
    decimals = f"{fraction:06d}".rstrip("0").ljust(2, "0")
    return f"{sign}{units}.{decimals}"


def _micro_units(text: str) -> int:
    """Micro-units from an unsigned decimal string already matched by a pattern."""
    units, _, fraction = text.partition(".")
    return int(units) * MINOR_PER_UNIT + int(fraction.ljust(6, "0"))


def _circle_error(status: int, code: int, message: str) -> Reply:
    return Reply(status, {"code": code, "message": message})


def _invalid(message: str) -> Reply:
    return _circle_error(400, INVALID_ENTITY, f"Invalid entity. {message}")


def _shaped(value: object, kind: str, fields: frozenset[str]) -> bool:
    """True for an object with exactly `fields`, whose `type` is `kind`."""
    return isinstance(value, dict) and set(value) == fields and value["type"] == kind


def _matches(pattern: re.Pattern[str], value: object) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def _refusal(data: Mapping[str, Any], wallet_id: str) -> str | None:
    """What is wrong with a transfer's fields, source or destination, or None; the amount is checked apart."""
    fields = set(data)
    source, destination = data.get("source"), data.get("destination")
    source_id = source.get("id") if isinstance(source, dict) else None
    address = destination.get("address") if isinstance(destination, dict) else None
    chain = destination.get("chain") if isinstance(destination, dict) else None
    checks: list[tuple[bool, str]] = [
        (fields <= _TRANSFER_FIELDS, f"unknown fields: {', '.join(sorted(fields - _TRANSFER_FIELDS))}"),
        (fields >= _TRANSFER_FIELDS, f"missing fields: {', '.join(sorted(_TRANSFER_FIELDS - fields))}"),
        (_shaped(source, "wallet", _SOURCE_FIELDS), 'source is {"type": "wallet", "id": "<wallet id>"}'),
        (source_id == wallet_id, f"source.id: the wallet {source_id} is unknown"),
        (
            _shaped(destination, "blockchain", _DESTINATION_FIELDS),
            'destination is {"type": "blockchain", "address": "<address>", "chain": "<chain>"}',
        ),
        (_matches(_ADDRESS, address), "destination.address is 0x and 40 hexadecimal digits"),
        (isinstance(chain, str) and chain in CHAINS, f"destination.chain is one of {', '.join(sorted(CHAINS))}"),
    ]
    return next((message for valid, message in checks if not valid), None)


def _money_minor(money: object) -> int | None:
    """The micro-units of a `{"amount": "3.14", "currency": "USD"}` object, or None."""
    if not isinstance(money, dict) or set(money) != _MONEY_FIELDS or money["currency"] != "USD":
        return None
    return parse_amount(money["amount"])


def _page(found: list[_Transfer], page_size: int, after: _Transfer | None, before: _Transfer | None) -> list[_Transfer]:
    """One page of `found` (newest first): the next older ones after `after`, the newer ones just before `before`."""
    if after is not None:
        return [transfer for transfer in found if transfer.seq < after.seq][:page_size]
    if before is not None:
        return [transfer for transfer in found if transfer.seq > before.seq][-page_size:]
    return found[:page_size]


def _time_bounds(query: Mapping[str, str]) -> tuple[datetime | None, datetime | None] | Reply:
    """The `from` and `to` of a list, each None when absent; `from` is not after `to`."""
    bounds: list[datetime | None] = []
    for name in ("from", "to"):
        text = query.get(name)
        instant = _instant(text) if text is not None else None
        if text is not None and instant is None:
            return _invalid(f"{name} is an ISO 8601 date-time with an offset, such as 2026-01-05T12:00:00Z")
        bounds.append(instant)
    start, end = bounds
    if start is not None and end is not None and end < start:
        return _invalid("from is after to")
    return start, end


def _instant(text: str) -> datetime | None:
    """A timezone-aware ISO 8601 date and time, or None; a bare date is not one."""
    try:
        instant = datetime.fromisoformat(text) if "T" in text.upper() else None
    except ValueError:
        return None
    return instant if instant is not None and instant.tzinfo is not None else None
