"""Render a RiskScore for people (``fiduciary scan``) and for JSON consumers."""

from __future__ import annotations

from fiduciary.injection.result import RiskScore, to_basis_points


def report_json(result: RiskScore) -> dict[str, object]:
    """A JSON-ready rendering: the decision, the score and each match (never the text)."""
    return {
        "decision": "block" if result.blocked else "allow",
        "score": round(result.score, 4),
        "threshold": round(result.threshold, 4),
        "blocked": result.blocked,
        "matches": [
            {
                "rule_id": m.rule_id,
                "family": m.family,
                "weight": round(m.weight, 4),
                "start": m.start,
                "end": m.end,
            }
            for m in result.matches
        ],
        "flags": list(result.flags),
    }


def format_report(result: RiskScore) -> str:
    """A short human-readable report: score, decision, matches with their spans, flags."""
    decision = "BLOCK" if result.blocked else "allow"
    lines = [
        f"score {result.score:.2f} (threshold {result.threshold:.2f}): {decision}",
    ]
    if result.matches:
        width = max(len(m.rule_id) for m in result.matches)
        lines.append("matches:")
        lines.extend(
            f"  {m.rule_id:<{width}}  {m.family:<16} weight {m.weight:.2f}  span {m.start}-{m.end}"
            for m in result.matches
        )
    else:
        lines.append("matches: none")
    lines.append("flags: " + (", ".join(result.flags) if result.flags else "none"))
    lines.append(f"audit: score_bp={to_basis_points(result.score)} threshold_bp={to_basis_points(result.threshold)}")
    return "\n".join(lines)
