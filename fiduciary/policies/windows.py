"""Where a counted window starts, in the policy's time zone (pure).

Calendar windows (day, week from Monday, month) start at local midnight in the policy's time
zone; minute and hour windows and rolling windows are the same everywhere. Counters are kept in
UTC buckets (minutes for calls, hours for spending), so a window is the sum of the buckets from
its start; a zone whose offset is not whole hours counts from the hour before local midnight,
which counts more, never less.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fiduciary.policies.model import Window


def window_start(window: Window, now: datetime, *, timezone: str, hours: int | None = None) -> datetime:
    """The UTC instant `window` began, for a decision taken at `now`."""
    if window is Window.MINUTE:
        return now.replace(second=0, microsecond=0)
    if window is Window.HOUR:
        return now.replace(minute=0, second=0, microsecond=0)
    if window is Window.ROLLING:
        assert hours is not None and hours > 0, "a rolling window has a length"
        return now - timedelta(hours=hours)
    local = now.astimezone(ZoneInfo(timezone))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if window is Window.WEEK:
        midnight -= timedelta(days=local.weekday())
    elif window is Window.MONTH:
        midnight = midnight.replace(day=1)
    return midnight.astimezone(UTC)


def hour_bucket(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def minute_bucket(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(second=0, microsecond=0)
