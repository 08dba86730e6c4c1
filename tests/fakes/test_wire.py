"""The fake Modern Treasury over real HTTP: payment orders, idempotency, states, lists, reversals, faults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.fakes import FakeWire
from tests.fakes.base import HUGE_BODY_BYTES
from tests.fakes.clients import (
    ORGANIZATION_ID,
    Served,
    keyed,
    order,
)

pytestmark = pytest.mark.anyio


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
