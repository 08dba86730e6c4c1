"""The wrappers around every rail: validation believes nothing else, the breaker opens and probes,
retries resend only what is safe to resend."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import datetime

import anyio
import pytest

from fiduciary.domain.errors import RailMismatch, RailRejected, RailTimeout, RailUnavailable
from fiduciary.rails import Direction, RailReceipt, RailRequest
from fiduciary.rails.wrappers import (
    Breaker,
    BreakerSettings,
    BreakerState,
    Retrying,
    RetrySettings,
    Validating,
    breaker_of,
    wrap,
)

pytestmark = pytest.mark.anyio

REQUEST = RailRequest("fid-txn_1", Direction.PAYOUT, 1_250, "USD", "acct:x")
FAST = RetrySettings(attempts=3, base_ms=1, max_ms=2)


def receipt_for(request: RailRequest, **changes: object) -> RailReceipt:
    base = RailReceipt(
        rail="scripted",
        rail_reference="ref_1",
        idempotency_key=request.idempotency_key,
        direction=request.direction,
        amount_minor=request.amount_minor,
        currency=request.currency,
        counterparty=request.counterparty,
        settled_at="2026-12-01T00:00:00Z",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


class Scripted:
    """A rail that answers from a script: an exception to raise or a receipt change to make, per call."""

    name = "scripted"

    def __init__(self, *steps: object) -> None:
        self.steps = list(steps)
        self.sent = 0

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def dispatch(self, request: RailRequest) -> RailReceipt:
        self.sent += 1
        step = self.steps.pop(0) if self.steps else {}
        if isinstance(step, BaseException):
            raise step
        assert isinstance(step, dict)
        return receipt_for(request, **step)

    async def status(self, idempotency_key: str, *, request: RailRequest | None = None) -> RailReceipt | None:
        return None

    async def reverse(self, receipt: RailReceipt, *, amount_minor: int, idempotency_key: str) -> RailReceipt:
        return receipt

    async def receipts(self, since: datetime) -> list[RailReceipt]:
        return []


@pytest.mark.parametrize(
    ("change", "cause"),
    [
        ({"amount_minor": 1_251}, "amount"),
        ({"currency": "EUR"}, "currency"),
        ({"counterparty": "acct:mallory"}, "counterparty"),
        ({"idempotency_key": "fid-txn_other"}, "idempotency_key"),
        ({"direction": Direction.COLLECT}, "direction"),
        ({"amount_minor": -5}, "amount"),
        ({"rail_reference": ""}, "reference"),
        ({"rail_reference": "r" * 129}, "reference"),
    ],
)
async def test_an_answer_about_something_else_is_not_believed(change: dict[str, object], cause: str) -> None:
    with pytest.raises(RailMismatch) as refused:
        await Validating(Scripted(change)).dispatch(REQUEST)
    assert refused.value.cause == cause


async def test_the_breaker_opens_after_consecutive_failures_then_probes_and_closes() -> None:
    clock = [0.0]
    inner = Scripted(*[RailUnavailable("down")] * 3)
    breaker = Breaker(inner, BreakerSettings(failures=3, open_seconds=10), monotonic=lambda: clock[0])
    for _ in range(3):
        with pytest.raises(RailUnavailable):
            await breaker.dispatch(REQUEST)
    assert breaker.state is BreakerState.OPEN and breaker.opened == 1
    with pytest.raises(RailUnavailable, match="circuit breaker"):
        await breaker.dispatch(REQUEST)
    assert inner.sent == 3, "an open breaker sends nothing"

    clock[0] = 11.0
    assert breaker.state is BreakerState.HALF_OPEN
    await breaker.dispatch(REQUEST)  # the probe succeeds
    assert breaker.state is BreakerState.CLOSED and inner.sent == 4


async def test_a_failed_probe_opens_the_breaker_again_and_refusals_are_not_failures() -> None:
    clock = [0.0]
    inner = Scripted(RailTimeout("t"), RailTimeout("t"), RailRejected("card_declined", "no"), RailTimeout("t"))
    breaker = Breaker(inner, BreakerSettings(failures=2, open_seconds=5), monotonic=lambda: clock[0])
    for _ in range(2):
        with pytest.raises(RailTimeout):
            await breaker.dispatch(REQUEST)
    clock[0] = 6.0
    with pytest.raises(RailRejected):
        await breaker.dispatch(REQUEST)  # a provider's refusal is an answer: the probe closes it
    assert breaker.state is BreakerState.CLOSED
    with pytest.raises(RailTimeout):
        await breaker.dispatch(REQUEST)
    assert breaker.state is BreakerState.CLOSED, "one failure after closing is below the threshold"


async def test_the_failure_rate_over_a_full_window_opens_the_breaker() -> None:
    steps: list[object] = []
    for _ in range(5):
        steps += [{}, RailUnavailable("down")]  # never two failures in a row
    breaker = Breaker(Scripted(*steps), BreakerSettings(failures=2, failure_rate=0.5, window=10))
    for index in range(10):
        with contextlib.suppress(RailUnavailable):
            await breaker.dispatch(REQUEST)
        assert (breaker.state is BreakerState.OPEN) == (index == 9), "it opens when the window is full"


async def test_retries_resend_what_never_arrived_and_what_idempotency_makes_safe() -> None:
    inner = Scripted(RailUnavailable("refused"), RailTimeout("lost"), {})
    assert (await Retrying(inner, FAST).dispatch(REQUEST)).rail_reference == "ref_1"
    assert inner.sent == 3

    unsafe = Scripted(RailTimeout("lost"), {})
    with pytest.raises(RailTimeout):
        await Retrying(unsafe, replace(FAST, resend_after_timeout=False)).dispatch(REQUEST)
    assert unsafe.sent == 1, "without idempotency a timed-out request is reconciled, never resent"

    refused = Scripted(RailRejected("card_declined", "no"), {})
    with pytest.raises(RailRejected):
        await Retrying(refused, FAST).dispatch(REQUEST)
    assert refused.sent == 1, "a refusal is final"

    mismatched = Scripted({"amount_minor": 1}, {})
    with pytest.raises(RailMismatch):
        await wrap(mismatched, retry=FAST, breaker=BreakerSettings()).dispatch(REQUEST)
    assert mismatched.sent == 1, "an answer that is not believed is not asked again"


async def test_retries_stop_at_an_open_breaker() -> None:
    inner = Scripted(*[RailUnavailable("down")] * 10)
    rail = wrap(inner, retry=RetrySettings(attempts=10, base_ms=1, max_ms=1), breaker=BreakerSettings(failures=2))
    with pytest.raises(RailUnavailable):
        await rail.dispatch(REQUEST)
    assert inner.sent == 2 and breaker_of(rail) is not None and breaker_of(rail).state is BreakerState.OPEN  # type: ignore[union-attr]


async def test_a_cancelled_call_counts_neither_way_and_frees_its_probe() -> None:
    class Slow(Scripted):
        async def dispatch(self, request: RailRequest) -> RailReceipt:
            await anyio.sleep(10)
            raise AssertionError("cancelled first")

    clock = [0.0]
    breaker = Breaker(
        Scripted(RailTimeout("t")), BreakerSettings(failures=1, open_seconds=5), monotonic=lambda: clock[0]
    )
    with pytest.raises(RailTimeout):
        await breaker.dispatch(REQUEST)
    clock[0] = 6.0
    breaker.inner = Slow()
    with anyio.move_on_after(0.05):
        await breaker.dispatch(REQUEST)  # the probe is cancelled by its caller
    assert breaker.state is BreakerState.HALF_OPEN, "a cancellation is not a success"
    breaker.inner = Scripted({})
    await breaker.dispatch(REQUEST)  # the probe slot was freed: another probe goes through and closes it
    assert breaker.state is BreakerState.CLOSED
