"""The stablecoin rail, on Circle's transfers API (USDC to a blockchain address).

- The credential is the API key, sent as a bearer token.
- `pay` (payout) creates a transfer from the configured `source_wallet_id` to the counterparty's
  address (`evm:0x...`) on the configured `chain`. The amount is a decimal string with USDC's
  6 decimals, in Circle's `USD`. The body carries an `idempotencyKey`: a UUID (version-4 form,
  as Circle requires) derived from the transaction's key, so every send of one payment carries
  the same one. Circle answers a replayed key with the first result and moves nothing again.
- Transfer states: `pending` is pending, `complete` succeeded, `failed` failed (its `errorCode`).
- `status`: a Circle transfer records no key of ours and cannot be searched by one, so asking
  is the replay Circle documents: the identical request under the same `idempotencyKey`. It
  answers the transfer that request made (as it was then; its state now is read by its id); one
  that never arrived is made now, once, as the hold already allows. The replay needs the
  request, and is refused (`status_unproven`) once the payment is older than
  `limits.circle_replay_hours`, when Circle may have forgotten the key: the transaction then
  rests as unknown for a person, never paid twice.
- `reverse`: an on-chain transfer cannot be pulled back; it is refused, nothing moved.
- `receipts` lists the wallet's transfers created since a time, following `pageAfter`. They carry
  no key of ours, so reconciliation finds their transactions by the transfer id.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Any

from fiduciary.domain import limits
from fiduciary.domain.clock import Clock, iso, parse_iso
from fiduciary.domain.counterparties import canonical
from fiduciary.domain.errors import InputError, RailMismatch, RailRejected
from fiduciary.domain.money import Money, parse_amount
from fiduciary.rails.base import Direction, Outcome, RailReceipt, RailRequest
from fiduciary.rails.http import HttpRail, field

_STATES = {"pending": Outcome.PENDING, "complete": Outcome.SUCCEEDED, "failed": Outcome.FAILED}
CURRENCY = "USDC"
CIRCLE_CURRENCY = "USD"
"""What Circle calls a USDC amount."""
PAGE_SIZE = 50
PAGES_MAX = 50


def circle_key(idempotency_key: str) -> str:
    """The `idempotencyKey` Circle sees for one of ours: a UUID in version-4 form, always the same."""
    digest = hashlib.sha256(idempotency_key.encode()).digest()[:16]
    return str(uuid.UUID(bytes=digest, version=4))


class StablecoinRail:
    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        api_key: str,
        source_wallet_id: str,
        chain: str,
        timeout_ms: int,
        clock: Clock,
    ) -> None:
        self.name = name
        self._clock = clock
        self._http = HttpRail(name, base_url, timeout_ms=timeout_ms)
        self._auth = {"Authorization": f"Bearer {api_key}"}
        self._wallet = source_wallet_id
        self._chain = chain

    async def open(self) -> None:
        await self._http.open()

    async def close(self) -> None:
        await self._http.close()

    async def dispatch(self, request: RailRequest) -> RailReceipt:
        return await self._send(request)

    async def status(self, idempotency_key: str, *, request: RailRequest | None = None) -> RailReceipt | None:
        if request is None or request.idempotency_key != idempotency_key:
            raise RailRejected("status_unproven", f"rail {self.name} answers a status only by replaying the request")
        if request.created_at is None or self._forgotten(request.created_at):
            raise RailRejected("status_unproven", f"rail {self.name} may have forgotten this payment's key")
        made = await self._send(request)
        data = await self._http.json("GET", f"/v1/transfers/{made.rail_reference}", headers=self._auth)
        return self._receipt(field(data, "data"), idempotency_key)

    async def reverse(self, receipt: RailReceipt, *, amount_minor: int, idempotency_key: str) -> RailReceipt:
        raise RailRejected("reversal_unsupported", "an on-chain transfer cannot be pulled back; the payee must send it")

    async def receipts(self, since: datetime) -> list[RailReceipt]:
        found: list[RailReceipt] = []
        params = {"walletId": self._wallet, "from": iso(since), "pageSize": str(PAGE_SIZE)}
        for _ in range(PAGES_MAX):
            page = field(await self._http.json("GET", "/v1/transfers", params=params, headers=self._auth), "data")
            if not isinstance(page, list):
                raise RailMismatch("data")
            items = [item for item in page if isinstance(item, dict)]
            found += [self._receipt(item, "") for item in items if _from_wallet(item, self._wallet)]
            if len(page) < PAGE_SIZE or not items:
                break
            params = params | {"pageAfter": str(field(items[-1], "id"))}
        return found

    async def _send(self, request: RailRequest) -> RailReceipt:
        if request.direction is not Direction.PAYOUT:
            raise RailRejected("direction_unsupported", "the stablecoin rail pays out; it does not collect")
        if request.currency != CURRENCY:
            raise RailRejected("currency_unsupported", "the stablecoin rail moves USDC only")
        kind, _, address = request.counterparty.partition(":")
        if kind != "evm":
            raise RailRejected("counterparty_unsupported", "the stablecoin rail pays blockchain addresses (evm:0x...)")
        body = {
            "idempotencyKey": circle_key(request.idempotency_key),
            "source": {"type": "wallet", "id": self._wallet},
            "destination": {"type": "blockchain", "address": address, "chain": self._chain},
            "amount": {"amount": Money(request.amount_minor, CURRENCY).to_major(), "currency": CIRCLE_CURRENCY},
        }
        data = await self._http.json("POST", "/v1/transfers", headers=self._auth, json_body=body)
        return self._receipt(field(data, "data"), request.idempotency_key)

    def _forgotten(self, created_at: str) -> bool:
        """Whether Circle may no longer hold a key first sent at `created_at`."""
        return parse_iso(created_at) < self._clock.now() - timedelta(hours=limits.circle_replay_hours)

    def _receipt(self, data: Any, idempotency_key: str) -> RailReceipt:
        """A transfer as Circle reports it; `idempotency_key` is the one it was asked under ("" unknown)."""
        outcome = _STATES.get(str(field(data, "status")))
        if outcome is None:
            raise RailMismatch("status")
        if field(data, "destination", "chain") != self._chain:
            raise RailMismatch("chain")
        return RailReceipt(
            rail=self.name,
            rail_reference=str(field(data, "id")),
            idempotency_key=idempotency_key,
            direction=Direction.PAYOUT,
            amount_minor=_usdc(field(data, "amount")),
            currency=CURRENCY,
            counterparty=_address(field(data, "destination", "address")),
            settled_at=str(field(data, "createDate")),
            outcome=outcome,
            failure_code=str(data.get("errorCode") or "failed") if outcome is Outcome.FAILED else None,
        )


def _usdc(amount: Any) -> int:
    if field(amount, "currency") != CIRCLE_CURRENCY:
        raise RailMismatch("currency")
    try:
        return parse_amount(field(amount, "amount"), CURRENCY).amount_minor
    except InputError as exc:
        raise RailMismatch("amount") from exc


def _address(value: Any) -> str:
    """The destination in canonical form (EIP-55); anything but a valid address is not believed."""
    if not isinstance(value, str):
        raise RailMismatch("destination")
    try:
        return canonical(f"evm:{value}")
    except InputError as exc:
        raise RailMismatch("destination") from exc


def _from_wallet(item: dict[str, Any], wallet: str) -> bool:
    source = item.get("source")
    return isinstance(source, dict) and source.get("type") == "wallet" and source.get("id") == wallet
