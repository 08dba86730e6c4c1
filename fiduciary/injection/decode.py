"""Find text hidden in encodings and invisible characters, so it can be scanned too.

Each finder returns :class:`Payload` values: the decoded text, how it was hidden, and the
span of the original text that hid it. Only payloads that decode to readable text are
kept (a hash or a tracking number that happens to be valid base64 decodes to noise and is
dropped). The caller bounds how many payloads and how many decoded characters it accepts
and how deep it recurses (``limits.injection_decode_depth_max``).
"""

from __future__ import annotations

import base64
import binascii
import html
import re
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import re2  # type: ignore[import-untyped]

from fiduciary.domain import limits

_BASE64 = re.compile(r"(?<![A-Za-z0-9+/_=-])[A-Za-z0-9+/_-]{16,}={0,2}")
_HEX = re.compile(
    r"(?<![0-9A-Za-z])(?:(?:[0-9A-Fa-f]{2}){8,}"
    r"|(?:[0-9A-Fa-f]{2}[ :,-]){7,}[0-9A-Fa-f]{2}"
    r"|(?:\\x[0-9A-Fa-f]{2}){6,}"
    r"|(?:0x[0-9A-Fa-f]{2}[ ,]*){6,})(?![0-9A-Za-z])"
)
_BASE64_CORE = re2.compile(r"[A-Za-z0-9+/_-]{16,}")
_HEX_CORE = re2.compile(
    r"(?:[0-9A-Fa-f]{2}){8,}|(?:[0-9A-Fa-f]{2}[ :,-]){7,}[0-9A-Fa-f]{2}|(?:\\x[0-9A-Fa-f]{2}){6,}"
    r"|(?:0x[0-9A-Fa-f]{2}[ ,]*){6,}"
)
"""The base64 and hex runs without their boundary checks, in RE2 (one automaton pass): where
they do not occur, neither can a run, so the slower patterns above need not look."""
_BINARY = re.compile(r"(?<![01])(?:[01]{8}[ ]?){6,}")
_PERCENT = re.compile(r"(?:%[0-9A-Fa-f]{2}[^\s%]{0,24}){3,}")
_ENTITIES = re.compile(r"(?:&#(?:\d{2,7}|x[0-9A-Fa-f]{2,6});[^&]{0,8}){4,}")
_UNICODE_ESCAPES = re.compile(r"(?:\\u[0-9A-Fa-f]{4}[^\\]{0,8}){4,}")
_TAG_RUN = re.compile("[\U000e0000-\U000e007f]+")
_RLO_SEGMENT = re.compile("\u202e([^\u202c\u202d\u202e\n]{4,})")
_FLAG_BASE = "\U0001f3f4"


@dataclass(frozen=True, slots=True)
class Payload:
    """Text recovered from an encoded or invisible run of the original text."""

    kind: str
    """base64, hex, binary, percent, entities, unicode_escapes, tags or bidi_reversed."""
    text: str
    start: int
    end: int


def _readable(text: str) -> bool:
    """True when decoded bytes look like prose or an instruction, not binary noise."""
    if len(text) < 6:
        return False
    printable = sum(1 for c in text if c.isprintable() or c in "\n\t")
    letters = sum(1 for c in text if c.isalpha())
    return printable >= 0.95 * len(text) and letters >= 0.5 * len(text) and " " in text.strip()


def _bytes_text(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if _readable(text) else None


def _from_base64(run: str) -> str | None:
    body = run.rstrip("=")
    if len(body) % 4 == 1:
        return None
    padded = body + "=" * (-len(body) % 4)
    alphabet = b"-_" if ("-" in body or "_" in body) else b"+/"
    try:
        data = base64.b64decode(padded, altchars=alphabet, validate=True)
    except (binascii.Error, ValueError):
        return None
    return _bytes_text(data)


def _from_hex(run: str) -> str | None:
    digits = re.sub(r"\\x|0x|[ :,-]", "", run)
    try:
        return _bytes_text(bytes.fromhex(digits))
    except ValueError:
        return None


def _from_binary(run: str) -> str | None:
    bits = run.replace(" ", "")
    data = bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits) - 7, 8))
    return _bytes_text(data)


def _from_percent(run: str) -> str | None:
    text = urllib.parse.unquote(run, errors="strict") if "%" in run else run
    text = text.replace("+", " ")
    return text if _readable(text) else None


def _from_entities(run: str) -> str | None:
    text = html.unescape(run)
    return text if _readable(text) else None


def _from_unicode_escapes(run: str) -> str | None:
    text = re.sub(r"\\u([0-9A-Fa-f]{4})", lambda m: chr(int(m.group(1), 16)), run)
    return text if _readable(text) else None


def _digits(text: str) -> int:
    return sum(text.count(d) for d in "0123456789")


def _may_hold(core: Any, text: str) -> bool:
    """Whether `core` occurs in `text` (True when RE2 cannot read it: a lone surrogate)."""
    try:
        return core.search(text) is not None
    except UnicodeEncodeError:
        return True


