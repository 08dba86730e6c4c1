"""The entry point, ``score``, and the composite formula.

Pipeline, for one text:

1. Truncate to ``limits.injection_text_chars_max`` characters (flag "truncated").
2. Normalise into views (normalize.py): the main folded view, plus a leetspeak-folded and a
   de-spaced view when the text has such words.
3. Run every rule (rules_*.py) on every view; a rule counts once however many views or
   places it fires in. Text that came back from an upstream tool (context tool
   "upstream_result") also gets the "tool_output" rules: there an instruction to move
   money is itself the attack.
4. Structural analysis (structure.py) adds matches of family "structure".
5. Decode hidden payloads (decode.py: tag characters, right-to-left overrides, base64, hex,
   binary, percent escapes, HTML entities, \\u escapes, Morse, and ROT13 or Caesar-shifted
   quotes when the text names the cipher), rescan them with every rule, and
   decode what they contain in turn, up to ``limits.injection_decode_depth_max`` levels,
   ``limits.injection_payloads_max`` payloads and ``limits.injection_decoded_chars_max``
   decoded characters. A payload that holds an instruction adds
   "encoding.hidden_instruction" (0.6); readable text hidden in an encoding, with no
   instruction in it, adds "encoding.embedded_text" (0.15).
6. The organisation's custom patterns (config.py), on the original and the main view.

No learned component is shipped: a hashed character n-gram logistic regression trained
on the corpus did not raise accuracy on held-out sources (bench/train_injection_model.py,
docs/INJECTION.md), so the family "model" is reserved but unused.

The composite score. Let ``w1 >= w2 >= ... >= wk`` be the weights of the distinct matched
rules, at most the three strongest of each family, and ``f(i)`` the family of the i-th.
Then::

    score = 1 - (1 - w1) * PRODUCT over i = 2..k of (1 - a_i * w_i)

    a_i = 0.5  if f(i) is a family not seen among rules 1..i-1 (independent evidence)
    a_i = 0.2  if f(i) was already seen (another cue of the same kind)

So the strongest rule sets the floor (score >= w1, and one rule of weight >= 0.7 blocks on
its own), every further family raises the score by half its weight of what is left, and
extra cues of a family already counted raise it a little. Structure and custom patterns
take part as families of their own. Two medium signals of different families
(0.5 and 0.5) give 0.625; three give 0.72. The score is rounded to whole basis points
and the decision is ``score >= threshold``, where the threshold is the tool's override in
the organisation's config, else the organisation's threshold, else 0.7.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Iterator

from fiduciary.domain import limits
from fiduciary.injection import (
    rules_code,
    rules_override,
    rules_payment,
    rules_payment_controls,
    rules_persona,
    rules_secrets,
    structure,
)
from fiduciary.injection.config import DEFAULT_CONFIG, InjectionConfig
from fiduciary.injection.context import ScanContext
from fiduciary.injection.decode import (
    Payload,
    cipher_payloads,
    encoded_payloads,
    reversed_payloads,
    tag_payloads,
)
from fiduciary.injection.normalize import View, despaced_view, fold, leet_view
from fiduciary.injection.result import BASIS_POINTS, Match, RiskScore, to_basis_points
from fiduciary.injection.rules import AnchorIndex, Rule, match_all

__all__ = ["RULES", "TOOL_OUTPUT_RULES", "UPSTREAM_TOOL", "combine", "scan", "score"]

RULES: tuple[Rule, ...] = (
    rules_override.RULES
    + rules_persona.RULES
    + rules_secrets.RULES
    + rules_code.RULES
    + rules_payment.RULES
    + rules_payment_controls.RULES
)
"""Every built-in rule."""
TOOL_OUTPUT_RULES: tuple[Rule, ...] = rules_payment_controls.TOOL_OUTPUT
ANCHORS = AnchorIndex(RULES)
TOOL_OUTPUT_ANCHORS = AnchorIndex(TOOL_OUTPUT_RULES)
UPSTREAM_TOOL = "upstream_result"
"""The ``ScanContext.tool`` of text an upstream tool returned; it also gets ``TOOL_OUTPUT_RULES``."""

NEW_FAMILY_FACTOR = 0.5
SAME_FAMILY_FACTOR = 0.2
MATCHES_PER_FAMILY_MAX = 3
HIDDEN_INSTRUCTION_WEIGHT = 0.6
HIDDEN_INSTRUCTION_FLOOR = 0.4
EMBEDDED_TEXT_WEIGHT = 0.15

_DEFAULT_CONTEXT = ScanContext()
_SURROGATE = re.compile("[\ud800-\udfff]")
_PAYLOAD_FLAGS = {
    "base64": "decoded_base64",
    "hex": "decoded_hex",
    "binary": "decoded_binary",
    "percent": "decoded_percent",
    "entities": "decoded_entities",
    "unicode_escapes": "decoded_unicode_escapes",
    "tags": "tag_characters",
    "bidi_reversed": "reversed_text",
    "morse": "decoded_morse",
    "shift_cipher": "decoded_shift_cipher",
}


def combine(matches: list[Match]) -> float:
    """The composite score of distinct matches (see the module docstring)."""
    ordered = sorted(matches, key=lambda m: (-m.weight, m.rule_id))
    per_family: dict[str, int] = {}
    kept: list[Match] = []
    for match in ordered:
        per_family[match.family] = per_family.get(match.family, 0) + 1
        if per_family[match.family] <= MATCHES_PER_FAMILY_MAX:
            kept.append(match)
    ordered = kept
    if not ordered:
        return 0.0
    remaining = 1.0 - ordered[0].weight
    seen = {ordered[0].family}
    for match in ordered[1:]:
        factor = SAME_FAMILY_FACTOR if match.family in seen else NEW_FAMILY_FACTOR
        seen.add(match.family)
        remaining *= 1.0 - factor * match.weight
    return min(1.0, max(0.0, 1.0 - remaining))


class _Collector:
    """Keeps the strongest occurrence of each rule id."""

    def __init__(self) -> None:
        self.by_rule: dict[str, Match] = {}

    def add(self, match: Match) -> bool:
        known = self.by_rule.get(match.rule_id)
        if known is None or match.weight > known.weight:
            self.by_rule[match.rule_id] = match
            return known is None
        return False

    def add_hits(self, view: View, rules: tuple[Rule, ...] = RULES, index: AnchorIndex = ANCHORS) -> int:
        added = 0
        # A rule already found elsewhere in the text would only be found again.
        for hit in match_all(rules, view.text, index, skip=self.by_rule):
            start, end = view.map_span(hit.start, hit.end)
            added += self.add(Match(hit.rule.id, hit.rule.family, hit.rule.weight, start, end))
        return added


def _payloads(source: str) -> Iterator[Payload]:
    return itertools.chain(
        tag_payloads(source), reversed_payloads(source), encoded_payloads(source), cipher_payloads(source)
    )


def _scan_payloads(text: str, found: _Collector, flags: set[str]) -> None:
    chars_left = limits.injection_decoded_chars_max
    payloads_left = limits.injection_payloads_max
    frontier: list[tuple[str, tuple[int, int] | None]] = [(text, None)]
    for _depth in range(limits.injection_decode_depth_max):
        deeper: list[tuple[str, tuple[int, int] | None]] = []
        for source, outer in frontier:
            for payload in _payloads(source):
                if payloads_left <= 0 or chars_left <= 0:
                    return
                payloads_left -= 1
                decoded = payload.text[:chars_left]
                chars_left -= len(decoded)
                span = outer or (payload.start, payload.end)
                flags.add(_PAYLOAD_FLAGS[payload.kind])
                view = dataclasses.replace(fold(decoded), kind=f"decoded:{payload.kind}", span=span)
                before = {rule_id: m.weight for rule_id, m in found.by_rule.items()}
                found.add_hits(view)
                strongest = max(
                    (m.weight for rule_id, m in found.by_rule.items() if before.get(rule_id, -1.0) < m.weight),
                    default=0.0,
                )
                if strongest >= HIDDEN_INSTRUCTION_FLOOR:
                    found.add(Match("encoding.hidden_instruction", "encoding", HIDDEN_INSTRUCTION_WEIGHT, *span))
                elif payload.kind not in ("tags", "bidi_reversed"):
                    found.add(Match("encoding.embedded_text", "encoding", EMBEDDED_TEXT_WEIGHT, *span))
                deeper.append((decoded, span))
        frontier = deeper


def _scan_custom(text: str, main: View, config: InjectionConfig, found: _Collector) -> None:
    if not config.custom_patterns:
        return
    # RE2 reads UTF-8, which cannot carry a lone surrogate; the replacement keeps offsets.
    original = _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text
    for pattern in config.custom_patterns:
        hit = pattern.compiled.search(original)
        if hit is not None:
            start, end = hit.span()
        else:
            hit = pattern.compiled.search(main.text)
            if hit is None:
                continue
            start, end = main.map_span(*hit.span())
        found.add(Match(pattern.rule_id, pattern.family, pattern.weight, start, end))


def scan(
    text: str, *, tool: str | None = None, field: str | None = None, config: InjectionConfig = DEFAULT_CONFIG
) -> tuple[list[Match], set[str]]:
    """Every match and flag of ``text``, before they are combined into a score."""
    flags: set[str] = set()
    if len(text) > limits.injection_text_chars_max:
        text = text[: limits.injection_text_chars_max]
        flags.add("truncated")
    found = _Collector()
    main = fold(text)
    found.add_hits(main)
    if tool == UPSTREAM_TOOL:
        found.add_hits(main, TOOL_OUTPUT_RULES, TOOL_OUTPUT_ANCHORS)
    leet = leet_view(main)
    if leet is not None and found.add_hits(leet):
        flags.add("leetspeak")
    despaced = despaced_view(main)
    if despaced is not None and found.add_hits(despaced):
        flags.add("spaced_letters")
    structural, structure_flags = structure.analyse(text, main, field=field)
    flags |= structure_flags
    for match in structural:
        found.add(match)
    _scan_payloads(text, found, flags)
    _scan_custom(text, main, config, found)
    return list(found.by_rule.values()), flags


def score(text: str, *, context: ScanContext | None = None) -> RiskScore:
    """Score ``text`` for prompt injection and decide at the applicable threshold.

    Never raises on a ``str`` (empty, huge, lone surrogates, control characters, nested
    encodings) and runs in bounded time; anything but a ``str`` raises TypeError.
    """
    if not isinstance(text, str):
        raise TypeError(f"score() takes a str, not {type(text).__name__}")
    ctx = context or _DEFAULT_CONTEXT
    config = ctx.config or DEFAULT_CONFIG
    matches, flags = scan(text, tool=ctx.tool, field=ctx.field, config=config)
    score_bp = to_basis_points(combine(matches))
    threshold_bp = to_basis_points(config.threshold_for(ctx.tool))
    ordered = tuple(sorted(matches, key=lambda m: (-m.weight, m.start, m.rule_id)))
    return RiskScore(
        score=score_bp / BASIS_POINTS,
        threshold=threshold_bp / BASIS_POINTS,
        blocked=score_bp >= threshold_bp,
        matches=ordered,
        flags=tuple(sorted(flags)),
    )
