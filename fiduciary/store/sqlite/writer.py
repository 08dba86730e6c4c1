"""Writes, inside one `BEGIN IMMEDIATE` transaction held by the single writer.

Every state change goes through a method that also appends its audit entry on the same
connection, so the change and its record commit or roll back together.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import datetime
from typing import Any

from fiduciary.audit.chain import AuditEntry
from fiduciary.audit.checkpoint import Checkpoint
from fiduciary.audit.journal import Journal
from fiduciary.domain.canonical import canonical_json
from fiduciary.domain.clock import iso
from fiduciary.domain.errors import ConflictError
from fiduciary.domain.intents import AgentRef, PaymentIntent
from fiduciary.domain.money import Money
from fiduciary.domain.records import ExportRow, TransactionRow
from fiduciary.domain.signing import Signer
from fiduciary.domain.states import TxState, check_transition
from fiduciary.mandates.keys import KeyPurpose, SealedKey
from fiduciary.store.ports import SignerSource
from fiduciary.store.sqlite.rail_writes import RailWrites
from fiduciary.wallets import Wallet


class Writer(RailWrites):
    """The handle of one write transaction. `now` is fixed for the whole transaction."""

    def __init__(self, conn: sqlite3.Connection, *, now: datetime, signers: SignerSource) -> None:
        super().__init__(conn)
        self.now = now
        self._signers = signers
        self._journal = Journal(ts=iso(now), signer_for=self._audit_signer)

    async def _audit_signer(self, org_id: str) -> Signer:
        return await self._signers.signer(self, org_id, KeyPurpose.AUDIT)

    # The chain.

    async def audit(
        self,
        org_id: str,
        project_id: str | None,
        *,
        actor: str,
        type: str,
        subject: str | None = None,
        ref: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """Append one signed entry to the org's chain, in this transaction."""
        if not self._journal.knows(org_id):
            self._journal.start(org_id, await self.audit_head(org_id))
        entry = await self._journal.append(
            org_id, project_id, actor=actor, type=type, subject=subject, ref=ref, payload=payload or {}
        )
        body = entry.body
        await self._exec(
            "INSERT INTO audit (org_id, seq, project_id, ts, actor, type, subject, ref, payload, prev_hash, "
            "entry_hash, signature, kid, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                org_id,
                body.seq,
                project_id,
                body.ts,
                actor,
                type,
                subject,
                ref,
                canonical_json(body.payload).decode(),
                entry.prev_hash,
                entry.entry_hash,
                entry.signature,
                entry.kid,
                entry.canonical,
            ),
        )
        return entry

    # Tenants.

    async def insert_org(self, org_id: str, name: str) -> None:
        await self._exec("INSERT INTO orgs VALUES (?, ?, ?)", (org_id, name, iso(self.now)))

    async def insert_project(self, org_id: str, project_id: str, name: str) -> None:
        await self._exec("INSERT INTO projects VALUES (?, ?, ?, ?)", (org_id, project_id, name, iso(self.now)))

    async def insert_key(self, org_id: str, key: SealedKey) -> None:
        await self._exec(
            "INSERT INTO org_keys (org_id, kid, purpose, public_key, private_key_enc, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (org_id, key.kid, key.purpose.value, key.public_key, key.private_key_enc, iso(self.now)),
        )

    async def insert_checkpoint(self, checkpoint: Checkpoint, *, frontier: bytes | None = None) -> None:
        c = checkpoint
        await self._exec(
            "INSERT INTO checkpoints (org_id, size, root, ts, kid, signature, frontier) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (c.org_id, c.size, c.root, c.ts, c.kid, c.signature, frontier),
        )

    async def insert_export(self, row: ExportRow) -> None:
        await self._exec(
            "INSERT INTO exports (org_id, number, format, from_seq, to_seq, checkpoint_size, manifest_sha256, "
            "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (row.org_id, row.number, row.format, row.from_seq, row.to_seq, row.checkpoint_size,
             row.manifest_sha256, row.created_by, row.created_at),
        )  # fmt: skip

    async def retire_key(self, org_id: str, kid: str) -> int:
        """Stop a key from signing (it still verifies); answers 1 if it was current."""
        sql = "UPDATE org_keys SET retired_at = ? WHERE org_id = ? AND kid = ? AND retired_at IS NULL"
        return await self._exec(sql, (iso(self.now), org_id, kid))

    async def insert_agent(self, ref: AgentRef, *, name: str, token_hash: str) -> None:
        await self._exec(
            "INSERT INTO agents (org_id, project_id, agent_id, name, token_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (ref.org_id, ref.project_id, ref.agent_id, name, token_hash, iso(self.now)),
        )

    async def update_agent_token(self, ref: AgentRef, *, token_hash: str) -> None:
        changed = await self._exec(
            "UPDATE agents SET token_hash = ? WHERE org_id = ? AND project_id = ? AND agent_id = ?",
            (token_hash, ref.org_id, ref.project_id, ref.agent_id),
        )
        assert changed == 1, "the agent exists"

    async def disable_agent(self, ref: AgentRef, *, by: str) -> bool:
        """Disable an agent for good; its token stops working. False if it already was."""
        changed = await self._exec(
            "UPDATE agents SET disabled_at = ?, disabled_by = ? WHERE org_id = ? AND project_id = ? "
            "AND agent_id = ? AND disabled_at IS NULL",
            (iso(self.now), by, ref.org_id, ref.project_id, ref.agent_id),
        )
        return changed == 1

    async def insert_operator(
        self, operator_id: str, *, name: str, role: str, token_hash: str, by: str, expires_at: datetime | None
    ) -> None:
        await self._exec(
            "INSERT INTO operators (operator_id, name, role, token_hash, created_by, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (operator_id, name, role, token_hash, by, iso(self.now), None if expires_at is None else iso(expires_at)),
        )

    async def revoke_operator(self, operator_id: str, *, by: str) -> bool:
        changed = await self._exec(
            "UPDATE operators SET revoked_at = ?, revoked_by = ? WHERE operator_id = ? AND revoked_at IS NULL",
            (iso(self.now), by, operator_id),
        )
        return changed == 1

    async def insert_session(self, session_hash: str, operator_id: str, *, expires_at: datetime) -> None:
        await self._exec(
            "INSERT INTO operator_sessions (session_hash, operator_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
            (session_hash, operator_id, iso(self.now), iso(expires_at)),
        )

    async def end_session(self, session_hash: str) -> bool:
        changed = await self._exec(
            "UPDATE operator_sessions SET ended_at = ? WHERE session_hash = ? AND ended_at IS NULL",
            (iso(self.now), session_hash),
        )
        return changed == 1

    async def end_sessions(self, operator_id: str) -> int:
        return await self._exec(
            "UPDATE operator_sessions SET ended_at = ? WHERE operator_id = ? AND ended_at IS NULL",
            (iso(self.now), operator_id),
        )

    async def insert_policy(self, org_id: str, project_id: str, *, version_hash: str, source: str, by: str) -> int:
        current = await self.active_policy(org_id, project_id)
        version = 1 if current is None else current.version + 1
        await self._exec(
            "INSERT INTO policies VALUES (?, ?, ?, ?, ?, ?, ?)",
            (org_id, project_id, version, version_hash, source, by, iso(self.now)),
        )
        return version

    # Wallets: every balance change writes its ledger row; the schema re-checks both.

    async def create_wallet(self, caller: AgentRef, currency: str) -> Wallet:
        await self._exec(
            "INSERT INTO wallets VALUES (?, ?, ?, ?, 0, 0, ?)",
            (caller.org_id, caller.project_id, caller.agent_id, currency, iso(self.now)),
        )
        return Wallet(currency, 0, 0)

    async def move_wallet(
        self,
        caller: AgentRef,
        before: Wallet,
        after: Wallet,
        *,
        kind: str,
        amount: Money,
        transaction_id: str | None,
        closed_mandate_id: str | None,
    ) -> None:
        changed = await self._exec(
            "UPDATE wallets SET available_minor = ?, held_minor = ?, updated_at = ? WHERE org_id = ? "
            "AND project_id = ? AND agent_id = ? AND currency = ? AND available_minor = ? AND held_minor = ?",
            (
                after.available_minor,
                after.held_minor,
                iso(self.now),
                caller.org_id,
                caller.project_id,
                caller.agent_id,
                before.currency,
                before.available_minor,
                before.held_minor,
            ),
        )
        if changed != 1:
            raise ConflictError("wallet changed under the writer")
        await self._exec(
            "INSERT INTO ledger (org_id, project_id, agent_id, currency, kind, amount_minor, transaction_id, "
            "closed_mandate_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                caller.org_id,
                caller.project_id,
                caller.agent_id,
                amount.currency,
                kind,
                amount.amount_minor,
                transaction_id,
                closed_mandate_id,
                iso(self.now),
            ),
        )

    # Transactions.

    async def insert_transaction(
        self,
        transaction_id: str,
        intent: PaymentIntent,
        *,
        counterparty_commitment: str,
        reference: str,
        actor: str,
        payload: dict[str, Any],
    ) -> TransactionRow:
        """Persist a new transaction in `received` and audit it. The row keeps the counterparty only
        as `counterparty_commitment` (from `commit_pii`)."""
        caller, stamp, args_hash = intent.caller, iso(self.now), intent.args_hash(counterparty_commitment)
        await self._exec(
            "INSERT INTO transactions (org_id, project_id, transaction_id, agent_id, tool, state, code, "
            "amount_minor, currency, counterparty_commitment, purpose, category, country, memo, metadata, "
            "idempotency_key, args_hash, reference, original_transaction_id, created_at, updated_at, "
            "requested_rail) VALUES (?, ?, ?, ?, ?, 'received', 'ok', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                caller.org_id,
                caller.project_id,
                transaction_id,
                caller.agent_id,
                intent.tool.value,
                intent.amount.amount_minor,
                intent.amount.currency,
                counterparty_commitment,
                intent.purpose,
                intent.category,
                intent.country,
                intent.memo,
                json.dumps(dict(intent.metadata)),
                intent.idempotency_key,
                args_hash,
                reference,
                intent.original_transaction_id,
                stamp,
                stamp,
                intent.rail,
            ),
        )
        row = TransactionRow(
            org_id=caller.org_id,
            project_id=caller.project_id,
            transaction_id=transaction_id,
            agent_id=caller.agent_id,
            tool=intent.tool,
            state=TxState.RECEIVED,
            code="ok",
            amount=intent.amount,
            counterparty=intent.counterparty,
            counterparty_commitment=counterparty_commitment,
            purpose=intent.purpose,
            category=intent.category,
            country=intent.country,
            memo=intent.memo,
            metadata=tuple(sorted(intent.metadata)),
            idempotency_key=intent.idempotency_key,
            args_hash=args_hash,
            reference=reference,
            policy_version=None,
            open_mandate_id=None,
            closed_mandate_id=None,
            approval_id=None,
            original_transaction_id=intent.original_transaction_id,
            rail=None,
            rail_reference=None,
            created_at=stamp,
            updated_at=stamp,
            requested_rail=intent.rail,
        )
        await self.audit(
            caller.org_id,
            caller.project_id,
            actor=actor,
            type="transaction.received",
            subject=transaction_id,
            ref=reference,
            payload=payload,
        )
        return row

    async def move(
        self,
        txn: TransactionRow,
        target: TxState,
        *,
        actor: str,
        code: str | None = None,
        payload: dict[str, Any] | None = None,
        **columns: str | None,
    ) -> TransactionRow:
        """Move `txn` to `target` (checked against the table), update columns, audit the move."""
        check_transition(txn.state, target)
        allowed = {
            "policy_version",
            "open_mandate_id",
            "closed_mandate_id",
            "approval_id",
            "rail",
            "rail_reference",
            "rail_note",
            "lease_owner",
            "lease_until",
        }
        assert set(columns) <= allowed, "only workflow columns change after insert"
        sets = {"state": target.value, "code": code or txn.code, "updated_at": iso(self.now), **columns}
        assignments = ", ".join(f"{name} = ?" for name in sets)
        changed = await self._exec(
            f"UPDATE transactions SET {assignments} WHERE org_id = ? AND project_id = ? "  # noqa: S608
            "AND transaction_id = ? AND state = ?",
            (*sets.values(), txn.org_id, txn.project_id, txn.transaction_id, txn.state.value),
        )
        if changed != 1:
            raise ConflictError(f"transaction {txn.transaction_id} moved concurrently")
        body = {"from": txn.state.value, "to": target.value, "code": sets["code"], **(payload or {})}
        await self.audit(
            txn.org_id,
            txn.project_id,
            actor=actor,
            type=f"transaction.{target.value}",
            subject=txn.transaction_id,
            ref=txn.reference,
            payload=body,
        )
        changes: dict[str, Any] = {**columns, "state": target, "code": sets["code"], "updated_at": sets["updated_at"]}
        return replace(txn, **changes)

    # Mandates and approvals.

    async def insert_open_mandate(self, caller: AgentRef, mandate_id: str, *, token: str, issued_by: str) -> None:
        await self._exec(
            "INSERT INTO open_mandates (org_id, project_id, mandate_id, agent_id, token, status, issued_by, "
            "issued_at) VALUES (?, ?, ?, ?, ?, 'active', ?, ?)",
            (caller.org_id, caller.project_id, mandate_id, caller.agent_id, token, issued_by, iso(self.now)),
        )

    async def use_open_mandate(self, org_id: str, project_id: str, mandate_id: str, amount_minor: int) -> None:
        changed = await self._exec(
            "UPDATE open_mandates SET uses = uses + 1, used_minor = used_minor + ? WHERE org_id = ? "
            "AND project_id = ? AND mandate_id = ? AND status = 'active'",
            (amount_minor, org_id, project_id, mandate_id),
        )
        if changed != 1:
            raise ConflictError(f"open mandate {mandate_id} is not active")

    async def return_open_mandate_use(self, org_id: str, project_id: str, mandate_id: str, amount_minor: int) -> None:
        """Undo `use_open_mandate` for a payment that never moved; the CHECKs keep both counters >= 0."""
        changed = await self._exec(
            "UPDATE open_mandates SET uses = uses - 1, used_minor = used_minor - ? WHERE org_id = ? "
            "AND project_id = ? AND mandate_id = ?",
            (amount_minor, org_id, project_id, mandate_id),
        )
        assert changed == 1, "a transaction names an open mandate of its own tenant"

    async def replace_open_mandate_token(self, org_id: str, project_id: str, mandate_id: str, *, token: str) -> None:
        """Store a re-signed token (a renewal) for an active mandate; its usage counters stay."""
        changed = await self._exec(
            "UPDATE open_mandates SET token = ? WHERE org_id = ? AND project_id = ? AND mandate_id = ? "
            "AND status = 'active'",
            (token, org_id, project_id, mandate_id),
        )
        if changed != 1:
            raise ConflictError(f"open mandate {mandate_id} is not active")

    async def revoke_open_mandate(self, org_id: str, project_id: str, mandate_id: str, *, by: str, reason: str) -> bool:
        changed = await self._exec(
            "UPDATE open_mandates SET status = 'revoked', revoked_by = ?, revoked_at = ?, revoked_reason = ? "
            "WHERE org_id = ? AND project_id = ? AND mandate_id = ? AND status = 'active'",
            (by, iso(self.now), reason, org_id, project_id, mandate_id),
        )
        return changed == 1

    async def take_lease(self, txn: TransactionRow, *, owner: str, until: datetime) -> bool:
        """Claim an in-flight transaction for `owner` unless another process holds a live lease on it."""
        changed = await self._exec(
            "UPDATE transactions SET lease_owner = ?, lease_until = ? WHERE org_id = ? AND project_id = ? "
            "AND transaction_id = ? AND state = ? AND (lease_until IS NULL OR lease_until < ? OR lease_owner = ?)",
            (
                owner,
                iso(until),
                txn.org_id,
                txn.project_id,
                txn.transaction_id,
                txn.state.value,
                iso(self.now),
                owner,
            ),
        )
        return changed == 1

    async def release_lease(self, txn: TransactionRow, *, owner: str) -> None:
        await self._exec(
            "UPDATE transactions SET lease_owner = NULL, lease_until = NULL WHERE org_id = ? AND project_id = ? "
            "AND transaction_id = ? AND lease_owner = ?",
            (txn.org_id, txn.project_id, txn.transaction_id, owner),
        )

    async def insert_closed_mandate(
        self, txn: TransactionRow, mandate_id: str, *, parent_id: str, token: str, expires_at: datetime
    ) -> None:
        await self._exec(
            "INSERT INTO closed_mandates VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            (
                txn.org_id,
                txn.project_id,
                mandate_id,
                txn.transaction_id,
                parent_id,
                token,
                iso(self.now),
                iso(expires_at),
            ),
        )

    async def use_closed_mandate(self, org_id: str, project_id: str, mandate_id: str) -> None:
        """Spend a closed mandate: single use, enforced by the `used_at IS NULL` guard."""
        changed = await self._exec(
            "UPDATE closed_mandates SET used_at = ? WHERE org_id = ? AND project_id = ? AND mandate_id = ? "
            "AND used_at IS NULL",
            (iso(self.now), org_id, project_id, mandate_id),
        )
        if changed != 1:
            raise ConflictError(f"closed mandate {mandate_id} was already used")

    async def insert_approval(
        self,
        txn: TransactionRow,
        approval_id: str,
        *,
        policy_version: str,
        rule_id: str | None,
        expires_at: datetime,
        approvers: int = 1,
    ) -> None:
        await self._exec(
            "INSERT INTO approvals (org_id, project_id, approval_id, transaction_id, args_hash, policy_version, "
            "rule_id, status, requested_at, expires_at, approvers_required) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
            (
                txn.org_id,
                txn.project_id,
                approval_id,
                txn.transaction_id,
                txn.args_hash,
                policy_version,
                rule_id,
                iso(self.now),
                iso(expires_at),
                approvers,
            ),
        )

    async def add_approval_vote(self, approval_id: str, operator_id: str) -> None:
        await self._exec(
            "INSERT INTO approval_votes (approval_id, operator_id, voted_at) VALUES (?, ?, ?)",
            (approval_id, operator_id, iso(self.now)),
        )

    async def decide_approval(self, approval_id: str, status: str, *, by: str, reason: str | None) -> None:
        """Close a pending approval; a decided approval never changes again (single use)."""
        changed = await self._exec(
            "UPDATE approvals SET status = ?, decided_by = ?, decided_at = ?, reason = ? "
            "WHERE approval_id = ? AND status = 'pending'",
            (status, by, iso(self.now), reason, approval_id),
        )
        if changed != 1:
            raise ConflictError(f"approval {approval_id} is no longer pending")

    # Screening: per-org configuration and tainted agents.

    async def insert_injection_config(self, org_id: str, *, version_hash: str, source: str, by: str) -> int:
        current = await self.injection_config(org_id)
        version = 1 if current is None else current.version + 1
        await self._exec(
            "INSERT INTO injection_configs VALUES (?, ?, ?, ?, ?, ?)",
            (org_id, version, version_hash, source, by, iso(self.now)),
        )
        return version

    async def insert_taint(self, caller: AgentRef, taint_id: str, *, source: str, reference: str) -> None:
        await self._exec(
            "INSERT INTO taints (org_id, project_id, agent_id, taint_id, source, reference, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (caller.org_id, caller.project_id, caller.agent_id, taint_id, source, reference, iso(self.now)),
        )

    async def clear_taints(self, caller: AgentRef, *, by: str) -> int:
        return await self._exec(
            "UPDATE taints SET cleared_at = ?, cleared_by = ? WHERE org_id = ? AND project_id = ? AND agent_id = ? "
            "AND cleared_at IS NULL",
            (iso(self.now), by, caller.org_id, caller.project_id, caller.agent_id),
        )

    # Kill switches.

    async def insert_kill_switch(
        self, switch_id: str, org_id: str, *, scope: str, target: str, reason: str, by: str
    ) -> None:
        await self._exec(
            "INSERT INTO kill_switches (switch_id, org_id, scope, target, reason, pulled_by, pulled_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (switch_id, org_id, scope, target, reason, by, iso(self.now)),
        )

    async def lift_kill_switches(self, *, scope: str, target: str, by: str) -> list[str]:
        """Lift every active switch of exactly this scope and target; the ids lifted."""
        rows = await self._all(
            "UPDATE kill_switches SET lifted_at = ?, lifted_by = ? WHERE scope = ? AND target = ? "
            "AND lifted_at IS NULL RETURNING switch_id",
            (iso(self.now), by, scope, target),
        )
        return sorted(row["switch_id"] for row in rows)
