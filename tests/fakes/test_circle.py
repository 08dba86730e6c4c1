"""The fake Circle over real HTTP: USDC transfers, idempotency keys, balance, states, lists, faults."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx2
import pytest

from fiduciary.domain.clock import FakeClock, iso
from tests.fakes.base import HUGE_BODY_BYTES, MALFORMED_BODY, serve
from tests.fakes.circle import BALANCE_MINOR_DEFAULT, FAILING_ADDRESS_DEFAULT, FakeCircle
from tests.fakes.clients import API_KEY, CLIENT_TIMEOUT_SECONDS, FAULT_DELAY_SECONDS, SHORT_TIMEOUT_SECONDS

pytestmark = pytest.mark.anyio

WALLET_ID = "1000066041"
ADDRESS = "0x8381470ED67C3802402dbbFa0058E8871F017A6F"
KEY = "9f3b1c2e-5d4a-4e8f-9a1b-2c3d4e5f6a7b"
OTHER_KEY = "0C8F2A4D-7B1E-4F3A-B2C1-9D8E7F6A5B4C"
UNAUTHORIZED = {"code": 401, "message": "Malformed authorization. Are the credentials properly encoded?"}


@dataclass(frozen=True, slots=True)
class ServedCircle:
    """The fake Circle on 127.0.0.1, the clock it reads and a client that holds its API key."""

    fake: FakeCircle
    clock: FakeClock
    http: httpx2.AsyncClient


@asynccontextmanager
async def running_circle(*, balance_minor: int = BALANCE_MINOR_DEFAULT) -> AsyncIterator[ServedCircle]:
    clock = FakeClock()
    fake = FakeCircle(API_KEY, WALLET_ID, balance_minor=balance_minor, clock=clock)
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with (
        serve(fake) as url,
        httpx2.AsyncClient(base_url=url, timeout=CLIENT_TIMEOUT_SECONDS, headers=headers) as http,
    ):
        yield ServedCircle(fake, clock, http)


@pytest.fixture
async def circle() -> AsyncIterator[ServedCircle]:
    async with running_circle() as served:
        yield served


def transfer(key: str = KEY, *, amount: str = "3.14", address: str = ADDRESS, chain: str = "ETH") -> dict[str, Any]:
    """A transfer of `amount` USDC from the fake's wallet to `address`, under the idempotency key `key`."""
    return {
        "idempotencyKey": key,
        "source": {"type": "wallet", "id": WALLET_ID},
        "destination": {"type": "blockchain", "address": address, "chain": chain},
        "amount": {"amount": amount, "currency": "USD"},
    }


def without(body: dict[str, Any], name: str) -> dict[str, Any]:
    return {field: value for field, value in body.items() if field != name}


def balance(served: ServedCircle) -> int:
    minor: int = served.fake.state()["balance_minor"]
    return minor


async def test_a_transfer_is_created_pending_and_takes_its_amount(circle: ServedCircle) -> None:
    answer = await circle.http.post("/v1/transfers", json=transfer())
    assert answer.status_code == 201
    data = answer.json()["data"]
    assert data == {
        "id": data["id"],
        "source": {"type": "wallet", "id": WALLET_ID},
        "destination": {"type": "blockchain", "address": ADDRESS, "chain": "ETH"},
        "amount": {"amount": "3.14", "currency": "USD"},
        "status": "pending",
        "createDate": iso(circle.clock.now()),
    }
    assert uuid.UUID(data["id"]).version == 4 and list(answer.json()) == ["data"]
    assert balance(circle) == BALANCE_MINOR_DEFAULT - 3_140_000
    assert circle.fake.objects == [data] and circle.fake.created_count(KEY, kind="transfer") == 1


@pytest.mark.parametrize(
    ("sent", "rendered", "minor"),
    [
        ("3.14", "3.14", 3_140_000),
        ("0.000001", "0.000001", 1),
        ("10", "10.00", 10_000_000),
        ("1.5", "1.50", 1_500_000),
        ("2.100000", "2.10", 2_100_000),
        ("1000000000000", "1000000000000.00", 10**18),
    ],
)
async def test_an_amount_is_answered_with_two_to_six_decimals(sent: str, rendered: str, minor: int) -> None:
    async with running_circle(balance_minor=10**18) as served:
        data = (await served.http.post("/v1/transfers", json=transfer(amount=sent))).json()["data"]
        assert (data["amount"], data["status"]) == ({"amount": rendered, "currency": "USD"}, "pending")
        assert balance(served) == 10**18 - minor