# Each finder: kind, a cheap test that the text could hold such a run (plain substring
# counts run at C speed; the regexes would scan every text), the run pattern, the decoder.
_FINDERS: tuple[tuple[str, Callable[[str], bool], re.Pattern[str], Callable[[str], str | None]], ...] = (
    ("base64", lambda t: len(t) >= 16 and _may_hold(_BASE64_CORE, t), _BASE64, _from_base64),
    ("hex", lambda t: _digits(t) >= 6 and _may_hold(_HEX_CORE, t), _HEX, _from_hex),
    ("binary", lambda t: t.count("0") + t.count("1") >= 48, _BINARY, _from_binary),
    ("percent", lambda t: t.count("%") >= 3, _PERCENT, _from_percent),
    ("entities", lambda t: t.count("&#") >= 4, _ENTITIES, _from_entities),
    ("unicode_escapes", lambda t: t.count("\\u") >= 4, _UNICODE_ESCAPES, _from_unicode_escapes),
)


def tag_payloads(text: str) -> Iterator[Payload]:
    """ASCII smuggled in Unicode tag characters (U+E0020..U+E007E).

    Tag characters are invisible. Their one legitimate use is a subdivision flag emoji
    (a black flag, a few lowercase tags and a cancel tag), which is skipped.
    """
    if text.isascii():
        return
    for run in _TAG_RUN.finditer(text):
        start = run.start()
        chars = run.group()
        if start > 0 and text[start - 1] == _FLAG_BASE and len(chars) <= 8 and chars.endswith("\U000e007f"):
            continue
        decoded = "".join(chr(ord(c) - 0xE0000) for c in chars if 0xE0020 <= ord(c) <= 0xE007E)
        if decoded.strip():
            yield Payload("tags", decoded, start, run.end())


def reversed_payloads(text: str) -> Iterator[Payload]:
    """Text after a right-to-left override, which displays reversed: read it as shown."""
    if "\u202e" not in text:
        return
    for segment in _RLO_SEGMENT.finditer(text):
        yield Payload("bidi_reversed", segment.group(1)[::-1], segment.start(), segment.end())


def encoded_payloads(text: str) -> Iterator[Payload]:
    """Readable text hidden in base64, hex, binary, percent, entity or escape runs."""
    runs_seen = 0
    for kind, possible, pattern, decoder in _FINDERS:
        if not possible(text):
            continue
        for run in pattern.finditer(text):
            runs_seen += 1
            if runs_seen > limits.injection_decode_runs_max:
                return
            start = _token_start(text, run.start()) if kind == "percent" else run.start()
            candidate = text[start : run.end()][: limits.injection_decoded_chars_max * 4]
            decoded = decoder(candidate)
            if decoded is not None:
                yield Payload(kind, decoded, start, run.end())


def _token_start(text: str, start: int) -> int:
    """Widen a percent-escaped run to the start of its word ("ref=ignore%20the...")."""
    floor = max(0, start - 64)
    while start > floor and not text[start - 1].isspace():
        start -= 1
    return start


_MORSE_RUN = re.compile(r"(?:[.\-]{1,6}[ /]{1,3}){4,}[.\-]{1,6}")
_MORSE: dict[str, str] = {
    ".-": "a", "-...": "b", "-.-.": "c", "-..": "d", ".": "e", "..-.": "f", "--.": "g", "....": "h",
    "..": "i", ".---": "j", "-.-": "k", ".-..": "l", "--": "m", "-.": "n", "---": "o", ".--.": "p",
    "--.-": "q", ".-.": "r", "...": "s", "-": "t", "..-": "u", "...-": "v", ".--": "w", "-..-": "x",
    "-.--": "y", "--..": "z", "-----": "0", ".----": "1", "..---": "2", "...--": "3", "....-": "4",
    ".....": "5", "-....": "6", "--...": "7", "---..": "8", "----.": "9",
}  # fmt: skip
_CIPHER_HINT = re.compile(
    r"\b(?:rot-?13|rot 13|caesar|cifra de cesar|cesar|shift(?:ed)? (?:of |by )?(\d{1,2}))\b", re.I
)
_QUOTED = re.compile("['\"\u201c\u2018]([^'\"\u201d\u2019\n]{12,2000})['\"\u201d\u2019]")


def _from_morse(run: str) -> str | None:
    words = []
    for word in re.split(r"\s*/\s*|\s{3,}", run.strip()):
        letters = [_MORSE.get(code) for code in word.split()]
        if not letters or None in letters:
            return None
        words.append("".join(letter for letter in letters if letter))
    text = " ".join(words)
    return text if _readable(text) else None


def _shift(text: str, by: int) -> str:
    def move(c: str) -> str:
        if "a" <= c <= "z":
            return chr((ord(c) - 97 - by) % 26 + 97)
        if "A" <= c <= "Z":
            return chr((ord(c) - 65 - by) % 26 + 65)
        return c

    return "".join(move(c) for c in text)


def cipher_payloads(text: str) -> Iterator[Payload]:
    """Morse runs, and quoted text when the text itself names ROT13 or a Caesar shift.

    Shifted text is only tried when the text says which cipher it uses, because shifting
    every text 25 ways would cost more than all the rules together.
    """
    if text.count(".") + text.count("-") >= 12:
        for run in _MORSE_RUN.finditer(text):
            decoded = _from_morse(run.group())
            if decoded is not None:
                yield Payload("morse", decoded, run.start(), run.end())
    if not any(k in text for k in ("rot", "ROT", "Rot", "esar", "ESAR", "hift")):
        return
    hint = _CIPHER_HINT.search(text)
    if hint is None:
        return
    shift = int(hint.group(1)) % 26 if hint.group(1) else (13 if "rot" in hint.group().lower() else 3)
    for quoted in _QUOTED.finditer(text):
        yield Payload("shift_cipher", _shift(quoted.group(1), shift), quoted.start(1), quoted.end(1))
