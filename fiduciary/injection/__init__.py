"""Prompt-injection screening: ``score(text, context=...)`` -> ``RiskScore``.

Pure: it imports only the standard library, ``re2`` and ``fiduciary.domain``. See
scoring.py for the pipeline and the formula, and docs/INJECTION.md for the rule families,
their weights and the measured accuracy.
"""

from __future__ import annotations

from fiduciary.injection.config import DEFAULT_THRESHOLD, CustomPattern, InjectionConfig, load_config
from fiduciary.injection.context import ScanContext
from fiduciary.injection.result import Match, RiskScore
from fiduciary.injection.scoring import score

__all__ = [
    "DEFAULT_THRESHOLD",
    "CustomPattern",
    "InjectionConfig",
    "Match",
    "RiskScore",
    "ScanContext",
    "load_config",
    "score",
]
