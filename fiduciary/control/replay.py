"""`audit replay`: an org's state rebuilt from its chain alone (`audit.replay`), compared with the tables.

The entries are read a page at a time, in chain order, up to the chosen point. The tables hold
only the current state, so they are read and compared only when the replay reaches the chain's
head. A write that commits while they are read appends to the chain: then the new entries are
fed too and the tables read again, until the head stays where the replay is (at most
`limits.replay_rounds_max` rounds; a report that ran out of rounds says so). Every change to
these tables appends to the org's chain in its own transaction, so a head that did not move
while they were read means they were read at one moment.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from fiduciary.audit.replay import Balance, Rebuilt, Replay, WalletKey
from fiduciary.domain import limits
from fiduciary.domain.clock import parse_iso
from fiduciary.store import Reads

Value = int | str | bool | None


@dataclass(frozen=True, slots=True)
class Difference:
    """One field on which the rebuilt state and a table disagree."""

    kind: str
    """`wallet`, `hold`, `mandate` or `transaction`."""
    project_id: str
    item: str
    """The wallet (`agt_... USD`), the transaction or the mandate."""
    field: str
    """The table's column (`available_minor`, `held_minor`, `uses`, `used_minor`, `status`, `state`),
    `amount_minor` of a hold, or `exists`."""
    rebuilt: Value
    table: Value
    currency: str | None = None
    """The currency of a `*_minor` field's values."""


@dataclass(frozen=True, slots=True)
class ReplayReport:
    """What an org's chain rebuilt up to the chosen point and, at its head, how the tables differ."""

    rebuilt: Rebuilt
    head_seq: int
    compared: bool
    """The replay reached the head and the tables were compared with it."""
    differences: tuple[Difference, ...] = ()
    steady: bool = True
    """False when writes kept moving the head and the last comparison may include them."""

    @property
    def org_id(self) -> str:
        return self.rebuilt.org_id

    @property
    def agrees(self) -> bool:
        return not self.differences


async def replay_org(
    reads: Reads, org_id: str, *, to_seq: int | None = None, to_time: datetime | None = None
) -> ReplayReport:
    """Rebuild an org's state from its chain up to entry `to_seq`, or up to the first entry stamped
    after `to_time`, or to its head; compare it with the tables at the head."""
    head_seq = await _head(reads, org_id)
    assert to_seq is None or 1 <= to_seq <= head_seq, "the caller checked the entry exists"
    replay = Replay(org_id)
    stopped = await _feed(reads, replay, through=to_seq or head_seq, until=to_time)
    if stopped or replay.through_seq < head_seq:
        return ReplayReport(replay.state(), head_seq, compared=False)
    for _ in range(limits.replay_rounds_max):
        built = replay.state()
        differences = await compare(reads, built)
        head_seq = await _head(reads, org_id)
        if head_seq == built.through_seq:
            return ReplayReport(built, head_seq, compared=True, differences=differences)
        if await _feed(reads, replay, through=head_seq, until=to_time):
            return ReplayReport(replay.state(), head_seq, compared=False)
    return ReplayReport(built, head_seq, compared=True, differences=differences, steady=False)


async def _head(reads: Reads, org_id: str) -> int:
    head = await reads.audit_head(org_id)
    return 0 if head is None else head[0]


async def _feed(reads: Reads, replay: Replay, *, through: int, until: datetime | None) -> bool:
    """Feed the entries after the replay's last, up to `through`; True if `until` stopped it before."""
    while replay.through_seq < through:
        limit = min(limits.audit_verify_batch_rows, through - replay.through_seq)
        page = await reads.audit_page(replay.org_id, after_seq=replay.through_seq, limit=limit)
        if not page:
            return False
        for entry in page:
            if entry.body.seq > through:
                return False
            if until is not None and parse_iso(entry.body.ts) > until:
                return True
            replay.feed(entry.body)
    return False


