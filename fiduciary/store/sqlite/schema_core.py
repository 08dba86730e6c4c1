"""Migrations 0001 to 0005: tenants, keys, agents, wallets, mandates, transactions, the ledger, the
audit chain; screening; operators and kill switches; durable counters; dashboard sessions and
approval votes.

See `fiduciary.store.sqlite.schema` for the order they apply in.
"""

from __future__ import annotations

from typing import Final

_STATES = (
    "'received','screened','denied','pending_approval','approved','rejected','expired','authorized',"
    "'held','dispatching','settled','failed','released','unknown','rolling_back','rolled_back'"
)

INITIAL: Final = f"""
CREATE TABLE orgs (
    org_id      TEXT NOT NULL PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
) STRICT;

CREATE TABLE projects (
    org_id      TEXT NOT NULL REFERENCES orgs(org_id),
    project_id  TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (org_id, project_id)
) STRICT;

CREATE TABLE org_keys (
    org_id          TEXT NOT NULL REFERENCES orgs(org_id),
    kid             TEXT NOT NULL,
    purpose         TEXT NOT NULL CHECK (purpose IN ('audit', 'mandate')),
    public_key      BLOB NOT NULL CHECK (length(public_key) = 32),
    private_key_enc BLOB NOT NULL,
    created_at      TEXT NOT NULL,
    retired_at      TEXT,
    PRIMARY KEY (org_id, kid)
) STRICT;

CREATE TABLE agents (
    org_id      TEXT NOT NULL,
    project_id  TEXT NOT NULL,
    agent_id    TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (org_id, project_id, agent_id),
    FOREIGN KEY (org_id, project_id) REFERENCES projects(org_id, project_id)
) STRICT;

CREATE TABLE kill_switches (
    switch_id   TEXT NOT NULL PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs(org_id),
    scope       TEXT NOT NULL CHECK (scope IN ('agent', 'project', 'org')),
    target      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    pulled_by   TEXT NOT NULL,
    pulled_at   TEXT NOT NULL,
    lifted_by   TEXT,
    lifted_at   TEXT
) STRICT;
CREATE INDEX kill_switches_active ON kill_switches(org_id, target) WHERE lifted_at IS NULL;

CREATE TABLE wallets (
    org_id          TEXT NOT NULL,
    project_id      TEXT NOT NULL,
    agent_id        TEXT NOT NULL,
    currency        TEXT NOT NULL,
    available_minor INTEGER NOT NULL CHECK (available_minor >= 0),
    held_minor      INTEGER NOT NULL CHECK (held_minor >= 0),
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (org_id, project_id, agent_id, currency),
    FOREIGN KEY (org_id, project_id, agent_id) REFERENCES agents(org_id, project_id, agent_id)
) STRICT;

CREATE TABLE policies (
    org_id        TEXT NOT NULL,
    project_id    TEXT NOT NULL,
    version       INTEGER NOT NULL CHECK (version >= 1),
    version_hash  TEXT NOT NULL,
    source        TEXT NOT NULL,
    applied_by    TEXT NOT NULL,
    applied_at    TEXT NOT NULL,
    PRIMARY KEY (org_id, project_id, version),
    FOREIGN KEY (org_id, project_id) REFERENCES projects(org_id, project_id)
) STRICT;

CREATE TABLE open_mandates (
    org_id          TEXT NOT NULL,
    project_id      TEXT NOT NULL,
    mandate_id      TEXT NOT NULL UNIQUE,
    agent_id        TEXT NOT NULL,
    token           TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
    uses            INTEGER NOT NULL DEFAULT 0 CHECK (uses >= 0),
    used_minor      INTEGER NOT NULL DEFAULT 0 CHECK (used_minor >= 0),
    issued_by       TEXT NOT NULL,
    issued_at       TEXT NOT NULL,
    revoked_by      TEXT,
    revoked_at      TEXT,
    revoked_reason  TEXT,
    PRIMARY KEY (org_id, project_id, mandate_id),
    FOREIGN KEY (org_id, project_id, agent_id) REFERENCES agents(org_id, project_id, agent_id)
) STRICT;

CREATE TABLE transactions (
    org_id                  TEXT NOT NULL,
    project_id              TEXT NOT NULL,
    transaction_id          TEXT NOT NULL UNIQUE,
    agent_id                TEXT NOT NULL,
    tool                    TEXT NOT NULL CHECK (tool IN ('pay', 'charge', 'refund')),
    state                   TEXT NOT NULL CHECK (state IN ({_STATES})),
    code                    TEXT NOT NULL,
    amount_minor            INTEGER NOT NULL CHECK (amount_minor > 0),
    currency                TEXT NOT NULL,
    counterparty            TEXT NOT NULL,
    purpose                 TEXT NOT NULL,
    category                TEXT,
    country                 TEXT,
    memo                    TEXT,
    metadata                TEXT NOT NULL,
    idempotency_key         TEXT NOT NULL,
    args_hash               TEXT NOT NULL,
    reference               TEXT NOT NULL,
    policy_version          TEXT,
    open_mandate_id         TEXT,
    closed_mandate_id       TEXT,
    approval_id             TEXT,
    original_transaction_id TEXT,
    rail                    TEXT,
    rail_reference          TEXT,
    created_at              TEXT NOT NULL,
    updated_at              TEXT NOT NULL,
    PRIMARY KEY (org_id, project_id, transaction_id),
    UNIQUE (org_id, project_id, agent_id, idempotency_key),
    FOREIGN KEY (org_id, project_id, agent_id) REFERENCES agents(org_id, project_id, agent_id),
    FOREIGN KEY (org_id, project_id, open_mandate_id) REFERENCES open_mandates(org_id, project_id, mandate_id),
    FOREIGN KEY (org_id, project_id, original_transaction_id)
        REFERENCES transactions(org_id, project_id, transaction_id)
) STRICT;
CREATE INDEX transactions_by_agent ON transactions(org_id, project_id, agent_id, created_at);
CREATE INDEX transactions_in_flight ON transactions(state)
    WHERE state IN ('authorized', 'held', 'dispatching', 'unknown', 'rolling_back', 'approved');

CREATE TABLE closed_mandates (
    org_id          TEXT NOT NULL,
    project_id      TEXT NOT NULL,
    mandate_id      TEXT NOT NULL UNIQUE,
    transaction_id  TEXT NOT NULL UNIQUE,
    parent_id       TEXT NOT NULL,
    token           TEXT NOT NULL,
    issued_at       TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    used_at         TEXT,
    PRIMARY KEY (org_id, project_id, mandate_id),
    FOREIGN KEY (org_id, project_id, transaction_id) REFERENCES transactions(org_id, project_id, transaction_id)
) STRICT;

CREATE TABLE approvals (
    org_id          TEXT NOT NULL,
    project_id      TEXT NOT NULL,
    approval_id     TEXT NOT NULL UNIQUE,
    transaction_id  TEXT NOT NULL UNIQUE,
    args_hash       TEXT NOT NULL,
    policy_version  TEXT NOT NULL,
    rule_id         TEXT,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'expired')),
    requested_at    TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    decided_by      TEXT,
    decided_at      TEXT,
    reason          TEXT,
    PRIMARY KEY (org_id, project_id, approval_id),
    FOREIGN KEY (org_id, project_id, transaction_id) REFERENCES transactions(org_id, project_id, transaction_id)
) STRICT;

CREATE TABLE ledger (
    entry_id            INTEGER PRIMARY KEY,
    org_id              TEXT NOT NULL,
    project_id          TEXT NOT NULL,
    agent_id            TEXT NOT NULL,
    currency            TEXT NOT NULL,
    kind                TEXT NOT NULL CHECK (kind IN ('fund', 'hold', 'release', 'debit', 'credit')),
    amount_minor        INTEGER NOT NULL CHECK (amount_minor > 0),
    transaction_id      TEXT,
    closed_mandate_id   TEXT,
    created_at          TEXT NOT NULL,
    CHECK (kind NOT IN ('hold', 'debit') OR closed_mandate_id IS NOT NULL),
    FOREIGN KEY (org_id, project_id, agent_id, currency)
        REFERENCES wallets(org_id, project_id, agent_id, currency),
    FOREIGN KEY (org_id, project_id, closed_mandate_id)
        REFERENCES closed_mandates(org_id, project_id, mandate_id),
    FOREIGN KEY (org_id, project_id, transaction_id) REFERENCES transactions(org_id, project_id, transaction_id)
) STRICT;
CREATE TRIGGER ledger_append_only_update BEFORE UPDATE ON ledger
    BEGIN SELECT RAISE(ABORT, 'the wallet ledger is append-only'); END;
CREATE TRIGGER ledger_append_only_delete BEFORE DELETE ON ledger
    BEGIN SELECT RAISE(ABORT, 'the wallet ledger is append-only'); END;

CREATE TABLE audit (
    org_id      TEXT NOT NULL REFERENCES orgs(org_id),
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    project_id  TEXT,
    ts          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    type        TEXT NOT NULL,
    subject     TEXT,
    ref         TEXT,
    payload     TEXT NOT NULL,
    prev_hash   BLOB NOT NULL CHECK (length(prev_hash) = 32),
    entry_hash  BLOB NOT NULL CHECK (length(entry_hash) = 32),
    signature   BLOB NOT NULL,
    kid         TEXT NOT NULL,
    PRIMARY KEY (org_id, seq),
    FOREIGN KEY (org_id, project_id) REFERENCES projects(org_id, project_id)
) STRICT;
CREATE INDEX audit_by_ref ON audit(ref) WHERE ref IS NOT NULL;
CREATE INDEX audit_by_subject ON audit(org_id, subject);
CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit chain is append-only'); END;
CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit chain is append-only'); END;

CREATE TABLE pii (
    org_id      TEXT NOT NULL REFERENCES orgs(org_id),
    commitment  TEXT NOT NULL,
    salt        BLOB NOT NULL,
    value       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (org_id, commitment)
) STRICT;
"""

