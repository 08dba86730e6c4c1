"""What a sink's answer means, and the HTTP requests of Splunk HEC and Datadog.

- 2xx: delivered; the cursor may move past the batch.
- 408, 429, 5xx, a timeout, a refused or dropped connection: not delivered, tried again after
  exponential backoff with full jitter (a 429's or 503's `Retry-After` is honoured, capped at
  `limits.sink_retry_max_seconds`).
- Any other answer (401, 403, 400, 404, 413, a redirect): our request or its configuration is
  wrong, and sending it again cannot help: the sink stops until an admin resumes it.

A reason is a status and a few fixed words: never a response body or a header, which could
echo the credential.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx2

from fiduciary.domain import limits
from fiduciary.sinks.config import SinkConfig, SinkKind

_RETRIED = frozenset({408, 429})
_REASONS = {
    400: "the service refused the request's form",
    401: "the credential was refused",
    403: "the credential may not write here",
    404: "no such endpoint or bucket",
    408: "the service timed out reading the request",
    413: "the batch is larger than the service accepts",
    429: "rate limited",
}


@dataclass(frozen=True, slots=True)
class Answer:
    """What one attempt came to: delivered, to be tried again after `retry_after`, or a stop."""

    status: int | None
    reason: str
    retry_after: float | None = None
    permanent: bool = False
    """A failure that sending again cannot cure, whatever the status (an entry too large to send)."""

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        if self.permanent:
            return False
        return self.status is None or self.status in _RETRIED or self.status >= 500


def answer_of(status: int | None, *, retry_after: str | None = None, now: datetime | None = None) -> Answer:
    """The meaning of an HTTP status (None: no answer arrived)."""
    if status is None:
        return Answer(None, "no answer (timeout or connection failure)")
    if 200 <= status < 300:
        return Answer(status, "delivered")
    reason = _REASONS.get(status) or ("the service failed" if status >= 500 else "the service refused the request")
    wait = _retry_after(retry_after, now) if (status in _RETRIED or status >= 500) else None
    return Answer(status, f"HTTP {status}: {reason}", wait)


def _retry_after(value: str | None, now: datetime | None) -> float | None:
    """`Retry-After` as seconds (RFC 9110 §10.2.3: a number of seconds or an HTTP date), capped."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        seconds = float(int(text[:8]))
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if now is None or when.tzinfo is None:
            return None
        seconds = max(0.0, (when - now).total_seconds())
    return min(seconds, float(limits.sink_retry_max_seconds))


def backoff(attempts: int, answer: Answer) -> timedelta:
    """How long to wait after the `attempts`-th failure in a row: the service's `Retry-After`, or
    full jitter, a random wait up to base * 2^attempts, capped."""
    if answer.retry_after is not None:
        return timedelta(seconds=answer.retry_after)
    ceiling = min(limits.sink_retry_base_seconds * 2 ** min(attempts, 20), limits.sink_retry_max_seconds)
    return timedelta(seconds=limits.sink_retry_base_seconds + secrets.randbelow(ceiling + 1))


def request_of(config: SinkConfig, credential: str | None) -> tuple[str, dict[str, str]]:
    """The URL and headers of a batch for an HTTP sink."""
    assert credential is not None, "HTTP sinks always name a credential"
    if config.kind is SinkKind.SPLUNK_HEC:
        return f"{config.base_url}/services/collector/event", {
            "Authorization": f"Splunk {credential}",
            "Content-Type": "application/json",
        }
    assert config.kind is SinkKind.DATADOG
    return f"{config.base_url}/api/v2/logs", {"DD-API-KEY": credential, "Content-Type": "application/json"}


async def post(
    client: httpx2.AsyncClient, config: SinkConfig, credential: str | None, body: bytes, *, now: datetime
) -> Answer:
    """Send one batch; what its answer means."""
    url, headers = request_of(config, credential)
    try:
        response = await client.post(url, content=body, headers=headers, timeout=config.timeout_ms / 1000)
    except httpx2.HTTPError:
        return answer_of(None)
    return answer_of(response.status_code, retry_after=response.headers.get("retry-after"), now=now)
