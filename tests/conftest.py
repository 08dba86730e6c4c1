"""Shared fixtures: a real data directory, a real SQLite file, a fake clock, a real tenant."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fiduciary.control import Operator, Role, Tenant, TenantSpec
from fiduciary.domain.clock import Clock, FakeClock
from fiduciary.domain.money import parse_amount
from fiduciary.mandates import OpenTerms
from fiduciary.policies import default_source as default_policy_source
from fiduciary.runtime import Runtime, open_runtime
from fiduciary.settings import Settings

pytest_plugins = ["tests.pg"]  # a real PostgreSQL server: `pg_cluster`, `pg_url`


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", log_level="WARNING")


_NEW_PAYEE_RULE = '\n[[rules]]\nid = "new-payee-review"'
assert _NEW_PAYEE_RULE in default_policy_source(), "the default policy holds new payees for a person"
TEST_POLICY = default_policy_source().split(_NEW_PAYEE_RULE)[0]
"""The default policy without its new-payee review, so tests can pay fresh payees directly."""

DEFAULT_TERMS = OpenTerms(
    currency="USD",
    max_per_use_minor=50_000,
    total_cap_minor=500_000,
    tools=("pay", "charge", "refund"),
    purpose="tests",
)


async def make_tenant(
    settings: Settings, clock: Clock, *, policy: str | None = None, terms: OpenTerms = DEFAULT_TERMS
) -> Tenant:
    """A tenant made through the control plane: by a new first admin, or by the home's first admin."""
    spec = TenantSpec(
        org_name="acme",
        agent_name="agent-1",
        policy_source=policy or TEST_POLICY,
        funding=parse_amount("1000.00", "USD"),
        terms=terms,
        mandate_days=30,
    )
    async with open_runtime(settings, clock=clock, resume=False, create=True) as rt:
        admins = [row for row in await rt.store.read.operators() if row.role == Role.ADMIN.value]
        if not admins:
            return await rt.control.initialise(spec, admin_name="test-admin")
        admin = Operator(admins[0].operator_id, admins[0].name, Role.ADMIN)
        return await rt.control.agents.create_tenant(admin, spec)


@pytest.fixture
async def tenant(settings: Settings, clock: FakeClock) -> Tenant:
    return await make_tenant(settings, clock)


@pytest.fixture
def admin(tenant: Tenant) -> Operator:
    return tenant.admin


@pytest.fixture
async def runtime(settings: Settings, tenant: Tenant, clock: FakeClock) -> AsyncIterator[Runtime]:
    async with open_runtime(settings, clock=clock) as opened:
        yield opened
