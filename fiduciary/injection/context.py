"""Where a scanned text came from."""

from __future__ import annotations

from dataclasses import dataclass

from fiduciary.injection.config import InjectionConfig


@dataclass(frozen=True, slots=True)
class ScanContext:
    """The tool and field a text arrived in, and the organisation's configuration."""

    tool: str | None = None
    """"pay", "charge", "refund", "upstream_result", ..."""
    field: str | None = None
    """"purpose", "counterparty", "memo", "metadata.<key>", ..."""
    config: InjectionConfig | None = None
    """The organisation's configuration; None means the defaults."""
