"""The fake providers over real HTTP: each served by uvicorn on 127.0.0.1 and called with `httpx2`.

For each fake: a create, a replayed key that creates nothing, a key reused with other parameters,
bad credentials, a status read and a list. Every fault mode is shown at least once, with what the
client sees and whether the provider acted.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

import httpx2
import pytest

from fiduciary.domain.clock import FakeClock
from tests.fakes import FAULT_MODES, FakePix, FakeStripe, FakeWire, Faults, serve
from tests.fakes.base import HUGE_BODY_BYTES, MALFORMED_BODY

pytestmark = pytest.mark.anyio

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


@pytest.fixture
async def stripe() -> AsyncIterator[Served[FakeStripe]]:
    async with running(FakeStripe(SECRET), headers={"Authorization": f"Bearer {SECRET}"}) as served:
        yield served


@pytest.fixture
async def pix() -> AsyncIterator[Served[FakePix]]:
    async with running(FakePix(CLIENT_ID, CLIENT_SECRET)) as served:
        served.http.headers["Authorization"] = f"Bearer {await pix_token(served.http)}"
        yield served


@pytest.fixture
async def wire() -> AsyncIterator[Served[FakeWire]]:
    async with running(FakeWire(ORGANIZATION_ID, API_KEY), auth=(ORGANIZATION_ID, API_KEY)) as served:
        yield served


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


# Shared pieces.


def test_faults_apply_in_order_to_the_requests_their_prefix_matches_and_run_out() -> None:
    faults = Faults()
    faults.add("drop", path_prefix="/v1/refunds")
    faults.add("timeout", 2, delay=0.1)
    taken = [faults.take(path) for path in ("/v1/payment_intents", "/v1/refunds", "/v1/refunds", "/v1/refunds")]
    assert [fault.mode if fault else None for fault in taken] == ["timeout", "drop", "timeout", None]
    assert faults.pending() == []


def test_a_fault_that_does_not_exist_or_crosses_a_bound_is_refused() -> None:
    faults = Faults()
    for mode, count, delay in (("explode", 1, 1.0), ("drop", 0, 1.0), ("timeout", 1, -1.0), ("drop", True, 1.0)):
        with pytest.raises(ValueError):
            faults.add(mode, count, delay=delay)
    assert faults.pending() == []


def test_the_fault_modes_are_the_nine_the_adapters_are_tested_against() -> None:
    assert FAULT_MODES == (
        "unavailable",
        "error_after",
        "timeout",
        "drop",
        "wrong_amount",
        "malformed",
        "huge",
        "stale_reference",
        "negative_amount",
    )


async def test_faults_are_queued_over_http_and_spare_the_control_endpoints(stripe: Served[FakeStripe]) -> None:
    http = stripe.http
    spec = {"mode": "unavailable", "count": 2, "path_prefix": "/v1/payment_intents", "delay": 0}
    assert (await http.post("/_faults", json=spec)).json()["faults"][0]["count"] == 2
    assert (await http.post("/_faults", json={"mode": "explode"})).status_code == 400
    assert (await http.get("/_state")).status_code == 200, "control endpoints are never faulted"
    assert (await http.post("/v1/refunds", data={"payment_intent": "pi_x"})).status_code == 400, "another path"
    assert [(await http.get("/v1/payment_intents")).status_code for _ in range(3)] == [503, 503, 200]
    assert (await http.get("/_state")).json()["faults"] == []


async def test_a_server_stops_by_itself_when_its_block_ends() -> None:
    async with serve(FakeWire(ORGANIZATION_ID, API_KEY)) as url:
        assert url.startswith("http://127.0.0.1:")
    with pytest.raises(httpx2.ConnectError):
        async with httpx2.AsyncClient() as http:
            await http.get(f"{url}/_state")


# Card (Stripe PaymentIntents).


async def test_a_confirmed_payment_intent_succeeds(stripe: Served[FakeStripe]) -> None:
    answer = await stripe.http.post("/v1/payment_intents", data=intent("k1", description="laptop"), headers=keyed("k1"))
    assert answer.status_code == 200
    body = answer.json()
    assert body["id"].startswith("pi_") and body["object"] == "payment_intent"
    assert (body["amount"], body["amount_received"], body["currency"], body["status"]) == (
        1234,
        1234,
        "usd",
        "succeeded",
    )
    assert body["metadata"] == {"fiduciary_key": "k1"} and body["livemode"] is False
    assert isinstance(body["created"], int) and "idempotent-replayed" not in answer.headers
    assert stripe.fake.objects == [body]


async def test_a_replayed_key_answers_the_stored_intent_and_charges_once(stripe: Served[FakeStripe]) -> None:
    first = await stripe.http.post("/v1/payment_intents", data=intent("k1"), headers=keyed("k1"))
    again = await stripe.http.post("/v1/payment_intents", data=intent("k1"), headers=keyed("k1"))
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert again.headers["idempotent-replayed"] == "true"
    assert stripe.fake.created_count("k1") == 1
    assert (await stripe.http.get("/_state")).json()["created"] == {"k1": 1}


async def test_the_same_key_with_other_parameters_is_an_idempotency_error(stripe: Served[FakeStripe]) -> None:
    await stripe.http.post("/v1/payment_intents", data=intent("k1"), headers=keyed("k1"))
    other = await stripe.http.post("/v1/payment_intents", data=intent("k1", amount="999"), headers=keyed("k1"))
    assert other.status_code == 400 and other.json()["error"]["type"] == "idempotency_error"
    assert other.json()["error"]["message"].startswith("Keys for idempotent requests can only be used")
    assert stripe.fake.created_count("k1") == 1


async def test_a_missing_or_wrong_secret_is_401_and_creates_nothing(stripe: Served[FakeStripe]) -> None:
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer sk_test_wrong"}):
        answer = await stripe.http.post("/v1/payment_intents", data=intent("k1"), headers=headers)
        assert answer.status_code == 401
        assert answer.json()["error"] | {"message": ""} == {
            "type": "invalid_request_error",
            "code": "api_key_invalid",
            "message": "",
        }
    assert stripe.fake.objects == []


async def test_a_declined_card_is_402_and_stored_without_money(stripe: Served[FakeStripe]) -> None:
    form = intent("k1", payment_method="pm_card_declined")
    answer = await stripe.http.post("/v1/payment_intents", data=form, headers=keyed("k1"))
    assert answer.status_code == 402
    error = answer.json()["error"]
    assert (error["type"], error["code"], error["decline_code"]) == ("card_error", "card_declined", "generic_decline")
    assert (error["payment_intent"]["status"], error["payment_intent"]["amount_received"]) == (
        "requires_payment_method",
        0,
    )
    again = await stripe.http.post("/v1/payment_intents", data=form, headers=keyed("k1"))
    assert again.status_code == 402 and again.json() == answer.json(), "a decline is replayed too"
    assert stripe.fake.created_count("k1") == 1


async def test_a_processing_intent_has_succeeded_by_its_next_read(stripe: Served[FakeStripe]) -> None:
    form = intent("k1", payment_method="pm_card_processing")
    created = (await stripe.http.post("/v1/payment_intents", data=form)).json()
    assert (created["status"], created["amount_received"]) == ("processing", 0)
    read = (await stripe.http.get(f"/v1/payment_intents/{created['id']}")).json()
    assert (read["status"], read["amount_received"]) == ("succeeded", 1234)
    missing = await stripe.http.get("/v1/payment_intents/pi_missing")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "resource_missing"


async def test_a_customer_without_a_payment_method_pays_with_their_card(stripe: Served[FakeStripe]) -> None:
    form = intent("k1", customer="cus_ana") | {"payment_method": ""}
    body = (await stripe.http.post("/v1/payment_intents", data=form)).json()
    assert (body["status"], body["customer"], body["payment_method"]) == ("succeeded", "cus_ana", "pm_card_visa")


async def test_search_finds_intents_by_their_fiduciary_key(stripe: Served[FakeStripe]) -> None:
    for key in ("k1", "k2"):
        await stripe.http.post("/v1/payment_intents", data=intent(key))
    found = await stripe.http.get("/v1/payment_intents/search", params={"query": "metadata['fiduciary_key']:'k2'"})
    assert found.status_code == 200
    body = found.json()
    assert (body["object"], body["has_more"]) == ("search_result", False)
    assert [item["metadata"]["fiduciary_key"] for item in body["data"]] == ["k2"]
    unsupported = await stripe.http.get("/v1/payment_intents/search", params={"query": "amount>1000"})
    assert unsupported.status_code == 400


async def test_the_list_pages_newest_first_from_a_creation_time(stripe: Served[FakeStripe]) -> None:
    ids = [(await stripe.http.post("/v1/payment_intents", data=intent(f"k{n}"))).json()["id"] for n in range(3)]
    since = str(stripe.fake.objects[0]["created"])
    first = (await stripe.http.get("/v1/payment_intents", params={"created[gte]": since, "limit": "2"})).json()
    assert (first["object"], [item["id"] for item in first["data"]], first["has_more"]) == ("list", ids[:0:-1], True)
    params = {"created[gte]": since, "limit": "2", "starting_after": ids[1]}
    rest = (await stripe.http.get("/v1/payment_intents", params=params)).json()
    assert ([item["id"] for item in rest["data"]], rest["has_more"]) == ([ids[0]], False)
    later = (await stripe.http.get("/v1/payment_intents", params={"created[gte]": str(int(since) + 3600)})).json()
    assert later["data"] == []
    assert (await stripe.http.get("/v1/payment_intents", params={"limit": "101"})).status_code == 400


@pytest.mark.parametrize(
    ("changes", "code", "param"),
    [
        ({"amount": ""}, "parameter_invalid_integer", "amount"),
        ({"amount": "0"}, "parameter_invalid_integer", "amount"),
        ({"amount": "12.5"}, "parameter_invalid_integer", "amount"),
        ({"currency": "xyz"}, "parameter_invalid_string", "currency"),
        ({"metadata.fiduciary_key": "k1"}, "parameter_unknown", "metadata.fiduciary_key"),
    ],
)
async def test_invalid_parameters_are_400_and_the_key_stays_free(
    stripe: Served[FakeStripe], changes: dict[str, str], code: str, param: str
) -> None:
    refused = await stripe.http.post("/v1/payment_intents", data=intent("k1", **changes), headers=keyed("k1"))
    assert refused.status_code == 400
    assert (refused.json()["error"]["type"], refused.json()["error"]["code"]) == ("invalid_request_error", code)
    assert refused.json()["error"]["param"] == param
    fixed = await stripe.http.post("/v1/payment_intents", data=intent("k1"), headers=keyed("k1"))
    assert fixed.status_code == 200 and "idempotent-replayed" not in fixed.headers


async def test_a_missing_amount_is_parameter_missing(stripe: Served[FakeStripe]) -> None:
    form = intent("k1")
    del form["amount"]
    refused = (await stripe.http.post("/v1/payment_intents", data=form)).json()["error"]
    assert (refused["code"], refused["param"]) == ("parameter_missing", "amount")


async def test_a_refund_returns_what_remains_and_no_more(stripe: Served[FakeStripe]) -> None:
    paid = (await stripe.http.post("/v1/payment_intents", data=intent("k1"))).json()
    form = {"payment_intent": paid["id"], "amount": "234", "metadata[fiduciary_key]": "r1"}
    partial = await stripe.http.post("/v1/refunds", data=form, headers=keyed("r1"))
    assert partial.status_code == 200
    refund = partial.json()
    assert refund["id"].startswith("re_")
    assert (refund["object"], refund["amount"], refund["payment_intent"], refund["status"]) == (
        "refund",
        234,
        paid["id"],
        "succeeded",
    )
    again = await stripe.http.post("/v1/refunds", data=form, headers=keyed("r1"))
    assert again.json() == refund and stripe.fake.created_count("r1") == 1
    rest = (await stripe.http.post("/v1/refunds", data={"payment_intent": paid["id"]})).json()
    assert rest["amount"] == 1000, "by default a refund returns all that remains"
    more = await stripe.http.post("/v1/refunds", data={"payment_intent": paid["id"], "amount": "1"})
    assert more.status_code == 400 and more.json()["error"]["code"] == "charge_already_refunded"
    assert stripe.fake.created_count("k1", kind="payment_intent") == 1


async def test_unavailable_answers_503_before_anything_is_done(stripe: Served[FakeStripe]) -> None:
    stripe.fake.faults.add("unavailable")
    refused = await stripe.http.post("/v1/payment_intents", data=intent("k1"), headers=keyed("k1"))
    assert refused.status_code == 503 and refused.json()["error"]["type"] == "api_error"
    assert stripe.fake.created_count("k1") == 0 and stripe.fake.objects == []
    retried = await stripe.http.post("/v1/payment_intents", data=intent("k1"), headers=keyed("k1"))
    assert retried.status_code == 200 and "idempotent-replayed" not in retried.headers, "the 503 was not stored"
    assert stripe.fake.created_count("k1") == 1


async def test_error_after_charges_then_answers_500_and_a_retry_gets_the_charge(stripe: Served[FakeStripe]) -> None:
    stripe.fake.faults.add("error_after")
    failed = await stripe.http.post("/v1/payment_intents", data=intent("k1"), headers=keyed("k1"))
    assert failed.status_code == 500 and failed.json()["error"]["type"] == "api_error"
    assert stripe.fake.created_count("k1") == 1
    retried = await stripe.http.post("/v1/payment_intents", data=intent("k1"), headers=keyed("k1"))
    assert retried.status_code == 200 and retried.headers["idempotent-replayed"] == "true"
    assert retried.json() == stripe.fake.objects[0]


async def test_a_timeout_charges_while_the_client_gives_up(stripe: Served[FakeStripe]) -> None:
    stripe.fake.faults.add("timeout", delay=FAULT_DELAY_SECONDS)
    with pytest.raises(httpx2.ReadTimeout):
        await stripe.http.post(
            "/v1/payment_intents", data=intent("k1"), headers=keyed("k1"), timeout=SHORT_TIMEOUT_SECONDS
        )
    assert stripe.fake.created_count("k1") == 1
    retried = await stripe.http.post("/v1/payment_intents", data=intent("k1"), headers=keyed("k1"))
    assert retried.headers["idempotent-replayed"] == "true" and stripe.fake.created_count("k1") == 1


async def test_a_dropped_connection_is_a_transport_error_after_the_charge(stripe: Served[FakeStripe]) -> None:
    stripe.fake.faults.add("drop")
    with pytest.raises(httpx2.TransportError):
        await stripe.http.post("/v1/payment_intents", data=intent("k1"), headers=keyed("k1"))
    assert stripe.fake.created_count("k1") == 1
    retried = await stripe.http.post("/v1/payment_intents", data=intent("k1"), headers=keyed("k1"))
    assert retried.status_code == 200 and retried.json() == stripe.fake.objects[0]


async def test_a_wrong_amount_is_one_minor_unit_more_than_what_was_charged(stripe: Served[FakeStripe]) -> None:
    paid = (await stripe.http.post("/v1/payment_intents", data=intent("k1"))).json()
    stripe.fake.faults.add("wrong_amount", path_prefix="/v1/payment_intents/")
    read = (await stripe.http.get(f"/v1/payment_intents/{paid['id']}")).json()
    assert (read["amount"], read["amount_received"]) == (1235, 1235)
    assert stripe.fake.objects[0]["amount"] == 1234


async def test_a_stale_reference_repeats_the_first_intent_id(stripe: Served[FakeStripe]) -> None:
    first = (await stripe.http.post("/v1/payment_intents", data=intent("k1"))).json()
    stripe.fake.faults.add("stale_reference")
    answered = await stripe.http.post("/v1/payment_intents", data=intent("k2"), headers=keyed("k2"))
    assert answered.json()["id"] == first["id"] and answered.json()["metadata"] == {"fiduciary_key": "k2"}
    stored = stripe.fake.objects[1]
    assert stored["id"] != first["id"]
    retried = await stripe.http.post("/v1/payment_intents", data=intent("k2"), headers=keyed("k2"))
    assert retried.json()["id"] == stored["id"], "the stored answer carries the real reference"


# Pix (Efí).


async def test_a_token_needs_the_client_credentials_and_every_endpoint_needs_a_token(pix: Served[FakePix]) -> None:
    wrong = await pix.http.post("/oauth/token", json={"grant_type": "client_credentials"}, auth=(CLIENT_ID, "nope"))
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    token = await pix.http.post(
        "/oauth/token", json={"grant_type": "client_credentials"}, auth=(CLIENT_ID, CLIENT_SECRET)
    )
    assert token.json() | {"access_token": ""} == {
        "access_token": "",
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": token.json()["scope"],
    }
    anonymous = await pix.http.put("/v3/gn/pix/envio1", json=payout(), headers={"Authorization": ""})
    assert (anonymous.status_code, anonymous.json()["nome"]) == (401, "nao_autorizado")
    assert pix.fake.objects == []


async def test_expired_tokens_are_refused_until_a_new_one_is_fetched(pix: Served[FakePix]) -> None:
    pix.fake.expire_tokens()
    refused = await pix.http.get("/v2/gn/pix/enviados/id-envio/envio1")
    assert (refused.status_code, refused.json()["nome"]) == (401, "nao_autorizado")
    pix.http.headers["Authorization"] = f"Bearer {await pix_token(pix.http)}"
    assert (await pix.http.get("/v2/gn/pix/enviados/id-envio/envio1")).status_code == 404


async def test_a_payout_is_accepted_in_processing(pix: Served[FakePix]) -> None:
    answer = await pix.http.put("/v3/gn/pix/envio1", json=payout())
    assert answer.status_code == 201
    body = answer.json()
    assert (body["idEnvio"], body["valor"], body["status"]) == ("envio1", "12.34", "EM_PROCESSAMENTO")
    assert body["e2eId"].startswith("E") and len(body["e2eId"]) == 33 and body["e2eId"].isalnum()
    assert datetime.fromisoformat(body["horario"]["solicitacao"]).tzinfo is not None
    assert "liquidacao" not in body["horario"]


async def test_the_same_id_envio_and_body_answer_the_same_payout(pix: Served[FakePix]) -> None:
    first = (await pix.http.put("/v3/gn/pix/envio1", json=payout())).json()
    again = await pix.http.put("/v3/gn/pix/envio1", json=payout())
    assert (again.status_code, again.json()) == (200, first)
    assert pix.fake.created_count("envio1") == 1


async def test_the_same_id_envio_with_another_body_is_a_conflict(pix: Served[FakePix]) -> None:
    await pix.http.put("/v3/gn/pix/envio1", json=payout())
    other = await pix.http.put("/v3/gn/pix/envio1", json=payout(valor="99.00"))
    assert (other.status_code, other.json()["nome"]) == (409, "id_envio_duplicado")
    assert pix.fake.created_count("envio1") == 1


@pytest.mark.parametrize(
    ("id_envio", "body"),
    [
        ("envio-1", payout()),
        ("e" * 36, payout()),
        ("envio1", payout(valor="12.3")),
        ("envio1", payout(valor="0.00")),
        ("envio1", {"valor": "1.00", "favorecido": {"chave": "ana@example.com"}}),
    ],
)
async def test_a_bad_id_envio_or_body_is_400(pix: Served[FakePix], id_envio: str, body: dict[str, Any]) -> None:
    refused = await pix.http.put(f"/v3/gn/pix/{id_envio}", json=body)
    assert (refused.status_code, refused.json()["nome"]) == (400, "valor_invalido")
    assert pix.fake.objects == []


async def test_a_payout_is_settled_or_refused_by_its_first_read(pix: Served[FakePix]) -> None:
    await pix.http.put("/v3/gn/pix/paid", json=payout())
    await pix.http.put("/v3/gn/pix/refused", json=payout(payee="recusado@example.com"))
    paid = (await pix.http.get("/v2/gn/pix/enviados/id-envio/paid")).json()
    assert paid["status"] == "REALIZADO" and "liquidacao" in paid["horario"]
    refused = (await pix.http.get("/v2/gn/pix/enviados/id-envio/refused")).json()
    assert refused["status"] == "NAO_REALIZADO" and "liquidacao" not in refused["horario"]
    missing = await pix.http.get("/v2/gn/pix/enviados/id-envio/unknown")
    assert (missing.status_code, missing.json()["nome"]) == (404, "pix_nao_encontrado")


async def test_a_payout_settles_only_once_settle_after_has_passed() -> None:
    clock = FakeClock()
    async with running(FakePix(CLIENT_ID, CLIENT_SECRET, settle_after=60, clock=clock)) as served:
        served.http.headers["Authorization"] = f"Bearer {await pix_token(served.http)}"
        await served.http.put("/v3/gn/pix/envio1", json=payout())
        read = (await served.http.get("/v2/gn/pix/enviados/id-envio/envio1")).json()
        assert read["status"] == "EM_PROCESSAMENTO"
        clock.advance(seconds=60)
        assert (await served.http.get("/v2/gn/pix/enviados/id-envio/envio1")).json()["status"] == "REALIZADO"


async def test_the_list_holds_the_payouts_requested_in_the_range(pix: Served[FakePix]) -> None:
    for id_envio in ("envio1", "envio2"):
        await pix.http.put(f"/v3/gn/pix/{id_envio}", json=payout())
    now = datetime.now(UTC)
    window = {"inicio": (now - timedelta(minutes=5)).isoformat(), "fim": (now + timedelta(minutes=5)).isoformat()}
    body = (await pix.http.get("/v2/gn/pix/enviados", params=window)).json()
    assert (body["parametros"]["inicio"], body["parametros"]["fim"]) == (window["inicio"], window["fim"])
    assert [(item["idEnvio"], item["status"]) for item in body["pix"]] == [
        ("envio1", "REALIZADO"),
        ("envio2", "REALIZADO"),
    ]
    earlier = {"inicio": (now - timedelta(days=2)).isoformat(), "fim": (now - timedelta(days=1)).isoformat()}
    assert (await pix.http.get("/v2/gn/pix/enviados", params=earlier)).json()["pix"] == []
    assert (await pix.http.get("/v2/gn/pix/enviados", params={"inicio": "yesterday"})).status_code == 400


async def test_a_received_pix_is_returned_once_per_id_and_never_beyond_its_amount(pix: Served[FakePix]) -> None:
    e2e_id = "E09089356202601051200abcdefABCDEF"
    pix.fake.receive(e2e_id, "10.00")
    answer = await pix.http.put(f"/v2/pix/{e2e_id}/devolucao/dev1", json={"valor": "4.00"})
    assert answer.status_code == 201
    body = answer.json()
    assert (body["id"], body["valor"], body["status"]) == ("dev1", "4.00", "EM_PROCESSAMENTO")
    assert body["rtrId"].startswith("D") and len(body["rtrId"]) == 33
    again = await pix.http.put(f"/v2/pix/{e2e_id}/devolucao/dev1", json={"valor": "4.00"})
    assert (again.status_code, again.json()) == (200, body) and pix.fake.created_count("dev1") == 1
    read = (await pix.http.get(f"/v2/pix/{e2e_id}/devolucao/dev1")).json()
    assert read["status"] == "DEVOLVIDO"
    beyond = await pix.http.put(f"/v2/pix/{e2e_id}/devolucao/dev2", json={"valor": "6.01"})
    assert beyond.status_code == 400 and pix.fake.created_count("dev2") == 0
    unknown = await pix.http.put("/v2/pix/Eunknown/devolucao/dev3", json={"valor": "1.00"})
    assert unknown.status_code == 404


async def test_a_dropped_payout_was_made_and_its_retry_answers_it(pix: Served[FakePix]) -> None:
    pix.fake.faults.add("drop", path_prefix="/v3/gn/pix/")
    with pytest.raises(httpx2.TransportError):
        await pix.http.put("/v3/gn/pix/envio1", json=payout())
    assert pix.fake.created_count("envio1") == 1
    retried = await pix.http.put("/v3/gn/pix/envio1", json=payout())
    assert (retried.status_code, retried.json()["e2eId"]) == (200, pix.fake.objects[0]["e2eId"])


async def test_a_malformed_answer_is_not_json(pix: Served[FakePix]) -> None:
    pix.fake.faults.add("malformed")
    answer = await pix.http.put("/v3/gn/pix/envio1", json=payout())
    assert (answer.status_code, answer.content) == (200, MALFORMED_BODY)
    with pytest.raises(json.JSONDecodeError):
        answer.json()
    assert pix.fake.created_count("envio1") == 1


async def test_a_negative_amount_is_reported_for_a_positive_payout(pix: Served[FakePix]) -> None:
    await pix.http.put("/v3/gn/pix/envio1", json=payout())
    pix.fake.faults.add("negative_amount")
    assert (await pix.http.get("/v2/gn/pix/enviados/id-envio/envio1")).json()["valor"] == "-12.34"
    assert pix.fake.objects[0]["valor"] == "12.34"


# Wire (Modern Treasury payment orders).


async def test_a_payment_order_is_created_approved(wire: Served[FakeWire]) -> None:
    answer = await wire.http.post("/api/payment_orders", json=order("k1"), headers=keyed("k1"))
    assert answer.status_code == 201
    body = answer.json()
    assert (body["object"], body["type"], body["amount"], body["direction"], body["currency"]) == (
        "payment_order",
        "wire",
        50_000,
        "credit",
        "USD",
    )
    assert body["status"] == "approved" and body["metadata"] == {"fiduciary_key": "k1"}
    assert body["receiving_account"] == order("k1")["receiving_account"]
    assert len(body["id"]) == 36 and body["created_at"] == body["updated_at"]


async def test_a_replayed_key_answers_the_stored_order_and_pays_once(wire: Served[FakeWire]) -> None:
    first = await wire.http.post("/api/payment_orders", json=order("k1"), headers=keyed("k1"))
    again = await wire.http.post("/api/payment_orders", json=order("k1"), headers=keyed("k1"))
    assert (again.status_code, again.json()) == (first.status_code, first.json()) == (201, first.json())
    assert wire.fake.created_count("k1") == 1


async def test_the_same_key_with_another_body_is_422(wire: Served[FakeWire]) -> None:
    await wire.http.post("/api/payment_orders", json=order("k1"), headers=keyed("k1"))
    other = await wire.http.post("/api/payment_orders", json=order("k1", amount=1), headers=keyed("k1"))
    assert other.status_code == 422
    assert other.json() == {
        "errors": {"code": "parameter_invalid", "message": "idempotency key already used with other parameters"}
    }
    assert wire.fake.created_count("k1") == 1


async def test_wrong_credentials_are_401(wire: Served[FakeWire]) -> None:
    answer = await wire.http.post("/api/payment_orders", json=order("k1"), auth=(ORGANIZATION_ID, "wrong"))
    assert (answer.status_code, answer.json()["errors"]["code"]) == (401, "unauthorized")
    assert wire.fake.objects == []


@pytest.mark.parametrize(
    ("changes", "parameter"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": 12.5}, "amount"),
        ({"type": "ach"}, "type"),
        ({"receiving_account": {"account_details": []}}, "receiving_account"),
        ({"amount_minor": 1}, "amount_minor"),
    ],
)
async def test_an_invalid_order_is_422_naming_the_parameter(
    wire: Served[FakeWire], changes: dict[str, Any], parameter: str
) -> None:
    refused = await wire.http.post("/api/payment_orders", json=order("k1") | changes, headers=keyed("k1"))
    assert refused.status_code == 422
    assert (refused.json()["errors"]["code"], refused.json()["errors"]["parameter"]) == ("parameter_invalid", parameter)
    assert (await wire.http.post("/api/payment_orders", json=order("k1"), headers=keyed("k1"))).status_code == 201


async def test_an_order_moves_one_step_per_read_and_fails_for_the_failing_account(wire: Served[FakeWire]) -> None:
    good = (await wire.http.post("/api/payment_orders", json=order("k1"))).json()
    bad = (await wire.http.post("/api/payment_orders", json=order("k2", account="000000000"))).json()
    reads = [(await wire.http.get(f"/api/payment_orders/{good['id']}")).json()["status"] for _ in range(3)]
    assert reads == ["processing", "completed", "completed"]
    reads = [(await wire.http.get(f"/api/payment_orders/{bad['id']}")).json()["status"] for _ in range(2)]
    assert reads == ["processing", "failed"]
    missing = await wire.http.get("/api/payment_orders/00000000-0000-4000-8000-000000000000")
    assert (missing.status_code, missing.json()["errors"]["code"]) == (404, "resource_not_found")


async def test_the_list_filters_by_metadata_and_pages_with_a_cursor(wire: Served[FakeWire]) -> None:
    ids = [(await wire.http.post("/api/payment_orders", json=order(key))).json()["id"] for key in ("k1", "k1", "k2")]
    today = datetime.now(UTC).date().isoformat()
    params = {"metadata[fiduciary_key]": "k1", "created_at_start": today, "per_page": "1"}
    first = await wire.http.get("/api/payment_orders", params=params)
    assert [item["id"] for item in first.json()] == [ids[1]] and first.headers["x-after-cursor"] == ids[1]
    rest = await wire.http.get("/api/payment_orders", params=params | {"after_cursor": first.headers["x-after-cursor"]})
    assert [item["id"] for item in rest.json()] == [ids[0]] and "x-after-cursor" not in rest.headers
    later = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert (await wire.http.get("/api/payment_orders", params={"created_at_start": later})).json() == []


async def test_only_a_completed_order_is_reversed(wire: Served[FakeWire]) -> None:
    paid = (await wire.http.post("/api/payment_orders", json=order("k1"))).json()
    url = f"/api/payment_orders/{paid['id']}/reversals"
    early = await wire.http.post(url, json={"reason": "duplicate"})
    assert early.status_code == 422
    for _ in range(2):
        await wire.http.get(f"/api/payment_orders/{paid['id']}")
    assert (await wire.http.post(url, json={"reason": "mistake"})).status_code == 422
    reversal = await wire.http.post(url, json={"reason": "duplicate"}, headers=keyed("rev1"))
    assert reversal.status_code == 201
    assert reversal.json() | {"id": "", "created_at": "", "updated_at": "", "metadata": {}} == {
        "id": "",
        "object": "reversal",
        "payment_order_id": paid["id"],
        "reason": "duplicate",
        "status": "pending",
        "metadata": {},
        "created_at": "",
        "updated_at": "",
    }
    assert (await wire.http.post(url, json={"reason": "duplicate"}, headers=keyed("rev1"))).json() == reversal.json()
    assert wire.fake.created_count("rev1") == 1


async def test_error_after_creates_the_order_and_a_retry_gets_it(wire: Served[FakeWire]) -> None:
    wire.fake.faults.add("error_after", path_prefix="/api/payment_orders")
    failed = await wire.http.post("/api/payment_orders", json=order("k1"), headers=keyed("k1"))
    assert failed.status_code == 500 and "errors" in failed.json()
    assert wire.fake.created_count("k1") == 1
    retried = await wire.http.post("/api/payment_orders", json=order("k1"), headers=keyed("k1"))
    assert (retried.status_code, retried.json()["id"]) == (201, wire.fake.objects[0]["id"])


async def test_a_huge_answer_is_valid_json_beyond_five_megabytes(wire: Served[FakeWire]) -> None:
    created = (await wire.http.post("/api/payment_orders", json=order("k1"))).json()
    wire.fake.faults.add("huge")
    answer = await wire.http.get(f"/api/payment_orders/{created['id']}")
    assert answer.status_code == 200 and len(answer.content) > HUGE_BODY_BYTES > 5 * 1024 * 1024
    assert answer.json()["id"] == created["id"]


async def test_a_stale_reference_on_a_list_names_the_first_order(wire: Served[FakeWire]) -> None:
    ids = [(await wire.http.post("/api/payment_orders", json=order(key))).json()["id"] for key in ("k1", "k2")]
    wire.fake.faults.add("stale_reference")
    listed = (await wire.http.get("/api/payment_orders", params={"metadata[fiduciary_key]": "k2"})).json()
    assert [item["id"] for item in listed] == [ids[0]] and listed[0]["metadata"] == {"fiduciary_key": "k2"}


async def test_the_state_endpoint_counts_orders_per_key(wire: Served[FakeWire]) -> None:
    await wire.http.post("/api/payment_orders", json=order("k1"), headers=keyed("idem-1"))
    state = (await wire.http.get("/_state")).json()
    assert state["created"] == {"idem-1": 1, "k1": 1}
    assert state["created_by_kind"] == {"payment_order": {"idem-1": 1, "k1": 1}}
    assert [item["metadata"] for item in state["objects"]] == [{"fiduciary_key": "k1"}]
