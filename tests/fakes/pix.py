"""A fake Pix PSP, shaped like Efí's API over the central bank's Pix: OAuth2 tokens, payouts, returns.

- `POST /oauth/token` with HTTP Basic `client_id:client_secret` and `{"grant_type": "client_credentials"}`
  issues a bearer token for `TOKEN_SECONDS`; every other endpoint wants one. `expire_tokens()`
  invalidates them all, so a client must be ready to fetch a new token at any time.
- A payout (`PUT /v3/gn/pix/{idEnvio}`) is keyed by the client's `idEnvio`: the same id and body
  answer the same payout (200) and create nothing; the same id with another body is 409
  `id_envio_duplicado`.
- A payout starts `EM_PROCESSAMENTO`; its first read once `settle_after` seconds have passed finds
  it `REALIZADO`, or `NAO_REALIZADO` when the payee key is `refused_key`.
- A return (`PUT /v2/pix/{e2eId}/devolucao/{id}`) gives back part or all of a Pix the account
  received (registered by the test with `receive`); it is `DEVOLVIDO` on a read past `settle_after`.

Amounts are decimal strings with two decimals at the edge and integer centavos inside.
"""

from __future__ import annotations

import math
import random
import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Final
from urllib.parse import parse_qsl

from starlette.requests import Request

from fiduciary.domain.clock import Clock, iso
from tests.fakes.base import (
    ApiRoute,
    FakeProvider,
    Reply,
    basic_credentials,
    bearer_token,
    fingerprint,
    json_object,
    same_secret,
    strict_int,
)

TOKEN_SECONDS: Final = 3600
TOKENS_MAX: Final = 1_000
TOKEN_CHARS: Final = 40
TOKEN_SCOPE: Final = "pix.send pix.read gn.pix.send.read pix.write"
ISPB: Final = "09089356"
"""The PSP's code in the Pix system; end-to-end ids begin with it."""
END_TO_END_RANDOM_CHARS: Final = 12
PIX_KEY_CHARS_MAX: Final = 77
DESCRIPTION_CHARS_MAX: Final = 140
PAGE_ITEMS_DEFAULT: Final = 100
PAGE_ITEMS_MAX: Final = 1_000
REFUSED_KEY_DEFAULT: Final = "recusado@example.com"

_CLIENT_ID = re.compile(r"[a-zA-Z0-9]{1,35}")
_RECEIVED_ID = re.compile(r"[a-zA-Z0-9]{1,64}")
_VALOR = re.compile(r"(0|[1-9][0-9]{0,9})\.[0-9]{2}")
_SIGNED_VALOR = re.compile(r"-?[0-9]{1,12}\.[0-9]{2}")
_LIST_PARAMS: Final = frozenset({"inicio", "fim", "paginacao.paginaAtual", "paginacao.itensPorPagina"})
_RETURN_FIELDS: Final = frozenset({"valor", "natureza", "descricao"})
_RETURN_KINDS: Final = frozenset({"ORIGINAL", "RETIRADA"})
_NAMES: Final[Mapping[str, str]] = {
    "service_unavailable": "servico_indisponivel",
    "internal_error": "erro_interno_servidor",
    "not_found": "nao_encontrado",
    "method_not_allowed": "metodo_nao_permitido",
    "request_too_large": "requisicao_muito_grande",
}


@dataclass(slots=True)
class _Payout:
    id_envio: str
    e2e_id: str
    valor: int
    payee_key: str
    request: str
    requested: datetime
    status: str = "EM_PROCESSAMENTO"
    settled: datetime | None = None

    def view(self) -> dict[str, Any]:
        return {
            "idEnvio": self.id_envio,
            "e2eId": self.e2e_id,
            "valor": render_valor(self.valor),
            "horario": _horario(self.requested, self.settled),
            "status": self.status,
            "favorecido": {"chave": self.payee_key},
        }


@dataclass(slots=True)
class _Return:
    id: str
    e2e_id: str
    rtr_id: str
    valor: int
    request: str
    requested: datetime
    status: str = "EM_PROCESSAMENTO"
    settled: datetime | None = None

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rtrId": self.rtr_id,
            "valor": render_valor(self.valor),
            "horario": _horario(self.requested, self.settled),
            "status": self.status,
        }


@dataclass(frozen=True, slots=True)
class _PayoutParams:
    valor: int
    payee_key: str
    request: str


