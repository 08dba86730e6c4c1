"""Migrations 0006 to 0010: reconciliation flags, rail references, rail kill switches, the rail a
caller names, fundings.

See `fiduciary.store.sqlite.schema` for the order they apply in.
"""

from __future__ import annotations

from typing import Final

RAILS: Final = """
CREATE TABLE reconciliation_flags (
    flag_id         TEXT NOT NULL PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(org_id),
    rail            TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('answer_mismatch', 'missing_receipt', 'orphan_receipt',
                                                  'amount_mismatch', 'currency_mismatch', 'duplicate_receipt')),
    transaction_id  TEXT,
    rail_reference  TEXT,
    detail          TEXT NOT NULL,
    raised_at       TEXT NOT NULL,
    resolved_by     TEXT,
    resolved_at     TEXT,
    note            TEXT,
    CHECK ((resolved_at IS NULL) = (resolved_by IS NULL) AND (resolved_at IS NULL) = (note IS NULL))
) STRICT;
CREATE UNIQUE INDEX reconciliation_flags_one_open
    ON reconciliation_flags(kind, rail, IFNULL(transaction_id, ''), IFNULL(rail_reference, ''))
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
CREATE TABLE kill_switches_v3 (
    switch_id   TEXT NOT NULL PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs(org_id),
    scope       TEXT NOT NULL CHECK (scope IN ('agent', 'project', 'org', 'platform', 'rail')),
    target      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    pulled_by   TEXT NOT NULL,
    pulled_at   TEXT NOT NULL,
    lifted_by   TEXT,
    lifted_at   TEXT
) STRICT;
INSERT INTO kill_switches_v3 SELECT * FROM kill_switches;
DROP INDEX kill_switches_active;
DROP INDEX kill_switches_platform;
DROP TABLE kill_switches;
ALTER TABLE kill_switches_v3 RENAME TO kill_switches;
CREATE INDEX kill_switches_active ON kill_switches(org_id, target) WHERE lifted_at IS NULL;
CREATE INDEX kill_switches_platform ON kill_switches(scope) WHERE lifted_at IS NULL AND scope = 'platform';
CREATE INDEX kill_switches_rail ON kill_switches(target) WHERE lifted_at IS NULL AND scope = 'rail';
"""
"""Kill switches that freeze one rail: nothing more is sent to it until it is lifted."""

REQUESTED_RAIL: Final = """
ALTER TABLE transactions ADD COLUMN requested_rail TEXT;
"""
"""The rail a caller named (part of the arguments an approval and an idempotency key bind to)."""

FUNDINGS: Final = """
CREATE TABLE fundings (
    funding_id      TEXT NOT NULL PRIMARY KEY,
    org_id          TEXT NOT NULL,
    project_id      TEXT NOT NULL,
    agent_id        TEXT NOT NULL,
    rail            TEXT NOT NULL,
    counterparty    TEXT NOT NULL,
    amount_minor    INTEGER NOT NULL CHECK (amount_minor > 0),
    currency        TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'credited', 'failed', 'unknown')),
    rail_reference  TEXT,
    created_by      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    FOREIGN KEY (org_id, project_id, agent_id) REFERENCES agents(org_id, project_id, agent_id)
) STRICT;
CREATE INDEX fundings_unsettled ON fundings(updated_at) WHERE state IN ('pending', 'unknown');
"""
"""Wallet funding collected through a rail: credited only when the rail confirms the collection."""
