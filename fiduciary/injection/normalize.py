"""Bounded normalisation of untrusted text into views the rules can match.

A *view* is a folded copy of the text plus an offset map back into the original, so a rule
that matches a view can report where in the original text it matched. The views are:

- ``main``: NFKC, case folding, diacritics removed ("instruções" -> "instrucoes"), curly
  quotes and dashes made plain, zero-width, bidi, tag, variation-selector and control
  characters removed, and Cyrillic/Greek look-alike letters folded to Latin inside words
  that mix scripts ("Ign\u043ere" with a Cyrillic "o").
- ``leet``: the main view with leetspeak folded inside words that mix letters and digits
  ("1gn0re" -> "ignore"). Built only when such a word exists.
- ``despaced``: the main view with spaced-out letters joined ("i g n o r e" -> "ignore").
  Built only when such a run exists.

Decoded payloads (base64, hex, percent escapes, tag characters...) are separate views
built by :mod:`fiduciary.injection.decode`; they map every span to the encoded run.

Every step is linear in the length of the text, which the caller has already truncated
to ``limits.injection_text_chars_max``.
"""

# ruff: noqa: RUF001  (the look-alike table below is made of look-alike letters on purpose)
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import re2  # type: ignore[import-untyped]

# Characters that render as nothing (or only steer rendering) and so can hide text from a
# reviewer while a model still reads it. They are removed for matching; structure.py
# decides which of them are suspicious.
ZERO_WIDTH = frozenset(
    "\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\u180e\u00ad\u034f\u115f\u1160\u3164\uffa0\u17b4\u17b5"
)
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
BIDI_MARKS = frozenset("\u200e\u200f\u061c")
KEPT_CONTROLS = frozenset("\t\n\r")

# Look-alike letters, keyed by their case-folded form. Folded only inside words that mix
# scripts, so Russian or Greek prose stays what it is.
CONFUSABLES: dict[str, str] = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "і": "i", "ї": "i", "ј": "j", "к": "k",
    "м": "m", "н": "h", "о": "o", "п": "n", "р": "p", "с": "c", "т": "t", "у": "y",
    "х": "x", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ү": "y", "ӏ": "l",
    "ɡ": "g",
    # Greek
    "α": "a", "β": "b", "γ": "y", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v",
    "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ς": "s", "μ": "u",
    "ϲ": "c", "ϳ": "j", "ϵ": "e",
    # Latin letters from other blocks that NFKC leaves alone
    "ɑ": "a", "ı": "i", "ɩ": "i", "ȷ": "j", "ʏ": "y",
}  # fmt: skip

_PUNCTUATION: dict[str, str] = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
    "\u2015": "-", "\u2212": "-",
}  # fmt: skip

_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_LEET_TOKEN = re.compile(r"(?<![a-z0-9@$])[a-z0-9@$]*(?:[a-z][013457]|[013457][a-z])[a-z0-9@$]*")
_LEET_HINT = re.compile(r"[a-z][013457]|[013457][a-z]")
_LEET_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789@$")
"""What `_LEET_TOKEN` words are made of."""
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HAS_CONFUSABLE = re.compile("[" + "".join(CONFUSABLES) + "]")
_WORD = re.compile(r"[^\W\d_]+")
_LATIN = re.compile(r"[a-z]")
_SPACED_RUN = re.compile(r"(?<!\w)(?:[^\W\d_](?:[ ._*\-]| {2,4})){3,}[^\W\d_](?!\w)")
_SPACED_HINT = re.compile(r"(?:\b[^\W\d_][ ._*\-]){3}")
_SPACED_HINT_RE2 = re2.compile(_SPACED_HINT.pattern)
_NOT_PLAIN_ASCII = re.compile(r"[^\x00-\x0a\x0c-\x1b\x20-\x7f]")
"""Characters on which ``re`` and RE2 may disagree: anything outside ASCII, \\x0b, \\x1c-\\x1f."""


def plain_ascii(text: str) -> bool:
    """Whether RE2 reads ``text`` as ``re`` does: there ``\\w``, ``\\b``, ``\\s`` and ``\\d`` are
    the same ASCII classes in both (see rules.py)."""
    return _NOT_PLAIN_ASCII.search(text) is None


_CACHE_MAX = 65_536


def _fold_char(ch: str) -> str:
    """Fold one character the way the main view needs it (never raises)."""
    cp = ord(ch)
    if ch in ZERO_WIDTH or ch in BIDI_CONTROLS or ch in BIDI_MARKS:
        return ""
    if 0xE0000 <= cp <= 0xE007F or 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF:
        return ""
    if 0xD800 <= cp <= 0xDFFF:
        return "\ufffd"
    if (cp < 0x20 or 0x7F <= cp < 0xA0) and ch not in KEPT_CONTROLS:
        return ""
    if ch in _PUNCTUATION:
        return _PUNCTUATION[ch]
    folded = unicodedata.normalize("NFKC", ch).casefold()
    decomposed = unicodedata.normalize("NFD", folded)
    if (decomposed and ord(decomposed[0]) < 0x0530) or "\u1e00" <= decomposed[:1] <= "\u1eff":
        # Diacritics come off Latin, Greek and Cyrillic letters (and stray combining
        # accents) only: stripping a kana's voicing mark, a Devanagari virama or
        # decomposing a Hangul syllable would change the word.
        out = "".join(c for c in decomposed if not unicodedata.combining(c))
    else:
        out = folded
    # NFKC can produce characters we map further (e.g. a fullwidth curly quote).
    return "".join(_PUNCTUATION.get(c, c) for c in out)


