"""RFC 8785 (JCS) canonical JSON for the values fiduciary hashes and signs.

Only `None`, `bool`, `int`, `str`, lists and string-keyed dicts are accepted: floats are
refused outright, so a hash never depends on how a number happens to be printed. Integers
must be exact in an IEEE double (|n| < 2**53), as RFC 8785 readers require.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

_INT_LIMIT = 2**53


def _check(value: object, depth: int = 0) -> None:
    if depth > 32:
        raise ValueError("value nests too deeply for canonical JSON")
    if value is None or isinstance(value, bool | str):
        return
    if isinstance(value, bytes | bytearray | float):
        raise ValueError(f"canonical JSON refuses {type(value).__name__}")
    if isinstance(value, int):
        if abs(value) >= _INT_LIMIT:
            raise ValueError("integer is not exact in canonical JSON")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError("canonical JSON keys are strings")
            _check(item, depth + 1)
        return
    if isinstance(value, Sequence):
        for item in value:
            _check(item, depth + 1)
        return
    raise ValueError(f"canonical JSON refuses {type(value).__name__}")


def _utf16_key(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def _sorted(value: object) -> object:
    if isinstance(value, Mapping):
        return {key: _sorted(value[key]) for key in sorted(value, key=_utf16_key)}
    if isinstance(value, list | tuple):
        return [_sorted(item) for item in value]
    return value


def _plain(value: object, depth: int = 0) -> bool:
    """Whether `value` is made of dicts, lists, tuples and scalars with ASCII keys only, checking
    every value as `_check` does: then `json.dumps(sort_keys=True)` orders keys as RFC 8785 does
    (by UTF-16 code units, which for ASCII is the order of the characters)."""
    if depth > 32:
        raise ValueError("value nests too deeply for canonical JSON")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError("canonical JSON keys are strings")
            if not key.isascii() or not _plain(item, depth + 1):
                return False
        return True
    if isinstance(value, list | tuple):
        return all(_plain(item, depth + 1) for item in value)
    if value is None or isinstance(value, str | bool):
        return True
    if isinstance(value, int) and not isinstance(value, float):
        if abs(value) >= _INT_LIMIT:
            raise ValueError("integer is not exact in canonical JSON")
        return True
    _check(value, depth)  # raises for what canonical JSON refuses
    return False  # another Mapping or Sequence: the general path


def canonical_json(value: object) -> bytes:
    """The RFC 8785 serialisation of `value`, as UTF-8 bytes."""
    if _plain(value):
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    else:
        text = _general(value)
    return text.encode("utf-8")


def _general(value: object) -> str:
    """Any accepted value, keys ordered by their UTF-16 code units."""
    _check(value)
    return json.dumps(_sorted(value), ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def digest(value: object) -> str:
    """SHA-256 of the canonical JSON of `value`, hex."""
    return hashlib.sha256(canonical_json(value)).hexdigest()
