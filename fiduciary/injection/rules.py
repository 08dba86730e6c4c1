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
:class:`AnchorIndex`, a trie-shaped regex, so checking them costs one scan of the text
rather than one scan per anchor. ``examples`` are phrasings the rule must catch; the
tests run every one of them through the scorer, which also proves that the anchors are
right.

The built-in patterns are written for Python's ``re`` with bounded repetition only
(``{0,3}``, never a nested unbounded quantifier), and they start at a literal word, so the
cost is linear in the text. Organisation patterns are compiled with RE2 (see config.py).
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterator
from dataclasses import dataclass

from fiduciary.domain import limits

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
    return Rule(rule_id, family, weight, parts, anchors, examples, window, requires)


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
    return Rule(rule_id, family, weight, parts, anchor_sets[0], examples, window, tuple(anchor_sets[1:]))


@dataclass(frozen=True, slots=True)
class Hit:
    """A rule that fired on a view, with its span in that view."""

    rule: Rule
    start: int
    end: int


def _conjunction(rule: Rule, text: str, first: re.Match[str]) -> Hit | None:
    start, end = first.start(), first.end()
    low = max(0, start - rule.window)
    high = min(len(text), end + rule.window)
    for part in rule.parts[1:]:
        found = part.search(text, low, high)
        if found is None:
            return None
        start, end = min(start, found.start()), max(end, found.end())
    return Hit(rule, start, end)


_Trie = dict[str, "_Trie"]


def _trie_pattern(words: list[str]) -> str:
    """A regex matching any of ``words``, shaped as a trie so each position costs its depth."""
    trie: _Trie = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: _Trie) -> str:
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:
            return "(?:" + body + ")?" if len(branches) > 1 or len(body) > 1 else body + "?"
        return body

    return emit(trie)


class AnchorIndex:
    """Finds, in one scan, which anchors of a rule set occur in a text, and so which rules to try."""

    def __init__(self, rules: tuple[Rule, ...]) -> None:
        self.rules = rules
        words = sorted({a for r in rules for a in r.anchors} | {a for r in rules for g in r.requires for a in g})
        # Zero-width lookahead so that every start position is tried, overlapping matches included.
        self._pattern = re.compile("(?=(" + _trie_pattern(words) + "))") if words else None
        # The longest anchor found at a position stands for every anchor that is its prefix.
        self._prefixes = {w: frozenset(p for p in words if w.startswith(p)) for w in words}
        self._always = tuple(i for i, r in enumerate(rules) if not r.anchors)
        by_anchor: dict[str, list[int]] = {}
        for i, r in enumerate(rules):
            for anchor in r.anchors:
                by_anchor.setdefault(anchor, []).append(i)
        self._by_anchor = {a: tuple(ids) for a, ids in by_anchor.items()}

    def present(self, text: str) -> frozenset[str]:
        """The anchors that occur in ``text``."""
        if self._pattern is None:
            return frozenset()
        found: set[str] = set()
        for word in set(self._pattern.findall(text)):
            found |= self._prefixes[word]
        return frozenset(found)

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


def match_rule(rule: Rule, text: str, present: frozenset[str] | None = None) -> Hit | None:
    """The first place ``rule`` fires in ``text``, or None.

    ``present`` is the set of anchors found in ``text`` (see :class:`AnchorIndex`); without
    it the anchors are checked one by one.
    """
    if present is None:
        present = frozenset(a for a in (*rule.anchors, *(a for g in rule.requires for a in g)) if a in text)
    if not _anchored(rule, present):
        return None
    head = rule.parts[0]
    if len(rule.parts) == 1:
        found = head.search(text)
        return Hit(rule, found.start(), found.end()) if found else None
    for count, first in enumerate(head.finditer(text)):
        if count >= limits.injection_rule_occurrences_max:
            break
        hit = _conjunction(rule, text, first)
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
    for candidate in index.candidates(present):
        if candidate.id in skip:
            continue
        hit = match_rule(candidate, text, present)
        if hit is not None:
            yield hit
