"""The writes of the durable counters, the alert outbox, the refusal windows and the audit sinks' cursors.

Split from `writer.py` by job: these rows are bookkeeping the gate keeps beside each hold,
release and settlement, in the same transaction (a `Writer` is one of these).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fiduciary.domain.clock import iso
from fiduciary.domain.intents import AgentRef
from fiduciary.domain.records import RefusalWindow
from fiduciary.policies.windows import hour_bucket, minute_bucket
from fiduciary.store.sqlite.queries import Queries
from fiduciary.store.sqlite.statements import SUBJECT


class CounterWrites(Queries):
    """Writes inside a transaction the single writer holds; `now` is fixed for the transaction."""

    now: datetime

    async def _exec(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        """Run one INSERT/UPDATE in a single round trip; the number of rows it touched."""
        return len(await self._all(f"{sql} RETURNING 1", params))

    # Durable counters, changed in the same transaction as the hold, release or settlement they count.

    async def count_spend(
        self, caller: AgentRef, *, tool: str, currency: str, counterparty: str, at: datetime, amount_minor: int
    ) -> None:
        """Add (or, negative, give back) one payment's amount in the hour bucket of `at`, overall and per payee.

        The CHECKs keep every counter at or above zero.
        """
        bucket = iso(hour_bucket(at))
        key = (caller.org_id, caller.project_id, caller.agent_id, tool, currency, bucket)
        payee_key = (caller.org_id, caller.project_id, caller.agent_id, caller.org_id, counterparty, tool, currency,
                     bucket)  # fmt: skip
        if amount_minor < 0:
            changed = await self._exec(
                "UPDATE spend_buckets SET amount_minor = amount_minor + ? WHERE org_id = ? AND project_id = ? "
                "AND agent_id = ? AND tool = ? AND currency = ? AND bucket = ?",
                (amount_minor, *key),
            )
            changed += await self._exec(
                "UPDATE payee_buckets SET amount_minor = amount_minor + ?, payments = payments - 1 "  # noqa: S608
                "WHERE org_id = ? "
                f"AND project_id = ? AND agent_id = ? AND subject_id = {SUBJECT} AND tool = ? AND currency = ? "
                "AND bucket = ?",
                (amount_minor, *payee_key),
            )
            assert changed == 2, "a give-back follows the spending it returns"
            return
        await self._exec(
            "INSERT INTO spend_buckets VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (org_id, project_id, agent_id, tool, "
            "currency, bucket) DO UPDATE SET amount_minor = spend_buckets.amount_minor + excluded.amount_minor",
            (*key, amount_minor),
        )
        await self._exec(
            f"INSERT INTO payee_buckets VALUES (?, ?, ?, {SUBJECT}, ?, ?, ?, ?, 1) ON CONFLICT (org_id, project_id, "  # noqa: S608
            "agent_id, subject_id, tool, currency, bucket) DO UPDATE SET "
            "amount_minor = payee_buckets.amount_minor + excluded.amount_minor, payments = payee_buckets.payments + 1",
            (*payee_key, amount_minor),
        )

    async def count_call(self, caller: AgentRef, *, tool: str, at: datetime) -> None:
        await self._exec(
            "INSERT INTO call_buckets VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (org_id, project_id, agent_id, tool, "
            "bucket) DO UPDATE SET calls = call_buckets.calls + 1",
            (caller.org_id, caller.project_id, caller.agent_id, tool, iso(minute_bucket(at))),
        )

    async def count_payment_to(self, caller: AgentRef, counterparty: str) -> None:
        stamp = iso(self.now)
        await self._exec(
            f"INSERT INTO payees VALUES (?, ?, ?, {SUBJECT}, 1, ?, ?) ON CONFLICT (org_id, project_id, agent_id, "  # noqa: S608
            "subject_id) DO UPDATE SET payments = payees.payments + 1, last_paid_at = excluded.last_paid_at",
            (caller.org_id, caller.project_id, caller.agent_id, caller.org_id, counterparty, stamp, stamp),
        )

    # The alert outbox.

    async def insert_delivery(self, delivery_id: str, *, alert_id: str, org_id: str, url: str, body: str) -> None:
        await self._exec(
            "INSERT INTO alert_outbox (delivery_id, alert_id, org_id, url, body, next_at) VALUES (?, ?, ?, ?, ?, ?)",
            (delivery_id, alert_id, org_id, url, body, iso(self.now)),
        )

    async def record_attempt(
        self, delivery_id: str, *, status: int | None, delivered: bool, failed: bool, next_at: datetime
    ) -> None:
        """One delivery attempt: delivered, given up, or due again at `next_at`."""
        await self._exec(
            "UPDATE alert_outbox SET attempts = attempts + 1, last_status = ?, next_at = ?, "
            "delivered_at = CASE WHEN ? THEN ? END, failed_at = CASE WHEN ? THEN ? END "
            "WHERE delivery_id = ? AND delivered_at IS NULL AND failed_at IS NULL",
            (status, iso(next_at), delivered, iso(self.now), failed, iso(self.now), delivery_id),
        )

    # Refusal windows.

    async def open_refusal_window(self, window: RefusalWindow) -> None:
        """Start (or restart) a source's window with its first refusal."""
        await self._exec(
            "INSERT INTO refusal_windows (org_id, source, kind, window_start, first_ref, count) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (org_id, source, kind) DO UPDATE SET "
            "window_start = excluded.window_start, first_ref = excluded.first_ref, count = excluded.count",
            (window.org_id, window.source, window.kind, window.window_start, window.first_ref, window.count),
        )

    async def count_refusal(self, org_id: str, source: str, kind: str) -> None:
        changed = await self._exec(
            "UPDATE refusal_windows SET count = count + 1 WHERE org_id = ? AND source = ? AND kind = ?",
            (org_id, source, kind),
        )
        assert changed == 1, "the window was read in this transaction"

    async def close_refusal_window(self, window: RefusalWindow) -> None:
        await self._exec(
            "DELETE FROM refusal_windows WHERE org_id = ? AND source = ? AND kind = ? AND window_start = ?",
            (window.org_id, window.source, window.kind, window.window_start),
        )

    # Audit sinks: bookkeeping of delivery, not state the chain describes.

    async def advance_sink(
        self, sink: str, org_id: str, *, seq: int, bundles: int | None = None, manifest_sha256: bytes | None = None
    ) -> None:
        """The sink acknowledged every entry up to `seq`: the cursor moves there (never back)."""
        await self._exec(
            "INSERT INTO sink_cursors (sink, org_id, seq, delivered_at, bundles, manifest_sha256) "
            "VALUES (?, ?, ?, ?, COALESCE(?, 0), ?) ON CONFLICT (sink, org_id) DO UPDATE SET "
            "seq = excluded.seq, delivered_at = excluded.delivered_at, attempts = 0, "
            "bundles = COALESCE(?, sink_cursors.bundles), "
            "manifest_sha256 = COALESCE(excluded.manifest_sha256, sink_cursors.manifest_sha256) "
            "WHERE sink_cursors.seq <= excluded.seq",
            (sink, org_id, seq, iso(self.now), bundles, manifest_sha256, bundles),
        )

    async def sink_failed(self, sink: str, org_id: str, *, status: int | None, error: str, next_at: datetime) -> None:
        """One failed attempt: recorded with its status and reason, and not tried again before `next_at`."""
        await self._exec(
            "INSERT INTO sink_cursors (sink, org_id, attempts, next_at, error_status, error, error_at) "
            "VALUES (?, ?, 1, ?, ?, ?, ?) ON CONFLICT (sink, org_id) DO UPDATE SET "
            "attempts = sink_cursors.attempts + 1, next_at = excluded.next_at, error_status = excluded.error_status, "
            "error = excluded.error, error_at = excluded.error_at",
            (sink, org_id, iso(next_at), status, error, iso(self.now)),
        )

    async def claim_sink(self, sink: str, org_id: str, *, until: datetime) -> bool:
        """Take the (sink, org) pair until `until`, unless another process holds it or it is backed off."""
        return bool(
            await self._exec(
                "INSERT INTO sink_cursors (sink, org_id, next_at) VALUES (?, ?, ?) ON CONFLICT (sink, org_id) "
                "DO UPDATE SET next_at = excluded.next_at "
                "WHERE sink_cursors.next_at IS NULL OR sink_cursors.next_at <= ?",
                (sink, org_id, iso(until), iso(self.now)),
            )
        )

    async def release_sink(self, sink: str, org_id: str) -> None:
        await self._exec("UPDATE sink_cursors SET next_at = NULL WHERE sink = ? AND org_id = ?", (sink, org_id))

    async def stop_sink(self, sink: str, *, status: int | None, reason: str) -> bool:
        """Stop a sink until an admin resumes it; False if it already was stopped."""
        return bool(
            await self._exec(
                "INSERT INTO sink_states (sink, stopped_at, stop_status, stop_reason) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (sink) DO UPDATE SET stopped_at = excluded.stopped_at, "
                "stop_status = excluded.stop_status, stop_reason = excluded.stop_reason "
                "WHERE sink_states.stopped_at IS NULL",
                (sink, iso(self.now), status, reason),
            )
        )

    async def resume_sink(self, sink: str, *, by: str) -> bool:
        """Lift a stop and make every cursor of the sink due now; False if it was not stopped."""
        changed = await self._exec(
            "UPDATE sink_states SET stopped_at = NULL, resumed_at = ?, resumed_by = ? "
            "WHERE sink = ? AND stopped_at IS NOT NULL",
            (iso(self.now), by, sink),
        )
        await self._exec("UPDATE sink_cursors SET attempts = 0, next_at = NULL WHERE sink = ?", (sink,))
        return bool(changed)