SCREENING: Final = """
CREATE TABLE injection_configs (
    org_id        TEXT NOT NULL REFERENCES orgs(org_id),
    version       INTEGER NOT NULL CHECK (version >= 1),
    version_hash  TEXT NOT NULL,
    source        TEXT NOT NULL,
    applied_by    TEXT NOT NULL,
    applied_at    TEXT NOT NULL,
    PRIMARY KEY (org_id, version)
) STRICT;

CREATE TABLE taints (
    org_id      TEXT NOT NULL,
    project_id  TEXT NOT NULL,
    agent_id    TEXT NOT NULL,
    taint_id    TEXT NOT NULL UNIQUE,
    source      TEXT NOT NULL,
    reference   TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    cleared_at  TEXT,
    cleared_by  TEXT,
    PRIMARY KEY (org_id, project_id, taint_id),
    FOREIGN KEY (org_id, project_id, agent_id) REFERENCES agents(org_id, project_id, agent_id)
) STRICT;
CREATE INDEX taints_active ON taints(org_id, project_id, agent_id) WHERE cleared_at IS NULL;

ALTER TABLE transactions ADD COLUMN rail_note TEXT;
"""

CONTROL: Final = """
CREATE TABLE operators (
    operator_id TEXT NOT NULL PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL CHECK (role IN ('admin', 'approver', 'auditor')),
    token_hash  TEXT NOT NULL UNIQUE,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT,
    revoked_by  TEXT,
    revoked_at  TEXT
) STRICT;

ALTER TABLE agents ADD COLUMN disabled_by TEXT;
ALTER TABLE agents ADD COLUMN disabled_at TEXT;

CREATE TABLE kill_switches_v2 (
    switch_id   TEXT NOT NULL PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs(org_id),
    scope       TEXT NOT NULL CHECK (scope IN ('agent', 'project', 'org', 'platform')),
    target      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    pulled_by   TEXT NOT NULL,
    pulled_at   TEXT NOT NULL,
    lifted_by   TEXT,
    lifted_at   TEXT
) STRICT;
INSERT INTO kill_switches_v2 SELECT * FROM kill_switches;
DROP INDEX kill_switches_active;
DROP TABLE kill_switches;
ALTER TABLE kill_switches_v2 RENAME TO kill_switches;
CREATE INDEX kill_switches_active ON kill_switches(org_id, target) WHERE lifted_at IS NULL;
CREATE TABLE refusal_windows (
    org_id        TEXT NOT NULL REFERENCES orgs(org_id),
    source        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    window_start  TEXT NOT NULL,
    first_ref     TEXT NOT NULL,
    count         INTEGER NOT NULL CHECK (count >= 1),
    PRIMARY KEY (org_id, source, kind)
) STRICT;

ALTER TABLE transactions ADD COLUMN lease_owner TEXT;
ALTER TABLE transactions ADD COLUMN lease_until TEXT;

CREATE INDEX audit_by_subject_anywhere ON audit(subject) WHERE subject IS NOT NULL;
CREATE INDEX kill_switches_platform ON kill_switches(scope) WHERE lifted_at IS NULL AND scope = 'platform';
"""
"""Operators with roles and hashed tokens, agents that can be disabled, platform-wide kill switches,
repeated unauthenticated refusals counted per source and minute, and leases on in-flight payments."""

