"""The one place that builds a running fiduciary from settings: store, key ring, rails, gate, control.

Only this module imports a concrete store adapter (today SQLite). Everything else receives
what it needs from here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fiduciary.control import Control, ControlContext
from fiduciary.domain.clock import Clock, SystemClock
from fiduciary.domain.errors import ConfigError
from fiduciary.gate import Gate
from fiduciary.gate.screening import ScreeningConfigs
from fiduciary.keyring import Keyring
from fiduciary.rails import SandboxRail
from fiduciary.settings import Settings
from fiduciary.store import Store
from fiduciary.store.sqlite import SqliteStore


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    store: Store
    keyring: Keyring
    gate: Gate
    control: Control


@asynccontextmanager
async def open_runtime(
    settings: Settings, *, clock: Clock | None = None, resume: bool = True, create: bool = False
) -> AsyncIterator[Runtime]:
    """Open the data directory's database and rails; by default finish what a crash left in flight.

    `create` (for `init` and `db migrate`) makes the database and the master key if they are missing.
    """
    if not create and not settings.db_path.exists():
        raise ConfigError(f"no fiduciary data in {settings.home}: run `fiduciary init` first")
    clock = clock or SystemClock()
    if create:
        settings.ensure_private_database()
    keyring = Keyring(settings.ensure_master_key() if create else settings.master_key())
    store = await SqliteStore.open(settings.db_path, clock=clock, signers=keyring)
    try:
        configs = ScreeningConfigs()
        rails = {"sandbox": SandboxRail(settings.sandbox_ledger, clock)}
        gate = Gate(store, rails, signers=keyring, configs=configs, clock=clock)
        control = Control(ControlContext(store=store, gate=gate, keyring=keyring, clock=clock))
        if resume:
            await gate.resume()
            await control.approvals.sweep_expired()
        yield Runtime(settings, store, keyring, gate, control)
    finally:
        await store.close()
