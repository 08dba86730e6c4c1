"""The tamper-evident audit chain: hashing, signing, verification and commitments (pure)."""

from fiduciary.audit.chain import GENESIS, AuditEntry, EntryBody, seal
from fiduciary.audit.pii import commit
from fiduciary.audit.verify import VerifyReport, verify_chain

__all__ = ["GENESIS", "AuditEntry", "EntryBody", "VerifyReport", "commit", "seal", "verify_chain"]
