"""The Pix rail, on the Brazilian central bank's Pix API as PSPs such as Efí expose it.

- OAuth2 client credentials (`client_id:client_secret` is the credential): a bearer token is
  fetched on first use and again when the PSP says it expired.
- `pay` (payout) sends a Pix with `PUT /v3/gn/pix/{idEnvio}`: the idEnvio is chosen by us from
  the transaction's key (letters and digits only), so sending it again finds the same Pix;
  amounts are `valor` strings in reais. `EM_PROCESSAMENTO` is pending, `REALIZADO` succeeded,
  `NAO_REALIZADO` failed.
- `status` reads the Pix by its idEnvio; a 404 means the PSP never saw it.
- `reverse` is a devolução (`PUT /v2/pix/{e2eId}/devolucao/{id}`) of a Pix that was received.
- `receipts` lists the Pix sent in a time range.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from fiduciary.domain.clock import iso
from fiduciary.domain.errors import RailMismatch, RailRejected
from fiduciary.domain.money import Money, parse_amount
from fiduciary.rails.base import Direction, Outcome, RailReceipt, RailRequest
from fiduciary.rails.http import Answer, HttpRail, field

_STATES = {"EM_PROCESSAMENTO": Outcome.PENDING, "REALIZADO": Outcome.SUCCEEDED, "NAO_REALIZADO": Outcome.FAILED}
_RETURNS = {"EM_PROCESSAMENTO": Outcome.PENDING, "DEVOLVIDO": Outcome.SUCCEEDED, "NAO_REALIZADO": Outcome.FAILED}
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")
ID_CHARS_MAX = 35
LIST_DAYS_MAX = 5


def envio_id(idempotency_key: str) -> str:
    """The Pix idEnvio for a key: its letters and digits, at most 35 (a transaction id fits)."""
    return _NOT_ALNUM.sub("", idempotency_key)[:ID_CHARS_MAX]


class PixRail:
    def __init__(self, name: str, base_url: str, *, credential: str, payer_key: str, timeout_ms: int) -> None:
        client_id, sep, secret = credential.partition(":")
        if not sep or not client_id or not secret:
            raise RailRejected("credential_invalid", f"rail {name}: the credential is client_id:client_secret")
        self.name = name
        self._http = HttpRail(name, base_url, timeout_ms=timeout_ms)
        self._client = (client_id, secret)
        self._payer_key = payer_key
        self._token: str | None = None
        self._keys: dict[str, str] = {}
        """idEnvio -> our idempotency key, for the answers this process has seen."""

    async def open(self) -> None:
        await self._http.open()

    async def close(self) -> None:
        await self._http.close()

    async def _authorised_json(self, method: str, path: str, **kwargs: Any) -> Any:
        return (await self._authorised(method, path, **kwargs)).data

    async def _authorised(self, method: str, path: str, **kwargs: Any) -> Answer:
        for attempt in range(2):
            if self._token is None:
                data = await self._http.json(
                    "POST", "/oauth/token", auth=self._client, json_body={"grant_type": "client_credentials"}
                )
                self._token = str(field(data, "access_token"))
            try:
                return await self._http.call(method, path, headers={"Authorization": f"Bearer {self._token}"}, **kwargs)
            except RailRejected as exc:
                if exc.code not in ("nao_autorizado", "http_401") or attempt:
                    raise
                self._token = None  # expired: fetch a new one and ask once more
        raise AssertionError("the loop returns or raises")

    async def dispatch(self, request: RailRequest) -> RailReceipt:
        if request.direction is not Direction.PAYOUT:
            raise RailRejected("direction_unsupported", "the Pix rail sends Pix; charges are not supported yet")
        if request.currency != "BRL":
            raise RailRejected("currency_unsupported", "Pix moves reais (BRL) only")
        kind, _, key = request.counterparty.partition(":")
        if kind != "pix":
            raise RailRejected("counterparty_unsupported", "the Pix rail pays Pix keys (pix:...)")
        ident = envio_id(request.idempotency_key)
        self._keys[ident] = request.idempotency_key
        body = {
            "valor": Money(request.amount_minor, "BRL").to_major(),
            "pagador": {"chave": self._payer_key},
            "favorecido": {"chave": key},
        }
        data = await self._authorised_json("PUT", f"/v3/gn/pix/{ident}", json_body=body)
        return self._receipt(data, request.idempotency_key, request.counterparty)

    async def status(self, idempotency_key: str, *, request: RailRequest | None = None) -> RailReceipt | None:
        ident = envio_id(idempotency_key)
        answer = await self._authorised("GET", f"/v2/gn/pix/enviados/id-envio/{ident}", missing_ok=True)
        asked = "" if request is None else request.counterparty
        return None if answer.status == 404 else self._receipt(answer.data, idempotency_key, asked)

    async def reverse(self, receipt: RailReceipt, *, amount_minor: int, idempotency_key: str) -> RailReceipt:
        if receipt.direction is not Direction.COLLECT:
            raise RailRejected("reversal_unsupported", "a Pix that was sent can only be returned by its receiver")
        ident = envio_id(idempotency_key)
        body = {"valor": Money(amount_minor, "BRL").to_major()}
        data = await self._authorised_json("PUT", f"/v2/pix/{receipt.rail_reference}/devolucao/{ident}", json_body=body)
        outcome = _RETURNS.get(str(data.get("status")) if isinstance(data, dict) else "")
        if outcome is None:
            raise RailMismatch("status")
        return RailReceipt(
            rail=self.name,
            rail_reference=str(field(data, "rtrId")),
            idempotency_key=idempotency_key,
            direction=Direction.PAYOUT,
            amount_minor=_reais(field(data, "valor")),
            currency="BRL",
            counterparty=receipt.counterparty,
            settled_at=str(field(data, "horario", "solicitacao")),
            outcome=outcome,
        )

    async def receipts(self, since: datetime) -> list[RailReceipt]:
        end = since + timedelta(days=LIST_DAYS_MAX)
        data = await self._authorised_json("GET", "/v2/gn/pix/enviados", params={"inicio": iso(since), "fim": iso(end)})
        found = field(data, "pix")
        if not isinstance(found, list):
            raise RailMismatch("pix")
        return [self._receipt(item, self._keys.get(str(item.get("idEnvio")), ""), "") for item in found]

    def _receipt(self, data: Any, idempotency_key: str, counterparty: str) -> RailReceipt:
        """A Pix as the PSP reports it; the payee is the one it echoes, else the one we asked for."""
        outcome = _STATES.get(str(field(data, "status")))
        if outcome is None:
            raise RailMismatch("status")
        ident = str(field(data, "idEnvio"))
        if idempotency_key and ident != envio_id(idempotency_key):
            raise RailMismatch("idempotency_key")
        return RailReceipt(
            rail=self.name,
            rail_reference=str(field(data, "e2eId")),
            idempotency_key=idempotency_key or ident,
            direction=Direction.PAYOUT,
            amount_minor=_reais(field(data, "valor")),
            currency="BRL",
            counterparty=f"pix:{field(data, 'favorecido', 'chave')}" if "favorecido" in data else counterparty,
            settled_at=str(field(data, "horario", "solicitacao")),
            outcome=outcome,
            failure_code="nao_realizado" if outcome is Outcome.FAILED else None,
        )


def _reais(value: Any) -> int:
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{1,13}\.[0-9]{2}", value):
        raise RailMismatch("amount")
    return parse_amount(value, "BRL").amount_minor
