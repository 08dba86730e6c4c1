"""The rails' gate, reconciliation, funding and stablecoin suites, run again on PostgreSQL.

Every test of those modules that reaches the store runs here too, on a fresh database each
(`tests.pg.rerun`), against the same fake providers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fiduciary.settings import Settings
from tests.pg import postgres_settings, rerun
from tests.rails import test_funding, test_gate_rails, test_reconcile, test_stablecoin

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(tmp_path: Path, pg_url: str) -> Settings:
    return postgres_settings(tmp_path, pg_url)


RERUN = rerun(globals(), test_gate_rails, test_reconcile, test_funding, test_stablecoin)
