"""The gate's own suite, run again with the store on a real PostgreSQL server.

Every test of `tests/test_gate.py` that goes through the store's interfaces runs here too,
on a fresh database each; those that open the SQLite file directly stay with SQLite.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fiduciary.settings import Settings
from tests import test_gate
from tests.pg import Cluster

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(tmp_path: Path, pg_cluster: Cluster, request: pytest.FixtureRequest) -> Settings:
    url = pg_cluster.create_database(f"gate_{abs(hash(request.node.nodeid)) % 10**12}")
    return Settings(home=tmp_path / "home", log_level="WARNING", database_url=url)


SQLITE_ONLY = {
    "test_a_mandate_edited_in_the_database_no_longer_authorises",
    "test_injection_in_the_purpose_is_blocked_before_any_mandate_is_signed",
    "test_the_chain_commits_to_the_counterparty_and_the_side_table_opens_it",
}
"""These open the SQLite file itself to look at or edit rows."""

for _name in dir(test_gate):
    if _name.startswith("test_") and _name not in SQLITE_ONLY:
        globals()[_name] = getattr(test_gate, _name)
