"""Counterparties: parsed once at the edge into a typed identifier with one canonical form.

Every comparison (deny lists, allow lists, mandate constraints, new-payee checks, idempotency
arguments) uses the canonical form, never the text as typed. The canonical form is
`kind:value`:

- `iban`: `iban:DE89 3704 ...` or a bare IBAN; upper case, no spaces, mod-97 checked.
- `pix`: `pix:KEY`, or a bare e-mail, `+` phone, CPF, CNPJ or UUID; e-mail lower case, phone
  E.164, CPF/CNPJ as digits with their check digits verified, random keys lower case.
- `brcode`: `brcode:000201...` or a bare BR Code; the payload with its CRC16 verified. It also
  matches the Pix key it carries.
- `evm`: `evm:0x...` or a bare `0x` address; EIP-55 checksummed, and a mixed-case address must
  carry a valid checksum.
- `card`: `card:tok_...` or a bare `tok_`/`pm_`/`card_` token; as given (tokens are case-sensitive).
- `acct`, `cus`: `acct:ID`, `cus:ID`; the id in lower case.

Text is NFKC-normalised first (a fullwidth letter is its ASCII letter). Invisible, bidi and
control characters, surrounding space, and any character that is not ASCII after normalisation
(a Cyrillic look-alike inside `acct:casino`) are refused with `invalid_counterparty`, never
silently stripped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from Crypto.Hash import keccak  # Keccak-256 for EIP-55; hashlib's sha3_256 pads differently

from fiduciary.domain import limits
from fiduciary.domain.codes import Code
from fiduciary.domain.errors import InputError


class Kind(StrEnum):
    IBAN = "iban"
    PIX = "pix"
    BR_CODE = "brcode"
    EVM = "evm"
    CARD = "card"
    ACCOUNT = "acct"
    CUSTOMER = "cus"


@dataclass(frozen=True, slots=True)
class CounterpartyId:
    """A parsed payee or payer. `canonical` is what every comparison uses."""

    kind: Kind
    value: str
    pix_key: str | None = None
    """For a BR Code: the canonical Pix key it carries (`pix:...`), if it names one."""

    @property
    def canonical(self) -> str:
        return f"{self.kind}:{self.value}"

    def match_keys(self) -> frozenset[str]:
        """The canonical forms this counterparty answers to in a list: itself, and a BR Code's Pix key."""
        keys = {self.canonical}
        if self.pix_key is not None:
            keys.add(self.pix_key)
        return frozenset(keys)


_HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
_EMAIL_RE = re.compile(r"[a-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9-]{1,63})+")
_PHONE_RE = re.compile(r"\+[1-9][0-9]{7,14}")
_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_IBAN_RE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
_EVM_RE = re.compile(r"0x[0-9a-fA-F]{40}")
_CARD_RE = re.compile(r"(?:tok|pm|card)_[A-Za-z0-9][A-Za-z0-9_]{5,63}")
_ACCOUNT_RE = re.compile(r"[a-z0-9][a-z0-9._:-]{0,119}")
_PHONE_SEPARATORS = str.maketrans("", "", " -().")
_CPF_CNPJ_SEPARATORS = str.maketrans("", "", ".-/ ")


def invalid(reason: str) -> InputError:
    """The refusal; `reason` is one of this module's fixed sentences and never echoes the input."""
    return InputError(Code.INVALID_COUNTERPARTY, f"counterparty: {reason}")


def parse_counterparty(text: str) -> CounterpartyId:
    """Parse an identifier as written into its typed, canonical form; raises `InputError`."""
    return _parse(text)


def canonical(text: str) -> str:
    """The canonical form of `text`; raises `InputError(invalid_counterparty)`."""
    return _parse(text).canonical


def match_keys(text: str) -> frozenset[str]:
    """The canonical forms `text` answers to in a list; nothing for text that is not an identifier."""
    try:
        return _parse(text).match_keys()
    except InputError:
        return frozenset()


