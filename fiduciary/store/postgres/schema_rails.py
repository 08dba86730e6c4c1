"""Migrations 0006 to 0010: reconciliation flags, rail references, rail kill switches, the rail a
caller names, fundings.

See `fiduciary.store.postgres.schema` for the order they apply in and how they translate SQLite.
"""

from __future__ import annotations

from typing import Final

RAILS: Final = """
CREATE TABLE reconciliation_flags (
    flag_id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    org_id          TEXT COLLATE "C" NOT NULL REFERENCES orgs(org_id),
    rail            TEXT COLLATE "C" NOT NULL,
    kind            TEXT COLLATE "C" NOT NULL CHECK (kind IN ('answer_mismatch', 'missing_receipt', 'orphan_receipt',
                                                  'amount_mismatch', 'currency_mismatch', 'duplicate_receipt')),
    transaction_id  TEXT COLLATE "C",
    rail_reference  TEXT COLLATE "C",
    detail          TEXT COLLATE "C" NOT NULL,
    raised_at       TEXT COLLATE "C" NOT NULL,
    resolved_by     TEXT COLLATE "C",
    resolved_at     TEXT COLLATE "C",
    note            TEXT COLLATE "C",
    CHECK ((resolved_at IS NULL) = (resolved_by IS NULL) AND (resolved_at IS NULL) = (note IS NULL))
);
CREATE UNIQUE INDEX reconciliation_flags_one_open
    ON reconciliation_flags(kind, rail, COALESCE(transaction_id, ''), COALESCE(rail_reference, ''))
    WHERE resolved_at IS NULL;
CREATE INDEX reconciliation_flags_open ON reconciliation_flags(raised_at) WHERE resolved_at IS NULL;
CREATE INDEX transactions_by_rail ON transactions(rail, updated_at) WHERE rail IS NOT NULL;
"""
"""Reconciliation flags: what a rail's receipts and the ledger disagree on, raised by the engine and
resolved only by an operator (one open flag per finding)."""

RAIL_REFERENCES: Final = """
CREATE INDEX transactions_by_rail_reference ON transactions(rail, rail_reference) WHERE rail_reference IS NOT NULL;
"""
"""Finding the transaction a rail's reference already belongs to, at constant cost."""

RAIL_FREEZE: Final = """
ALTER TABLE kill_switches
    DROP CONSTRAINT kill_switches_scope_check,
    ADD CONSTRAINT kill_switches_scope_check CHECK (scope IN ('agent', 'project', 'org', 'platform', 'rail'));
CREATE INDEX kill_switches_rail ON kill_switches(target) WHERE lifted_at IS NULL AND scope = 'rail';
"""
"""Kill switches that freeze one rail: nothing more is sent to it until it is lifted."""

REQUESTED_RAIL: Final = """
ALTER TABLE transactions ADD COLUMN requested_rail TEXT COLLATE "C";
"""
"""The rail a caller named (part of the arguments an approval and an idempotency key bind to)."""

FUNDINGS: Final = """
CREATE TABLE fundings (
    funding_id      TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    org_id          TEXT COLLATE "C" NOT NULL,
    project_id      TEXT COLLATE "C" NOT NULL,
    agent_id        TEXT COLLATE "C" NOT NULL,
    rail            TEXT COLLATE "C" NOT NULL,
    counterparty    TEXT COLLATE "C" NOT NULL,
    amount_minor    BIGINT NOT NULL CHECK (amount_minor > 0),
    currency        TEXT COLLATE "C" NOT NULL,
    state           TEXT COLLATE "C" NOT NULL CHECK (state IN ('pending', 'credited', 'failed', 'unknown')),
    rail_reference  TEXT COLLATE "C",
    created_by      TEXT COLLATE "C" NOT NULL,
    created_at      TEXT COLLATE "C" NOT NULL,
    updated_at      TEXT COLLATE "C" NOT NULL,
    FOREIGN KEY (org_id, project_id, agent_id) REFERENCES agents(org_id, project_id, agent_id)
);
CREATE INDEX fundings_unsettled ON fundings(updated_at) WHERE state IN ('pending', 'unknown');
"""
"""Wallet funding collected through a rail: credited only when the rail confirms the collection."""
