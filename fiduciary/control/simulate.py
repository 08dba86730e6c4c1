"""`policy simulate`: replay the recorded calls of the last N days under a proposed policy.

Both the active and the proposed policy see the same calls in the order they came, each with
its own counters rebuilt as the replay goes (what each policy would have let through is what
its budgets, rate limits and payee history count), so only the policies differ. The replay is
the policy stage alone: mandates, funds and the rail are not re-run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from fiduciary.domain import limits
from fiduciary.domain.clock import parse_iso
from fiduciary.domain.decisions import Decision, Verdict
from fiduciary.domain.intents import PaymentIntent, Tool
from fiduciary.domain.records import TransactionRow
from fiduciary.policies import Count, Policy, PolicyInput, counts_for, evaluate
from fiduciary.policies.windows import hour_bucket, minute_bucket

SIMULATE_DAYS_MAX = 90


@dataclass(frozen=True, slots=True)
class Change:
    """One recorded call whose policy decision differs under the proposed file."""

    transaction_id: str
    created_at: str
    agent_id: str
    tool: str
    amount_minor: int
    currency: str
    before: Decision
    after: Decision


@dataclass(frozen=True, slots=True)
class Simulation:
    days: int
    replayed: int
    changes: list[Change]
    truncated: bool


@dataclass
class _Replay:
    """What one policy has let through so far: enough to answer every `Count` the way the store would."""

    policy: Policy
    spends: list[tuple[PaymentIntent, datetime]] = field(default_factory=list)
    calls: list[tuple[PaymentIntent, datetime]] = field(default_factory=list)

    def decide(self, intent: PaymentIntent, at: datetime, rail: str | None = None) -> Decision:
        counts = {c.rule_id: self._value(c, intent) for c in counts_for(self.policy, intent, at)}
        decision = evaluate(intent, PolicyInput(counts, now=at, rail=rail), self.policy)
        self.calls.append((intent, at))
        if decision.verdict is not Verdict.DENY:  # held ones count once approved; replay treats them as let through
            self.spends.append((intent, at))
        return decision

    def _mine(self, count: Count, intent: PaymentIntent, other: PaymentIntent) -> bool:
        same_project = other.caller.project_id == intent.caller.project_id
        return same_project and (count.per_project or other.caller.agent_id == intent.caller.agent_id)

    def _value(self, count: Count, intent: PaymentIntent) -> int:
        if count.what == "calls":
            assert count.since is not None
            since = minute_bucket(count.since)
            return sum(
                1 for i, at in _since(self.calls, since) if self._mine(count, intent, i) and i.tool.value in count.tools
            )
        if count.what == "payments_to":
            return sum(
                1
                for i, _ in self.spends
                if self._mine(count, intent, i) and i.tool is Tool.PAY and i.counterparty == count.counterparty
            )
        assert count.since is not None
        since = hour_bucket(count.since)
        mine = [
            i
            for i, _ in _since(self.spends, since)
            if self._mine(count, intent, i)
            and i.tool.value in count.tools
            and (count.currency is None or i.amount.currency == count.currency)
        ]
        if count.what == "spent":
            return sum(i.amount.amount_minor for i in mine)
        to_payee = [i for i in mine if i.counterparty == count.counterparty]
        if count.what == "paid_to_count":
            return len(to_payee)
        return sum(i.amount.amount_minor for i in to_payee)


def _since(items: list[tuple[PaymentIntent, datetime]], since: datetime) -> Iterable[tuple[PaymentIntent, datetime]]:
    """The items at or after `since`, newest first (the list is in time order)."""
    for item in reversed(items):
        if item[1] < since:
            return
        yield item


def simulate(current: Policy, proposed: Policy, history: list[TransactionRow], *, days: int) -> Simulation:
    """Every recorded call (oldest first) whose decision would change under `proposed`."""
    before, after = _Replay(current), _Replay(proposed)
    changes = []
    for txn in history:
        intent, at = txn.intent(erased=f"erased:{txn.counterparty_commitment}"), parse_iso(txn.created_at)
        # The rail it went through (None for a call that never reached one): what `deny_rail` judges.
        old, new = before.decide(intent, at, txn.rail), after.decide(intent, at, txn.rail)
        if (old.verdict, old.code) != (new.verdict, new.code):
            changes.append(
                Change(
                    txn.transaction_id,
                    txn.created_at,
                    txn.agent_id,
                    txn.tool.value,
                    txn.amount.amount_minor,
                    txn.amount.currency,
                    old,
                    new,
                )
            )
    return Simulation(days, len(history), changes, truncated=len(history) >= limits.simulate_transactions_max)


def window(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days)
