"""Migrations 0011 to 0014: each entry's hashed bytes, checkpoints and exports, sink cursors,
checkpoint frontiers.

See `fiduciary.store.postgres.schema` for the order they apply in and how they translate SQLite.
"""

from __future__ import annotations

from typing import Final

AUDIT_BYTES: Final = """
ALTER TABLE audit ADD COLUMN body BYTEA CHECK (body IS NULL OR octet_length(body) <= 65536);
"""
"""Each entry's canonical bytes, exactly as hashed: verification hashes them without rebuilding
the JSON. Entries written before this migration have none and are rebuilt from their columns."""

EVIDENCE: Final = """
CREATE TABLE checkpoints (
    org_id      TEXT COLLATE "C" NOT NULL REFERENCES orgs(org_id),
    size        BIGINT NOT NULL CHECK (size >= 1),
    root        BYTEA NOT NULL CHECK (octet_length(root) = 32),
    ts          TEXT COLLATE "C" NOT NULL,
    kid         TEXT COLLATE "C" NOT NULL,
    signature   BYTEA NOT NULL CHECK (octet_length(signature) = 64),
    PRIMARY KEY (org_id, size),
    FOREIGN KEY (org_id, kid) REFERENCES org_keys(org_id, kid)
);
CREATE TRIGGER checkpoints_append_only_update BEFORE UPDATE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION append_only('checkpoints are append-only');
CREATE TRIGGER checkpoints_append_only_delete BEFORE DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION append_only('checkpoints are append-only');
CREATE TRIGGER checkpoints_append_only_truncate BEFORE TRUNCATE ON checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION append_only('checkpoints are append-only');
CREATE TABLE exports (
    org_id          TEXT COLLATE "C" NOT NULL REFERENCES orgs(org_id),
    number          BIGINT NOT NULL CHECK (number >= 1),
    format          TEXT COLLATE "C" NOT NULL CHECK (format IN ('jsonl', 'csv')),
    from_seq        BIGINT NOT NULL CHECK (from_seq >= 1),
    to_seq          BIGINT NOT NULL CHECK (to_seq >= from_seq),
    checkpoint_size BIGINT NOT NULL,
    manifest_sha256 BYTEA NOT NULL CHECK (octet_length(manifest_sha256) = 32),
    created_by      TEXT COLLATE "C" NOT NULL,
    created_at      TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (org_id, number),
    FOREIGN KEY (org_id, checkpoint_size) REFERENCES checkpoints(org_id, size)
);
CREATE TRIGGER exports_append_only_update BEFORE UPDATE ON exports
    FOR EACH ROW EXECUTE FUNCTION append_only('exports are append-only');
CREATE TRIGGER exports_append_only_delete BEFORE DELETE ON exports
    FOR EACH ROW EXECUTE FUNCTION append_only('exports are append-only');
CREATE TRIGGER exports_append_only_truncate BEFORE TRUNCATE ON exports
    FOR EACH STATEMENT EXECUTE FUNCTION append_only('exports are append-only');
"""
"""Signed checkpoints (an org's chain size and its RFC 9162 Merkle root, signed with the org's
audit key) and the record of each signed export, whose manifest names the one before it."""

SINKS: Final = """
CREATE TABLE sink_cursors (
    sink            TEXT COLLATE "C" NOT NULL,
    org_id          TEXT COLLATE "C" NOT NULL REFERENCES orgs(org_id),
    seq             BIGINT NOT NULL DEFAULT 0 CHECK (seq >= 0),
    delivered_at    TEXT COLLATE "C",
    attempts        BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_at         TEXT COLLATE "C",
    error_status    BIGINT,
    error           TEXT COLLATE "C",
    error_at        TEXT COLLATE "C",
    bundles         BIGINT NOT NULL DEFAULT 0 CHECK (bundles >= 0),
    manifest_sha256 BYTEA CHECK (manifest_sha256 IS NULL OR octet_length(manifest_sha256) = 32),
    PRIMARY KEY (sink, org_id)
);
CREATE TABLE sink_states (
    sink        TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    stopped_at  TEXT COLLATE "C",
    stop_status BIGINT,
    stop_reason TEXT COLLATE "C",
    resumed_at  TEXT COLLATE "C",
    resumed_by  TEXT COLLATE "C"
);
"""


CHECKPOINT_FRONTIER: Final = """
ALTER TABLE checkpoints ADD COLUMN frontier BYTEA CHECK (frontier IS NULL OR octet_length(frontier) % 32 = 0);
"""
"""The roots of the perfect subtrees of each checkpoint's tree: a restarted server signs the next
checkpoint from the entries added since, not from the whole chain."""
