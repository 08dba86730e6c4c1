"""The money invariants the crash harness checks after a round, read from the tables and the fake bank.

a. the provider made at most one payment order per transaction, exactly one for a settled one, none
   for a transaction that did not settle, and none that no transaction owns;
b. no transaction is left in flight;
c. every wallet: available + held = funding + credits - debits, and held = holds - releases -
   debits, from the ledger; every transaction at rest holds nothing, a settled pay is debited its
   amount;
e. one transaction per idempotency key, and the retry answers with the transaction the first call
   made. (d, the audit chain, is `fiduciary audit verify`, run by the harness.)
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from fiduciary.domain.money import parse_amount
from fiduciary.rails import idempotency_key_for
from tests.fakes import FakeWire

RESTING = frozenset({"settled", "released", "rolled_back", "denied", "rejected", "expired"})
"""States a pay may end in; anything else is in flight, or waits for a person it should not need."""
WIRE_FAILED = frozenset({"failed", "cancelled", "returned"})
"""Payment order states that moved no money."""
FUNDING = "1000.00"
FUNDING_MINOR = parse_amount(FUNDING, "USD").amount_minor


@dataclass(frozen=True, slots=True)
class Answer:
    """One `pay` answer as the agent saw it, or the transport error it got instead."""

    status: str | None = None
    code: str | None = None
    transaction_id: str | None = None
    replayed: bool = False
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Calls:
    """What the agent was told, and what the database held when the server died, by idempotency key."""

    first: Mapping[str, Answer]
    committed: Mapping[str, str]
    """The transaction each key had when the server was killed (keys with none are absent)."""
    retried: Mapping[str, Answer]


def counts(db: sqlite3.Connection, sql: str) -> dict[str, int]:
    """A `SELECT name, COUNT(*) ... GROUP BY name` as a dict."""
    return {str(row[0]): int(row[1]) for row in db.execute(sql)}


def provider_findings(db: sqlite3.Connection, fake: FakeWire) -> list[str]:
    """(a) one payment order per settled transaction, none that may still pay for any other, no orphans."""
    findings = []
    transactions = {row[0]: row[1] for row in db.execute("SELECT transaction_id, state FROM transactions")}
    keys = {idempotency_key_for(txn_id) for txn_id in transactions}
    paying: Counter[str] = Counter()  # orders by key that have not failed at the provider
    for order in fake.objects:
        if order.get("object") != "payment_order":
            continue
        key = order.get("metadata", {}).get("fiduciary_key")
        paying[key] += order.get("status") not in WIRE_FAILED
        if key not in keys:
            findings.append(f"a: payment order {order.get('id')} ({order.get('status')}) belongs to no transaction")
    for txn_id, state in transactions.items():
        made = fake.created_count(idempotency_key_for(txn_id))
        if made > 1:
            findings.append(f"a: {txn_id} ({state}) has {made} payment orders at the provider")
        elif state == "settled" and made != 1:
            findings.append(f"a: {txn_id} is settled with no payment order at the provider")
        elif state != "settled" and paying[idempotency_key_for(txn_id)]:
            findings.append(f"a: {txn_id} ended {state} but the provider holds a live payment order for it")
    return findings


def rest_findings(db: sqlite3.Connection) -> list[str]:
    """(b) nothing in flight once the sweeps are done."""
    marks = ",".join("?" for _ in RESTING)
    sql = f"SELECT transaction_id, state, lease_until FROM transactions WHERE state NOT IN ({marks})"
    return [f"b: {row[0]} is still {row[1]} (lease until {row[2]})" for row in db.execute(sql, sorted(RESTING))]


def ledger_findings(db: sqlite3.Connection) -> list[str]:
    """(c) wallets agree with their ledger, and a transaction at rest holds nothing."""
    findings = []
    sums: dict[tuple[str, str], Counter[str]] = {}
    for agent, currency, kind, total in db.execute(
        "SELECT agent_id, currency, kind, SUM(amount_minor) FROM ledger GROUP BY agent_id, currency, kind"
    ):
        sums.setdefault((agent, currency), Counter())[kind] = total
    for agent, currency, available, held in db.execute(
        "SELECT agent_id, currency, available_minor, held_minor FROM wallets"
    ):
        s = sums.get((agent, currency), Counter())
        if s["fund"] != FUNDING_MINOR:
            findings.append(f"c: wallet {agent}/{currency} was funded {s['fund']}, not {FUNDING_MINOR}")
        if available + held != s["fund"] + s["credit"] - s["debit"]:
            findings.append(
                f"c: wallet {agent}/{currency} available {available} + held {held} != "
                f"funding {s['fund']} + credits {s['credit']} - debits {s['debit']}"
            )
        if held != s["hold"] - s["release"] - s["debit"]:
            findings.append(
                f"c: wallet {agent}/{currency} held {held} != holds {s['hold']} - releases {s['release']} "
                f"- debits {s['debit']}"
            )
    return findings + transaction_ledger_findings(db)


def transaction_ledger_findings(db: sqlite3.Connection) -> list[str]:
    """(c) per transaction: nothing left held at rest, and a settled pay debited exactly its amount."""
    findings = []
    moves: dict[str, Counter[str]] = {}
    for txn_id, kind, total in db.execute(
        "SELECT transaction_id, kind, SUM(amount_minor) FROM ledger WHERE transaction_id IS NOT NULL "
        "GROUP BY transaction_id, kind"
    ):
        moves.setdefault(txn_id, Counter())[kind] = total
    for txn_id, state, amount in db.execute("SELECT transaction_id, state, amount_minor FROM transactions"):
        m = moves.get(txn_id, Counter())
        still_held = m["hold"] - m["release"] - m["debit"]
        if state in RESTING and still_held:
            findings.append(f"c: {txn_id} ended {state} with {still_held} still held")
        if state == "settled" and m["debit"] != amount:
            findings.append(f"c: {txn_id} is settled for {amount} but was debited {m['debit']}")
        if state != "settled" and m["debit"]:
            findings.append(f"c: {txn_id} ended {state} but was debited {m['debit']}")
    return findings


def key_findings(db: sqlite3.Connection, keys: list[str], calls: Calls) -> list[str]:
    """(e) one transaction per key; the retry answers with the transaction the first life made, never another."""
    findings = []
    owned: dict[tuple[str, str], list[str]] = {}
    for agent, key, txn_id in db.execute("SELECT agent_id, idempotency_key, transaction_id FROM transactions"):
        owned.setdefault((agent, key), []).append(txn_id)
    for (_, key), txns in owned.items():
        if len(txns) > 1:
            findings.append(f"e: key {key} has transactions {', '.join(txns)}")
    stored_by_key = {key: txns[0] for (_, key), txns in owned.items()}  # the tenant has one agent
    for key in keys:
        stored, committed = stored_by_key.get(key), calls.committed.get(key)
        first, retry = calls.first.get(key, Answer()), calls.retried.get(key, Answer())
        if stored is None:
            findings.append(f"e: key {key} has no transaction after its retry (retry: {retry})")
            continue
        if committed is not None and committed != stored:
            findings.append(f"e: key {key}: {committed} was committed before the kill, the table now holds {stored}")
        if retry.error is not None or retry.transaction_id is None:
            findings.append(f"e: key {key}: the retry got no transaction ({retry})")
        for when, answer in (("first call", first), ("retry", retry)):
            if answer.transaction_id is not None and answer.transaction_id != stored:
                findings.append(f"e: key {key}: the {when} answered {answer.transaction_id}, the table holds {stored}")
        if committed is not None and retry.error is None and not retry.replayed:
            findings.append(f"e: key {key}: the retry of {committed} was not answered as a replay")
    return findings
