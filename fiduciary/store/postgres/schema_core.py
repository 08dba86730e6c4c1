"""Migrations 0001 to 0005: tenants, keys, agents, wallets, mandates, transactions, the ledger, the
audit chain; screening; operators and kill switches; durable counters; dashboard sessions and
approval votes.

See `fiduciary.store.postgres.schema` for the order they apply in and how they translate SQLite.
"""

from __future__ import annotations

from typing import Final

_STATES = (
    "'received','screened','denied','pending_approval','approved','rejected','expired','authorized',"
    "'held','dispatching','settled','failed','released','unknown','rolling_back','rolled_back'"
)

INITIAL: Final = f"""
CREATE FUNCTION append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0];
END
$$;

CREATE TABLE orgs (
    org_id      TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name        TEXT COLLATE "C" NOT NULL,
    created_at  TEXT COLLATE "C" NOT NULL
);

CREATE TABLE projects (
    org_id      TEXT COLLATE "C" NOT NULL REFERENCES orgs(org_id),
    project_id  TEXT COLLATE "C" NOT NULL UNIQUE,
    name        TEXT COLLATE "C" NOT NULL,
    created_at  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (org_id, project_id)
);

CREATE TABLE org_keys (
    org_id          TEXT COLLATE "C" NOT NULL REFERENCES orgs(org_id),
    kid             TEXT COLLATE "C" NOT NULL,
    purpose         TEXT COLLATE "C" NOT NULL CHECK (purpose IN ('audit', 'mandate')),
    public_key      BYTEA NOT NULL CHECK (octet_length(public_key) = 32),
    private_key_enc BYTEA NOT NULL,
    created_at      TEXT COLLATE "C" NOT NULL,
    retired_at      TEXT COLLATE "C",
    PRIMARY KEY (org_id, kid)
);

CREATE TABLE agents (
    org_id      TEXT COLLATE "C" NOT NULL,
    project_id  TEXT COLLATE "C" NOT NULL,
    agent_id    TEXT COLLATE "C" NOT NULL UNIQUE,
    name        TEXT COLLATE "C" NOT NULL,
    token_hash  TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (org_id, project_id, agent_id),
    FOREIGN KEY (org_id, project_id) REFERENCES projects(org_id, project_id)
);

CREATE TABLE kill_switches (
    switch_id   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    org_id      TEXT COLLATE "C" NOT NULL REFERENCES orgs(org_id),
    scope       TEXT COLLATE "C" NOT NULL
                CONSTRAINT kill_switches_scope_check CHECK (scope IN ('agent', 'project', 'org')),
    target      TEXT COLLATE "C" NOT NULL,
    reason      TEXT COLLATE "C" NOT NULL,
    pulled_by   TEXT COLLATE "C" NOT NULL,
    pulled_at   TEXT COLLATE "C" NOT NULL,
    lifted_by   TEXT COLLATE "C",
    lifted_at   TEXT COLLATE "C"
);
CREATE INDEX kill_switches_active ON kill_switches(org_id, target) WHERE lifted_at IS NULL;

CREATE TABLE wallets (
    org_id          TEXT COLLATE "C" NOT NULL,
    project_id      TEXT COLLATE "C" NOT NULL,
    agent_id        TEXT COLLATE "C" NOT NULL,
    currency        TEXT COLLATE "C" NOT NULL,
    available_minor BIGINT NOT NULL CHECK (available_minor >= 0),
    held_minor      BIGINT NOT NULL CHECK (held_minor >= 0),
    updated_at      TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (org_id, project_id, agent_id, currency),
    FOREIGN KEY (org_id, project_id, agent_id) REFERENCES agents(org_id, project_id, agent_id)
);

CREATE TABLE policies (
    org_id        TEXT COLLATE "C" NOT NULL,
    project_id    TEXT COLLATE "C" NOT NULL,
    version       BIGINT NOT NULL CHECK (version >= 1),
    version_hash  TEXT COLLATE "C" NOT NULL,
    source        TEXT COLLATE "C" NOT NULL,
    applied_by    TEXT COLLATE "C" NOT NULL,
    applied_at    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (org_id, project_id, version),
    FOREIGN KEY (org_id, project_id) REFERENCES projects(org_id, project_id)
);

CREATE TABLE open_mandates (
    org_id          TEXT COLLATE "C" NOT NULL,
    project_id      TEXT COLLATE "C" NOT NULL,
    mandate_id      TEXT COLLATE "C" NOT NULL UNIQUE,
    agent_id        TEXT COLLATE "C" NOT NULL,
    token           TEXT COLLATE "C" NOT NULL,
    status          TEXT COLLATE "C" NOT NULL CHECK (status IN ('active', 'revoked')),
    uses            BIGINT NOT NULL DEFAULT 0 CHECK (uses >= 0),
    used_minor      BIGINT NOT NULL DEFAULT 0 CHECK (used_minor >= 0),
    issued_by       TEXT COLLATE "C" NOT NULL,
    issued_at       TEXT COLLATE "C" NOT NULL,
    revoked_by      TEXT COLLATE "C",
    revoked_at      TEXT COLLATE "C",
    revoked_reason  TEXT COLLATE "C",
    PRIMARY KEY (org_id, project_id, mandate_id),
    FOREIGN KEY (org_id, project_id, agent_id) REFERENCES agents(org_id, project_id, agent_id)
);

CREATE TABLE transactions (
    org_id                  TEXT COLLATE "C" NOT NULL,
    project_id              TEXT COLLATE "C" NOT NULL,
    transaction_id          TEXT COLLATE "C" NOT NULL UNIQUE,
    agent_id                TEXT COLLATE "C" NOT NULL,
    tool                    TEXT COLLATE "C" NOT NULL CHECK (tool IN ('pay', 'charge', 'refund')),
    state                   TEXT COLLATE "C" NOT NULL CHECK (state IN ({_STATES})),
    code                    TEXT COLLATE "C" NOT NULL,
    amount_minor            BIGINT NOT NULL CHECK (amount_minor > 0),
    currency                TEXT COLLATE "C" NOT NULL,
    counterparty            TEXT COLLATE "C" NOT NULL,
    purpose                 TEXT COLLATE "C" NOT NULL,
    category                TEXT COLLATE "C",
    country                 TEXT COLLATE "C",
    memo                    TEXT COLLATE "C",
    metadata                TEXT COLLATE "C" NOT NULL,
    idempotency_key         TEXT COLLATE "C" NOT NULL,
    args_hash               TEXT COLLATE "C" NOT NULL,
    reference               TEXT COLLATE "C" NOT NULL,
    policy_version          TEXT COLLATE "C",
    open_mandate_id         TEXT COLLATE "C",
    closed_mandate_id       TEXT COLLATE "C",
    approval_id             TEXT COLLATE "C",
    original_transaction_id TEXT COLLATE "C",
    rail                    TEXT COLLATE "C",
    rail_reference          TEXT COLLATE "C",
    created_at              TEXT COLLATE "C" NOT NULL,
    updated_at              TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (org_id, project_id, transaction_id),
    UNIQUE (org_id, project_id, agent_id, idempotency_key),
    FOREIGN KEY (org_id, project_id, agent_id) REFERENCES agents(org_id, project_id, agent_id),
    FOREIGN KEY (org_id, project_id, open_mandate_id) REFERENCES open_mandates(org_id, project_id, mandate_id),
    FOREIGN KEY (org_id, project_id, original_transaction_id)
        REFERENCES transactions(org_id, project_id, transaction_id)
);
CREATE INDEX transactions_by_agent ON transactions(org_id, project_id, agent_id, created_at);
CREATE INDEX transactions_in_flight ON transactions(state)
    WHERE state IN ('authorized', 'held', 'dispatching', 'unknown', 'rolling_back', 'approved');

CREATE TABLE closed_mandates (
    org_id          TEXT COLLATE "C" NOT NULL,
    project_id      TEXT COLLATE "C" NOT NULL,
    mandate_id      TEXT COLLATE "C" NOT NULL UNIQUE,
    transaction_id  TEXT COLLATE "C" NOT NULL UNIQUE,
    parent_id       TEXT COLLATE "C" NOT NULL,
    token           TEXT COLLATE "C" NOT NULL,
    issued_at       TEXT COLLATE "C" NOT NULL,
    expires_at      TEXT COLLATE "C" NOT NULL,
    used_at         TEXT COLLATE "C",
    PRIMARY KEY (org_id, project_id, mandate_id),
    FOREIGN KEY (org_id, project_id, transaction_id) REFERENCES transactions(org_id, project_id, transaction_id)
);

CREATE TABLE approvals (
    org_id          TEXT COLLATE "C" NOT NULL,
    project_id      TEXT COLLATE "C" NOT NULL,
    approval_id     TEXT COLLATE "C" NOT NULL UNIQUE,
    transaction_id  TEXT COLLATE "C" NOT NULL UNIQUE,
    args_hash       TEXT COLLATE "C" NOT NULL,
    policy_version  TEXT COLLATE "C" NOT NULL,
    rule_id         TEXT COLLATE "C",
    status          TEXT COLLATE "C" NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'expired')),
    requested_at    TEXT COLLATE "C" NOT NULL,
    expires_at      TEXT COLLATE "C" NOT NULL,
    decided_by      TEXT COLLATE "C",
    decided_at      TEXT COLLATE "C",
    reason          TEXT COLLATE "C",
    PRIMARY KEY (org_id, project_id, approval_id),
    FOREIGN KEY (org_id, project_id, transaction_id) REFERENCES transactions(org_id, project_id, transaction_id)
);

CREATE TABLE ledger (
    entry_id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    org_id              TEXT COLLATE "C" NOT NULL,
    project_id          TEXT COLLATE "C" NOT NULL,
    agent_id            TEXT COLLATE "C" NOT NULL,
    currency            TEXT COLLATE "C" NOT NULL,
    kind                TEXT COLLATE "C" NOT NULL CHECK (kind IN ('fund', 'hold', 'release', 'debit', 'credit')),
    amount_minor        BIGINT NOT NULL CHECK (amount_minor > 0),
    transaction_id      TEXT COLLATE "C",
    closed_mandate_id   TEXT COLLATE "C",
    created_at          TEXT COLLATE "C" NOT NULL,
    CHECK (kind NOT IN ('hold', 'debit') OR closed_mandate_id IS NOT NULL),
    FOREIGN KEY (org_id, project_id, agent_id, currency)
        REFERENCES wallets(org_id, project_id, agent_id, currency),
    FOREIGN KEY (org_id, project_id, closed_mandate_id)
        REFERENCES closed_mandates(org_id, project_id, mandate_id),
    FOREIGN KEY (org_id, project_id, transaction_id) REFERENCES transactions(org_id, project_id, transaction_id)
);
CREATE TRIGGER ledger_append_only_update BEFORE UPDATE ON ledger
    FOR EACH ROW EXECUTE FUNCTION append_only('the wallet ledger is append-only');
CREATE TRIGGER ledger_append_only_delete BEFORE DELETE ON ledger
    FOR EACH ROW EXECUTE FUNCTION append_only('the wallet ledger is append-only');
CREATE TRIGGER ledger_append_only_truncate BEFORE TRUNCATE ON ledger
    FOR EACH STATEMENT EXECUTE FUNCTION append_only('the wallet ledger is append-only');

CREATE TABLE audit (
    org_id      TEXT COLLATE "C" NOT NULL REFERENCES orgs(org_id),
    seq         BIGINT NOT NULL CHECK (seq >= 1),
    project_id  TEXT COLLATE "C",
    ts          TEXT COLLATE "C" NOT NULL,
    actor       TEXT COLLATE "C" NOT NULL,
    type        TEXT COLLATE "C" NOT NULL,
    subject     TEXT COLLATE "C",
    ref         TEXT COLLATE "C",
    payload     TEXT COLLATE "C" NOT NULL,
    prev_hash   BYTEA NOT NULL CHECK (octet_length(prev_hash) = 32),
    entry_hash  BYTEA NOT NULL CHECK (octet_length(entry_hash) = 32),
    signature   BYTEA NOT NULL,
    kid         TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (org_id, seq),
    FOREIGN KEY (org_id, project_id) REFERENCES projects(org_id, project_id)
);
CREATE INDEX audit_by_ref ON audit(ref) WHERE ref IS NOT NULL;
CREATE INDEX audit_by_subject ON audit(org_id, subject);
CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit
    FOR EACH ROW EXECUTE FUNCTION append_only('the audit chain is append-only');
CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION append_only('the audit chain is append-only');
CREATE TRIGGER audit_append_only_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION append_only('the audit chain is append-only');

CREATE TABLE pii (
    org_id      TEXT COLLATE "C" NOT NULL REFERENCES orgs(org_id),
    commitment  TEXT COLLATE "C" NOT NULL,
    salt        BYTEA NOT NULL,
    value       TEXT COLLATE "C" NOT NULL,
    created_at  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (org_id, commitment)
);
"""

