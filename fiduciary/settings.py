"""Configuration, read once: from `FIDUCIARY_*` environment variables and command-line flags.

`os.environ` is read here and nowhere else; everything downstream receives a frozen
`Settings`. Secrets (the agent token, the master key) never appear in its repr.

| variable | meaning | default |
| --- | --- | --- |
| `FIDUCIARY_HOME` | data directory | `./.fiduciary` |
| `FIDUCIARY_AGENT_TOKEN` | the agent a stdio server acts for | none |
| `FIDUCIARY_MASTER_KEY` | base64url master key that unlocks org keys | read from `HOME/master.key` |
| `FIDUCIARY_OPERATOR` | operator name recorded by control-plane commands | the OS user |
| `FIDUCIARY_LOG_LEVEL` | `DEBUG`, `INFO`, `WARNING`, `ERROR` | `INFO` |
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fiduciary.domain.errors import ConfigError
from fiduciary.mandates.keys import decode_master_key, encode_master_key, new_master_key

DEFAULT_HOME = Path(".fiduciary")
MASTER_KEY_FILE = "master.key"
DB_FILE = "fiduciary.db"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True, slots=True)
class Settings:
    home: Path
    operator: str
    log_level: str = "INFO"
    agent_token: str | None = field(default=None, repr=False)
    master_key_text: str | None = field(default=None, repr=False)

    @property
    def db_path(self) -> Path:
        return self.home / DB_FILE

    @property
    def master_key_path(self) -> Path:
        return self.home / MASTER_KEY_FILE

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

    def ensure_master_key(self) -> bytes:
        """Create the master key file (mode 0600) if there is none; never overwrite one."""
        if self.master_key_text:
            return decode_master_key(self.master_key_text)
        self.home.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.master_key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return self.master_key()
        key = new_master_key()
        with os.fdopen(fd, "w") as handle:
            handle.write(encode_master_key(key) + "\n")
        return key


def load_settings(
    *, home: str | None = None, operator: str | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Build settings from flags (which win) and the environment."""
    env = os.environ if environ is None else environ
    level = env.get("FIDUCIARY_LOG_LEVEL", "INFO").upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"FIDUCIARY_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
    return Settings(
        home=Path(home or env.get("FIDUCIARY_HOME") or DEFAULT_HOME).expanduser().resolve(),
        operator=operator or env.get("FIDUCIARY_OPERATOR") or getpass.getuser(),
        log_level=level,
        agent_token=env.get("FIDUCIARY_AGENT_TOKEN") or None,
        master_key_text=env.get("FIDUCIARY_MASTER_KEY") or None,
    )
