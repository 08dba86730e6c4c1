"""A real PostgreSQL server for the tests: a throwaway cluster in a temporary directory.

The cluster listens on a Unix socket in that directory only (no TCP port), is started once per
test session and stopped at its end, and each test that asks for `pg_url` gets a database of
its own. The server binaries are Debian's (`postgresql`, which `.ci/run` installs); where they
are absent the tests that need them are skipped, except under CI, which installs them.
`initdb` refuses to run as root, so as root the cluster runs as the `postgres` user the package
creates. `tests/conftest.py` loads these fixtures for every test.
"""

from __future__ import annotations

import inspect
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from fiduciary.settings import Settings
from tests import rows

BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
"""Debian installs each major version's server binaries here; the newest is used."""
START_SECONDS_MAX = 30
SUPERUSER = "fid"


def server_bin() -> Path | None:
    """The directory holding `initdb`, `pg_ctl` and `postgres`, or None where none is installed."""
    for directory in BIN_DIRS:
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


@dataclass(frozen=True, slots=True)
class Cluster:
    socket_dir: Path

    def url(self, database: str) -> str:
        """A libpq URL for `database` on this cluster's socket."""
        return f"postgresql://{SUPERUSER}@/{database}?host={self.socket_dir}"

    def create_database(self, name: str) -> str:
        self.psql("postgres", f'CREATE DATABASE "{name}"')
        return self.url(name)

    def psql(self, database: str, sql: str) -> str:
        done = subprocess.run(
            ["psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-h", str(self.socket_dir), "-U", SUPERUSER,
             "-d", database, "-c", sql],
            capture_output=True, text=True, timeout=START_SECONDS_MAX, check=True,
        )  # fmt: skip
        return done.stdout.strip()


def _as_owner(argv: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *argv] if owner else argv


class NoServer(Exception):
    """PostgreSQL cannot be started here (no server binaries, or no user to run them as)."""


@contextmanager
def running_cluster() -> Iterator[Cluster]:
    """Start a throwaway cluster on a Unix socket in a temporary directory; stop and remove it after."""
    binaries = server_bin()
    if binaries is None or shutil.which("psql") is None:
        raise NoServer("PostgreSQL's server binaries are not installed (Debian: apt-get install postgresql)")
    owner = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres").pw_name
        except KeyError as exc:
            raise NoServer("running as root and there is no postgres user to run the server as") from exc
    root = Path(tempfile.mkdtemp(prefix="fiduciary-pg-"))
    if owner:
        shutil.chown(root, owner)
    data = root / "data"
    initdb = [str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", SUPERUSER, "-E", "UTF8", "--no-sync"]
    pg_ctl = str(binaries / "pg_ctl")
    options = f"-k {root} -c listen_addresses='' -c max_connections=200"
    start = [pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "server.log"), "-w", "-t", "30", "start"]
    try:
        subprocess.run(_as_owner(initdb, owner), capture_output=True, check=True, timeout=120)
        subprocess.run(_as_owner(start, owner), capture_output=True, check=True, timeout=START_SECONDS_MAX + 5)
        yield Cluster(root)
    finally:
        stop = [pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]
        if (data / "postmaster.pid").exists():
            subprocess.run(_as_owner(stop, owner), capture_output=True, timeout=START_SECONDS_MAX)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """One cluster for the whole session (skipped where PostgreSQL is not installed, but not in CI)."""
    try:
        with running_cluster() as cluster:
            yield cluster
    except NoServer as exc:
        if os.environ.get("CI"):
            pytest.fail(f"{exc}; CI installs them")
        pytest.skip(str(exc))


_databases = count(1)


@pytest.fixture
def pg_url(pg_cluster: Cluster) -> str:
    """A fresh, empty database on the session's cluster."""
    return pg_cluster.create_database(f"test_{os.getpid()}_{next(_databases)}")


def rerun(into: dict[str, Any], *modules: ModuleType) -> list[str]:
    """Put every test function of `modules` that reaches the store through its fixtures (and the
    fixtures the modules define) into the module whose
    globals are `into`, so they run there again with that module's `settings` (on PostgreSQL).
    The tests that open the SQLite file themselves, or through a helper of their module, to look
    at rows or to edit them, stay with SQLite; `tests.rows` reads and writes either database.
    Answers the names of the tests taken."""
    taken = []
    for module in modules:
        items = vars(module).items()
        on_file = {name for name, value in items if inspect.isfunction(value) and _opens_sqlite(value)}
        for name, value in items:
            if type(value).__name__ == "FixtureFunctionDefinition" and name != "settings":
                _put(into, name, value)
            elif name.startswith("test_") and inspect.isfunction(value) and _uses_store(value):
                source = inspect.getsource(value)
                if "sqlite3" not in source and not any(re.search(rf"\b{h}\(", source) for h in on_file):
                    _put(into, name, value)
                    taken.append(name)
    return taken


def _put(into: dict[str, Any], name: str, value: Any) -> None:
    """Bind `name`, unless another module's test or fixture of that name is there already."""
    if into.get(name, value) is not value:
        raise RuntimeError(f"two modules rerun together both define {name}")
    into[name] = value


STORE_FIXTURES = frozenset({"settings", "runtime", "tenant", "admin"})
"""The fixtures through which a test reaches the store: only such tests are worth running twice."""


def _uses_store(test: Any) -> bool:
    return not STORE_FIXTURES.isdisjoint(inspect.signature(test).parameters)


def _opens_sqlite(function: Any) -> bool:
    if function.__module__ == rows.__name__:  # its helpers work on either database
        return False
    try:
        return "sqlite3" in inspect.getsource(function)
    except (OSError, TypeError):
        return False


def postgres_settings(tmp_path: Path, url: str) -> Settings:
    """A data directory whose database is `url`: what a module's `settings` fixture gives to run on PostgreSQL."""
    return Settings(home=tmp_path / "home", log_level="WARNING", database_url=url)
