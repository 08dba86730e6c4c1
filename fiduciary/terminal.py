"""Text for a person's terminal: aligned tables, and agent-written text made harmless.

Agent-controlled text (purpose, counterparty, memo) may carry newlines, escape sequences,
bidi overrides or zero-width characters that would forge or hide a row on an approver's
screen. `escape` shows every such character as a visible `\\xNN` / `\\uNNNN` escape instead.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

_HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}

ERASED = "(erased)"
"""What a table, a page or an alert shows where an erased counterparty was."""


def escape(text: str) -> str:
    """`text` with control, format (bidi, zero-width), surrogate and line-separator characters escaped."""
    out = []
    for char in text:
        if char == "\\":
            out.append("\\\\")
        elif unicodedata.category(char) in _HIDDEN:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(char)
    return "".join(out)


def table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> str:
    """A plain aligned table; every cell is escaped, so no cell can add or hide a line."""
    cells = [[str(h) for h in headers], *[[("" if c is None else escape(str(c))) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for index, row in enumerate(cells):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
