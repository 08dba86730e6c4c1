"""The fake Stripe over real HTTP: PaymentIntents, idempotency, declines, search, lists, refunds, faults."""

from __future__ import annotations

import httpx2
import pytest

from tests.fakes import FakeStripe
from tests.fakes.clients import (
    FAULT_DELAY_SECONDS,
    SHORT_TIMEOUT_SECONDS,
    Served,
    intent,
    keyed,
)

pytestmark = pytest.mark.anyio


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
