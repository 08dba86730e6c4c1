"""Writes of the vault of counterparties and of legal holds, in the caller's write transaction.

A counterparty's canonical value is written once per org, in `subjects`; the chain and the rows
carry fresh salted commitments to it (`pii`). An erasure wipes the value and the salts, and
redacts the few copies made for people (alert bodies, open-mandate tokens no longer usable).
"""

from __future__ import annotations

from fiduciary.audit.pii import commit
from fiduciary.domain.clock import iso
from fiduciary.domain.ids import Prefix, new_id
from fiduciary.domain.records import HoldRow
from fiduciary.store.sqlite.counter_writes import CounterWrites
from fiduciary.store.sqlite.statements import SUBJECT


class VaultWrites(CounterWrites):
    async def commit_pii(self, org_id: str, value: str) -> str:
        """Keep a counterparty (canonical form) in the erasable vault; return a fresh salted
        commitment to it, for the chain and the row that names it."""
        sealed = commit(value)
        await self._keep_subject(org_id, value)
        await self._exec(
            f"INSERT INTO pii (org_id, commitment, subject_id, salt, created_at) VALUES (?, ?, {SUBJECT}, ?, ?)",  # noqa: S608
            (org_id, sealed.commitment, org_id, value, sealed.salt, iso(self.now)),
        )
        return sealed.commitment

    async def ensure_subject(self, org_id: str, value: str) -> str:
        """The subject id of a counterparty (canonical form), made if the org has none for it."""
        await self._keep_subject(org_id, value)
        row = await self._one("SELECT subject_id FROM subjects WHERE org_id = ? AND value = ?", (org_id, value))
        assert row is not None, "the subject was just written"
        return str(row["subject_id"])

    async def _keep_subject(self, org_id: str, value: str) -> None:
        await self._exec(
            "INSERT INTO subjects (subject_id, org_id, value, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (org_id, value) WHERE value IS NOT NULL DO NOTHING",
            (new_id(Prefix.SUBJECT), org_id, value, iso(self.now)),
        )

    async def erase_subject(self, subject_id: str, erasure_id: str) -> int:
        """Wipe a subject's value and the salts of its commitments; how many salts were wiped."""
        wiped = await self._exec("UPDATE pii SET salt = NULL WHERE subject_id = ? AND salt IS NOT NULL", (subject_id,))
        await self._exec(
            "UPDATE subjects SET value = NULL, erased_at = ?, erasure_id = ? "
            "WHERE subject_id = ? AND value IS NOT NULL",
            (iso(self.now), erasure_id, subject_id),
        )
        return wiped

    async def drop_rail_notes(self, subject_id: str) -> int:
        """Forget the notes rails returned about transactions with the subject (a bank may name the
        person); how many there were."""
        return await self._exec(
            "UPDATE transactions SET rail_note = NULL WHERE rail_note IS NOT NULL AND (org_id, "
            "counterparty_commitment) IN (SELECT org_id, commitment FROM pii WHERE subject_id = ?)",
            (subject_id,),
        )

    async def redact_alerts(self, org_id: str, fragment: str, replacement: str) -> int:
        """Replace `fragment` in the org's alert bodies that hold it; how many bodies changed."""
        return await self._exec(
            "UPDATE alert_outbox SET body = replace(body, ?, ?) WHERE org_id = ? AND replace(body, ?, '') <> body",
            (fragment, replacement, org_id, fragment),
        )

    async def drop_open_mandate_token(self, org_id: str, project_id: str, mandate_id: str) -> None:
        """Forget the token of an open mandate that can no longer authorise anything."""
        await self._exec(
            "UPDATE open_mandates SET token = '' WHERE org_id = ? AND project_id = ? AND mandate_id = ?",
            (org_id, project_id, mandate_id),
        )

    async def insert_hold(self, hold: HoldRow) -> None:
        await self._exec(
            "INSERT INTO legal_holds (hold_id, org_id, subject_id, reason, set_by, set_at) VALUES (?, ?, ?, ?, ?, ?)",
            (hold.hold_id, hold.org_id, hold.subject_id, hold.reason, hold.set_by, hold.set_at),
        )

    async def clear_hold(self, hold_id: str, *, by: str, reason: str) -> bool:
        """Clear an open hold; False if it is not open."""
        changed = await self._exec(
            "UPDATE legal_holds SET cleared_by = ?, cleared_at = ?, cleared_reason = ? "
            "WHERE hold_id = ? AND cleared_at IS NULL",
            (by, iso(self.now), reason, hold_id),
        )
        return changed == 1
