"""Fixtures for the fake providers' tests: each fake served on 127.0.0.1 with a client that holds its credentials."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes import FakePix, FakeStripe, FakeWire
from tests.fakes.clients import API_KEY, CLIENT_ID, CLIENT_SECRET, ORGANIZATION_ID, SECRET, Served, pix_token, running


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
