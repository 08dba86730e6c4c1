"""The command line on PostgreSQL: `init`, `db migrate` and the errors of a database that is not there."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from fiduciary.cli import main
from tests.pg import Cluster


def test_init_and_migrate_on_postgresql_keep_no_sqlite_file_and_never_print_the_password(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    home = str(tmp_path / "home")
    assert main(["init", "--home", home, "--database", pg_url, "--json", "--mcp-json", str(tmp_path / "m.json")]) == 0
    assert not (tmp_path / "home" / "fiduciary.db").exists()
    capsys.readouterr()
    assert main(["db", "migrate", "--home", home, "--database", pg_url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"database": pg_url, "up_to_date": True}
    with_password = pg_url.replace("postgresql://fid@", "postgresql://fid:s3cret-pw@")
    assert main(["db", "migrate", "--home", home, "--database", with_password]) == 0
    out = capsys.readouterr().out
    assert "s3cret-pw" not in out and "fid:***@" in out, "trust auth ignores the password; it is never shown"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://fid@/nowhere?host=/nonexistent-socket-dir", "cannot open the PostgreSQL database"),
        ("mysql://root@localhost/db", "must be a postgresql:// URL"),
    ],
)
def test_a_database_that_cannot_be_reached_is_a_clear_error_at_once(
    tmp_path: Path, url: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    began = time.monotonic()
    args = ["--home", str(tmp_path / "home"), "--database", url, "--mcp-json", str(tmp_path / "m.json")]
    assert main(["init", *args]) == 1
    err = capsys.readouterr().err
    assert message in err and time.monotonic() - began < 10


def test_a_database_not_encoded_in_utf8_is_refused_before_anything_is_written(
    tmp_path: Path, pg_cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    name = f"ascii_{os.getpid()}"
    pg_cluster.psql("postgres", f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'SQL_ASCII' LOCALE 'C'")
    url = pg_cluster.url(name)
    args = ["--home", str(tmp_path / "home"), "--database", url, "--mcp-json", str(tmp_path / "m.json")]
    assert main(["init", *args]) == 1
    assert "SQL_ASCII-encoded; fiduciary needs a UTF8 database" in capsys.readouterr().err
    assert pg_cluster.psql(name, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == "0"
