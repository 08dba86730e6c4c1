"""Everything a running fiduciary needs, opened once and closed once: store, rails, gate."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fiduciary.domain.clock import Clock, SystemClock
from fiduciary.domain.errors import ConfigError
from fiduciary.gate import Gate
from fiduciary.rails import SandboxRail
from fiduciary.settings import Settings
from fiduciary.store import SqliteStore


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    store: SqliteStore
    gate: Gate


@asynccontextmanager
async def open_runtime(
    settings: Settings, *, clock: Clock | None = None, resume: bool = True
) -> AsyncIterator[Runtime]:
    """Open the data directory's database and rails; by default finish what a crash left in flight."""
    if not settings.db_path.exists():
        raise ConfigError(f"no fiduciary data in {settings.home}: run `fiduciary init` first")
    clock = clock or SystemClock()
    store = await SqliteStore.open(settings.db_path, clock=clock, master_key=settings.master_key())
    try:
        gate = Gate(store, {"sandbox": SandboxRail(settings.sandbox_ledger, clock)})
        if resume:
            await gate.resume()
            await gate.expire_approvals()
        yield Runtime(settings, store, gate)
    finally:
        await store.close()