@pytest.mark.parametrize("authorization", ["", f"Bearer {API_KEY}x", f"Basic {API_KEY}", API_KEY])
async def test_a_missing_or_wrong_api_key_is_401_and_creates_nothing(circle: ServedCircle, authorization: str) -> None:
    headers = {"Authorization": authorization}
    refused = await circle.http.post("/v1/transfers", json=transfer(), headers=headers)
    assert (refused.status_code, refused.json()) == (401, UNAUTHORIZED)
    listed = await circle.http.get("/v1/transfers", headers=headers)
    assert (listed.status_code, listed.json()) == (401, UNAUTHORIZED)
    assert circle.fake.objects == [] and balance(circle) == BALANCE_MINOR_DEFAULT


async def test_a_replayed_key_answers_the_stored_transfer_and_pays_once(circle: ServedCircle) -> None:
    first = await circle.http.post("/v1/transfers", json=transfer())
    read = (await circle.http.get(f"/v1/transfers/{first.json()['data']['id']}")).json()["data"]
    assert read["status"] == "complete"
    again = await circle.http.post("/v1/transfers", json=transfer())
    assert (again.status_code, again.json()) == (201, first.json()), "the replay is the answer first given"
    assert circle.fake.created_count(KEY) == 1 and len(circle.fake.objects) == 1
    assert balance(circle) == BALANCE_MINOR_DEFAULT - 3_140_000


async def test_the_same_key_with_another_body_is_409_and_creates_nothing(circle: ServedCircle) -> None:
    await circle.http.post("/v1/transfers", json=transfer())
    other = await circle.http.post("/v1/transfers", json=transfer(amount="3.15"))
    assert (other.status_code, other.json()) == (
        409,
        {"code": 409, "message": "the idempotency key was already used with another request"},
    )
    assert circle.fake.created_count(KEY) == 1 and len(circle.fake.objects) == 1
    assert balance(circle) == BALANCE_MINOR_DEFAULT - 3_140_000


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (transfer("k1"), "idempotencyKey"),
        (transfer("9f3b1c2e-5d4a-1e8f-9a1b-2c3d4e5f6a7b"), "idempotencyKey"),
        (transfer("9f3b1c2e-5d4a-4e8f-7a1b-2c3d4e5f6a7b"), "idempotencyKey"),
        (without(transfer(), "idempotencyKey"), "idempotencyKey"),
        (without(transfer(), "source"), "missing fields: source"),
        (transfer() | {"description": "rent"}, "unknown fields: description"),
        (transfer() | {"source": {"type": "wallet", "id": "1000000000"}}, "wallet 1000000000 is unknown"),
        (transfer() | {"source": {"type": "card", "id": WALLET_ID}}, "source"),
        (transfer() | {"source": {"type": "wallet", "id": WALLET_ID, "x": 1}}, "source"),
        (transfer() | {"destination": {"type": "wire", "address": ADDRESS, "chain": "ETH"}}, "destination"),
        (transfer(address=ADDRESS[:-1]), "destination.address"),
        (transfer(address=ADDRESS[2:] + "00"), "destination.address"),
        (transfer(chain="BTC"), "destination.chain"),
        (transfer(chain="eth"), "destination.chain"),
        (transfer(amount="0"), "amount"),
        (transfer(amount="0.000000"), "amount"),
        (transfer(amount="-3.14"), "amount"),
        (transfer(amount="+3.14"), "amount"),
        (transfer(amount="3.14e0"), "amount"),
        (transfer(amount="03.14"), "amount"),
        (transfer(amount="3."), "amount"),
        (transfer(amount="3.1400001"), "amount"),
        (transfer(amount="1000000000000.000001"), "amount"),
        (transfer() | {"amount": {"amount": 3.14, "currency": "USD"}}, "amount"),
        (transfer() | {"amount": {"amount": "3.14", "currency": "USDC"}}, "amount"),
        (transfer() | {"amount": {"amount": "3.14"}}, "amount"),
        (transfer() | {"amount": "3.14"}, "amount"),
    ],
)
async def test_a_refused_transfer_is_400_and_stores_nothing(
    circle: ServedCircle, body: dict[str, Any], named: str
) -> None:
    refused = await circle.http.post("/v1/transfers", json=body)
    assert (refused.status_code, refused.json()["code"]) == (400, 2)
    assert refused.json()["message"].startswith("Invalid entity.") and named in refused.json()["message"]
    assert circle.fake.objects == [] and circle.fake.state()["created"] == {}
    assert balance(circle) == BALANCE_MINOR_DEFAULT
    fixed = await circle.http.post("/v1/transfers", json=transfer())
    assert fixed.status_code == 201 and circle.fake.created_count(KEY) == 1, "the refused key was not stored"


