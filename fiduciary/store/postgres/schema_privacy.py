"""Migration 0015 in PostgreSQL: counterparties live in clear only in the erasable vault.

The same tables, views and rules as `fiduciary.store.sqlite.schema_privacy`. PostgreSQL alters
columns in place where SQLite rebuilds a table. Rows made before the migration get fresh
commitments: the salt is the 16 random bytes of a `gen_random_uuid()` (122 of them random),
the commitment `sha256(salt || value)` in hex, as `fiduciary.audit.pii` computes it.

The views list their columns when they are made: a later migration that adds a column to
`transactions` or `fundings` makes its view again.
"""

from __future__ import annotations

from typing import Final

ERASURE: Final = """
CREATE TABLE subjects (
    subject_id  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    org_id      TEXT COLLATE "C" NOT NULL REFERENCES orgs(org_id),
    value       TEXT COLLATE "C",
    created_at  TEXT COLLATE "C" NOT NULL,
    erasure_id  TEXT COLLATE "C",
    erased_at   TEXT COLLATE "C",
    CHECK ((value IS NULL) = (erased_at IS NOT NULL) AND (erased_at IS NULL) = (erasure_id IS NULL))
);
CREATE UNIQUE INDEX subjects_by_value ON subjects(org_id, value) WHERE value IS NOT NULL;

INSERT INTO subjects (subject_id, org_id, value, created_at)
    SELECT 'sub_' || replace(gen_random_uuid()::text, '-', ''), org_id, value, MIN(created_at) FROM (
        SELECT org_id, value, created_at FROM pii
        UNION ALL SELECT org_id, counterparty, created_at FROM transactions
        UNION ALL SELECT org_id, counterparty, created_at FROM fundings
        UNION ALL SELECT org_id, counterparty, first_paid_at FROM payees
        UNION ALL SELECT org_id, counterparty, bucket FROM payee_buckets
    ) AS seen GROUP BY org_id, value;

ALTER TABLE pii ADD COLUMN subject_id TEXT COLLATE "C" REFERENCES subjects(subject_id);
UPDATE pii SET subject_id = s.subject_id FROM subjects s WHERE s.org_id = pii.org_id AND s.value = pii.value;
ALTER TABLE pii ALTER COLUMN subject_id SET NOT NULL;
ALTER TABLE pii ALTER COLUMN salt DROP NOT NULL;
ALTER TABLE pii DROP COLUMN value;
CREATE INDEX pii_by_subject ON pii(subject_id);

CREATE TABLE minted (owner TEXT COLLATE "C" NOT NULL PRIMARY KEY, org_id TEXT COLLATE "C" NOT NULL,
                     value TEXT COLLATE "C" NOT NULL, salt BYTEA NOT NULL, created_at TEXT COLLATE "C" NOT NULL,
                     commitment TEXT COLLATE "C");
INSERT INTO minted (owner, org_id, value, salt, created_at)
    SELECT transaction_id, org_id, counterparty, uuid_send(gen_random_uuid()), created_at FROM transactions;
INSERT INTO minted (owner, org_id, value, salt, created_at)
    SELECT funding_id, org_id, counterparty, uuid_send(gen_random_uuid()), created_at FROM fundings;
UPDATE minted SET commitment = encode(sha256(salt || convert_to(value, 'UTF8')), 'hex');
INSERT INTO pii (org_id, commitment, subject_id, salt, created_at)
    SELECT m.org_id, m.commitment, s.subject_id, m.salt, m.created_at
    FROM minted m JOIN subjects s ON s.org_id = m.org_id AND s.value = m.value;

ALTER TABLE transactions ADD COLUMN counterparty_commitment TEXT COLLATE "C" NOT NULL DEFAULT '';
UPDATE transactions SET counterparty_commitment = m.commitment FROM minted m
    WHERE m.owner = transactions.transaction_id;
ALTER TABLE transactions DROP COLUMN counterparty;
ALTER TABLE fundings ADD COLUMN counterparty_commitment TEXT COLLATE "C" NOT NULL DEFAULT '';
UPDATE fundings SET counterparty_commitment = m.commitment FROM minted m WHERE m.owner = fundings.funding_id;
ALTER TABLE fundings DROP COLUMN counterparty;
DROP TABLE minted;
CREATE INDEX transactions_by_commitment ON transactions(org_id, counterparty_commitment);

UPDATE payees SET counterparty = s.subject_id FROM subjects s
    WHERE s.org_id = payees.org_id AND s.value = payees.counterparty;
ALTER TABLE payees RENAME COLUMN counterparty TO subject_id;
UPDATE payee_buckets SET counterparty = s.subject_id FROM subjects s
    WHERE s.org_id = payee_buckets.org_id AND s.value = payee_buckets.counterparty;
ALTER TABLE payee_buckets RENAME COLUMN counterparty TO subject_id;

UPDATE closed_mandates SET token = '';

CREATE VIEW transaction_rows AS
    SELECT t.*, s.value AS counterparty FROM transactions t
    LEFT JOIN pii p ON p.org_id = t.org_id AND p.commitment = t.counterparty_commitment
    LEFT JOIN subjects s ON s.subject_id = p.subject_id;
CREATE VIEW funding_rows AS
    SELECT f.*, s.value AS counterparty FROM fundings f
    LEFT JOIN pii p ON p.org_id = f.org_id AND p.commitment = f.counterparty_commitment
    LEFT JOIN subjects s ON s.subject_id = p.subject_id;

CREATE TABLE legal_holds (
    hold_id        TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    org_id         TEXT COLLATE "C" NOT NULL REFERENCES orgs(org_id),
    subject_id     TEXT COLLATE "C" REFERENCES subjects(subject_id),
    reason         TEXT COLLATE "C" NOT NULL,
    set_by         TEXT COLLATE "C" NOT NULL,
    set_at         TEXT COLLATE "C" NOT NULL,
    cleared_by     TEXT COLLATE "C",
    cleared_at     TEXT COLLATE "C",
    cleared_reason TEXT COLLATE "C",
    CHECK ((cleared_at IS NULL) = (cleared_by IS NULL) AND (cleared_at IS NULL) = (cleared_reason IS NULL))
);
CREATE INDEX legal_holds_open ON legal_holds(org_id) WHERE cleared_at IS NULL;
"""
"""Counterparties in clear only in the vault (`subjects`), commitments everywhere else, and legal holds."""