def listed(entries: tuple[str, ...] | frozenset[str], text: str) -> bool:
    """Whether counterparty `text` is one of `entries`, comparing canonical forms only."""
    keys = match_keys(text)
    return any(keys & match_keys(entry) for entry in entries)


@lru_cache(maxsize=4096)
def _parse(text: str) -> CounterpartyId:
    if not isinstance(text, str) or not text:
        raise invalid("it is empty")
    if len(text) > limits.counterparty_chars_max:
        raise invalid(f"it is longer than {limits.counterparty_chars_max} characters")
    if any(unicodedata.category(char) in _HIDDEN for char in text):
        raise invalid("invisible, bidi and control characters are not allowed")
    if text != text.strip():
        raise invalid("surrounding space is not allowed")
    norm = unicodedata.normalize("NFKC", text)
    if not norm.isascii():
        raise invalid("only ASCII identifiers are accepted (look-alike letters from other scripts are refused)")
    scheme, sep, rest = norm.partition(":")
    if sep and scheme.lower() in {k.value for k in Kind}:
        return _typed(Kind(scheme.lower()), rest)
    if sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]{0,15}", scheme) and not norm.startswith("000201"):
        raise invalid(f"unknown kind of identifier; use one of {', '.join(k.value + ':' for k in Kind)}")
    return _bare(norm)


def _typed(kind: Kind, rest: str) -> CounterpartyId:
    parsers: dict[Kind, Callable[[str], CounterpartyId]] = {
        Kind.IBAN: _iban,
        Kind.PIX: _pix,
        Kind.BR_CODE: _brcode,
        Kind.EVM: _evm,
        Kind.CARD: _card,
        Kind.ACCOUNT: lambda v: _account(Kind.ACCOUNT, v),
        Kind.CUSTOMER: lambda v: _account(Kind.CUSTOMER, v),
    }
    return parsers[kind](rest)


def _bare(text: str) -> CounterpartyId:
    """An identifier written without its kind: recognised by its shape, then checked like any other."""
    if text.startswith("000201"):
        return _brcode(text)
    if text[:2].lower() == "0x":
        return _evm(text)
    if _CARD_RE.fullmatch(text):
        return _card(text)
    if "@" in text:
        return _pix(text)
    compact = text.replace(" ", "").upper()
    if _IBAN_RE.fullmatch(compact):
        return _iban(text)
    if text.startswith("+") or _UUID_RE.fullmatch(text.lower()) or text.translate(_CPF_CNPJ_SEPARATORS).isdigit():
        return _pix(text)
    raise invalid("not a known kind of identifier; write it as kind:value, e.g. acct:ID, iban:..., pix:KEY")


def _iban(text: str) -> CounterpartyId:
    compact = text.replace(" ", "").upper()
    if not _IBAN_RE.fullmatch(compact):
        raise invalid("an IBAN is a country code, two check digits and 11-30 letters or digits")
    rearranged = compact[4:] + compact[:4]
    number = int("".join(str(int(char, 36)) for char in rearranged))
    if number % 97 != 1:
        raise invalid("the IBAN fails its mod-97 check")
    return CounterpartyId(Kind.IBAN, compact)


def _pix(text: str) -> CounterpartyId:
    return CounterpartyId(Kind.PIX, pix_key(text))


def pix_key(text: str) -> str:
    """A Pix key in canonical form: e-mail, E.164 phone, CPF, CNPJ or random key (UUID)."""
    if "@" in text:
        email = text.lower()
        if len(email) > 77 or not _EMAIL_RE.fullmatch(email):
            raise invalid("not a valid e-mail Pix key")
        return email
    if text.startswith("+"):
        phone = text.translate(_PHONE_SEPARATORS)
        if not _PHONE_RE.fullmatch(phone):
            raise invalid("a phone Pix key is + and 8-15 digits (E.164)")
        return phone
    if _UUID_RE.fullmatch(text.lower()):
        return text.lower()
    digits = text.translate(_CPF_CNPJ_SEPARATORS)
    if digits.isdigit() and len(digits) == 11:
        if not _cpf_ok(digits):
            raise invalid("the CPF fails its check digits")
        return digits
    if digits.isdigit() and len(digits) == 14:
        if not _cnpj_ok(digits):
            raise invalid("the CNPJ fails its check digits")
        return digits
    raise invalid("not a Pix key: an e-mail, a +phone, a CPF, a CNPJ or a random key")