COUNTERS: Final = """
CREATE TABLE spend_buckets (
    org_id        TEXT NOT NULL,
    project_id    TEXT NOT NULL,
    agent_id      TEXT NOT NULL,
    tool          TEXT NOT NULL,
    currency      TEXT NOT NULL,
    bucket        TEXT NOT NULL,
    amount_minor  INTEGER NOT NULL CHECK (amount_minor >= 0),
    PRIMARY KEY (org_id, project_id, agent_id, tool, currency, bucket),
    FOREIGN KEY (org_id, project_id, agent_id) REFERENCES agents(org_id, project_id, agent_id)
) STRICT;
CREATE INDEX spend_buckets_by_project ON spend_buckets(org_id, project_id, currency, bucket);

CREATE TABLE call_buckets (
    org_id      TEXT NOT NULL,
    project_id  TEXT NOT NULL,
    agent_id    TEXT NOT NULL,
    tool        TEXT NOT NULL,
    bucket      TEXT NOT NULL,
    calls       INTEGER NOT NULL CHECK (calls >= 0),
    PRIMARY KEY (org_id, project_id, agent_id, tool, bucket),
    FOREIGN KEY (org_id, project_id, agent_id) REFERENCES agents(org_id, project_id, agent_id)
) STRICT;
CREATE INDEX call_buckets_by_project ON call_buckets(org_id, project_id, bucket);

CREATE TABLE payees (
    org_id        TEXT NOT NULL,
    project_id    TEXT NOT NULL,
    agent_id      TEXT NOT NULL,
    counterparty  TEXT NOT NULL,
    payments      INTEGER NOT NULL CHECK (payments >= 0),
    first_paid_at TEXT NOT NULL,
    last_paid_at  TEXT NOT NULL,
    PRIMARY KEY (org_id, project_id, agent_id, counterparty),
    FOREIGN KEY (org_id, project_id, agent_id) REFERENCES agents(org_id, project_id, agent_id)
) STRICT;
CREATE INDEX payees_by_project ON payees(org_id, project_id, counterparty);

CREATE TABLE payee_buckets (
    org_id        TEXT NOT NULL,
    project_id    TEXT NOT NULL,
    agent_id      TEXT NOT NULL,
    counterparty  TEXT NOT NULL,
    tool          TEXT NOT NULL,
    currency      TEXT NOT NULL,
    bucket        TEXT NOT NULL,
    amount_minor  INTEGER NOT NULL CHECK (amount_minor >= 0),
    payments      INTEGER NOT NULL CHECK (payments >= 0),
    PRIMARY KEY (org_id, project_id, agent_id, counterparty, tool, currency, bucket),
    FOREIGN KEY (org_id, project_id, agent_id) REFERENCES agents(org_id, project_id, agent_id)
) STRICT;
CREATE INDEX payee_buckets_by_project ON payee_buckets(org_id, project_id, counterparty, bucket);

CREATE TABLE alert_outbox (
    delivery_id   TEXT NOT NULL PRIMARY KEY,
    alert_id      TEXT NOT NULL,
    org_id        TEXT NOT NULL REFERENCES orgs(org_id),
    url           TEXT NOT NULL,
    body          TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_at       TEXT NOT NULL,
    last_status   INTEGER,
    delivered_at  TEXT,
    failed_at     TEXT
) STRICT;
CREATE INDEX alert_outbox_due ON alert_outbox(next_at) WHERE delivered_at IS NULL AND failed_at IS NULL;

INSERT INTO spend_buckets
    SELECT org_id, project_id, agent_id, tool, currency, substr(created_at, 1, 13) || ':00:00.000000Z',
           SUM(amount_minor)
    FROM transactions
    WHERE state IN ('authorized', 'held', 'dispatching', 'unknown', 'settled', 'rolling_back')
    GROUP BY org_id, project_id, agent_id, tool, currency, substr(created_at, 1, 13);

INSERT INTO payee_buckets
    SELECT org_id, project_id, agent_id, counterparty, tool, currency,
           substr(created_at, 1, 13) || ':00:00.000000Z', SUM(amount_minor), COUNT(*)
    FROM transactions
    WHERE state IN ('authorized', 'held', 'dispatching', 'unknown', 'settled', 'rolling_back')
    GROUP BY org_id, project_id, agent_id, counterparty, tool, currency, substr(created_at, 1, 13);

INSERT INTO payees
    SELECT org_id, project_id, agent_id, counterparty, COUNT(*), MIN(updated_at), MAX(updated_at)
    FROM transactions WHERE state = 'settled' AND tool = 'pay'
    GROUP BY org_id, project_id, agent_id, counterparty;
"""
"""Durable counters a decision reads at constant cost (spending per hour, calls per minute, payees
paid), and the outbox of budget alerts waiting to be delivered."""

