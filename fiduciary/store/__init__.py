"""Storage: the only package that speaks SQL.

Everything above it depends on the ports (`Store`, `Reads`, `WriteTx`) and the typed rows;
the SQLite adapter lives in `fiduciary.store.sqlite` and only `fiduciary.runtime` builds it.
"""

from fiduciary.domain.records import (
    AgentRow,
    ApprovalRow,
    ClosedMandateRow,
    KillSwitchRow,
    OpenMandateRow,
    OperatorRow,
    PolicyRow,
    TransactionRow,
)
from fiduciary.store.ports import KeyReads, Reads, SignerSource, Store, WriteTx

__all__ = [
    "AgentRow",
    "ApprovalRow",
    "ClosedMandateRow",
    "KeyReads",
    "KillSwitchRow",
    "OpenMandateRow",
    "OperatorRow",
    "PolicyRow",
    "Reads",
    "SignerSource",
    "Store",
    "TransactionRow",
    "WriteTx",
]