def _cpf_ok(digits: str) -> bool:
    if len(set(digits)) == 1:
        return False
    nums = [int(d) for d in digits]
    for size in (9, 10):
        total = sum(n * (size + 1 - i) for i, n in enumerate(nums[:size]))
        if (total * 10 % 11) % 10 != nums[size]:
            return False
    return True


def _cnpj_ok(digits: str) -> bool:
    if len(set(digits)) == 1:
        return False
    nums = [int(d) for d in digits]
    weights = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]
    for size, w in ((12, weights), (13, [6, *weights])):
        remainder = sum(n * k for n, k in zip(nums[:size], w, strict=True)) % 11
        if (0 if remainder < 2 else 11 - remainder) != nums[size]:
            return False
    return True


def crc16_ccitt(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (polynomial 0x1021, initial 0xFFFF), as the BR Code (EMV QR) uses."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def _tlv(payload: str) -> list[tuple[str, str]]:
    fields, at = [], 0
    while at < len(payload):
        tag, size = payload[at : at + 2], payload[at + 2 : at + 4]
        if len(tag) < 2 or not size.isdigit():
            raise invalid("the BR Code is not a valid EMV payload")
        end = at + 4 + int(size)
        if end > len(payload):
            raise invalid("the BR Code is not a valid EMV payload")
        fields.append((tag, payload[at + 4 : end]))
        at = end
    return fields


def _brcode(text: str) -> CounterpartyId:
    if not text.startswith("000201") or len(text) < 12 or text[-8:-4] != "6304":
        raise invalid("a BR Code starts with 000201 and ends with its CRC (6304....)")
    body, crc = text[:-4], text[-4:].upper()
    if f"{crc16_ccitt(body.encode('ascii')):04X}" != crc:
        raise invalid("the BR Code fails its CRC")
    key = None
    for tag, value in _tlv(text):
        if "26" <= tag <= "51":
            inner = dict(_tlv(value))
            if inner.get("00", "").lower() == "br.gov.bcb.pix" and "01" in inner:
                key = f"{Kind.PIX}:{pix_key(inner['01'])}"
    return CounterpartyId(Kind.BR_CODE, body + crc, pix_key=key)


def eip55(address: str) -> str:
    """The EIP-55 mixed-case checksum form of a 20-byte hex address."""
    lower = address[2:].lower()
    digest = keccak.new(digest_bits=256, data=lower.encode("ascii")).hexdigest()
    return "0x" + "".join(c.upper() if int(digest[i], 16) >= 8 else c for i, c in enumerate(lower))


def _evm(text: str) -> CounterpartyId:
    if not _EVM_RE.fullmatch(text):
        raise invalid("an address is 0x and 40 hex digits")
    checksummed = eip55(text)
    hex_part = text[2:]
    if hex_part != hex_part.lower() and hex_part != hex_part.upper() and text != checksummed:
        raise invalid("the address fails its EIP-55 checksum")
    return CounterpartyId(Kind.EVM, checksummed)


def _card(text: str) -> CounterpartyId:
    if not _CARD_RE.fullmatch(text):
        raise invalid("a card token is tok_, pm_ or card_ and 6-64 letters, digits or _")
    return CounterpartyId(Kind.CARD, text)


def _account(kind: Kind, text: str) -> CounterpartyId:
    value = text.lower()
    if not _ACCOUNT_RE.fullmatch(value):
        raise invalid(f"a {kind}: id is 1-120 letters, digits or . _ : - (starting with a letter or a digit)")
    return CounterpartyId(kind, value)
