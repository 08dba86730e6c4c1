"""Build the configured rails: one adapter per entry of the rails file, each wrapped (`wrappers.wrap`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from fiduciary.domain.clock import Clock
from fiduciary.domain.errors import ConfigError, RailUnavailable
from fiduciary.rails.base import Rail, RailReceipt, RailRequest
from fiduciary.rails.card import CardRail
from fiduciary.rails.config import RailConfig, RailKind, RailsFile
from fiduciary.rails.mcp import McpRail
from fiduciary.rails.pix import PixRail
from fiduciary.rails.sandbox import SandboxRail
from fiduciary.rails.stablecoin import StablecoinRail
from fiduciary.rails.wire import WireRail
from fiduciary.rails.wrappers import RetrySettings, wrap


def build_rail(config: RailConfig, *, environ: Mapping[str, str], sandbox_ledger: Path, clock: Clock) -> Rail:
    """The adapter for one entry, validated, behind its breaker and retries; reads its credential now."""
    adapter: Rail
    if config.kind is RailKind.SANDBOX:
        # The sandbox loses answers on purpose (`@timeout.sandbox`): it is reconciled, never resent.
        return wrap(SandboxRail(sandbox_ledger, clock), retry=RetrySettings(attempts=1), breaker=config.breaker)
    if config.kind is RailKind.MCP:
        assert config.mcp is not None, "the rails file gives an mcp rail its server and tool"
        try:
            token = config.credential(environ) if config.has_credential else None
        except ConfigError as exc:
            return Unconfigured(config.name, str(exc))
        return wrap(McpRail(config.name, config.mcp, token=token, timeout_ms=config.timeout_ms),
                    retry=config.retry, breaker=config.breaker)  # fmt: skip
    assert config.base_url is not None, "the rails file gives every networked rail a base_url"
    try:
        secret = config.credential(environ)
    except ConfigError as exc:
        return Unconfigured(config.name, str(exc))
    if config.kind is RailKind.CARD:
        adapter = CardRail(config.name, config.base_url, secret=secret, timeout_ms=config.timeout_ms)
    elif config.kind is RailKind.PIX:
        adapter = PixRail(
            config.name,
            config.base_url,
            credential=secret,
            payer_key=config.options["payer_key"],
            timeout_ms=config.timeout_ms,
        )
    elif config.kind is RailKind.STABLECOIN:
        adapter = StablecoinRail(
            config.name,
            config.base_url,
            api_key=secret,
            source_wallet_id=config.options["source_wallet_id"],
            chain=config.options["chain"],
            timeout_ms=config.timeout_ms,
            clock=clock,
        )
    else:
        adapter = WireRail(
            config.name,
            config.base_url,
            credential=secret,
            originating_account_id=config.options["originating_account_id"],
            timeout_ms=config.timeout_ms,
        )
    return wrap(adapter, retry=config.retry, breaker=config.breaker)


class Unconfigured:
    """A rail the file names but that cannot be built (its credential is missing): every call is
    `RailUnavailable`, nothing is sent. A server refuses to start with one; a command still runs."""

    def __init__(self, name: str, problem: str) -> None:
        self.name = name
        self.problem = problem

    def _refuse(self) -> RailUnavailable:
        return RailUnavailable(self.problem)

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def dispatch(self, request: RailRequest) -> RailReceipt:
        raise self._refuse()

    async def status(self, idempotency_key: str, *, request: RailRequest | None = None) -> RailReceipt | None:
        raise self._refuse()

    async def reverse(self, receipt: RailReceipt, *, amount_minor: int, idempotency_key: str) -> RailReceipt:
        raise self._refuse()

    async def receipts(self, since: datetime) -> list[RailReceipt]:
        raise self._refuse()


def problems(rails: Mapping[str, Rail]) -> list[str]:
    """Why configured rails cannot be used, one line each."""
    return [rail.problem for rail in rails.values() if isinstance(rail, Unconfigured)]


def build_rails(rails: RailsFile, *, environ: Mapping[str, str], sandbox_ledger: Path, clock: Clock) -> dict[str, Rail]:
    return {c.name: build_rail(c, environ=environ, sandbox_ledger=sandbox_ledger, clock=clock) for c in rails.rails}
