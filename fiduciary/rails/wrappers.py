"""What wraps every configured rail, outermost first: retries, a circuit breaker, answer validation.

```
Retrying(Breaker(Validating(adapter)))
```

- `Validating` believes no answer about something else: a receipt whose key, direction, amount,
  currency or counterparty differs from the request, or whose amount is not a whole, non-negative
  number of minor units, raises `RailMismatch`.
- `Breaker` counts failures of the rail itself (unavailable, timeouts, unreadable or mismatched
  answers; a provider's refusal is an answer, not a failure). It opens after `failures` in a
  row, or when at least `failure_rate` of the last `window` calls failed; while open every call
  is `RailUnavailable` at once and moves no money; after `open_seconds` it lets `probes` calls
  through (half-open), and one success closes it.
- `Retrying` sends again, with full-jitter exponential backoff (tenacity), only what is safe to
  send again: a request that provably never arrived (`RailUnavailable`, an open breaker aside),
  or a timed-out one when the rail's idempotency makes a resend return the first outcome.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from fiduciary.domain import limits
from fiduciary.domain.errors import RailMismatch, RailTimeout, RailUnavailable
from fiduciary.rails.base import Rail, RailReceipt, RailRequest, mismatch

T = TypeVar("T")


class Validating:
    """Raises `RailMismatch` for any receipt that is not about exactly the request."""

    def __init__(self, inner: Rail) -> None:
        self.inner = inner

    @property
    def name(self) -> str:
        return self.inner.name

    async def open(self) -> None:
        await self.inner.open()

    async def close(self) -> None:
        await self.inner.close()

    async def dispatch(self, request: RailRequest) -> RailReceipt:
        return self._checked(request, await self.inner.dispatch(request))

    async def status(self, idempotency_key: str, *, request: RailRequest | None = None) -> RailReceipt | None:
        receipt = await self.inner.status(idempotency_key, request=request)
        if receipt is not None:
            _sane(receipt)
            if receipt.idempotency_key != idempotency_key:
                raise RailMismatch("idempotency_key")
        return receipt

    async def reverse(self, receipt: RailReceipt, *, amount_minor: int, idempotency_key: str) -> RailReceipt:
        back = await self.inner.reverse(receipt, amount_minor=amount_minor, idempotency_key=idempotency_key)
        _sane(back)
        if back.amount_minor != amount_minor or back.currency != receipt.currency:
            raise RailMismatch("amount")
        return back

    async def receipts(self, since: datetime) -> list[RailReceipt]:
        found = await self.inner.receipts(since)
        for receipt in found:
            _sane(receipt)
        return found

    def _checked(self, request: RailRequest, receipt: RailReceipt) -> RailReceipt:
        _sane(receipt)
        cause = mismatch(request, receipt, rail=self.inner.name)
        if cause is not None:
            raise RailMismatch(cause)
        return receipt


def _sane(receipt: RailReceipt) -> None:
    if type(receipt.amount_minor) is not int or receipt.amount_minor < 0:
        raise RailMismatch("amount")
    if not 0 < len(receipt.rail_reference) <= limits.rail_reference_chars_max:
        raise RailMismatch("reference")


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class BreakerSettings:
    failures: int = 5
    """Consecutive failures that open the breaker."""
    failure_rate: float = 0.5
    window: int = 20
    """How many recent calls the failure rate is taken over (it needs a full window)."""
    open_seconds: float = 30.0
    probes: int = 1
    """Calls let through while half-open."""


_FAILURES = (RailUnavailable, RailTimeout, RailMismatch, TimeoutError)


class Breaker:
    """A per-rail circuit breaker; `state` shows in `rails status` and in the metrics."""

    def __init__(
        self, inner: Rail, settings: BreakerSettings, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.inner = inner
        self.settings = settings
        self._monotonic = monotonic
        self._recent: deque[bool] = deque(maxlen=settings.window)
        self._consecutive = 0
        self._opened_at: float | None = None
        self._probing = 0
        self.opened = 0
        """How many times the breaker has opened since the process started."""

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._monotonic() - self._opened_at < self.settings.open_seconds:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    async def open(self) -> None:
        await self.inner.open()

    async def close(self) -> None:
        await self.inner.close()

    async def dispatch(self, request: RailRequest) -> RailReceipt:
        self._admit()
        return await self._watch(self.inner.dispatch(request))

    async def status(self, idempotency_key: str, *, request: RailRequest | None = None) -> RailReceipt | None:
        self._admit()
        return await self._watch(self.inner.status(idempotency_key, request=request))

    async def reverse(self, receipt: RailReceipt, *, amount_minor: int, idempotency_key: str) -> RailReceipt:
        self._admit()
        return await self._watch(
            self.inner.reverse(receipt, amount_minor=amount_minor, idempotency_key=idempotency_key)
        )

    async def receipts(self, since: datetime) -> list[RailReceipt]:
        self._admit()
        return await self._watch(self.inner.receipts(since))

    def _admit(self) -> None:
        state = self.state
        if state is BreakerState.OPEN:
            raise RailUnavailable(f"rail {self.name} is paused by its circuit breaker")
        if state is BreakerState.HALF_OPEN:
            if self._probing >= self.settings.probes:
                raise RailUnavailable(f"rail {self.name} is being probed by its circuit breaker")
            self._probing += 1

    async def _watch(self, call: Awaitable[T]) -> T:
        try:
            result = await call
        except _FAILURES:
            self._record(failed=True)
            raise
        except Exception:
            self._record(failed=False)  # a refusal is an answer: the rail works
            raise
        finally:
            self._probing = max(self._probing - 1, 0)  # also when the caller gave up (a cancellation)
        self._record(failed=False)
        return result

    def _record(self, *, failed: bool) -> None:
        self._recent.append(failed)
        if not failed:
            self._consecutive = 0
            if self._opened_at is not None:  # a probe succeeded: start afresh
                self._opened_at = None
                self._recent.clear()
            return
        self._consecutive += 1
        if self._opened_at is not None:  # a probe failed: open again for another period
            self._opened_at = self._monotonic()
            return
        full = len(self._recent) == self.settings.window
        rate = sum(self._recent) / len(self._recent)
        if self._consecutive >= self.settings.failures or (full and rate >= self.settings.failure_rate):
            self.opened += 1
            self._opened_at = self._monotonic()


@dataclass(frozen=True, slots=True)
class RetrySettings:
    attempts: int = 3
    """Tries in all, the first included."""
    base_ms: int = 200
    max_ms: int = 2_000
    resend_after_timeout: bool = True
    """Whether a timed-out request may be sent again: only for a rail whose idempotency keys make
    a resend answer with the first outcome."""


class Retrying:
    """Sends again what is safe to send again, with full-jitter backoff; everything else is raised."""

    def __init__(self, inner: Rail, settings: RetrySettings) -> None:
        self.inner = inner
        self.settings = settings

    @property
    def name(self) -> str:
        return self.inner.name

    async def open(self) -> None:
        await self.inner.open()

    async def close(self) -> None:
        await self.inner.close()

    def _policy(self) -> AsyncRetrying:
        s = self.settings
        return AsyncRetrying(
            stop=stop_after_attempt(s.attempts),
            wait=wait_random_exponential(multiplier=s.base_ms / 1000, max=s.max_ms / 1000),
            retry=retry_if_exception(self._safe),
            reraise=True,
        )

    def _safe(self, exc: BaseException) -> bool:
        if isinstance(exc, RailUnavailable):
            return not _breaker_open(self.inner)
        return self.settings.resend_after_timeout and isinstance(exc, RailTimeout | TimeoutError)

    async def _again(self, call: Callable[[], Awaitable[T]]) -> T:
        async for attempt in self._policy():
            with attempt:
                return await call()
        raise AssertionError("tenacity either returns or re-raises")

    async def dispatch(self, request: RailRequest) -> RailReceipt:
        return await self._again(lambda: self.inner.dispatch(request))

    async def status(self, idempotency_key: str, *, request: RailRequest | None = None) -> RailReceipt | None:
        return await self._again(lambda: self.inner.status(idempotency_key, request=request))

    async def reverse(self, receipt: RailReceipt, *, amount_minor: int, idempotency_key: str) -> RailReceipt:
        return await self._again(
            lambda: self.inner.reverse(receipt, amount_minor=amount_minor, idempotency_key=idempotency_key)
        )

    async def receipts(self, since: datetime) -> list[RailReceipt]:
        return await self._again(lambda: self.inner.receipts(since))


def _breaker_open(rail: Rail) -> bool:
    return isinstance(rail, Breaker) and rail.state is not BreakerState.CLOSED


def wrap(adapter: Rail, *, retry: RetrySettings, breaker: BreakerSettings) -> Retrying:
    """A configured rail: the adapter validated, behind its breaker, retried where safe."""
    return Retrying(Breaker(Validating(adapter), breaker), retry)


def breaker_of(rail: Rail) -> Breaker | None:
    """The breaker inside a wrapped rail, for status and metrics."""
    while True:
        if isinstance(rail, Breaker):
            return rail
        inner = getattr(rail, "inner", None)
        if inner is None:
            return None
        rail = inner