SCREENING: Final = """
CREATE TABLE injection_configs (
    org_id        TEXT COLLATE "C" NOT NULL REFERENCES orgs(org_id),
    version       BIGINT NOT NULL CHECK (version >= 1),
    version_hash  TEXT COLLATE "C" NOT NULL,
    source        TEXT COLLATE "C" NOT NULL,
    applied_by    TEXT COLLATE "C" NOT NULL,
    applied_at    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (org_id, version)
);

CREATE TABLE taints (
    org_id      TEXT COLLATE "C" NOT NULL,
    project_id  TEXT COLLATE "C" NOT NULL,
    agent_id    TEXT COLLATE "C" NOT NULL,
    taint_id    TEXT COLLATE "C" NOT NULL UNIQUE,
    source      TEXT COLLATE "C" NOT NULL,
    reference   TEXT COLLATE "C" NOT NULL,
    created_at  TEXT COLLATE "C" NOT NULL,
    cleared_at  TEXT COLLATE "C",
    cleared_by  TEXT COLLATE "C",
    PRIMARY KEY (org_id, project_id, taint_id),
    FOREIGN KEY (org_id, project_id, agent_id) REFERENCES agents(org_id, project_id, agent_id)
);
CREATE INDEX taints_active ON taints(org_id, project_id, agent_id) WHERE cleared_at IS NULL;

ALTER TABLE transactions ADD COLUMN rail_note TEXT COLLATE "C";
"""

