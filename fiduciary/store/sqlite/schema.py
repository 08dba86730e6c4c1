"""Named, ordered migrations. Invariants live here, in the schema, not only in code.

- Balances can never go negative (`CHECK ... >= 0`).
- A ledger row that holds or debits money must name a closed mandate (`CHECK`), and that
  mandate must exist in the same tenant (composite foreign key).
- Every tenant row points into its own org and project through composite foreign keys.
- The audit chain and the wallet ledger are append-only: triggers abort UPDATE and DELETE.
"""

from __future__ import annotations

from typing import Final

from fiduciary.store.sqlite.schema_core import CONTROL, COUNTERS, INITIAL, OPERATOR_WEB, SCREENING
from fiduciary.store.sqlite.schema_evidence import AUDIT_BYTES, CHECKPOINT_FRONTIER, EVIDENCE, SINKS
from fiduciary.store.sqlite.schema_privacy import ERASURE
from fiduciary.store.sqlite.schema_rails import FUNDINGS, RAIL_FREEZE, RAIL_REFERENCES, RAILS, REQUESTED_RAIL

MIGRATIONS: Final[tuple[tuple[str, str], ...]] = (
    ("0001_initial", INITIAL),
    ("0002_screening", SCREENING),
    ("0003_control", CONTROL),
    ("0004_counters", COUNTERS),
    ("0005_operator_web", OPERATOR_WEB),
    ("0006_rails", RAILS),
    ("0007_rail_references", RAIL_REFERENCES),
    ("0008_rail_freeze", RAIL_FREEZE),
    ("0009_requested_rail", REQUESTED_RAIL),
    ("0010_fundings", FUNDINGS),
    ("0011_audit_bytes", AUDIT_BYTES),
    ("0012_evidence", EVIDENCE),
    ("0013_sinks", SINKS),
    ("0014_checkpoint_frontier", CHECKPOINT_FRONTIER),
    ("0015_erasure", ERASURE),
)
"""(name, SQL) in the order they apply. Append only: never edit a published migration."""
