"""Replay: an org's wallets, holds, open mandates' usage and transactions' states, rebuilt from its
chain alone (pure: entries in, state out; no store, no I/O).

Each entry that changes money or a mandate's usage says how much, so the rebuild applies what the
chain says and never what the gate's rules would have done:

```
wallet.funded              the agent's wallet (subject) gains `amount_minor` of `currency`
mandate.issued             an open mandate (subject) of `agent_id` in `currency`: active, unused
mandate.revoked            it is revoked; its usage stays
transaction.received       a transaction (subject) of `tool`, `amount_minor` and `currency`, by the
                           agent that is the entry's actor (`agent:ID`)
transaction.authorized     its `open_mandate_id` takes one use and `mandate_used_minor`
transaction.held           `held_minor` moves from available to held: the transaction's hold
transaction.settled        `debited_minor` leaves the hold and the wallet, or `credited_minor`
                           joins the available balance (a charge)
transaction.failed,        `mandate_returned_minor` and the use go back to the open mandate
transaction.rolling_back
transaction.released,      `released_minor` goes from the hold back to the available balance
transaction.rolled_back
transaction.<state>        every move: the transaction's state
```

An entry written before its field existed (or one that contradicts the entries before it) is not
filled in by a guess: it becomes a `Gap` naming the entry, what it lacks and what it touches, and
that wallet, hold or mandate is marked as not rebuilt, so a comparison leaves it out and says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from fiduciary.audit.chain import EntryBody
from fiduciary.domain.states import TxState

_AGENT_ACTOR = "agent:"
_RETURNS_USE = frozenset({TxState.FAILED, TxState.ROLLING_BACK})
_RELEASES = frozenset({TxState.RELEASED, TxState.ROLLED_BACK})
_OLDER = "written before entries carried it"


@dataclass(frozen=True, slots=True, order=True)
class WalletKey:
    """One agent's wallet in one currency, within the org whose chain is replayed."""

    project_id: str
    agent_id: str
    currency: str

    def __str__(self) -> str:
        return f"{self.agent_id} {self.currency}"


@dataclass(frozen=True, slots=True)
class Balance:
    available_minor: int = 0
    held_minor: int = 0


@dataclass(frozen=True, slots=True)
class Hold:
    """Money a transaction holds in its agent's wallet and has neither debited nor released."""

    transaction_id: str
    wallet: WalletKey
    amount_minor: int


@dataclass(frozen=True, slots=True)
class MandateUsage:
    mandate_id: str
    project_id: str
    agent_id: str
    currency: str
    status: str
    uses: int = 0
    used_minor: int = 0


@dataclass(frozen=True, slots=True)
class TransactionState:
    transaction_id: str
    project_id: str
    agent_id: str | None
    tool: str | None
    amount_minor: int | None
    currency: str | None
    state: str
    seq: int
    """The entry that moved it last."""
    mandate_id: str | None = None
    """The open mandate whose use it holds (taken at `authorized`, given back on failure or roll-back)."""


@dataclass(frozen=True, slots=True)
class Gap:
    """An entry the replay could not apply as it stands, and what is therefore not rebuilt."""

    seq: int
    type: str
    subject: str | None
    reason: str
    affects: tuple[str, ...]
    """What it leaves out, e.g. `wallet agt_1 USD`, `hold of txn_1`, `mandate mdt_1`."""


@dataclass(frozen=True, slots=True)
class Rebuilt:
    """The state an org's chain describes, as of its entry `through_seq` (0: before its first)."""

    org_id: str
    through_seq: int
    through_ts: str | None
    wallets: dict[WalletKey, Balance]
    holds: dict[str, Hold]
    mandates: dict[str, MandateUsage]
    transactions: dict[str, TransactionState]
    gaps: tuple[Gap, ...]
    unrebuilt_wallets: frozenset[WalletKey]
    unrebuilt_holds: frozenset[str]
    """Transactions whose hold is not known from the chain."""
    unrebuilt_mandates: frozenset[str]


