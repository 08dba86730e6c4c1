"""Nothing changes unrecorded: a walk of the state machine and the control service, every write watched.

The SQLite database gets triggers of the test's own that log every row each write transaction
inserts, updates or deletes (and every transaction's and approval's change of state). After each
transaction commits, its changes are compared with the audit entries it appended:

1. a transaction that changes any table holding state appends at least one entry;
2. each change of a transaction's state is exactly one `transaction.<state>` entry about it,
   and each approval decided, one entry naming the approval;
3. the only tables a transaction may change with no entry are bookkeeping that records no
   decision: counters derived from audited payments, the commitments' side table, delivery
   state and sessions (`UNAUDITED`, each with its reason).
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from fiduciary.control import MandateSpec, Role, Scope, Tenant, TenantSpec
from fiduciary.domain.clock import FakeClock
from fiduciary.domain.intents import AgentRef, PaymentRequest, Tool
from fiduciary.domain.money import parse_amount
from fiduciary.domain.results import Status
from fiduciary.mandates.keys import KeyPurpose
from fiduciary.runtime import Runtime, open_runtime
from fiduciary.settings import Settings
from tests.conftest import DEFAULT_TERMS, TEST_POLICY

pytestmark = pytest.mark.anyio

UNAUDITED = {
    "pii": "the salts of the commitments a transaction's entry carries, written with it",
    "subjects": "the vault's one copy of each counterparty a commitment stands for, written with its first entry",
    "spend_buckets": "counters of spend, derived from the audited payments they count",
    "call_buckets": "counters of calls, derived from the audited calls",
    "payees": "the payees an agent has paid, derived from audited settlements",
    "payee_buckets": "counters per payee, derived from the audited payments",
    "refusal_windows": "counts of unauthenticated refusals, summarised later in call.refused_repeated",
    "alert_outbox": "delivery state of budget alerts whose crossing is audited",
    "operator_sessions": "dashboard sessions; sign-in and sign-out are audited where they happen",
    "sink_cursors": "how far each audit sink has delivered the chain: reading it, not changing it",
    "sink_states": "a sink's retry schedule and last error; stopping and resuming it is audited",
}
ERASABLE = {"pii", "subjects"}
"""Of those, the vault: writing into it is bookkeeping, changing what is in it (an erasure) is not."""
WATCHED_OUT = {"audit", "migrations", "_changes", "sqlite_sequence"}


def install_watch(db_path: Path) -> list[str]:
    """Triggers on every table logging each row change into `_changes`; answers the tables watched."""
    with closing(sqlite3.connect(db_path)) as db, db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        db.execute("CREATE TABLE _changes (id INTEGER PRIMARY KEY, tbl TEXT NOT NULL, op TEXT NOT NULL, detail TEXT)")
        watched = [t for t in tables if t not in WATCHED_OUT]
        for table in watched:
            for op in ("INSERT", "UPDATE", "DELETE"):
                db.execute(
                    f"CREATE TRIGGER _watch_{table}_{op.lower()} AFTER {op} ON {table} "
                    f"BEGIN INSERT INTO _changes (tbl, op) VALUES ('{table}', '{op.lower()}'); END"
                )
        db.execute(
            "CREATE TRIGGER _watch_transaction_state AFTER UPDATE OF state ON transactions "
            "WHEN OLD.state IS NOT NEW.state BEGIN INSERT INTO _changes (tbl, op, detail) "
            "VALUES ('transactions', 'state', NEW.transaction_id || ' ' || NEW.state); END"
        )
        db.execute(
            "CREATE TRIGGER _watch_transaction_new AFTER INSERT ON transactions "
            "BEGIN INSERT INTO _changes (tbl, op, detail) "
            "VALUES ('transactions', 'state', NEW.transaction_id || ' ' || NEW.state); END"
        )
        db.execute(
            "CREATE TRIGGER _watch_approval_status AFTER UPDATE OF status ON approvals "
            "WHEN OLD.status IS NOT NEW.status BEGIN INSERT INTO _changes (tbl, op, detail) "
            "VALUES ('approvals', 'status', NEW.approval_id || ' ' || NEW.status); END"
        )
    return watched


@dataclass
class Write:
    """One committed write transaction: its row changes and the entries it appended."""

    changes: list[tuple[str, str, str | None]]
    entries: list[tuple[str, str | None, str]] = field(default_factory=list)
    """(type, subject, payload JSON) of each entry."""


class Watch:
    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.writes: list[Write] = []
        self._change, self._entry = 0, 0

    def collect(self) -> None:
        with closing(sqlite3.connect(self.db_path)) as db:
            changes = db.execute("SELECT id, tbl, op, detail FROM _changes WHERE id > ? ORDER BY id", (self._change,))
            changed = changes.fetchall()
            entries = db.execute(
                "SELECT rowid, type, subject, payload FROM audit WHERE rowid > ? ORDER BY rowid", (self._entry,)
            ).fetchall()
        if changed:
            self._change = changed[-1][0]
        if entries:
            self._entry = entries[-1][0]
        if changed or entries:
            self.writes.append(Write([(t, o, d) for _, t, o, d in changed], [(k, s, p) for _, k, s, p in entries]))

    def wrap(self, rt: Runtime) -> None:
        original = rt.store.write

        @asynccontextmanager
        async def write(org_id: str | None = None) -> AsyncIterator[Any]:
            async with original(org_id) as w:
                yield w
            self.collect()

        rt.store.write = write  # type: ignore[method-assign]


async def pay(
    rt: Runtime, caller: AgentRef, amount: str, key: str, *, to: str = "acct:supplies", tool: Tool = Tool.PAY
) -> Any:
    request = PaymentRequest(tool, "coverage walk", amount, "USD", to, idempotency_key=key)
    return await rt.gate.request(caller, request, reference=f"ref_{key}")


async def walk(rt: Runtime, clock: FakeClock, tmp: Path) -> None:
    """Every kind of change the gate and the control service make, once or more."""
    spec = TenantSpec("acme", "agent-1", TEST_POLICY, parse_amount("1000.00", "USD"), DEFAULT_TERMS, 30)
    tenant: Tenant = await rt.control.initialise(spec, admin_name="admin")
    op, caller = tenant.admin, AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id)
    assert (await pay(rt, caller, "10.00", "settled")).status is Status.EXECUTED
    assert (await pay(rt, caller, "5000.00", "too-big")).status is Status.DENIED
    assert (await pay(rt, caller, "1.00", "rail-refused", to="shop@reject.sandbox")).status is Status.FAILED
    await pay(rt, caller, "2.00", "lost-answer", to="shop@timeout.sandbox")
    await rt.gate.sweep(idle_seconds=0)
    held = [await pay(rt, caller, "300.00", f"held-{n}") for n in range(3)]
    await rt.control.approvals.approve(op, held[0].approval_id)
    await rt.control.approvals.reject(op, held[1].approval_id, reason="not budgeted")
    clock.advance(seconds=25 * 3600)
    await rt.control.approvals.sweep_expired()
    charged = await pay(rt, caller, "20.00", "charge", to="cus:ana", tool=Tool.CHARGE)
    assert charged.status is Status.EXECUTED
    refund = PaymentRequest(
        tool=Tool.REFUND, purpose="walk", amount="5.00", original_transaction_id=charged.transaction_id
    )
    assert (await rt.gate.request(caller, refund, reference="ref_refund")).status is Status.EXECUTED
    dry = PaymentRequest(Tool.PAY, "coverage walk", "3.00", "USD", "acct:supplies", idempotency_key="dry", dry_run=True)
    await rt.gate.request(caller, dry, reference="ref_dry")
    await rt.gate.authenticate("fid_agent_nope", tool="pay", reference="ref_nope", source="test")

    spec2 = MandateSpec(agent_id=tenant.agent_id, currency="USD", max_per_use="50.00", total_cap="100.00", purpose="w")
    issued = await rt.control.mandates.issue(op, spec2)
    await rt.control.mandates.renew(op, issued.row.mandate_id)
    await rt.control.mandates.revoke(op, issued.row.mandate_id, reason="walk")
    await rt.control.wallets.fund(op, tenant.agent_id, parse_amount("50.00", "USD"))
    bot, _ = await rt.control.agents.add(op, "bot-2")
    await rt.control.agents.rotate_token(op, bot.ref.agent_id)
    await rt.control.agents.disable(op, bot.ref.agent_id, reason="walk")
    await rt.control.operators.add(op, "alice", Role.APPROVER)
    await rt.control.operators.revoke(op, "alice")
    await rt.control.config.apply_policy(op, None, None, TEST_POLICY.replace('"250.00"', '"260.00"'))
    await rt.control.config.apply_injection(op, None, "threshold = 0.8\n")
    await rt.control.kill.pull(op, Scope.AGENT, tenant.agent_id, reason="walk")
    await pay(rt, caller, "1.00", "frozen")
    await rt.control.kill.lift(op, Scope.AGENT, tenant.agent_id)
    await rt.control.keys.rotate(op, tenant.org_id, list(KeyPurpose), reason="walk")
    await rt.control.evidence.checkpoint(op, tenant.org_id)
    await rt.control.evidence.export(op, tenant.org_id, fmt="jsonl", out=tmp / "bundle")
    hold = await rt.control.privacy.hold(op, tenant.org_id, "cus:ana", reason="walk")
    await rt.control.privacy.clear(op, hold.hold_id, reason="walk")
    await rt.control.privacy.erase(op, tenant.org_id, "cus:ana", reason="walk")
    await rt.maintain()


async def test_every_change_of_the_walk_is_recorded_in_the_transaction_that_makes_it(
    tmp_path: Path, clock: FakeClock
) -> None:
    settings = Settings(home=tmp_path / "home", log_level="WARNING")
    async with open_runtime(settings, clock=clock, resume=False, create=True):
        pass  # the schema, migrated
    watched = install_watch(settings.db_path)
    assert set(UNAUDITED) <= set(watched), "every exemption names a real table"
    watch = Watch(settings.db_path)
    async with open_runtime(settings, clock=clock, resume=False) as rt:
        watch.wrap(rt)
        await walk(rt, clock, tmp_path)

    touched = Counter(table for w in watch.writes for table, _, _ in w.changes)
    reached = {"transactions", "wallets", "ledger", "open_mandates", "closed_mandates", "approvals", "agents",
               "operators", "policies", "injection_configs", "kill_switches", "org_keys", "checkpoints",
               "exports", "legal_holds", "subjects"}  # fmt: skip
    assert reached <= set(touched), f"the walk reaches every kind of state: {sorted(touched)}"
    problems = []
    for n, w in enumerate(watch.writes):
        state_tables = {t for t, o, _ in w.changes if t not in UNAUDITED or (t in ERASABLE and o != "insert")}
        state_tables -= {"_changes"}
        if state_tables and not w.entries:
            problems.append(f"write {n} changed {sorted(state_tables)} and appended no entry")
        moves = [d for t, o, d in w.changes if t == "transactions" and o == "state" and d]
        recorded = Counter(
            (subject, kind.removeprefix("transaction."))
            for kind, subject, _ in w.entries
            if kind.startswith("transaction.")
        )
        for move in moves:
            txn_id, state = move.split(" ")
            if recorded[(txn_id, state)] != 1:
                problems.append(f"write {n}: {txn_id} became {state} with {recorded[(txn_id, state)]} entries for it")
        for _, o, d in w.changes:
            if o == "status" and d:
                approval_id, status = d.split(" ")
                if not any(approval_id in (subject or "") + payload for _, subject, payload in w.entries):
                    problems.append(f"write {n}: approval {approval_id} became {status} unrecorded")
    assert problems == [], "\n".join(problems)
