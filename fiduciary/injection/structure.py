"""Structural analysis: signs of an injection in how a text is built, not in what it says.

Suspicious Unicode (zero-width characters inside words, bidi overrides, tag characters,
variation-selector runs, words mixing Latin with look-alike letters), fake role markers
("system:" at the start of a line, two speakers in one field), formatting that hides text
(HTML comments, CSS that hides text, terminal escapes), abnormal repetition, and prose in
a field meant for a name.

Legitimate uses are left alone: a zero-width joiner between emoji, joiners inside Arabic,
Persian or Indic words, a subdivision flag emoji's tag characters, bidi marks in
right-to-left names. Length is never a signal by itself: injections in the wild are
longer than benign requests, and scoring length would punish every long invoice memo.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections import Counter

from fiduciary.injection.decode import tag_payloads
from fiduciary.injection.normalize import ZERO_WIDTH, View
from fiduciary.injection.result import Match

_ZERO_WIDTH_RUN = re.compile("[" + "".join(sorted(ZERO_WIDTH)) + "]")
_BIDI_OVERRIDE = re.compile("[\u202d\u202e]")
_BIDI_EMBED = re.compile("[\u202a\u202b\u2066\u2067\u2068]")
_TAG = re.compile("[\U000e0000-\U000e007f]")
_VS_SUPPLEMENT = re.compile("[\U000e0100-\U000e01ef]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]{0,16}[a-zA-Z]|\x1b\][^\x07]{0,200}\x07")
_SURROGATE = re.compile("[\ud800-\udfff]")
_ROLE_LINE = re.compile(r"(?m)^[ \t>*#\-|]*(system|assistant|user|human|ai|developer|model)\s*:")
_QA_TURN = re.compile(r"(?:^|\s)(q|a|question|answer)\s*:\s", re.IGNORECASE)
_HTML_COMMENT = re.compile(r"<!--(.{0,2000}?)-->", re.DOTALL)
_HIDDEN_CSS = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:px|pt|em|rem)?\b"
    r"|opacity\s*:\s*0(?:\.0+)?\b|color\s*:\s*(?:white|#fff(?:fff)?|transparent)\b"
)
_HEADING = re.compile(r"(?m)^#{1,6} \S")
_RTL_LETTER = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")
_NAME_FIELDS = frozenset({"counterparty", "counterparty_name", "payee", "name", "category", "merchant"})


def _match(rule_id: str, weight: float, start: int, end: int) -> Match:
    return Match(rule_id, "structure", weight, start, end)


def _is_legit_joiner(text: str, index: int) -> bool:
    """A soft hyphen, a leading BOM, or a zero-width (non-)joiner between emoji or inside a script that needs it."""
    if text[index] == "\u00ad":
        # A soft hyphen is a hyphenation hint in typeset text; it hides nothing by itself.
        return True
    if text[index] not in "\u200c\u200d":
        return text[index] == "\ufeff" and index == 0
    before = text[index - 1] if index > 0 else ""
    after = text[index + 1] if index + 1 < len(text) else ""
    for neighbour in (before, after):
        if not neighbour:
            continue
        if unicodedata.category(neighbour) == "So" or ord(neighbour) >= 0x1F000 or neighbour == "\ufe0f":
            return True
        if (
            neighbour.isalpha()
            and not neighbour.isascii()
            and unicodedata.name(neighbour, "").split(" ")[0]
            in {
                "ARABIC",
                "DEVANAGARI",
                "BENGALI",
                "GURMUKHI",
                "GUJARATI",
                "ORIYA",
                "TAMIL",
                "TELUGU",
                "KANNADA",
                "MALAYALAM",
                "SINHALA",
                "SYRIAC",
                "MONGOLIAN",
                "KHMER",
                "MYANMAR",
            }
        ):
            return True
    return False


def _unicode_signals(text: str, main: View, flags: set[str]) -> list[Match]:
    found: list[Match] = []
    suspicious = [m.start() for m in _ZERO_WIDTH_RUN.finditer(text) if not _is_legit_joiner(text, m.start())]
    if suspicious:
        flags.add("hidden_unicode")
        inside_words = sum(
            1
            for i in suspicious
            if 0 < i < len(text) - 1 and text[i - 1].isalnum() and (text[i + 1].isalnum() or text[i + 1] in ZERO_WIDTH)
        )
        first = suspicious[0]
        if inside_words >= 5:
            # Invisible characters threaded through words: text written to defeat filters.
            found.append(_match("structure.zero_width_in_words", 0.7, first, first + 1))
        elif inside_words >= 2:
            found.append(_match("structure.zero_width_in_words", 0.55, first, first + 1))
        else:
            found.append(_match("structure.hidden_characters", 0.25, first, first + 1))
    override = _BIDI_OVERRIDE.search(text)
    if override:
        flags.add("bidi_control")
        found.append(_match("structure.bidi_override", 0.5, override.start(), override.end()))
    else:
        embed = _BIDI_EMBED.search(text)
        if embed:
            flags.add("bidi_control")
            weight = 0.1 if _RTL_LETTER.search(text) else 0.25
            found.append(_match("structure.bidi_embedding", weight, embed.start(), embed.end()))
    selectors = _VS_SUPPLEMENT.findall(text)
    if len(selectors) >= 4:
        flags.add("variation_selectors")
        first_vs = _VS_SUPPLEMENT.search(text)
        assert first_vs is not None
        found.append(_match("structure.variation_selector_run", 0.6, first_vs.start(), first_vs.end()))
    if main.mixed_words:
        flags.add("mixed_script")
        # Look-alike letters inside several Latin words are spoofing, not a language.
        weight = 0.7 if main.mixed_words >= 5 else 0.5 if main.mixed_words >= 3 else 0.35
        found.append(_match("structure.mixed_script_words", weight, 0, 0))
    return found


def _control_signals(text: str, flags: set[str]) -> list[Match]:
    found: list[Match] = []
    escape = _ANSI_ESCAPE.search(text) if "\x1b" in text else None
    if escape:
        flags.add("control_characters")
        found.append(_match("structure.terminal_escape", 0.5, escape.start(), escape.end()))
    controls = _CONTROL.findall(text) if not text.isprintable() else []
    if controls and not escape:
        flags.add("control_characters")
        first = _CONTROL.search(text)
        assert first is not None
        weight = 0.35 if len(controls) >= 8 else 0.2
        found.append(_match("structure.control_characters", weight, first.start(), first.end()))
    surrogate = None if text.isascii() else _SURROGATE.search(text)
    if surrogate:
        flags.add("invalid_surrogate")
        found.append(_match("structure.invalid_surrogate", 0.15, surrogate.start(), surrogate.end()))
    return found


def _role_marker_signals(main: View, flags: set[str]) -> list[Match]:
    if ":" not in main.text:
        return []
    roles: dict[str, tuple[int, int]] = {}
    if not _ROLE_LINE.search(main.text):
        return _fake_qa_turns(main, flags)
    for marker in _ROLE_LINE.finditer(main.text):
        roles.setdefault(marker.group(1), main.map_span(marker.start(1), marker.end()))
    if not roles:
        return []
    privileged = {"system", "assistant", "developer", "model", "ai"} & roles.keys()
    if not privileged:
        return _fake_qa_turns(main, flags)
    flags.add("role_markers")
    start, end = roles[sorted(privileged)[0]]
    if len(roles) >= 2:
        return [_match("structure.role_dialogue", 0.65, start, end)]
    weight = 0.55 if "system" in privileged or "developer" in privileged else 0.4
    return [_match("structure.role_marker", weight, start, end)]


def _fake_qa_turns(main: View, flags: set[str]) -> list[Match]:
    """Three or more alternating Q:/A: turns: a few-shot dialogue planted in a field."""
    if "q" not in main.text:
        return []
    turns = [m.group(1)[0] for m in _QA_TURN.finditer(main.text)]
    switches = sum(1 for a, b in itertools.pairwise(turns) if a != b)
    if len(turns) >= 3 and switches >= 2:
        flags.add("role_markers")
        return [_match("structure.fake_qa_turns", 0.3, 0, 0)]
    return []


def _formatting_signals(text: str, main: View, flags: set[str]) -> list[Match]:
    found: list[Match] = []
    comment = _HTML_COMMENT.search(text) if "<!--" in text else None
    if comment and sum(c.isalpha() for c in comment.group(1)) >= 10:
        flags.add("html_comment")
        found.append(_match("structure.html_comment", 0.3, comment.start(), comment.end()))
    hidden = _HIDDEN_CSS.search(main.text) if ":" in main.text else None
    if hidden:
        flags.add("hidden_text")
        start, end = main.map_span(hidden.start(), hidden.end())
        found.append(_match("structure.hidden_text", 0.4, start, end))
    if text.count("```") >= 6:
        found.append(_match("structure.many_code_fences", 0.15, 0, 0))
    if text.count("#") >= 5 and len(_HEADING.findall(text)) >= 5:
        found.append(_match("structure.many_headings", 0.15, 0, 0))
    return found


def _repetition_signals(main: View, field: str | None, flags: set[str]) -> list[Match]:
    found: list[Match] = []
    tokens = main.text.split()
    if len(tokens) >= 20 and len(set(tokens)) * 10 <= 7 * len(tokens):
        token, count = Counter(tokens).most_common(1)[0]
        if count >= 12 and count * 10 >= 3 * len(tokens) and any(c.isalnum() for c in token):
            flags.add("repetition")
            found.append(_match("structure.repetition", 0.35, 0, 0))
    if field is not None and field.lower() in _NAME_FIELDS and len(tokens) > 12:
        found.append(_match("structure.prose_in_name_field", 0.3, 0, 0))
    return found


def analyse(text: str, main: View, *, field: str | None = None) -> tuple[list[Match], set[str]]:
    """Structural matches and flags of ``text`` (already truncated) and its main view."""
    flags: set[str] = set()
    plain = text.isascii()
    matches = [] if plain else _unicode_signals(text, main, flags)
    if not plain and _TAG.search(text):
        for payload in tag_payloads(text):
            # Invisible ASCII has no legitimate use outside a flag emoji: enough to block.
            flags.add("tag_characters")
            matches.append(_match("structure.tag_characters", 0.7, payload.start, payload.end))
            break
    matches += _control_signals(text, flags)
    matches += _role_marker_signals(main, flags)
    matches += _formatting_signals(text, main, flags)
    matches += _repetition_signals(main, field, flags)
    return matches, flags
