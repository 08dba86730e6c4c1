"""Migrations 0011 to 0014: each entry's hashed bytes, checkpoints and exports, sink cursors,
checkpoint frontiers.

See `fiduciary.store.sqlite.schema` for the order they apply in.
"""

from __future__ import annotations

from typing import Final

AUDIT_BYTES: Final = """
ALTER TABLE audit ADD COLUMN body BLOB CHECK (body IS NULL OR length(body) <= 65536);
"""
"""Each entry's canonical bytes, exactly as hashed: verification hashes them without rebuilding
the JSON. Entries written before this migration have none and are rebuilt from their columns."""

EVIDENCE: Final = """
CREATE TABLE checkpoints (
    org_id      TEXT NOT NULL REFERENCES orgs(org_id),
    size        INTEGER NOT NULL CHECK (size >= 1),
    root        BLOB NOT NULL CHECK (length(root) = 32),
    ts          TEXT NOT NULL,
    kid         TEXT NOT NULL,
    signature   BLOB NOT NULL CHECK (length(signature) = 64),
    PRIMARY KEY (org_id, size),
    FOREIGN KEY (org_id, kid) REFERENCES org_keys(org_id, kid)
) STRICT;
CREATE TRIGGER checkpoints_append_only_update BEFORE UPDATE ON checkpoints
    BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
CREATE TRIGGER checkpoints_append_only_delete BEFORE DELETE ON checkpoints
    BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
CREATE TABLE exports (
    org_id          TEXT NOT NULL REFERENCES orgs(org_id),
    number          INTEGER NOT NULL CHECK (number >= 1),
    format          TEXT NOT NULL CHECK (format IN ('jsonl', 'csv')),
    from_seq        INTEGER NOT NULL CHECK (from_seq >= 1),
    to_seq          INTEGER NOT NULL CHECK (to_seq >= from_seq),
    checkpoint_size INTEGER NOT NULL,
    manifest_sha256 BLOB NOT NULL CHECK (length(manifest_sha256) = 32),
    created_by      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (org_id, number),
    FOREIGN KEY (org_id, checkpoint_size) REFERENCES checkpoints(org_id, size)
) STRICT;
CREATE TRIGGER exports_append_only_update BEFORE UPDATE ON exports
    BEGIN SELECT RAISE(ABORT, 'exports are append-only'); END;
CREATE TRIGGER exports_append_only_delete BEFORE DELETE ON exports
    BEGIN SELECT RAISE(ABORT, 'exports are append-only'); END;
"""
"""Signed checkpoints (an org's chain size and its RFC 9162 Merkle root, signed with the org's
audit key) and the record of each signed export, whose manifest names the one before it."""

SINKS: Final = """
CREATE TABLE sink_cursors (
    sink            TEXT NOT NULL,
    org_id          TEXT NOT NULL REFERENCES orgs(org_id),
    seq             INTEGER NOT NULL DEFAULT 0 CHECK (seq >= 0),
    delivered_at    TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_at         TEXT,
    error_status    INTEGER,
    error           TEXT,
    error_at        TEXT,
    bundles         INTEGER NOT NULL DEFAULT 0 CHECK (bundles >= 0),
    manifest_sha256 BLOB CHECK (manifest_sha256 IS NULL OR length(manifest_sha256) = 32),
    PRIMARY KEY (sink, org_id)
) STRICT;
CREATE TABLE sink_states (
    sink        TEXT NOT NULL PRIMARY KEY,
    stopped_at  TEXT,
    stop_status INTEGER,
    stop_reason TEXT,
    resumed_at  TEXT,
    resumed_by  TEXT
) STRICT;
"""


CHECKPOINT_FRONTIER: Final = """
ALTER TABLE checkpoints ADD COLUMN frontier BLOB CHECK (frontier IS NULL OR length(frontier) % 32 = 0);
"""
"""The roots of the perfect subtrees of each checkpoint's tree: a restarted server signs the next
checkpoint from the entries added since, not from the whole chain."""