CONTROL: Final = """
CREATE TABLE operators (
    operator_id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name        TEXT COLLATE "C" NOT NULL UNIQUE,
    role        TEXT COLLATE "C" NOT NULL CHECK (role IN ('admin', 'approver', 'auditor')),
    token_hash  TEXT COLLATE "C" NOT NULL UNIQUE,
    created_by  TEXT COLLATE "C" NOT NULL,
    created_at  TEXT COLLATE "C" NOT NULL,
    expires_at  TEXT COLLATE "C",
    revoked_by  TEXT COLLATE "C",
    revoked_at  TEXT COLLATE "C"
);

ALTER TABLE agents ADD COLUMN disabled_by TEXT COLLATE "C";
ALTER TABLE agents ADD COLUMN disabled_at TEXT COLLATE "C";

ALTER TABLE kill_switches
    DROP CONSTRAINT kill_switches_scope_check,
    ADD CONSTRAINT kill_switches_scope_check CHECK (scope IN ('agent', 'project', 'org', 'platform'));
CREATE TABLE refusal_windows (
    org_id        TEXT COLLATE "C" NOT NULL REFERENCES orgs(org_id),
    source        TEXT COLLATE "C" NOT NULL,
    kind          TEXT COLLATE "C" NOT NULL,
    window_start  TEXT COLLATE "C" NOT NULL,
    first_ref     TEXT COLLATE "C" NOT NULL,
    count         BIGINT NOT NULL CHECK (count >= 1),
    PRIMARY KEY (org_id, source, kind)
);

ALTER TABLE transactions ADD COLUMN lease_owner TEXT COLLATE "C";
ALTER TABLE transactions ADD COLUMN lease_until TEXT COLLATE "C";

CREATE INDEX audit_by_subject_anywhere ON audit(subject) WHERE subject IS NOT NULL;
CREATE INDEX kill_switches_platform ON kill_switches(scope) WHERE lifted_at IS NULL AND scope = 'platform';
"""
"""Operators with roles and hashed tokens, agents that can be disabled, platform-wide kill switches,
repeated unauthenticated refusals counted per source and minute, and leases on in-flight payments."""

