"""Refusals that belong to no tenant (an unknown token), recorded without letting a flood grow the chain.

The first unauthenticated refusal from a source in a minute is an audit entry of the platform
org, as before. Every further one in that minute only bumps a counter; when the minute is over,
the next refusal from that source (or the periodic sweep) writes one `call.refused_repeated`
entry with the count. So the chain grows by at most two entries per source per minute, however
many calls an attacker sends, and nothing goes unrecorded. Sources past a limit share one bucket.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fiduciary.domain import limits
from fiduciary.domain.clock import iso
from fiduciary.domain.intents import PLATFORM
from fiduciary.domain.records import RefusalWindow
from fiduciary.store import WriteTx

OVERFLOW_SOURCE = "other"


def window_start(now: datetime) -> str:
    return iso(now.replace(second=0, microsecond=0))


async def record_unauthenticated(
    w: WriteTx, *, source: str, kind: str, reference: str, actor: str, type: str, payload: dict[str, Any]
) -> bool:
    """Audit (or count) one unauthenticated refusal; True when it got an entry of its own."""
    org_id, minute = PLATFORM.org_id, window_start(w.now)
    source = source[: limits.refusal_source_chars_max]
    window = await w.refusal_window(org_id, source, kind)
    if window is None and await w.refusal_sources(org_id) >= limits.refusal_sources_max:
        source = OVERFLOW_SOURCE
        window = await w.refusal_window(org_id, source, kind)
    if window is not None and window.window_start == minute:
        await w.count_refusal(org_id, source, kind)
        return False
    if window is not None:
        await _summarise(w, window)
    await w.open_refusal_window(RefusalWindow(org_id, source, kind, minute, reference, 1))
    body = {**payload, "source": source}
    await w.audit(
        org_id, PLATFORM.project_id, actor=actor, type=type, subject=PLATFORM.agent_id, ref=reference, payload=body
    )
    return True


async def _summarise(w: WriteTx, window: RefusalWindow) -> None:
    if window.count > 1:
        await w.audit(
            window.org_id,
            PLATFORM.project_id,
            actor="system",
            type="call.refused_repeated",
            subject=PLATFORM.agent_id,
            ref=window.first_ref,
            payload={
                "source": window.source,
                "kind": window.kind,
                "window_start": window.window_start,
                "count": window.count - 1,
            },
        )


async def close_windows(w: WriteTx) -> int:
    """Summarise and close every window whose minute is over; how many were closed."""
    closed = await w.refusal_windows_before(window_start(w.now))
    for window in closed:
        await _summarise(w, window)
        await w.close_refusal_window(window)
    return len(closed)
