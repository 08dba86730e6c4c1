"""Reading an operator's TOML file (rails, sinks) whole, with one clear error for any failure."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from fiduciary.domain.errors import ConfigError


def read_toml(path: Path) -> dict[str, Any] | None:
    """The file's tables, or None if there is no file; `ConfigError` naming the file otherwise."""
    if not path.exists():
        return None
    try:
        return tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable TOML file: {exc}") from exc