async def compare(reads: Reads, rebuilt: Rebuilt) -> tuple[Difference, ...]:
    """Every field on which the tables differ from `rebuilt`, leaving out what it could not rebuild."""
    found = [
        *await _wallets(reads, rebuilt),
        *await _holds(reads, rebuilt),
        *await _mandates(reads, rebuilt),
        *await _transactions(reads, rebuilt),
    ]
    return tuple(found)


async def _wallets(reads: Reads, rebuilt: Rebuilt) -> list[Difference]:
    stored = {
        WalletKey(ref.project_id, ref.agent_id, w.currency): Balance(w.available_minor, w.held_minor)
        for ref, w in await reads.org_wallets(rebuilt.org_id)
    }
    found = []
    for key in sorted((stored.keys() | rebuilt.wallets.keys()) - rebuilt.unrebuilt_wallets):
        ours, theirs = rebuilt.wallets.get(key, Balance()), stored.get(key)
        if theirs is None and ours == Balance():
            continue  # nothing moved in it, and no row: the same empty wallet
        for name in ("available_minor", "held_minor"):
            mine, table = getattr(ours, name), None if theirs is None else getattr(theirs, name)
            if mine != table:
                found.append(Difference("wallet", key.project_id, str(key), name, mine, table, key.currency))
    return found


async def _holds(reads: Reads, rebuilt: Rebuilt) -> list[Difference]:
    stored = {
        txn_id: (WalletKey(ref.project_id, ref.agent_id, currency), amount)
        for ref, currency, txn_id, amount in await reads.org_holds(rebuilt.org_id)
    }
    ours = {txn_id: (hold.wallet, hold.amount_minor) for txn_id, hold in rebuilt.holds.items()}
    found = []
    for txn_id in sorted((stored.keys() | ours.keys()) - rebuilt.unrebuilt_holds):
        wallet, mine = ours.get(txn_id) or (stored[txn_id][0], 0)
        theirs = stored.get(txn_id, (wallet, 0))[1]
        if mine != theirs:
            found.append(Difference("hold", wallet.project_id, txn_id, "amount_minor", mine, theirs, wallet.currency))
    return found


async def _mandates(reads: Reads, rebuilt: Rebuilt) -> list[Difference]:
    found = []
    seen = set()
    for row in await reads.org_open_mandates(rebuilt.org_id):
        seen.add(row.mandate_id)
        if row.mandate_id in rebuilt.unrebuilt_mandates:
            continue
        mandate = rebuilt.mandates.get(row.mandate_id)
        if mandate is None:
            found.append(Difference("mandate", row.project_id, row.mandate_id, "exists", False, True))
            continue
        fields: Iterable[tuple[str, Value, Value]] = (
            ("status", mandate.status, row.status),
            ("uses", mandate.uses, row.uses),
            ("used_minor", mandate.used_minor, row.used_minor),
        )
        for name, mine, table in fields:
            if mine != table:
                currency = mandate.currency if name == "used_minor" else None
                found.append(Difference("mandate", row.project_id, row.mandate_id, name, mine, table, currency))
    for mandate_id in sorted(rebuilt.mandates.keys() - seen - rebuilt.unrebuilt_mandates):
        project = rebuilt.mandates[mandate_id].project_id
        found.append(Difference("mandate", project, mandate_id, "exists", True, False))
    return found


async def _transactions(reads: Reads, rebuilt: Rebuilt) -> list[Difference]:
    found, seen, after = [], set(), ""
    batch = limits.audit_verify_batch_rows
    while page := await reads.org_transaction_states(rebuilt.org_id, after=after, limit=batch):
        for project_id, txn_id, state in page:
            seen.add(txn_id)
            txn = rebuilt.transactions.get(txn_id)
            if txn is None:
                found.append(Difference("transaction", project_id, txn_id, "state", None, state))
            elif txn.state != state:
                found.append(Difference("transaction", project_id, txn_id, "state", txn.state, state))
        after = page[-1][1]
    for txn_id in sorted(rebuilt.transactions.keys() - seen):
        txn = rebuilt.transactions[txn_id]
        found.append(Difference("transaction", txn.project_id, txn_id, "state", txn.state, None))
    return found