OPERATOR_WEB: Final = """
CREATE TABLE operator_sessions (
    session_hash TEXT NOT NULL PRIMARY KEY,
    operator_id  TEXT NOT NULL REFERENCES operators(operator_id),
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL CHECK (expires_at > created_at),
    ended_at     TEXT
) STRICT;
CREATE INDEX operator_sessions_by_operator ON operator_sessions(operator_id) WHERE ended_at IS NULL;

ALTER TABLE approvals ADD COLUMN approvers_required INTEGER NOT NULL DEFAULT 1
    CHECK (approvers_required BETWEEN 1 AND 5);

CREATE TABLE approval_votes (
    approval_id  TEXT NOT NULL REFERENCES approvals(approval_id),
    operator_id  TEXT NOT NULL REFERENCES operators(operator_id),
    voted_at     TEXT NOT NULL,
    PRIMARY KEY (approval_id, operator_id)
) STRICT;
CREATE TRIGGER approval_votes_append_only_update BEFORE UPDATE ON approval_votes
BEGIN SELECT RAISE(ABORT, 'approval_votes is append-only'); END;
CREATE TRIGGER approval_votes_append_only_delete BEFORE DELETE ON approval_votes
BEGIN SELECT RAISE(ABORT, 'approval_votes is append-only'); END;
"""
"""Dashboard sessions (stored only as hashes), and approvals that need several distinct people:
one vote per operator and approval, enforced by the primary key."""
