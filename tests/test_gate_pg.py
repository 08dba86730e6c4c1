"""The gate's and the control plane's suites, run again with the store on a real PostgreSQL server.

Every test of the gate's modules (`tests/test_gate.py`, `test_policy_gate.py`, `test_screening.py`,
`test_alerts.py`) and of `tests/control/` that reaches a store runs here too, on a fresh database
each (`tests.pg.rerun`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fiduciary.settings import Settings
from tests import test_alerts, test_gate, test_policy_gate, test_screening
from tests.control import (
    test_approvals,
    test_evidence,
    test_export,
    test_keys,
    test_lifecycle,
    test_privacy,
    test_receipts,
    test_replay,
    test_roles,
    test_sinks,
    test_sinks_s3,
)
from tests.pg import postgres_settings, rerun

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(tmp_path: Path, pg_url: str) -> Settings:
    return postgres_settings(tmp_path, pg_url)


RERUN = rerun(
    globals(),
    test_gate,
    test_policy_gate,
    test_screening,
    test_alerts,
    test_approvals,
    test_lifecycle,
    test_privacy,
    test_roles,
    test_keys,
    test_replay,
    test_evidence,
    test_export,
    test_receipts,
    test_sinks,
    test_sinks_s3,
)