class _FoldTable(dict[int, str]):
    """A ``str.translate`` table that folds characters lazily and remembers them."""

    def __missing__(self, key: int) -> str:
        folded = _fold_char(chr(key))
        if len(self) < _CACHE_MAX:
            self[key] = folded
        return folded


_TABLE = _FoldTable()


@dataclass(frozen=True, slots=True)
class View:
    """A folded text and, for each of its characters, the index it came from."""

    kind: str
    text: str
    origin: tuple[int, ...] | None = None
    """``origin[i]`` is the index in the original text of ``text[i]``; None means identity."""
    span: tuple[int, int] | None = None
    """For decoded payloads: every match maps to this span of the original text."""
    mixed_words: int = 0
    """Words in which look-alike letters from another script were folded to Latin."""

    def map_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a span of this view back to the original text."""
        if self.span is not None:
            return self.span
        if self.origin is None:
            return (start, end)
        if not self.origin:
            return (0, 0)
        last = len(self.origin) - 1
        first = self.origin[min(start, last)]
        final = self.origin[min(max(end - 1, start), last)] + 1
        return (first, max(first, final))


def fold(text: str) -> View:
    """The main view of ``text``."""
    if text.isascii() and not _ASCII_CONTROL.search(text):
        return View("main", text.lower())
    if all(len(_TABLE[ord(c)]) == 1 for c in set(text)):
        # Every character folds to exactly one, so offsets are the identity.
        folded, mixed = _fold_confusables(text.translate(_TABLE))
        return View("main", folded, mixed_words=mixed)
    chars: list[str] = []
    origin: list[int] = []
    for index, ch in enumerate(text):
        out = _TABLE[ord(ch)]
        chars.append(out)
        origin.extend([index] * len(out))
    folded, mixed = _fold_confusables("".join(chars))
    return View("main", folded, tuple(origin), mixed_words=mixed)


def _fold_confusables(text: str) -> tuple[str, int]:
    """Fold look-alike letters in words that mix scripts, and count those words.

    A word made only of look-alikes (Cyrillic "\u0430\u0455") is folded too when the text is
    mostly Latin; Russian or Greek prose stays what it is.
    """
    if not _HAS_CONFUSABLE.search(text):
        return text, 0
    mostly_latin = len(_LATIN.findall(text)) * 2 > len(text)
    mixed = 0

    def repl(match: re.Match[str]) -> str:
        nonlocal mixed
        word = match.group()
        if not _HAS_CONFUSABLE.search(word):
            return word
        has_latin = bool(_LATIN.search(word))
        if has_latin or (mostly_latin and all(c in CONFUSABLES for c in word)):
            mixed += has_latin
            return "".join(CONFUSABLES.get(c, c) for c in word)
        return word

    return _WORD.sub(repl, text), mixed


def leet_view(main: View) -> View | None:
    """The main view with leetspeak folded inside mixed letter/digit words, if any."""
    source = main.text
    pieces: list[str] = []
    cursor = 0
    for start, end in _leet_words(source):
        token = source[start:end]
        folded = token.translate(_LEET)
        # Only a word that becomes all letters is leetspeak: "h1", "q3" or a tracking number stay.
        pieces += [source[cursor:start], folded if len(token) >= 3 and folded.isalpha() else token]
        cursor = end
    text = "".join(pieces) + source[cursor:]
    if text == source:
        return None
    return View("leet", text, main.origin)


def _leet_words(text: str) -> list[tuple[int, int]]:
    """The spans `_LEET_TOKEN` matches: each whole run of `_LEET_CHARS` that holds a letter beside
    a leet digit, found from those pairs alone (they are rare) rather than by trying every place."""
    spans: list[tuple[int, int]] = []
    for hint in _LEET_HINT.finditer(text):
        if spans and hint.start() < spans[-1][1]:
            continue  # another pair in the word already found
        start, end = hint.start(), hint.end()
        while start > 0 and text[start - 1] in _LEET_CHARS:
            start -= 1
        while end < len(text) and text[end] in _LEET_CHARS:
            end += 1
        spans.append((start, end))
    return spans


def despaced_view(main: View) -> View | None:
    """The main view with runs of spaced-out letters joined into words, if any."""
    hint = _SPACED_HINT_RE2 if plain_ascii(main.text) else _SPACED_HINT
    if " " not in main.text or not hint.search(main.text):
        return None
    runs = list(_SPACED_RUN.finditer(main.text))
    if not runs:
        return None
    source = main.text
    chars: list[str] = []
    origin: list[int] = []

    def keep(start: int, end: int) -> None:
        chars.append(source[start:end])
        for i in range(start, end):
            origin.append(main.origin[i] if main.origin is not None else i)

    cursor = 0
    for run in runs:
        keep(cursor, run.start())
        i = run.start()
        while i < run.end():
            ch = source[i]
            if ch.isalpha():
                keep(i, i + 1)
                i += 1
                continue
            j = i
            while j < run.end() and not source[j].isalpha():
                j += 1
            if source[i:j].count(" ") >= 2:
                # Two or more spaces between letters separate words.
                keep(i, i + 1)
            i = j
        cursor = run.end()
    keep(cursor, len(source))
    return View("despaced", "".join(chars), tuple(origin))