@pytest.mark.parametrize("content", [b"", b"[]", b"{", b'"transfer"'])
async def test_a_body_that_is_not_a_json_object_is_400(circle: ServedCircle, content: bytes) -> None:
    refused = await circle.http.post("/v1/transfers", content=content, headers={"Content-Type": "application/json"})
    assert (refused.status_code, refused.json()) == (
        400,
        {"code": 2, "message": "Invalid entity. the body must be a JSON object"},
    )
    assert circle.fake.objects == []


async def test_an_uppercase_key_is_a_uuid_too(circle: ServedCircle) -> None:
    answer = await circle.http.post("/v1/transfers", json=transfer(OTHER_KEY))
    assert answer.status_code == 201 and circle.fake.created_count(OTHER_KEY) == 1


async def test_a_transfer_completes_on_its_first_read(circle: ServedCircle) -> None:
    created = (await circle.http.post("/v1/transfers", json=transfer())).json()["data"]
    reads = [(await circle.http.get(f"/v1/transfers/{created['id']}")).json()["data"] for _ in range(2)]
    assert [read["status"] for read in reads] == ["complete", "complete"]
    assert re.fullmatch(r"0x[0-9a-f]{64}", reads[0]["transactionHash"])
    assert reads[1] == reads[0] and "errorCode" not in reads[0]
    assert reads[0] == created | {"status": "complete", "transactionHash": reads[0]["transactionHash"]}
    assert balance(circle) == BALANCE_MINOR_DEFAULT - 3_140_000
    missing = await circle.http.get(f"/v1/transfers/{uuid.uuid4()}")
    assert (missing.status_code, missing.json()) == (404, {"code": 404, "message": "Resource not found"})


async def test_a_transfer_to_the_failing_address_fails_and_gives_its_amount_back(circle: ServedCircle) -> None:
    address = FAILING_ADDRESS_DEFAULT.lower()
    created = (await circle.http.post("/v1/transfers", json=transfer(address=address, chain="BASE"))).json()["data"]
    assert created["status"] == "pending" and created["destination"]["address"] == address
    assert balance(circle) == BALANCE_MINOR_DEFAULT - 3_140_000
    reads = [(await circle.http.get(f"/v1/transfers/{created['id']}")).json()["data"] for _ in range(2)]
    assert [(read["status"], read["errorCode"]) for read in reads] == [("failed", "transfer_failed")] * 2
    assert "transactionHash" not in reads[0]
    assert balance(circle) == BALANCE_MINOR_DEFAULT, "the amount came back once"


async def test_a_transfer_beyond_the_balance_is_created_failed_for_insufficient_funds() -> None:
    async with running_circle(balance_minor=3_000_000) as served:
        answer = await served.http.post("/v1/transfers", json=transfer())
        assert answer.status_code == 201
        created = answer.json()["data"]
        assert (created["status"], created["errorCode"]) == ("failed", "insufficient_funds")
        read = (await served.http.get(f"/v1/transfers/{created['id']}")).json()["data"]
        assert read == created and balance(served) == 3_000_000
        exact = (await served.http.post("/v1/transfers", json=transfer(OTHER_KEY, amount="3"))).json()["data"]
        assert exact["status"] == "pending" and "errorCode" not in exact and balance(served) == 0
        assert served.fake.created_count(KEY) == 1


