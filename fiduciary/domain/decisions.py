"""Stage verdicts: refusals are values with a stable code, never exceptions."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from fiduciary.domain.codes import Code


class Verdict(StrEnum):
    ALLOW = "allow"
    APPROVAL_REQUIRED = "approval_required"
    DENY = "deny"


_RANK = {Verdict.ALLOW: 0, Verdict.APPROVAL_REQUIRED: 1, Verdict.DENY: 2}


@dataclass(frozen=True, slots=True)
class RuleHit:
    """One policy rule that matched the intent and what it asked for."""

    rule_id: str
    verdict: Verdict
    code: Code
    approvers: int = 1
    """For a hold: how many distinct operators must approve."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The policy's answer: deny wins, then approval, then allow."""

    verdict: Verdict
    code: Code
    rule_id: str | None
    policy_version: str
    hits: tuple[RuleHit, ...] = ()

    @property
    def approvers(self) -> int:
        """Distinct operators a hold needs: the most that any holding rule asks for."""
        return max((h.approvers for h in self.hits if h.verdict is Verdict.APPROVAL_REQUIRED), default=1)

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOW


def combine(hits: tuple[RuleHit, ...], *, policy_version: str) -> Decision:
    """Resolve matched rules: the strongest verdict wins; the first rule of that strength names it."""
    if not hits:
        return Decision(Verdict.ALLOW, Code.OK, None, policy_version, ())
    strongest = max(hits, key=lambda hit: _RANK[hit.verdict])
    return Decision(strongest.verdict, strongest.code, strongest.rule_id, policy_version, hits)
