"""Configuration, read once: from `FIDUCIARY_*` environment variables and command-line flags.

`os.environ` is read here and nowhere else; everything downstream receives a frozen
`Settings`. Secrets (the agent token, the master key) never appear in its repr.

| variable | meaning | default |
| --- | --- | --- |
| `FIDUCIARY_HOME` | data directory | `./.fiduciary` |
| `FIDUCIARY_AGENT_TOKEN` | the agent a stdio server acts for | none |
| `FIDUCIARY_MASTER_KEY` | base64url master key that unlocks org keys | read from `HOME/master.key` |
| `FIDUCIARY_OPERATOR_TOKEN` | the operator token control-plane commands act with | `HOME/operator.token` |
| `FIDUCIARY_WEBHOOK_SECRET` | the key budget alerts are signed with (HMAC-SHA256) | `HOME/webhook.key` (0600) |
| `FIDUCIARY_LOG_LEVEL` | `DEBUG`, `INFO`, `WARNING`, `ERROR` | `INFO` |
| `FIDUCIARY_DATABASE_URL` | a `postgresql://` database instead of the home's SQLite file | none |
| `FIDUCIARY_KEY_ROTATION_DAYS` | a running server replaces each org key this old (0: never) | `90` |
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fiduciary.domain import limits
from fiduciary.domain.errors import ConfigError
from fiduciary.mandates.keys import decode_master_key, encode_master_key, new_master_key

DEFAULT_HOME = Path(".fiduciary")
MASTER_KEY_FILE = "master.key"
DB_FILE = "fiduciary.db"
OPERATOR_TOKEN_FILE = "operator.token"  # noqa: S105 (a file name, not a secret)
WEBHOOK_KEY_FILE = "webhook.key"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_URL_RE = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~%\-/]*)?")


def check_dashboard_url(value: str, *, what: str = "FIDUCIARY_DASHBOARD_URL") -> str:
    """An http(s) address without a query, kept without its trailing slash."""
    if len(value) > 512 or not _URL_RE.fullmatch(value):
        raise ConfigError(f"{what} must be an http:// or https:// address such as https://fiduciary.example.com")
    return value.rstrip("/")


@dataclass(frozen=True, slots=True)
class Settings:
    home: Path
    log_level: str = "INFO"
    agent_token: str | None = field(default=None, repr=False)
    master_key_text: str | None = field(default=None, repr=False)
    operator_token: str | None = field(default=None, repr=False)
    webhook_secret_text: str | None = field(default=None, repr=False)
    dashboard_url: str | None = None
    """Where people open the dashboard (`FIDUCIARY_DASHBOARD_URL`); notices and MCP clients link there."""
    database_url: str | None = field(default=None, repr=False)
    """A PostgreSQL database (`postgresql://...`) instead of `HOME/fiduciary.db`; it may carry a password."""
    reconcile_seconds: int = limits.reconcile_interval_seconds
    """How often a running server reconciles its rails (`FIDUCIARY_RECONCILE_SECONDS`)."""
    key_rotation_days: int = limits.key_rotation_days_default
    """A running server replaces each org key this old (`FIDUCIARY_KEY_ROTATION_DAYS`; 0: never)."""
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)
    """The environment the rails file's `credential_env` names are read from."""

    @property
    def initialised(self) -> bool:
        """Whether `init` has run here: the SQLite file exists, or (on PostgreSQL) the home does."""
        return self.home.is_dir() if self.database_url is not None else self.db_path.exists()

    @property
    def database(self) -> str:
        """Where the data is, for a person: the SQLite file, or the PostgreSQL URL without its password."""
        if self.database_url is None:
            return str(self.db_path)
        hidden = re.sub(r"//([^:/@]*):[^@/]*@", r"//\1:***@", self.database_url)
        return re.sub(r"([?&]password=)[^&]*", r"\1***", hidden)

    @property
    def db_path(self) -> Path:
        return self.home / DB_FILE

    @property
    def master_key_path(self) -> Path:
        return self.home / MASTER_KEY_FILE

    @property
    def operator_token_path(self) -> Path:
        """The first admin's token, left by `init` for the local command line (mode 0600)."""
        return self.home / OPERATOR_TOKEN_FILE

    @property
    def rails_path(self) -> Path:
        """The rails file: which rails exist and where their credentials live (`rails.toml`)."""
        return self.home / "rails.toml"

    @property
    def sinks_path(self) -> Path:
        """The sinks file: where every org's audit entries are delivered (`sinks.toml`)."""
        return self.home / "sinks.toml"

    @property
    def sandbox_ledger(self) -> Path:
        return self.home / "rails" / "sandbox.jsonl"

    def master_key(self) -> bytes:
        """The master key from the environment, else from the 0600 key file in the data directory."""
        if self.master_key_text:
            return decode_master_key(self.master_key_text)
        try:
            return decode_master_key(self.master_key_path.read_text())
        except FileNotFoundError as exc:
            raise ConfigError(f"no master key in {self.home}: run `fiduciary init` first") from exc

    def webhook_secret(self) -> bytes:
        """The key alerts are signed with: FIDUCIARY_WEBHOOK_SECRET, else HOME/webhook.key (made 0600 on first use)."""
        if self.webhook_secret_text:
            return self.webhook_secret_text.encode()
        path = self.home / WEBHOOK_KEY_FILE
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip().encode()
        secret = encode_master_key(new_master_key())
        with os.fdopen(fd, "w") as handle:
            handle.write(secret + "\n")
        return secret.encode()

    def ensure_private_database(self) -> None:
        """Create the home (0700) and an empty database file (0600) that only this user can read."""
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.home, 0o700)
        fd = os.open(self.db_path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)
        os.chmod(self.db_path, 0o600)

    def ensure_master_key(self) -> bytes:
        """Create the master key file (mode 0600) if there is none; never overwrite one."""
        if self.master_key_text:
            return decode_master_key(self.master_key_text)
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(self.master_key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return self.master_key()
        key = new_master_key()
        with os.fdopen(fd, "w") as handle:
            handle.write(encode_master_key(key) + "\n")
        return key


def log_level(*, default: str = "INFO", environ: Mapping[str, str] | None = None) -> str:
    """`FIDUCIARY_LOG_LEVEL`, checked; `default` when it is unset."""
    env = os.environ if environ is None else environ
    level = env.get("FIDUCIARY_LOG_LEVEL", default).upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"FIDUCIARY_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
    return level


def find_home(start: Path) -> Path | None:
    """The nearest `.fiduciary` directory in `start` or one of its parents."""
    for folder in (start, *start.parents):
        candidate = folder / DEFAULT_HOME
        if candidate.is_dir():
            return candidate
    return None


def load_settings(
    *,
    home: str | None = None,
    operator_token: str | None = None,
    database_url: str | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    search: bool = True,
) -> Settings:
    """Build settings from flags (which win) and the environment.

    The data directory is `--home`, else `FIDUCIARY_HOME`, else (with `search`) the nearest
    `.fiduciary` in the current directory or its parents; `init` does not search and uses
    `./.fiduciary`. A search that finds nothing is an error, never a new empty home.
    """
    env = os.environ if environ is None else environ
    level = log_level(environ=env)
    here = (cwd or Path.cwd()).resolve()
    chosen = home or env.get("FIDUCIARY_HOME")
    if chosen:
        path = Path(chosen).expanduser().resolve()
    elif search:
        found = find_home(here)
        if found is None:
            raise ConfigError(
                f"no .fiduciary data directory in {here} or its parents: run `fiduciary init`, "
                "or give --home or FIDUCIARY_HOME"
            )
        path = found.resolve()
    else:
        path = (here / DEFAULT_HOME).resolve()
    return Settings(
        home=path,
        log_level=level,
        agent_token=env.get("FIDUCIARY_AGENT_TOKEN") or None,
        master_key_text=env.get("FIDUCIARY_MASTER_KEY") or None,
        operator_token=operator_token or env.get("FIDUCIARY_OPERATOR_TOKEN") or None,
        webhook_secret_text=env.get("FIDUCIARY_WEBHOOK_SECRET") or None,
        dashboard_url=check_dashboard_url(url) if (url := env.get("FIDUCIARY_DASHBOARD_URL")) else None,
        database_url=check_database_url(db) if (db := database_url or env.get("FIDUCIARY_DATABASE_URL")) else None,
        reconcile_seconds=_seconds(env.get("FIDUCIARY_RECONCILE_SECONDS"), limits.reconcile_interval_seconds),
        key_rotation_days=_rotation_days(env.get("FIDUCIARY_KEY_ROTATION_DAYS")),
        environ=dict(env),
    )


def check_database_url(value: str) -> str:
    """A PostgreSQL URL, or a `ConfigError` that does not repeat it (it may hold a password)."""
    if not value.startswith(("postgresql://", "postgres://")) or any(c.isspace() for c in value):
        raise ConfigError("FIDUCIARY_DATABASE_URL must be a postgresql:// URL")
    return value


def _rotation_days(value: str | None) -> int:
    if value is None or value == "":
        return limits.key_rotation_days_default
    if not value.isdigit() or int(value) > limits.key_rotation_days_max:
        most = limits.key_rotation_days_max
        raise ConfigError(f"FIDUCIARY_KEY_ROTATION_DAYS must be a whole number of days from 0 (never) to {most}")
    return int(value)


def _seconds(value: str | None, default: int) -> int:
    if value is None or value == "":
        return default
    if not value.isdigit() or not 10 <= int(value) <= 86_400:
        raise ConfigError("FIDUCIARY_RECONCILE_SECONDS must be a whole number of seconds from 10 to 86400")
    return int(value)