async def test_the_list_pages_newest_first_within_from_and_to(circle: ServedCircle) -> None:
    start = circle.clock.now()
    ids: list[str] = []
    for _ in range(4):
        ids.append((await circle.http.post("/v1/transfers", json=transfer(str(uuid.uuid4())))).json()["data"]["id"])
        circle.clock.advance(seconds=60)
    window = {"from": iso(start + timedelta(seconds=60)), "to": iso(start + timedelta(seconds=180))}

    async def listed(**params: str) -> list[str]:
        answer = await circle.http.get("/v1/transfers", params=window | params)
        assert answer.status_code == 200 and list(answer.json()) == ["data"]
        return [item["id"] for item in answer.json()["data"]]

    assert await listed() == [ids[3], ids[2], ids[1]], "from and to are inclusive"
    assert await listed(pageSize="2") == [ids[3], ids[2]]
    assert await listed(pageSize="2", pageAfter=ids[2]) == [ids[1]]
    assert await listed(pageSize="1", pageBefore=ids[1]) == [ids[2]]
    assert await listed(pageBefore=ids[1], walletId=WALLET_ID) == [ids[3], ids[2]]
    assert await listed(walletId="1000000000") == []
    everything = (await circle.http.get("/v1/transfers")).json()["data"]
    assert [item["id"] for item in everything] == ids[::-1]
    assert {item["status"] for item in everything} == {"complete"}, "a listed transfer moves a step"


async def test_a_listed_pending_transfer_moves_one_step(circle: ServedCircle) -> None:
    await circle.http.post("/v1/transfers", json=transfer())
    assert circle.fake.objects[0]["status"] == "pending"
    listed = (await circle.http.get("/v1/transfers")).json()["data"]
    assert [item["status"] for item in listed] == ["complete"] and circle.fake.objects == listed


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "10"},
        {"pageSize": "0"},
        {"pageSize": "51"},
        {"pageSize": "ten"},
        {"from": "yesterday"},
        {"from": "2026-01-05"},
        {"to": "2026-01-05T12:00:00"},
        {"from": "2026-01-05T13:00:00Z", "to": "2026-01-05T12:00:00Z"},
        {"pageAfter": KEY},
        {"pageBefore": KEY},
        {"pageAfter": KEY, "pageBefore": OTHER_KEY},
    ],
)
async def test_a_bad_list_parameter_is_400(circle: ServedCircle, params: dict[str, str]) -> None:
    await circle.http.post("/v1/transfers", json=transfer())
    refused = await circle.http.get("/v1/transfers", params=params)
    assert (refused.status_code, refused.json()["code"]) == (400, 2)
    assert refused.json()["message"].startswith("Invalid entity.")
    assert circle.fake.objects[0]["status"] == "pending", "a refused list reads nothing"


async def test_unavailable_answers_503_before_anything_is_done(circle: ServedCircle) -> None:
    circle.fake.faults.add("unavailable")
    refused = await circle.http.post("/v1/transfers", json=transfer())
    assert (refused.status_code, refused.json()["code"]) == (503, 503)
    assert circle.fake.created_count(KEY) == 0 and circle.fake.objects == []
    assert balance(circle) == BALANCE_MINOR_DEFAULT
    retried = await circle.http.post("/v1/transfers", json=transfer())
    assert retried.status_code == 201 and circle.fake.created_count(KEY) == 1, "the 503 was not stored"


async def test_error_after_pays_then_answers_500_and_a_retry_gets_the_transfer(circle: ServedCircle) -> None:
    circle.fake.faults.add("error_after")
    failed = await circle.http.post("/v1/transfers", json=transfer())
    assert (failed.status_code, failed.json()["code"]) == (500, 500)
    assert circle.fake.created_count(KEY) == 1
    retried = await circle.http.post("/v1/transfers", json=transfer())
    assert (retried.status_code, retried.json()) == (201, {"data": circle.fake.objects[0]})


async def test_a_timeout_pays_while_the_client_gives_up(circle: ServedCircle) -> None:
    circle.fake.faults.add("timeout", delay=FAULT_DELAY_SECONDS)
    with pytest.raises(httpx2.ReadTimeout):
        await circle.http.post("/v1/transfers", json=transfer(), timeout=SHORT_TIMEOUT_SECONDS)
    assert circle.fake.created_count(KEY) == 1
    retried = await circle.http.post("/v1/transfers", json=transfer())
    assert (retried.status_code, retried.json()) == (201, {"data": circle.fake.objects[0]})
    assert circle.fake.created_count(KEY) == 1


