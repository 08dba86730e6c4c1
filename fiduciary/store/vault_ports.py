"""The store's ports for the vault of counterparties and for legal holds. Part of `Reads` and
`WriteTx` (`fiduciary.store.ports`)."""

from __future__ import annotations

from typing import Protocol

from fiduciary.domain.records import HoldRow, SubjectRow


class VaultReadPort(Protocol):
    """Reads of the vault (a counterparty in clear, once per org) and of legal holds."""

    async def subject(self, org_id: str, value: str) -> SubjectRow | None:
        """The org's subject with this canonical value (none once erased)."""
        ...

    async def subjects_of_kind(self, org_id: str, kind: str) -> list[SubjectRow]:
        """The org's subjects (not erased) whose canonical form is of `kind`."""
        ...

    async def subject_commitments(self, subject_id: str) -> list[str]:
        """Every commitment to the subject the chain or a row carries, in order."""
        ...

    async def open_dealings(self, org_id: str, subject_id: str) -> list[str]:
        """Transactions and fundings with the subject that are not at rest: they still need its value."""
        ...

    async def legal_holds(self, org_id: str | None = None, *, open_only: bool = True) -> list[HoldRow]: ...

    async def legal_hold(self, hold_id: str) -> HoldRow | None: ...


class VaultWritePort(Protocol):
    """Writes of the vault and of legal holds, in the caller's write transaction."""

    async def commit_pii(self, org_id: str, value: str) -> str:
        """Keep a counterparty (canonical form) in the erasable vault; return a fresh salted commitment
        to it, for the chain and the row that names it."""
        ...

    async def ensure_subject(self, org_id: str, value: str) -> str:
        """The subject id of a counterparty (canonical form), made if the org has none for it."""
        ...

    async def erase_subject(self, subject_id: str, erasure_id: str) -> int:
        """Wipe a subject's value and the salts of its commitments; how many salts were wiped."""
        ...

    async def drop_rail_notes(self, subject_id: str) -> int:
        """Forget the notes rails returned about transactions with the subject; how many there were."""
        ...

    async def redact_alerts(self, org_id: str, fragment: str, replacement: str) -> int:
        """Replace `fragment` in the org's alert bodies that hold it; how many bodies changed."""
        ...

    async def drop_open_mandate_token(self, org_id: str, project_id: str, mandate_id: str) -> None:
        """Forget the token of an open mandate that can no longer authorise anything."""
        ...

    async def insert_hold(self, hold: HoldRow) -> None: ...

    async def clear_hold(self, hold_id: str, *, by: str, reason: str) -> bool:
        """Clear an open hold; False if it is not open."""
        ...