class FakePix(FakeProvider):
    """Efí's Pix API in memory for one client; see the module docstring for what it does."""

    amount_fields = frozenset({"valor"})
    reference_fields: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "pix": ("idEnvio", "e2eId"),
        "devolucao": ("id", "rtrId"),
    }

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        settle_after: float = 0,
        refused_key: str = REFUSED_KEY_DEFAULT,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(clock=clock, rng=rng)
        self._client_id = client_id
        self._client_secret = client_secret
        self._settle_after = timedelta(seconds=settle_after)
        self._refused_key = refused_key
        self._tokens: OrderedDict[str, datetime] = OrderedDict()
        self._payouts: dict[str, _Payout] = {}
        self._returns: dict[str, _Return] = {}
        self._received: dict[str, int] = {}

    def expire_tokens(self) -> None:
        """Invalidate every token issued so far; the next request with one is 401."""
        with self._lock:
            self._tokens.clear()

    def receive(self, e2e_id: str, valor: str) -> None:
        """Record a Pix of `valor` ("12.34") received under `e2e_id`, so that it can be returned.

        A malformed id or amount, or an id already received, raises `ValueError`.
        """
        minor = parse_valor(valor)
        if not _RECEIVED_ID.fullmatch(e2e_id) or minor is None:
            raise ValueError("an e2eId of letters and digits and a valor such as '12.34'")
        with self._lock:
            if e2e_id in self._received:
                raise ValueError(f"{e2e_id} was already received")
            self._received[e2e_id] = minor

    def _routes(self) -> list[ApiRoute]:
        return [
            ApiRoute("POST", "/oauth/token", self._issue_token, public=True),
            ApiRoute("PUT", "/v3/gn/pix/{id_envio}", self._send_pix),
            ApiRoute("GET", "/v2/gn/pix/enviados/id-envio/{id_envio}", self._get_pix),
            ApiRoute("GET", "/v2/gn/pix/enviados", self._list_pix),
            ApiRoute("PUT", "/v2/pix/{e2e_id}/devolucao/{return_id}", self._return_pix),
            ApiRoute("GET", "/v2/pix/{e2e_id}/devolucao/{return_id}", self._get_return),
        ]

    def _authorize(self, request: Request) -> Reply | None:
        token = bearer_token(request)
        expires = self._tokens.get(token) if token is not None else None
        if expires is not None and self.clock.now() < expires:
            return None
        message = "Requisição não autorizada: token de acesso ausente, inválido ou expirado."
        return Reply(401, {"nome": "nao_autorizado", "mensagem": message})

    def _error(self, status: int, code: str, message: str) -> Reply:
        return Reply(status, {"nome": _NAMES.get(code, code), "mensagem": message})

    def _views(self) -> list[dict[str, Any]]:
        return [payout.view() for payout in self._payouts.values()] + [r.view() for r in self._returns.values()]

    def _extra_state(self) -> dict[str, Any]:
        return {"received": {e2e_id: render_valor(minor) for e2e_id, minor in self._received.items()}}

    def _kind_of(self, view: Mapping[str, Any]) -> str | None:
        if "rtrId" in view:
            return "devolucao"
        return "pix" if "e2eId" in view and "idEnvio" in view else None

    def _to_minor(self, value: Any) -> int | None:
        if not isinstance(value, str) or not _SIGNED_VALOR.fullmatch(value):
            return None
        units, cents = value.removeprefix("-").split(".")
        return (-1 if value.startswith("-") else 1) * (int(units) * 100 + int(cents))

    def _from_minor(self, minor: int) -> Any:
        return render_valor(minor)

    def _end_to_end_id(self, prefix: str) -> str:
        """An id in the central bank's layout: prefix, PSP code, minute of the request, random part."""
        return f"{prefix}{ISPB}{self.clock.now():%Y%m%d%H%M}{self._random_text(END_TO_END_RANDOM_CHARS)}"

    def _due(self, requested: datetime) -> bool:
        return self.clock.now() - requested >= self._settle_after

    def _read_payout(self, payout: _Payout) -> dict[str, Any]:
        """The payout as a read finds it: settled, or refused, once `settle_after` has passed."""
        if payout.status == "EM_PROCESSAMENTO" and self._due(payout.requested):
            refused = payout.payee_key == self._refused_key
            payout.status = "NAO_REALIZADO" if refused else "REALIZADO"
            payout.settled = None if refused else self.clock.now()
        return payout.view()

    def _read_return(self, returned: _Return) -> dict[str, Any]:
        if returned.status == "EM_PROCESSAMENTO" and self._due(returned.requested):
            returned.status = "DEVOLVIDO"
            returned.settled = self.clock.now()
        return returned.view()

    def _issue_token(self, request: Request, body: bytes) -> Reply:
        credentials = basic_credentials(request) or ("", "")
        matches = [same_secret(credentials[0], self._client_id), same_secret(credentials[1], self._client_secret)]
        if not all(matches):
            return Reply(401, {"error": "invalid_client", "error_description": "client authentication failed"})
        if _grant_type(body) != "client_credentials":
            return Reply(400, {"error": "unsupported_grant_type", "error_description": "use client_credentials"})
        token = self._random_text(TOKEN_CHARS)
        self._tokens[token] = self.clock.now() + timedelta(seconds=TOKEN_SECONDS)
        while len(self._tokens) > TOKENS_MAX:
            self._tokens.popitem(last=False)
        return Reply(
            200, {"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_SECONDS, "scope": TOKEN_SCOPE}
        )

    def _send_pix(self, request: Request, body: bytes) -> Reply:
        id_envio = request.path_params["id_envio"]
        if not _CLIENT_ID.fullmatch(id_envio):
            return _invalid("idEnvio: de 1 a 35 letras ou dígitos")
        params = _payout_params(body)
        if isinstance(params, Reply):
            return params
        existing = self._payouts.get(id_envio)
        if existing is not None and existing.request != params.request:
            message = "idEnvio já utilizado para um envio com outros dados"
            return Reply(409, {"nome": "id_envio_duplicado", "mensagem": message})
        if existing is not None:
            return Reply(200, existing.view())
        payout = _Payout(
            id_envio, self._end_to_end_id("E"), params.valor, params.payee_key, params.request, self.clock.now()
        )
        self._payouts[id_envio] = payout
        self._record_creation("pix", [id_envio], payout.view())
        return Reply(201, payout.view())

    def _get_pix(self, request: Request, body: bytes) -> Reply:
        payout = self._payouts.get(request.path_params["id_envio"])
        if payout is None:
            return Reply(404, {"nome": "pix_nao_encontrado", "mensagem": "nenhum Pix enviado com esse idEnvio"})
        return Reply(200, self._read_payout(payout))

    def _list_pix(self, request: Request, body: bytes) -> Reply:
        query = dict(request.query_params)
        unknown = sorted(set(query) - _LIST_PARAMS)
        if unknown:
            return _invalid(f"parâmetro desconhecido: {unknown[0]}")
        inicio, fim = _instant(query.get("inicio")), _instant(query.get("fim"))
        if inicio is None or fim is None or fim < inicio:
            return _invalid("inicio e fim: datas RFC 3339 com fuso, inicio antes de fim")
        page = strict_int(query.get("paginacao.paginaAtual", "0"))
        per_page = strict_int(query.get("paginacao.itensPorPagina", str(PAGE_ITEMS_DEFAULT)))
        if page is None or page < 0 or per_page is None or not 1 <= per_page <= PAGE_ITEMS_MAX:
            return _invalid(f"paginacao: paginaAtual >= 0 e itensPorPagina de 1 a {PAGE_ITEMS_MAX}")
        found = [payout for payout in self._payouts.values() if inicio <= payout.requested <= fim]
        paginacao = {
            "paginaAtual": page,
            "itensPorPagina": per_page,
            "quantidadeDePaginas": math.ceil(len(found) / per_page),
            "quantidadeTotalDeItens": len(found),
        }
        shown = found[page * per_page : (page + 1) * per_page]
        parametros = {"inicio": query["inicio"], "fim": query["fim"], "paginacao": paginacao}
        return Reply(200, {"parametros": parametros, "pix": [self._read_payout(payout) for payout in shown]})

    def _return_pix(self, request: Request, body: bytes) -> Reply:
        e2e_id, return_id = request.path_params["e2e_id"], request.path_params["return_id"]
        if not _CLIENT_ID.fullmatch(return_id):
            return _invalid("id: de 1 a 35 letras ou dígitos")
        received = self._received.get(e2e_id)
        if received is None:
            return Reply(404, {"nome": "pix_nao_encontrado", "mensagem": "nenhum Pix recebido com esse e2eId"})
        data = json_object(body)
        valor = parse_valor(data.get("valor")) if data is not None else None
        if data is None or valor is None or not _return_extras_valid(data):
            return _invalid("valor: decimal com duas casas, acima de zero; natureza e descricao opcionais")
        request_print = fingerprint(e2e_id, data)
        existing = self._returns.get(return_id)
        if existing is not None and existing.request != request_print:
            message = "id já utilizado para uma devolução com outros dados"
            return Reply(409, {"nome": "id_devolucao_duplicado", "mensagem": message})
        if existing is not None:
            return Reply(200, existing.view())
        returned = sum(r.valor for r in self._returns.values() if r.e2e_id == e2e_id)
        if returned + valor > received:
            return _invalid("valor: a soma das devoluções excede o valor do Pix recebido")
        created = _Return(return_id, e2e_id, self._end_to_end_id("D"), valor, request_print, self.clock.now())
        self._returns[return_id] = created
        self._record_creation("devolucao", [return_id], created.view())
        return Reply(201, created.view())

    def _get_return(self, request: Request, body: bytes) -> Reply:
        returned = self._returns.get(request.path_params["return_id"])
        if returned is None or returned.e2e_id != request.path_params["e2e_id"]:
            return Reply(404, {"nome": "devolucao_nao_encontrada", "mensagem": "nenhuma devolução com esse id"})
        return Reply(200, self._read_return(returned))


def parse_valor(text: object) -> int | None:
    """Centavos from a Pix amount such as "12.34" (two decimals, above zero), or None."""
    if not isinstance(text, str) or not _VALOR.fullmatch(text):
        return None
    units, cents = text.split(".")
    minor = int(units) * 100 + int(cents)
    return minor if minor > 0 else None


def render_valor(minor: int) -> str:
    """A Pix amount from centavos: 1234 → "12.34"."""
    sign = "-" if minor < 0 else ""
    return f"{sign}{abs(minor) // 100}.{abs(minor) % 100:02d}"


def _horario(requested: datetime, settled: datetime | None) -> dict[str, str]:
    horario = {"solicitacao": iso(requested)}
    if settled is not None:
        horario["liquidacao"] = iso(settled)
    return horario


def _invalid(message: str) -> Reply:
    return Reply(400, {"nome": "valor_invalido", "mensagem": message})


def _grant_type(body: bytes) -> str | None:
    """The grant type of a token request, sent as JSON (as Efí documents) or as a form (as OAuth2 does)."""
    data = json_object(body)
    if data is not None:
        grant = data.get("grant_type")
        return grant if isinstance(grant, str) else None
    try:
        return dict(parse_qsl(body.decode(), max_num_fields=10)).get("grant_type")
    except (UnicodeDecodeError, ValueError):
        return None


def _pix_key(party: object) -> str | None:
    """The `chave` of a `pagador` or `favorecido` object, or None when it has none."""
    key = party.get("chave") if isinstance(party, dict) else None
    return key if isinstance(key, str) and 1 <= len(key) <= PIX_KEY_CHARS_MAX else None


def _payout_params(body: bytes) -> _PayoutParams | Reply:
    data = json_object(body)
    if data is None:
        return Reply(400, {"nome": "json_invalido", "mensagem": "o corpo deve ser um objeto JSON"})
    valor = parse_valor(data.get("valor"))
    if valor is None:
        return _invalid('valor: decimal com duas casas, acima de zero, como "12.34"')
    if _pix_key(data.get("pagador")) is None:
        return _invalid("pagador.chave: a chave Pix da conta pagadora")
    payee_key = _pix_key(data.get("favorecido"))
    if payee_key is None:
        return _invalid("favorecido.chave: a chave Pix do favorecido")
    return _PayoutParams(valor, payee_key, fingerprint(data))


def _return_extras_valid(data: Mapping[str, Any]) -> bool:
    kind, description = data.get("natureza", "ORIGINAL"), data.get("descricao", "")
    return (
        set(data) <= _RETURN_FIELDS
        and kind in _RETURN_KINDS
        and isinstance(description, str)
        and len(description) <= DESCRIPTION_CHARS_MAX
    )


def _instant(text: str | None) -> datetime | None:
    """A timezone-aware RFC 3339 instant, or None."""
    try:
        instant = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    return instant if instant is not None and instant.tzinfo is not None else None
