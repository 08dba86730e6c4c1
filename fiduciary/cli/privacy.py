"""`fiduciary dsr erase` and `fiduciary legal-hold`: erasing a counterparty, and holds that block it."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict

from fiduciary.cli.printed import Printed, listing, record
from fiduciary.control import Operator
from fiduciary.domain import limits
from fiduciary.domain.records import HoldRow
from fiduciary.runtime import Runtime

Args = argparse.Namespace

_HOLD_COLUMNS = [("hold_id", "hold"), ("org_id", "org"), ("covers", "covers"), ("set_by", "set by"),
                 ("set_at", "set at"), ("cleared_at", "cleared at"), ("reason", "reason")]  # fmt: skip


def _subject(given: str | None) -> str | None:
    """`--subject`, or with `-` the first line of standard input (kept out of shell history)."""
    if given != "-":
        return given
    return sys.stdin.readline(limits.counterparty_chars_max + 2).rstrip("\r\n")


async def dsr_erase(rt: Runtime, op: Operator, args: Args) -> Printed:
    subject = _subject(args.subject)
    assert subject is not None, "argparse requires --subject"
    done = await rt.control.privacy.erase(op, args.org, subject, reason=args.reason)
    data = asdict(done)
    text = (
        f"erased {len(done.subjects)} counterpart{'y' if len(done.subjects) == 1 else 'ies'} of {done.org_id} "
        f"({done.erasure_id}, audit seq {done.seq}): {done.commitments} commitment(s) can no longer be opened, "
        f"{done.alerts_redacted} alert(s) redacted, {done.rail_notes_dropped} rail note(s) dropped, "
        f"{len(done.mandates_forgotten)} spent mandate token(s) forgotten"
    )
    if not done.scrubbed and rt.settings.database_url:
        text += (
            "\nPostgreSQL keeps old copies of the wiped rows in its files until it reuses the space: run "
            "VACUUM FULL subjects, pii, alert_outbox, open_mandates, transactions (it locks them while it runs)."
        )
    elif not done.scrubbed:
        text += (
            "\nAnother process held the database open, so its write-ahead log still holds old pages: they "
            "leave it at the next full checkpoint, or when every process has closed the database."
        )
    return Printed(data, text)


def _hold(row: HoldRow) -> dict[str, object]:
    return asdict(row) | {"covers": row.subject_id or "the whole org"}


async def legal_hold_set(rt: Runtime, op: Operator, args: Args) -> Printed:
    hold = await rt.control.privacy.hold(op, args.org, _subject(args.subject), reason=args.reason)
    return record(_hold(hold), title=f"legal hold {hold.hold_id} set: nothing it covers can be erased until cleared")


async def legal_hold_clear(rt: Runtime, op: Operator, args: Args) -> Printed:
    hold = await rt.control.privacy.clear(op, args.hold_id, reason=args.reason)
    return record(_hold(hold), title=f"legal hold {hold.hold_id} cleared")


async def legal_hold_list(rt: Runtime, op: Operator, args: Args) -> Printed:
    holds = await rt.control.privacy.holds(op, args.org, cleared=args.all)
    return listing([_hold(h) for h in holds], _HOLD_COLUMNS, key="holds", empty="no legal holds")
