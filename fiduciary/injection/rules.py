"""The rule engine: what a rule is and how it is matched against a view.

A rule has a stable id, a family, a weight in (0, 1] and one or more *parts*, each a
regular expression over the folded view (lower case, no diacritics). A space in a part
means "one or more whitespace characters" and " ?" means "optional whitespace", so
phrases read as phrases. A rule with one
part fires when it matches. A rule with several parts fires only when every part matches
within ``window`` characters of an occurrence of the first part: "the supplier changed
banks" is a weak cue, "the supplier changed banks ... send it to this account instead"
is a strong one.

``anchors`` are plain substrings of which at least one must occur in the view before any
regex runs, and ``requires`` more such groups (typically one per further part); they keep
a clean text cheap to score. All anchors of all rules are found in one pass by
:class:`AnchorIndex`, an RE2 set of literals, so checking them costs one automaton pass over
the text rather than one scan per anchor. ``examples`` are phrasings the rule must catch; the
tests run every one of them through the scorer, which also proves that the anchors are
right.

The built-in patterns are written for Python's ``re`` with bounded repetition only
(``{0,3}``, never a nested unbounded quantifier), and they start at a literal word, so the
cost is linear in the text. Organisation patterns are compiled with RE2 (see config.py).

Each built-in pattern RE2 can read is compiled with RE2 as well (``Rule.fast``), and used on a
view whose characters are all ASCII but for vertical tab and the separators \\x1c-\\x1f. There
the two engines agree: ``\\w``, ``\\b``, ``\\s`` and ``\\d`` mean the same ASCII classes, and
both take the leftmost match, preferring earlier alternatives, so a rule fires at the same span
either way. Patterns with ``^`` or ``$`` (whose meaning differs at a search window's edge and
before a final newline) and those with lookarounds keep ``re`` alone. RE2 runs in one automaton
pass where ``re`` tries each alternative at every position, which is most of a long text's cost.
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterator
from dataclasses import dataclass
from typing import Any

import re2  # type: ignore[import-untyped]

from fiduciary.domain import limits
from fiduciary.injection.normalize import plain_ascii

RULE_FAMILIES: tuple[str, ...] = (
    "override",
    "new_instructions",
    "forget_context",
    "role",
    "jailbreak",
    "prompt_leak",
    "secrets",
    "exfiltration",
    "delimiter",
    "encoding",
    "command",
    "tool_hijack",
    "beneficiary_swap",
    "pressure",
    "structuring",
    "approval_bypass",
    "tool_output",
)
"""The rule families. Matches may also carry "structure", "custom" or "model".

"tool_output" rules run only on text that came back from an upstream tool (see
``scoring.UPSTREAM_TOOL``): there, an instruction to move money is itself the attack.
"""


@dataclass(frozen=True, slots=True)
class Rule:
    """One detection rule; see the module docstring."""

    id: str
    family: str
    weight: float
    parts: tuple[re.Pattern[str], ...]
    anchors: tuple[str, ...]
    examples: tuple[str, ...]
    window: int = 240
    requires: tuple[tuple[str, ...], ...] = ()
    fast: tuple[Any, ...] | None = None
    """The parts compiled with RE2, for views RE2 reads as ``re`` does (None: ``re`` only)."""


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False
_EDGE = re.compile(r"(?<!\\)[$^](?![^\[]*\])")
"""A ``^`` or ``$`` outside a character class (a crude reading, erring towards ``re``)."""


def _fast(parts: tuple[re.Pattern[str], ...]) -> tuple[Any, ...] | None:
    """The parts compiled with RE2 when every one of them means the same there."""
    if any(p.flags & ~re.UNICODE or _EDGE.search(p.pattern) or "\\Z" in p.pattern for p in parts):
        return None
    try:
        return tuple(re2.compile(p.pattern, _RE2_OPTIONS) for p in parts)
    except re2.error:
        return None  # a lookaround or another construct RE2 does not have


def rule(
    rule_id: str,
    family: str,
    weight: float,
    *patterns: str,
    anchors: tuple[str, ...] = (),
    examples: tuple[str, ...] = (),
    window: int = 240,
    requires: tuple[tuple[str, ...], ...] = (),
) -> Rule:
    """Build a rule; in a pattern " " stands for ``\\s+`` and " ?" for ``\\s*``."""
    assert family in RULE_FAMILIES, family
    assert 0.0 < weight <= 1.0, weight
    assert patterns, rule_id
    parts = tuple(re.compile(p.replace(" ?", r"\s*").replace(" ", r"\s+")) for p in patterns)
    return Rule(rule_id, family, weight, parts, anchors, examples, window, requires, _fast(parts))


def conjunction(
    rule_id: str,
    family: str,
    weight: float,
    *groups: tuple[Rule, ...],
    examples: tuple[str, ...] = (),
    window: int = 300,
) -> Rule:
    """A rule that fires when one rule of every group fires nearby: the groups' cues together."""
    assert family in RULE_FAMILIES, family
    parts = tuple(re.compile("|".join(f"(?:{r.parts[0].pattern})" for r in group)) for group in groups)
    anchor_sets = [tuple(dict.fromkeys(a for r in group for a in r.anchors)) for group in groups]
    requires = tuple(anchor_sets[1:])
    return Rule(rule_id, family, weight, parts, anchor_sets[0], examples, window, requires, _fast(parts))


