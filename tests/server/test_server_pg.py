"""The agent plane's and the dashboard's suites, run again with the store on a real PostgreSQL server.

Every test of these modules that reaches a store runs here too, on a fresh database each
(`tests.pg.rerun`): MCP calls end to end, counterparties in canonical form, the rule kinds, and
the dashboard's reads and operator actions.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fiduciary.settings import Settings
from tests.pg import postgres_settings, rerun
from tests.server import test_agent_plane, test_counterparties_e2e, test_dashboard, test_rule_kinds_e2e

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(tmp_path: Path, pg_url: str) -> Settings:
    return postgres_settings(tmp_path, pg_url)


RERUN = rerun(globals(), test_agent_plane, test_counterparties_e2e, test_dashboard, test_rule_kinds_e2e)
