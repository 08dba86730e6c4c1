"""Migration 0015: counterparties live in clear only in the erasable vault.

- `subjects` holds each counterparty an org has dealt with, in canonical form, once; an erasure
  sets its `value` to NULL and names the erasure. Counters per payee are keyed by `subject_id`,
  a random id that says nothing about the value.
- `pii` holds the salted commitments the chain and the rows carry, each pointing at its
  subject; an erasure wipes their salts.
- Transactions and fundings keep only the commitment (`counterparty_commitment`); the views
  `transaction_rows` and `funding_rows` put the clear value back beside it while it exists.
- Closed-mandate tokens made before this migration named the counterparty in clear; they are
  dropped (`token = ''`): their payments are finished, or refused at the recheck and retried.
- `legal_holds` blocks erasure, for an org or one subject.
- Transactions made before keep the `args_hash` they were made with, over the value in clear:
  an approval still pending among them is refused as stale, and a retry with one's key is
  answered `idempotency_conflict` (never paid twice).

Rows made before this migration get fresh commitments (`fiduciary_commit(salt, value)`, the
SHA-256 of salt and UTF-8 value in hex, which the migration runner provides to SQL).
"""

from __future__ import annotations

from typing import Final

ERASURE: Final = """
CREATE TABLE subjects (
    subject_id  TEXT NOT NULL PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs(org_id),
    value       TEXT,
    created_at  TEXT NOT NULL,
    erasure_id  TEXT,
    erased_at   TEXT,
    CHECK ((value IS NULL) = (erased_at IS NOT NULL) AND (erased_at IS NULL) = (erasure_id IS NULL))
) STRICT;
CREATE UNIQUE INDEX subjects_by_value ON subjects(org_id, value) WHERE value IS NOT NULL;

INSERT INTO subjects (subject_id, org_id, value, created_at)
    SELECT 'sub_' || lower(hex(randomblob(16))), org_id, value, MIN(created_at) FROM (
        SELECT org_id, value, created_at FROM pii
        UNION ALL SELECT org_id, counterparty, created_at FROM transactions
        UNION ALL SELECT org_id, counterparty, created_at FROM fundings
        UNION ALL SELECT org_id, counterparty, first_paid_at FROM payees
        UNION ALL SELECT org_id, counterparty, bucket FROM payee_buckets
    ) GROUP BY org_id, value;

CREATE TABLE pii_v2 (
    org_id      TEXT NOT NULL REFERENCES orgs(org_id),
    commitment  TEXT NOT NULL,
    salt        BLOB,
    created_at  TEXT NOT NULL,
    subject_id  TEXT NOT NULL REFERENCES subjects(subject_id),
    PRIMARY KEY (org_id, commitment)
) STRICT;
INSERT INTO pii_v2
    SELECT p.org_id, p.commitment, p.salt, p.created_at, s.subject_id
    FROM pii p JOIN subjects s ON s.org_id = p.org_id AND s.value = p.value;
DROP TABLE pii;
ALTER TABLE pii_v2 RENAME TO pii;
CREATE INDEX pii_by_subject ON pii(subject_id);

CREATE TABLE minted (owner TEXT NOT NULL PRIMARY KEY, org_id TEXT NOT NULL, value TEXT NOT NULL,
                     salt BLOB NOT NULL, created_at TEXT NOT NULL) STRICT;
INSERT INTO minted SELECT transaction_id, org_id, counterparty, randomblob(16), created_at FROM transactions;
INSERT INTO minted SELECT funding_id, org_id, counterparty, randomblob(16), created_at FROM fundings;
INSERT INTO pii (org_id, commitment, subject_id, salt, created_at)
    SELECT m.org_id, fiduciary_commit(m.salt, m.value), s.subject_id, m.salt, m.created_at
    FROM minted m JOIN subjects s ON s.org_id = m.org_id AND s.value = m.value;

ALTER TABLE transactions ADD COLUMN counterparty_commitment TEXT NOT NULL DEFAULT '';
UPDATE transactions SET counterparty_commitment =
    (SELECT fiduciary_commit(m.salt, m.value) FROM minted m WHERE m.owner = transactions.transaction_id);
ALTER TABLE transactions DROP COLUMN counterparty;
ALTER TABLE fundings ADD COLUMN counterparty_commitment TEXT NOT NULL DEFAULT '';
UPDATE fundings SET counterparty_commitment =
    (SELECT fiduciary_commit(m.salt, m.value) FROM minted m WHERE m.owner = fundings.funding_id);
ALTER TABLE fundings DROP COLUMN counterparty;
DROP TABLE minted;
CREATE INDEX transactions_by_commitment ON transactions(org_id, counterparty_commitment);

UPDATE payees SET counterparty =
    (SELECT subject_id FROM subjects s WHERE s.org_id = payees.org_id AND s.value = payees.counterparty);
ALTER TABLE payees RENAME COLUMN counterparty TO subject_id;
UPDATE payee_buckets SET counterparty =
    (SELECT subject_id FROM subjects s WHERE s.org_id = payee_buckets.org_id AND s.value = payee_buckets.counterparty);
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
    hold_id        TEXT NOT NULL PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES orgs(org_id),
    subject_id     TEXT REFERENCES subjects(subject_id),
    reason         TEXT NOT NULL,
    set_by         TEXT NOT NULL,
    set_at         TEXT NOT NULL,
    cleared_by     TEXT,
    cleared_at     TEXT,
    cleared_reason TEXT,
    CHECK ((cleared_at IS NULL) = (cleared_by IS NULL) AND (cleared_at IS NULL) = (cleared_reason IS NULL))
) STRICT;
CREATE INDEX legal_holds_open ON legal_holds(org_id) WHERE cleared_at IS NULL;
"""
"""Counterparties in clear only in the vault (`subjects`), commitments everywhere else, and legal holds."""
