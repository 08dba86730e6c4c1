"""What the tests of the fake providers share: a served fake with its client, fixtures' helpers, request bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx2

from tests.fakes import FakePix, FakeStripe, FakeWire, serve

SECRET = "sk_test_fiduciary"
CLIENT_ID = "Client_Id_fiduciary"
CLIENT_SECRET = "Client_Secret_fiduciary"
ORGANIZATION_ID = "org-fiduciary"
API_KEY = "live-key-fiduciary"
CLIENT_TIMEOUT_SECONDS = 2.0
SHORT_TIMEOUT_SECONDS = 0.1
FAULT_DELAY_SECONDS = 0.5
PAYER_KEY = "pagador@example.com"

F = TypeVar("F", FakeStripe, FakePix, FakeWire)


@dataclass(frozen=True, slots=True)
class Served(Generic[F]):
    """A fake running on 127.0.0.1 and a client that holds its credentials."""

    fake: F
    http: httpx2.AsyncClient


@asynccontextmanager
async def running(fake: F, **client: Any) -> AsyncIterator[Served[F]]:
    async with serve(fake) as url, httpx2.AsyncClient(base_url=url, timeout=CLIENT_TIMEOUT_SECONDS, **client) as http:
        yield Served(fake, http)


async def pix_token(http: httpx2.AsyncClient) -> str:
    """A bearer token from the fake's OAuth2 endpoint, fetched with the client credentials."""
    answer = await http.post("/oauth/token", json={"grant_type": "client_credentials"}, auth=(CLIENT_ID, CLIENT_SECRET))
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


def intent(key: str, **changes: str) -> dict[str, str]:
    """A confirmed card payment of 12.34 USD carrying `key` in its metadata."""
    form = {"amount": "1234", "currency": "usd", "payment_method": "pm_card_visa", "confirm": "true"}
    return form | {"metadata[fiduciary_key]": key} | changes


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def payout(valor: str = "12.34", payee: str = "ana@example.com") -> dict[str, Any]:
    return {"valor": valor, "pagador": {"chave": PAYER_KEY}, "favorecido": {"chave": payee}}


def order(key: str, *, amount: int = 50_000, account: str = "123456789") -> dict[str, Any]:
    """A 500.00 USD wire credit to `account`, carrying `key` in its metadata."""
    return {
        "type": "wire",
        "amount": amount,
        "direction": "credit",
        "currency": "USD",
        "originating_account_id": "acct-origin",
        "receiving_account": {
            "account_details": [{"account_number": account}],
            "routing_details": [{"routing_number": "021000021", "routing_number_type": "aba"}],
        },
        "metadata": {"fiduciary_key": key},
    }