@dataclass(slots=True)
class Replay:
    """Feeds an org's entries in chain order, one at a time, into the state they describe."""

    org_id: str
    through_seq: int = 0
    through_ts: str | None = None
    wallets: dict[WalletKey, Balance] = field(default_factory=dict)
    holds: dict[str, Hold] = field(default_factory=dict)
    mandates: dict[str, MandateUsage] = field(default_factory=dict)
    transactions: dict[str, TransactionState] = field(default_factory=dict)
    gaps: list[Gap] = field(default_factory=list)
    unrebuilt_wallets: set[WalletKey] = field(default_factory=set)
    unrebuilt_holds: set[str] = field(default_factory=set)
    unrebuilt_mandates: set[str] = field(default_factory=set)

    def feed(self, entry: EntryBody) -> None:
        """Apply one entry, the one after `through_seq`."""
        assert entry.org_id == self.org_id, "one replay reads one org's chain"
        if entry.seq != self.through_seq + 1:
            missing = f"entries {self.through_seq + 1} to {entry.seq - 1} are missing before it"
            self._gap(entry, missing + " (audit verify names the break)", "everything after them")
        self.through_seq, self.through_ts = entry.seq, entry.ts
        if entry.type == "wallet.funded":
            self._funded(entry)
        elif entry.type == "mandate.issued":
            self._issued(entry)
        elif entry.type == "mandate.revoked":
            self._revoked(entry)
        elif entry.type == "transaction.received":
            self._received(entry)
        elif entry.type.startswith("transaction.") and entry.type.removeprefix("transaction.") in _STATES:
            self._moved(entry, TxState(entry.type.removeprefix("transaction.")))

    def state(self) -> Rebuilt:
        """A snapshot of what the entries fed so far describe."""
        return Rebuilt(
            org_id=self.org_id,
            through_seq=self.through_seq,
            through_ts=self.through_ts,
            wallets=dict(self.wallets),
            holds=dict(self.holds),
            mandates=dict(self.mandates),
            transactions=dict(self.transactions),
            gaps=tuple(self.gaps),
            unrebuilt_wallets=frozenset(self.unrebuilt_wallets),
            unrebuilt_holds=frozenset(self.unrebuilt_holds),
            unrebuilt_mandates=frozenset(self.unrebuilt_mandates),
        )

    # Wallets and mandates.

    def _funded(self, entry: EntryBody) -> None:
        amount, currency = _minor(entry.payload, "amount_minor"), _text(entry.payload, "currency")
        if entry.project_id is None or entry.subject is None or currency is None:
            self._gap(entry, "names no project, agent or currency", "a wallet")
            return
        key = WalletKey(entry.project_id, entry.subject, currency)
        if amount is None:
            self._gap(entry, "carries no amount_minor", _wallet(key))
            self.unrebuilt_wallets.add(key)
            return
        self._add(key, available=amount)

    def _issued(self, entry: EntryBody) -> None:
        agent_id, currency = _text(entry.payload, "agent_id"), _text(entry.payload, "currency")
        if entry.project_id is None or entry.subject is None or agent_id is None or currency is None:
            self._gap(entry, "names no project, mandate, agent or currency", "a mandate")
            return
        self.mandates[entry.subject] = MandateUsage(entry.subject, entry.project_id, agent_id, currency, "active")

    def _revoked(self, entry: EntryBody) -> None:
        mandate = self.mandates.get(entry.subject or "")
        if mandate is None:
            self._gap(entry, "revokes a mandate the chain never issued", f"mandate {entry.subject}")
            self.unrebuilt_mandates.add(entry.subject or "")
            return
        self.mandates[mandate.mandate_id] = replace(mandate, status="revoked")

    # Transactions.

    def _received(self, entry: EntryBody) -> None:
        payload, subject = entry.payload, entry.subject
        if entry.project_id is None or subject is None:
            self._gap(entry, "names no project or transaction", "a transaction")
            return
        agent = entry.actor.removeprefix(_AGENT_ACTOR) if entry.actor.startswith(_AGENT_ACTOR) else None
        tool, amount, currency = _text(payload, "tool"), _minor(payload, "amount_minor"), _text(payload, "currency")
        if agent is None or tool is None or amount is None or currency is None:
            self._gap(
                entry, f"does not say its agent, tool, amount_minor and currency ({_OLDER})", f"{subject}'s money"
            )
        state = TransactionState(subject, entry.project_id, agent, tool, amount, currency, "received", entry.seq)
        self.transactions[subject] = state

    def _moved(self, entry: EntryBody, target: TxState) -> None:
        txn = self.transactions.get(entry.subject or "")
        if txn is None:
            self._gap(entry, "moves a transaction the chain never received", f"transaction {entry.subject}")
            return
        if target is TxState.AUTHORIZED:
            txn = self._use(entry, txn)
        elif target is TxState.HELD:
            self._hold(entry, txn)
        elif target is TxState.SETTLED:
            self._settle(entry, txn)
        if target in _RETURNS_USE:
            txn = self._give_back(entry, txn)
        if target in _RELEASES:
            self._release(entry, txn)
        self.transactions[txn.transaction_id] = replace(txn, state=target.value, seq=entry.seq)

    def _use(self, entry: EntryBody, txn: TransactionState) -> TransactionState:
        mandate_id = _text(entry.payload, "open_mandate_id")
        if mandate_id is None:
            return txn  # authorised by an approval alone, before approvals needed a mandate
        mandate, used = self.mandates.get(mandate_id), _minor(entry.payload, "mandate_used_minor")
        if mandate is None:
            self._gap(entry, "uses a mandate the chain never issued", f"mandate {mandate_id}")
            self.unrebuilt_mandates.add(mandate_id)
        elif used is None:
            self._gap(entry, f"carries no mandate_used_minor ({_OLDER})", f"mandate {mandate_id}")
            self.unrebuilt_mandates.add(mandate_id)
        else:
            self.mandates[mandate_id] = replace(mandate, uses=mandate.uses + 1, used_minor=mandate.used_minor + used)
        return replace(txn, mandate_id=mandate_id)

    def _give_back(self, entry: EntryBody, txn: TransactionState) -> TransactionState:
        if txn.mandate_id is None:
            return txn
        mandate, returned = self.mandates.get(txn.mandate_id), _minor(entry.payload, "mandate_returned_minor")
        if returned is None:
            self._gap(entry, f"carries no mandate_returned_minor ({_OLDER})", f"mandate {txn.mandate_id}")
            self.unrebuilt_mandates.add(txn.mandate_id)
        elif mandate is not None:
            uses, used = mandate.uses - 1, mandate.used_minor - returned
            self.mandates[mandate.mandate_id] = replace(mandate, uses=uses, used_minor=used)
        return replace(txn, mandate_id=None)

    def _hold(self, entry: EntryBody, txn: TransactionState) -> None:
        key, held = self._wallet_of(entry, txn), _minor(entry.payload, "held_minor")
        if key is None:
            return
        if held is None:
            self._gap(entry, f"carries no held_minor ({_OLDER})", _wallet(key), f"hold of {txn.transaction_id}")
            self.unrebuilt_wallets.add(key)
            self.unrebuilt_holds.add(txn.transaction_id)
            return
        balance = self.wallets.get(key, Balance())
        if held > balance.available_minor and key not in self.unrebuilt_wallets:
            reason = f"holds {held} but the chain leaves {balance.available_minor} available"
            self._gap(entry, reason, _wallet(key))
            self.unrebuilt_wallets.add(key)
        self._add(key, available=-held, held=held)
        self.holds[txn.transaction_id] = Hold(txn.transaction_id, key, held)

    def _settle(self, entry: EntryBody, txn: TransactionState) -> None:
        key = self._wallet_of(entry, txn)
        if key is None:
            return
        debited, credited = _minor(entry.payload, "debited_minor"), _minor(entry.payload, "credited_minor")
        if credited is not None:
            self._add(key, available=credited)
        elif debited is not None:
            self._take_from_hold(entry, txn, key, debited)
            self._add(key, held=-debited)
        else:
            self._gap(entry, f"carries no debited_minor or credited_minor ({_OLDER})", *self._touches(txn, key))
            self._lose(txn, key)

    def _release(self, entry: EntryBody, txn: TransactionState) -> None:
        released = _minor(entry.payload, "released_minor")
        held = txn.transaction_id in self.holds or txn.transaction_id in self.unrebuilt_holds
        if not held and not released:
            return  # nothing was held: a charge, or a payment stopped before its hold
        key = self._wallet_of(entry, txn)
        if key is None:
            return
        if released is None:
            self._gap(entry, f"carries no released_minor ({_OLDER})", *self._touches(txn, key))
            self._lose(txn, key)
            return
        self._take_from_hold(entry, txn, key, released)
        self._add(key, available=released, held=-released)

    def _take_from_hold(self, entry: EntryBody, txn: TransactionState, key: WalletKey, amount: int) -> None:
        hold = self.holds.pop(txn.transaction_id, None)
        if txn.transaction_id in self.unrebuilt_holds:
            self.unrebuilt_wallets.add(key)
            return
        held = 0 if hold is None else hold.amount_minor
        if amount > held:
            self._gap(entry, f"takes {amount} from a hold of {held}", _wallet(key))
            self.unrebuilt_wallets.add(key)
        elif hold is not None and amount < held:
            self.holds[txn.transaction_id] = replace(hold, amount_minor=held - amount)

    def _wallet_of(self, entry: EntryBody, txn: TransactionState) -> WalletKey | None:
        if txn.agent_id is None or txn.currency is None:
            self._gap(entry, "moves money of a transaction whose wallet is not known", txn.transaction_id)
            self.unrebuilt_holds.add(txn.transaction_id)
            return None
        return WalletKey(txn.project_id, txn.agent_id, txn.currency)

    def _touches(self, txn: TransactionState, key: WalletKey) -> tuple[str, ...]:
        held = txn.transaction_id in self.holds or txn.transaction_id in self.unrebuilt_holds
        return (_wallet(key), f"hold of {txn.transaction_id}") if held else (_wallet(key),)

    def _lose(self, txn: TransactionState, key: WalletKey) -> None:
        """What an entry that cannot be applied leaves unknown: the wallet, and the hold it would have moved."""
        self.unrebuilt_wallets.add(key)
        if self.holds.pop(txn.transaction_id, None) is not None or txn.transaction_id in self.unrebuilt_holds:
            self.unrebuilt_holds.add(txn.transaction_id)

    def _add(self, key: WalletKey, *, available: int = 0, held: int = 0) -> None:
        balance = self.wallets.get(key, Balance())
        self.wallets[key] = Balance(balance.available_minor + available, balance.held_minor + held)

    def _gap(self, entry: EntryBody, reason: str, *affects: str) -> None:
        self.gaps.append(Gap(entry.seq, entry.type, entry.subject, reason, affects))


_STATES = frozenset(state.value for state in TxState) - {TxState.RECEIVED.value}


def rebuild(org_id: str, entries: Iterable[EntryBody]) -> Rebuilt:
    """The state an org's entries describe, fed in chain order from its first."""
    replay = Replay(org_id)
    for entry in entries:
        replay.feed(entry)
    return replay.state()


def _wallet(key: WalletKey) -> str:
    return f"wallet {key}"


def _minor(payload: dict[str, Any], name: str) -> int | None:
    value = payload.get(name)
    return value if type(value) is int and value >= 0 else None


def _text(payload: dict[str, Any], name: str) -> str | None:
    value = payload.get(name)
    return value if isinstance(value, str) and value else None