@dataclass(frozen=True, slots=True)
class Hit:
    """A rule that fired on a view, with its span in that view."""

    rule: Rule
    start: int
    end: int


def _conjunction(rule: Rule, parts: tuple[Any, ...], text: str, first: Any) -> Hit | None:
    start, end = first.start(), first.end()
    low = max(0, start - rule.window)
    high = min(len(text), end + rule.window)
    for part in parts[1:]:
        found = part.search(text, low, high)
        if found is None:
            return None
        start, end = min(start, found.start()), max(end, found.end())
    return Hit(rule, start, end)


_SURROGATE = re.compile("[\ud800-\udfff]")


class AnchorIndex:
    """Finds, in one scan, which anchors of a rule set occur in a text, and so which rules to try.

    The anchors are one RE2 set of literals: a single automaton pass over the text reports every
    anchor that occurs anywhere in it, overlapping ones included.
    """

    def __init__(self, rules: tuple[Rule, ...]) -> None:
        self.rules = rules
        self._words = sorted({a for r in rules for a in r.anchors} | {a for r in rules for g in r.requires for a in g})
        self._set: re2.Set | None = None
        if self._words:
            options = re2.Options()
            options.literal = True
            self._set = re2.Set.SearchSet(options)
            for word in self._words:
                self._set.Add(word)
            self._set.Compile()
        self._always = tuple(i for i, r in enumerate(rules) if not r.anchors)
        by_anchor: dict[str, list[int]] = {}
        for i, r in enumerate(rules):
            for anchor in r.anchors:
                by_anchor.setdefault(anchor, []).append(i)
        self._by_anchor = {a: tuple(ids) for a, ids in by_anchor.items()}

    def present(self, text: str) -> frozenset[str]:
        """The anchors that occur in ``text``."""
        if self._set is None:
            return frozenset()
        try:
            found = self._set.Match(text)
        except UnicodeEncodeError:
            # RE2 reads UTF-8, which cannot carry a lone surrogate; no anchor contains one.
            found = self._set.Match(_SURROGATE.sub("\ufffd", text))
        return frozenset(self._words[i] for i in found or ())  # no match at all is None

    def candidates(self, present: frozenset[str]) -> list[Rule]:
        """The rules whose anchors all hold, in rule order."""
        chosen = set(self._always)
        for anchor in present:
            chosen.update(self._by_anchor.get(anchor, ()))
        return [self.rules[i] for i in sorted(chosen) if _anchored(self.rules[i], present)]


def _anchored(rule: Rule, present: frozenset[str]) -> bool:
    if rule.anchors and present.isdisjoint(rule.anchors):
        return False
    return all(not present.isdisjoint(group) for group in rule.requires)


def match_rule(
    rule: Rule, text: str, present: frozenset[str] | None = None, *, ascii_text: bool | None = None
) -> Hit | None:
    """The first place ``rule`` fires in ``text``, or None.

    ``present`` is the set of anchors found in ``text`` (see :class:`AnchorIndex`); without
    it the anchors are checked one by one. ``ascii_text`` is ``plain_ascii(text)``, if known.
    """
    if present is None:
        present = frozenset(a for a in (*rule.anchors, *(a for g in rule.requires for a in g)) if a in text)
    if not _anchored(rule, present):
        return None
    parts: tuple[Any, ...] = rule.parts
    if rule.fast is not None and (plain_ascii(text) if ascii_text is None else ascii_text):
        parts = rule.fast
    head = parts[0]
    if len(parts) == 1:
        found = head.search(text)
        return Hit(rule, found.start(), found.end()) if found else None
    for count, first in enumerate(head.finditer(text)):
        if count >= limits.injection_rule_occurrences_max:
            break
        hit = _conjunction(rule, parts, text, first)
        if hit is not None:
            return hit
    return None


def match_all(
    rules: tuple[Rule, ...],
    text: str,
    index: AnchorIndex | None = None,
    *,
    skip: Container[str] = (),
) -> Iterator[Hit]:
    """Every rule of ``rules`` that fires in ``text`` (once each), except the ids in ``skip``."""
    index = index if index is not None and index.rules is rules else AnchorIndex(rules)
    present = index.present(text)
    ascii_text = plain_ascii(text)
    for candidate in index.candidates(present):
        if candidate.id in skip:
            continue
        hit = match_rule(candidate, text, present, ascii_text=ascii_text)
        if hit is not None:
            yield hit
