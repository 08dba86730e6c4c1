"""What a command prints: the same content as JSON (`--json`) or as text, and its exit code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fiduciary.domain.errors import InputError
from fiduciary.terminal import table

OK, REFUSED, USAGE = 0, 1, 2
"""Exit codes, used the same way by every command: done; refused, denied or broken; a usage error
(argparse's own, or a `UsageError`)."""


class UsageError(InputError):
    """Input a command refuses as argparse refuses a bad flag (exit 2), where 1 means something else:
    `audit replay` exits 1 for differences found, so a bad `--to` or `--org` is 2."""


@dataclass(frozen=True, slots=True)
class Printed:
    data: Any
    text: str
    code: int = OK


def listing(items: list[dict[str, Any]], columns: list[tuple[str, str]], *, key: str, empty: str) -> Printed:
    """A list as a JSON object `{key: [...]}` or a table of the chosen columns."""
    if not items:
        return Printed({key: []}, empty)
    rows = [[item.get(field_name) for field_name, _ in columns] for item in items]
    return Printed({key: items}, table(rows, [header for _, header in columns]))


def record(item: dict[str, Any], *, title: str | None = None) -> Printed:
    """One object as JSON, or as `field  value` lines."""
    rows = [(name, _flat(value)) for name, value in item.items() if not isinstance(value, dict)]
    text = table(rows, ["field", "value"])
    nested = [(name, value) for name, value in item.items() if isinstance(value, dict)]
    for name, value in nested:
        text += f"\n\n{name}:\n" + table([(k, _flat(v)) for k, v in value.items()], ["field", "value"])
    return Printed(item, (title + "\n" if title else "") + text)


def _flat(value: object) -> object:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return value
