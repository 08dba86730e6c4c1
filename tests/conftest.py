"""Shared fixtures: a real data directory, a real SQLite file, a fake clock, a real tenant."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fiduciary import control
from fiduciary.cli import default_policy_source
from fiduciary.domain.clock import Clock, FakeClock
from fiduciary.domain.money import parse_amount
from fiduciary.mandates import OpenTerms
from fiduciary.runtime import Runtime, open_runtime
from fiduciary.settings import Settings


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", operator="test-operator", log_level="WARNING")


DEFAULT_TERMS = OpenTerms(
    currency="USD",
    max_per_use_minor=50_000,
    total_cap_minor=500_000,
    tools=("pay", "charge", "refund"),
    purpose="tests",
)


async def make_tenant(
    settings: Settings, clock: Clock, *, policy: str | None = None, terms: OpenTerms = DEFAULT_TERMS
) -> control.Tenant:
    spec = control.TenantSpec(
        org_name="acme",
        agent_name="agent-1",
        policy_source=policy or default_policy_source(),
        funding=parse_amount("1000.00", "USD"),
        terms=terms,
        mandate_days=30,
        operator="test-operator",
    )
    return await control.create_tenant(settings.db_path, spec, clock=clock, master_key=settings.ensure_master_key())


@pytest.fixture
async def tenant(settings: Settings, clock: FakeClock) -> control.Tenant:
    return await make_tenant(settings, clock)


@pytest.fixture
async def runtime(settings: Settings, tenant: control.Tenant, clock: FakeClock) -> AsyncIterator[Runtime]:
    async with open_runtime(settings, clock=clock) as opened:
        yield opened
