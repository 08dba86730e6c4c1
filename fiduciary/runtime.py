"""The one place that builds a running fiduciary from settings: store, key ring, rails, gate, control.

Only this module imports a concrete store adapter (today SQLite). Everything else receives
what it needs from here.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import anyio

from fiduciary.control import Control, ControlContext
from fiduciary.domain import limits
from fiduciary.domain.clock import Clock, SystemClock
from fiduciary.domain.errors import ConfigError, FiduciaryError
from fiduciary.gate import Gate
from fiduciary.gate.alerts import deliver_due
from fiduciary.gate.refusals import close_windows
from fiduciary.gate.screening import ScreeningConfigs
from fiduciary.keyring import Keyring
from fiduciary.rails import Rail
from fiduciary.rails.config import load_rails
from fiduciary.rails.registry import build_rails, problems
from fiduciary.settings import Settings
from fiduciary.sinks.config import load_sinks
from fiduciary.sinks.deliver import check_sinks
from fiduciary.store import Store
from fiduciary.store.postgres.store import PgStore
from fiduciary.store.sqlite import SqliteStore

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Rounds:
    """When this process last reconciled (None: not yet)."""

    reconciled_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    store: Store
    keyring: Keyring
    gate: Gate
    control: Control
    rounds: Rounds = field(default_factory=Rounds)

    async def maintain(self) -> None:
        """One round of what a running server does on its own: take over abandoned payments,
        expire approvals nobody decided, summarise closed windows of unauthenticated refusals,
        deliver the budget alerts that are due, and deliver the audit chains to the sinks (last:
        a sink that fails backs off and holds back nothing else)."""
        await self.gate.sweep()
        await self.control.approvals.sweep_expired()
        async with self.store.write() as w:
            await close_windows(w)
        await deliver_due(self.store, secret=self.settings.webhook_secret, clock=self.gate.clock)
        await self.gate.fundings.sweep()
        await self.control.keys.rotate_due(days=self.settings.key_rotation_days)
        await self.control.evidence.sweep()
        await self.reconcile_if_due()
        await self.control.sinks.deliver()

    async def reconcile_if_due(self) -> None:
        """Match every rail's receipts against the ledger once per `settings.reconcile_seconds`."""
        now = self.gate.clock.now()
        last = self.rounds.reconciled_at
        if last is not None and now - last < timedelta(seconds=self.settings.reconcile_seconds):
            return
        since = last or now - timedelta(hours=limits.reconcile_first_window_hours)
        reports = await self.gate.reconcile_rails(since)
        if all(report.error is None for report in reports):
            self.rounds.reconciled_at = now


def process_owner() -> str:
    """Who holds a lease: this host and process, plus a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


async def _maintain_forever(runtime: Runtime) -> None:
    while True:
        await anyio.sleep(limits.maintenance_interval_seconds)
        try:
            await runtime.maintain()
        except FiduciaryError:
            log.exception("maintenance round failed; the next one tries again")


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    clock: Clock | None = None,
    resume: bool = True,
    create: bool = False,
    maintain: bool = False,
) -> AsyncIterator[Runtime]:
    """Open the data directory's database and rails; by default finish what a crash left in flight.

    `create` (for `init`) makes the database and the master key if they are missing; `maintain`
    (for a server) runs `Runtime.maintain` every `limits.maintenance_interval_seconds`.
    """
    if not create and not settings.initialised:
        raise ConfigError(f"no fiduciary data in {settings.home}: run `fiduciary init` first")
    clock = clock or SystemClock()
    if create and settings.database_url is None:
        settings.ensure_private_database()
    keyring = Keyring(settings.ensure_master_key() if create else settings.master_key())
    store: Store
    if settings.database_url is not None:
        store = await PgStore.open(settings.database_url, clock=clock, signers=keyring)
    else:
        store = await SqliteStore.open(settings.db_path, clock=clock, signers=keyring)
    rails: dict[str, Rail] = {}
    try:
        configs = ScreeningConfigs()
        rails_file = load_rails(settings.rails_path)
        sinks_file = load_sinks(settings.sinks_path)
        if maintain:
            check_sinks(sinks_file, settings.environ)  # a server does not start with a sink it cannot use
        rails = build_rails(rails_file, environ=settings.environ, sandbox_ledger=settings.sandbox_ledger, clock=clock)
        if maintain and problems(rails):
            raise ConfigError("; ".join(problems(rails)))  # a server does not start with a rail it cannot use
        for rail in rails.values():
            await rail.open()
        gate = Gate(
            store,
            rails,
            signers=keyring,
            digests=keyring,
            configs=configs,
            clock=clock,
            owner=process_owner(),
            dashboard_url=settings.dashboard_url,
            routes=rails_file,
        )
        control = Control(
            ControlContext(
                store=store,
                gate=gate,
                keyring=keyring,
                clock=clock,
                rails_path=settings.rails_path,
                sinks=sinks_file,
                environ=settings.environ,
            )
        )
        runtime = Runtime(settings, store, keyring, gate, control)
        if resume:
            await gate.resume()
            await control.approvals.sweep_expired()
        if not maintain:
            yield runtime
            return
        async with anyio.create_task_group() as tg:
            tg.start_soon(_maintain_forever, runtime)
            try:
                yield runtime
            finally:
                tg.cancel_scope.cancel()
    finally:
        for rail in rails.values():
            await rail.close()
        await store.close()
