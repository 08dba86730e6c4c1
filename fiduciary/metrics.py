"""What a running fiduciary counts, in the Prometheus format (the `prometheus_client` library).

```
fiduciary_tool_calls_total{tool, code}            every agent-plane tool call and its result code
fiduciary_gate_stage_seconds{stage}               screen_and_decide (one write transaction), rail, total
fiduciary_rail_breaker_state{rail}                0 closed, 1 half open, 2 open
fiduciary_rail_breaker_opened_total{rail}         times each breaker opened in this process
fiduciary_reconciliation_flags_open               flags waiting for a person
fiduciary_holds_outstanding_minor{currency}       money held in wallets and not yet settled
```

Counters and histograms live in this process's registry. The gauges are set when `/metrics` is
scraped, from the runtime's rails and the database (`render`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

TOOL_CALLS = Counter(
    "fiduciary_tool_calls", "Agent-plane tool calls by tool and result code.", ["tool", "code"], registry=REGISTRY
)
STAGE_SECONDS = Histogram(
    "fiduciary_gate_stage_seconds",
    "Time spent in each stage of a governed call.",
    ["stage"],
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
    registry=REGISTRY,
)
BREAKER_STATE = Gauge(
    "fiduciary_rail_breaker_state", "Circuit breaker per rail: 0 closed, 1 half open, 2 open.", ["rail"],
    registry=REGISTRY,
)  # fmt: skip
BREAKER_OPENED = Gauge(
    "fiduciary_rail_breaker_opened_total", "Times each rail's breaker opened in this process.", ["rail"],
    registry=REGISTRY,
)  # fmt: skip
FLAGS_OPEN = Gauge(
    "fiduciary_reconciliation_flags_open", "Reconciliation flags waiting for a person.", registry=REGISTRY
)
HOLDS = Gauge(
    "fiduciary_holds_outstanding_minor", "Money held in wallets, in minor units, by currency.", ["currency"],
    registry=REGISTRY,
)  # fmt: skip
_BREAKER_VALUES = {"closed": 0, "half_open": 1, "open": 2}


@contextmanager
def timed(stage: str) -> Iterator[None]:
    """Observe how long the block takes under `stage`."""
    started = time.perf_counter()
    try:
        yield
    finally:
        STAGE_SECONDS.labels(stage=stage).observe(time.perf_counter() - started)


def count_call(tool: str, code: str) -> None:
    TOOL_CALLS.labels(tool=tool, code=code).inc()


def render(*, breakers: Mapping[str, tuple[str, int]], flags_open: int, holds: Mapping[str, int]) -> bytes:
    """The exposition text, with the scrape-time gauges set from what the caller read."""
    for rail, (state, opened) in breakers.items():
        BREAKER_STATE.labels(rail=rail).set(_BREAKER_VALUES.get(state, 2))
        BREAKER_OPENED.labels(rail=rail).set(opened)
    FLAGS_OPEN.set(flags_open)
    HOLDS.clear()
    for currency, minor in holds.items():
        HOLDS.labels(currency=currency).set(minor)
    return generate_latest(REGISTRY)
