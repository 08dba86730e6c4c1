"""Fault injection and the control endpoints every fake provider shares, over real HTTP."""

from __future__ import annotations

import httpx2
import pytest

from tests.fakes import FAULT_MODES, FakeStripe, FakeWire, Faults, serve
from tests.fakes.clients import (
    API_KEY,
    ORGANIZATION_ID,
    Served,
)

pytestmark = pytest.mark.anyio


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