async def test_a_dropped_connection_is_a_transport_error_after_the_transfer(circle: ServedCircle) -> None:
    circle.fake.faults.add("drop", path_prefix="/v1/transfers")
    with pytest.raises(httpx2.TransportError):
        await circle.http.post("/v1/transfers", json=transfer())
    assert circle.fake.created_count(KEY) == 1
    retried = await circle.http.post("/v1/transfers", json=transfer())
    assert (retried.status_code, retried.json()) == (201, {"data": circle.fake.objects[0]})


async def test_a_wrong_amount_is_one_micro_unit_more_than_what_was_sent(circle: ServedCircle) -> None:
    created = (await circle.http.post("/v1/transfers", json=transfer())).json()["data"]
    circle.fake.faults.add("wrong_amount", path_prefix="/v1/transfers/")
    read = (await circle.http.get(f"/v1/transfers/{created['id']}")).json()["data"]
    assert read["amount"] == {"amount": "3.140001", "currency": "USD"}
    assert read["id"] == created["id"] and circle.fake.objects[0]["amount"]["amount"] == "3.14"


async def test_a_negative_amount_is_reported_on_a_list_of_positive_transfers(circle: ServedCircle) -> None:
    for key, amount in ((KEY, "3.14"), (OTHER_KEY, "10")):
        await circle.http.post("/v1/transfers", json=transfer(key, amount=amount))
    circle.fake.faults.add("negative_amount")
    listed = (await circle.http.get("/v1/transfers")).json()["data"]
    assert [item["amount"] for item in listed] == [
        {"amount": "-10.00", "currency": "USD"},
        {"amount": "-3.14", "currency": "USD"},
    ]
    assert [item["amount"]["amount"] for item in circle.fake.objects] == ["3.14", "10.00"]


async def test_a_stale_reference_repeats_the_first_transfer_id(circle: ServedCircle) -> None:
    first = (await circle.http.post("/v1/transfers", json=transfer())).json()["data"]
    circle.fake.faults.add("stale_reference")
    answered = (await circle.http.post("/v1/transfers", json=transfer(OTHER_KEY, amount="5"))).json()["data"]
    assert answered["id"] == first["id"] and answered["amount"]["amount"] == "5.00"
    stored = circle.fake.objects[1]
    assert stored["id"] != first["id"]
    retried = (await circle.http.post("/v1/transfers", json=transfer(OTHER_KEY, amount="5"))).json()["data"]
    assert retried["id"] == stored["id"], "the stored answer carries the real reference"


async def test_a_malformed_answer_is_not_json_and_the_transfer_was_made(circle: ServedCircle) -> None:
    circle.fake.faults.add("malformed")
    answer = await circle.http.post("/v1/transfers", json=transfer())
    assert (answer.status_code, answer.content) == (200, MALFORMED_BODY)
    with pytest.raises(json.JSONDecodeError):
        answer.json()
    assert circle.fake.created_count(KEY) == 1 and balance(circle) == BALANCE_MINOR_DEFAULT - 3_140_000


async def test_a_huge_answer_is_valid_json_beyond_five_megabytes(circle: ServedCircle) -> None:
    created = (await circle.http.post("/v1/transfers", json=transfer())).json()["data"]
    circle.fake.faults.add("huge")
    answer = await circle.http.get(f"/v1/transfers/{created['id']}")
    assert answer.status_code == 200 and len(answer.content) > HUGE_BODY_BYTES > 5 * 1024 * 1024
    assert answer.json()["data"]["id"] == created["id"]


async def test_the_state_endpoint_counts_transfers_per_key_and_shows_the_balance(circle: ServedCircle) -> None:
    await circle.http.post("/v1/transfers", json=transfer())
    state = (await circle.http.get("/_state")).json()
    assert state["created"] == {KEY: 1} and state["created_by_kind"] == {"transfer": {KEY: 1}}
    assert state["balance_minor"] == BALANCE_MINOR_DEFAULT - 3_140_000
    assert [item["amount"] for item in state["objects"]] == [{"amount": "3.14", "currency": "USD"}]