COUNTERS: Final = """
CREATE TABLE spend_buckets (
    org_id        TEXT COLLATE "C" NOT NULL,
    project_id    TEXT COLLATE "C" NOT NULL,
    agent_id      TEXT COLLATE "C" NOT NULL,
    tool          TEXT COLLATE "C" NOT NULL,
    currency      TEXT COLLATE "C" NOT NULL,
    bucket        TEXT COLLATE "C" NOT NULL,
    amount_minor  BIGINT NOT NULL CHECK (amount_minor >= 0),
    PRIMARY KEY (org_id, project_id, agent_id, tool, currency, bucket),
    FOREIGN KEY (org_id, project_id, agent_id) REFERENCES agents(org_id, project_id, agent_id)
);
CREATE INDEX spend_buckets_by_project ON spend_buckets(org_id, project_id, currency, bucket);

CREATE TABLE call_buckets (
    org_id      TEXT COLLATE "C" NOT NULL,
    project_id  TEXT COLLATE "C" NOT NULL,
    agent_id    TEXT COLLATE "C" NOT NULL,
    tool        TEXT COLLATE "C" NOT NULL,
    bucket      TEXT COLLATE "C" NOT NULL,
    calls       BIGINT NOT NULL CHECK (calls >= 0),
    PRIMARY KEY (org_id, project_id, agent_id, tool, bucket),
    FOREIGN KEY (org_id, project_id, agent_id) REFERENCES agents(org_id, project_id, agent_id)
);
CREATE INDEX call_buckets_by_project ON call_buckets(org_id, project_id, bucket);

CREATE TABLE payees (
    org_id        TEXT COLLATE "C" NOT NULL,
    project_id    TEXT COLLATE "C" NOT NULL,
    agent_id      TEXT COLLATE "C" NOT NULL,
    counterparty  TEXT COLLATE "C" NOT NULL,
    payments      BIGINT NOT NULL CHECK (payments >= 0),
    first_paid_at TEXT COLLATE "C" NOT NULL,
    last_paid_at  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (org_id, project_id, agent_id, counterparty),
    FOREIGN KEY (org_id, project_id, agent_id) REFERENCES agents(org_id, project_id, agent_id)
);
CREATE INDEX payees_by_project ON payees(org_id, project_id, counterparty);

CREATE TABLE payee_buckets (
    org_id        TEXT COLLATE "C" NOT NULL,
    project_id    TEXT COLLATE "C" NOT NULL,
    agent_id      TEXT COLLATE "C" NOT NULL,
    counterparty  TEXT COLLATE "C" NOT NULL,
    tool          TEXT COLLATE "C" NOT NULL,
    currency      TEXT COLLATE "C" NOT NULL,
    bucket        TEXT COLLATE "C" NOT NULL,
    amount_minor  BIGINT NOT NULL CHECK (amount_minor >= 0),
    payments      BIGINT NOT NULL CHECK (payments >= 0),
    PRIMARY KEY (org_id, project_id, agent_id, counterparty, tool, currency, bucket),
    FOREIGN KEY (org_id, project_id, agent_id) REFERENCES agents(org_id, project_id, agent_id)
);
CREATE INDEX payee_buckets_by_project ON payee_buckets(org_id, project_id, counterparty, bucket);

CREATE TABLE alert_outbox (
    delivery_id   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    alert_id      TEXT COLLATE "C" NOT NULL,
    org_id        TEXT COLLATE "C" NOT NULL REFERENCES orgs(org_id),
    url           TEXT COLLATE "C" NOT NULL,
    body          TEXT COLLATE "C" NOT NULL,
    attempts      BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_at       TEXT COLLATE "C" NOT NULL,
    last_status   BIGINT,
    delivered_at  TEXT COLLATE "C",
    failed_at     TEXT COLLATE "C"
);
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
    session_hash TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    operator_id  TEXT COLLATE "C" NOT NULL REFERENCES operators(operator_id),
    created_at   TEXT COLLATE "C" NOT NULL,
    expires_at   TEXT COLLATE "C" NOT NULL CHECK (expires_at > created_at),
    ended_at     TEXT COLLATE "C"
);
CREATE INDEX operator_sessions_by_operator ON operator_sessions(operator_id) WHERE ended_at IS NULL;

ALTER TABLE approvals ADD COLUMN approvers_required BIGINT NOT NULL DEFAULT 1
    CHECK (approvers_required BETWEEN 1 AND 5);

CREATE TABLE approval_votes (
    approval_id  TEXT COLLATE "C" NOT NULL REFERENCES approvals(approval_id),
    operator_id  TEXT COLLATE "C" NOT NULL REFERENCES operators(operator_id),
    voted_at     TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (approval_id, operator_id)
);
CREATE TRIGGER approval_votes_append_only_update BEFORE UPDATE ON approval_votes
    FOR EACH ROW EXECUTE FUNCTION append_only('approval_votes is append-only');
CREATE TRIGGER approval_votes_append_only_delete BEFORE DELETE ON approval_votes
    FOR EACH ROW EXECUTE FUNCTION append_only('approval_votes is append-only');
CREATE TRIGGER approval_votes_append_only_truncate BEFORE TRUNCATE ON approval_votes
    FOR EACH STATEMENT EXECUTE FUNCTION append_only('approval_votes is append-only');
"""
"""Dashboard sessions (stored only as hashes), and approvals that need several distinct people:
one vote per operator and approval, enforced by the primary key."""
