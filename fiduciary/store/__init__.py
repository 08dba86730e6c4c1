"""Storage: the only package that speaks SQL."""

from fiduciary.store.queries import Queries
from fiduciary.store.rows import (
    AgentRow,
    ApprovalRow,
    ClosedMandateRow,
    KillSwitchRow,
    OpenMandateRow,
    PolicyRow,
    TransactionRow,
)
from fiduciary.store.sqlite import SqliteStore
from fiduciary.store.writer import Writer

__all__ = [
    "AgentRow",
    "ApprovalRow",
    "ClosedMandateRow",
    "KillSwitchRow",
    "OpenMandateRow",
    "PolicyRow",
    "Queries",
    "SqliteStore",
    "TransactionRow",
    "Writer",
]
