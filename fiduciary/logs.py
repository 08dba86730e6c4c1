"""Logging for every process: to stderr, never stdout, and never with secrets or personal data.

Third-party libraries print what they carry at DEBUG: the MCP SDK the messages it moves (clear
counterparties, purposes an agent wrote), HTTP clients the requests they send. So DEBUG is
fiduciary's own: below INFO, only `fiduciary.*` loggers reach the handler, whatever level is
asked for. Our own log lines name ids and references, never tokens, keys, counterparties or
free text an agent wrote.
"""

from __future__ import annotations

import logging
import sys

OURS = "fiduciary"


class _OwnDebugOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.INFO or record.name == OURS or record.name.startswith(OURS + ".")


def configure(level: str) -> None:
    """Send logs to stderr at `level`; below INFO only fiduciary's own records pass."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_OwnDebugOnly())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
