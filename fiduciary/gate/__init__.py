"""The gate: the orchestrator, the only package that runs more than one stage."""

from fiduciary.gate.core import Gate
from fiduciary.gate.outcomes import outcome_for, refusal
from fiduciary.gate.screening import Screening, screen

__all__ = ["Gate", "Screening", "outcome_for", "refusal", "screen"]
