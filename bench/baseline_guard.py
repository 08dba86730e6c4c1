"""The baseline guard of issue 3's appendix, reproduced for side-by-side figures.

Faithful on purpose, flaws included: case-insensitive regexes with no word boundaries
("danger", "Daniel" and "mudança" trip the DAN rule), English only, score = the highest
matched weight + 0.3 x a structural score capped at 1, blocked at >= 0.7. Do not import
this from the package; it exists to be beaten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FLAGS = re.IGNORECASE | re.DOTALL

RULES: tuple[tuple[str, float, re.Pattern[str]], ...] = (
    (
        "ignore-previous",
        0.90,
        re.compile(
            r"ignore\s+(?:all\s+)?(?:previous|prior|above|earlier)\s+(?:instructions|prompts|rules|context)", _FLAGS
        ),
    ),
    ("new-instructions", 0.85, re.compile(r"(?:new|updated|revised|real)\s+instructions\s*:", _FLAGS)),
    ("you-are-now", 0.80, re.compile(r"you\s+are\s+now", _FLAGS)),
    ("system-prompt", 0.90, re.compile(r"system\s+prompt|system\s+message|<<SYS|<\|system\|>|\[INST\]", _FLAGS)),
    ("forget-everything", 0.85, re.compile(r"forget\s+everything", _FLAGS)),
    ("act-as", 0.70, re.compile(r"(?:act|behave|pretend|respond)\s+as\s+if\s+you\s+(?:are|were)", _FLAGS)),
    ("jailbreak", 0.95, re.compile(r"DAN|do\s+anything\s+now|jailbreak|unrestricted\s+mode|developer\s+mode", _FLAGS)),
    (
        "reveal-prompt",
        0.80,
        re.compile(
            r"(?:reveal|show|print|output|repeat|display)\s+(?:your|the)\s+"
            r"(?:system\s+prompt|instructions|rules)",
            _FLAGS,
        ),
    ),
    (
        "leak-secrets",
        0.90,
        re.compile(
            r"(?:what\s+(?:is|are)\s+your|show\s+me\s+(?:the|your)).*?"
            r"(?:api\s*key|secret|token|password|credential)",
            _FLAGS,
        ),
    ),
    ("base64-injection", 0.75, re.compile(r"(?:decode|eval|execute)\s+(?:this\s+)?(?:base64|b64|hex)", _FLAGS)),
    (
        "dangerous-commands",
        0.95,
        re.compile(r"rm\s+-rf|DROP\s+TABLE|DELETE\s+FROM|format\s+c:|shutdown|reboot|curl.*\|\s*sh", _FLAGS),
    ),
    (
        "file-access",
        0.90,
        re.compile(r"(?:cat|read|open|access).*?(?:/etc/passwd|\.env|credentials|\.ssh|private\s+key)", _FLAGS),
    ),
    (
        "delimiter-break",
        0.80,
        re.compile(r"```(?:system|assistant|user)|<system>|</instruction>|<prompt>|===(?:SYSTEM|END|BEGIN)", _FLAGS),
    ),
)

_ROLE_MARKER = re.compile(r"(?:assistant|system|user|human|AI)\s*:", _FLAGS)
_PRESSURE_WORD = re.compile(r"must|always|never|override|bypass|instead|disregard", _FLAGS)
_HEADING = re.compile(r"^#{1,6}\s", re.MULTILINE)
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u202a-\u202e\u2066-\u2069\u200e\u200f]")


@dataclass(frozen=True, slots=True)
class BaselineResult:
    """The baseline's verdict on one text."""

    score: float
    blocked: bool
    rules: tuple[str, ...]


def structural_score(text: str) -> float:
    """The appendix's structural score, capped at 1."""
    value = 0.0
    if len(_ROLE_MARKER.findall(text)) >= 2:
        value += 0.30
    if len(_PRESSURE_WORD.findall(text)) >= 3:
        value += 0.20
    if len(_HEADING.findall(text)) >= 5 or text.count("```") >= 6:
        value += 0.15
    if _INVISIBLE.search(text):
        value += 0.40
    return min(1.0, value)


def score(text: str, threshold: float = 0.7) -> BaselineResult:
    """Score ``text`` the way the baseline guard does."""
    fired = [(name, weight) for name, weight, pattern in RULES if pattern.search(text)]
    top = max((weight for _, weight in fired), default=0.0)
    value = min(1.0, top + 0.3 * structural_score(text))
    return BaselineResult(value, value >= threshold, tuple(name for name, _ in fired))
