"""What the scorer answers: a composite score, the decision, and why."""

from __future__ import annotations

from dataclasses import dataclass

BASIS_POINTS = 10_000
"""Scores and thresholds are kept to whole basis points, so the decision and its audit record agree."""


def to_basis_points(value: float) -> int:
    """A value in [0, 1] as an integer number of basis points (0..10000)."""
    return max(0, min(BASIS_POINTS, round(value * BASIS_POINTS)))


@dataclass(frozen=True, slots=True)
class Match:
    """One rule that fired, with where it fired."""

    rule_id: str
    """A stable id: "override.ignore_previous", "payment.beneficiary_swap.redirect", "custom:acme-new-iban"."""
    family: str
    """A rule family (see ``rules.RULE_FAMILIES``), "structure", "custom" or "model"."""
    weight: float
    start: int
    """Span in the original text when it can be mapped back (decoded payloads map to the encoded run)."""
    end: int


@dataclass(frozen=True, slots=True)
class RiskScore:
    """The composite risk of one text and the decision at the applicable threshold."""

    score: float
    """In [0, 1], a whole number of basis points."""
    threshold: float
    """The threshold applied: the tool's override, else the organisation's, else 0.7."""
    blocked: bool
    """``score >= threshold``."""
    matches: tuple[Match, ...]
    """Strongest first."""
    flags: tuple[str, ...]
    """Notable properties of the text: "hidden_unicode", "decoded_base64", "truncated", ... (sorted)."""

    @property
    def families(self) -> tuple[str, ...]:
        """The distinct families among the matches, in first-seen order."""
        return tuple(dict.fromkeys(m.family for m in self.matches))

    def audit_payload(self) -> dict[str, object]:
        """What the audit chain records: ids, families, spans, flags; integers only, never the text."""
        return {
            "score_bp": to_basis_points(self.score),
            "threshold_bp": to_basis_points(self.threshold),
            "blocked": self.blocked,
            "families": list(self.families),
            "matches": [
                {
                    "rule_id": m.rule_id,
                    "family": m.family,
                    "weight_bp": to_basis_points(m.weight),
                    "start": m.start,
                    "end": m.end,
                }
                for m in self.matches
            ],
            "flags": list(self.flags),
        }
