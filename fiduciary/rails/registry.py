"""Build the configured rails: one adapter per entry of the rails file, each wrapped (`wrappers.wrap`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from fiduciary.domain.clock import Clock
from fiduciary.rails.base import Rail
from fiduciary.rails.card import CardRail
from fiduciary.rails.config import RailConfig, RailKind, RailsFile
from fiduciary.rails.pix import PixRail
from fiduciary.rails.sandbox import SandboxRail
from fiduciary.rails.wire import WireRail
from fiduciary.rails.wrappers import RetrySettings, wrap


def build_rail(config: RailConfig, *, environ: Mapping[str, str], sandbox_ledger: Path, clock: Clock) -> Rail:
    """The adapter for one entry, validated, behind its breaker and retries; reads its credential now."""
    adapter: Rail
    if config.kind is RailKind.SANDBOX:
        # The sandbox loses answers on purpose (`@timeout.sandbox`): it is reconciled, never resent.
        return wrap(SandboxRail(sandbox_ledger, clock), retry=RetrySettings(attempts=1), breaker=config.breaker)
    assert config.base_url is not None, "the rails file gives every networked rail a base_url"
    secret = config.credential(environ)
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
    else:
        adapter = WireRail(
            config.name,
            config.base_url,
            credential=secret,
            originating_account_id=config.options["originating_account_id"],
            timeout_ms=config.timeout_ms,
        )
    return wrap(adapter, retry=config.retry, breaker=config.breaker)


def build_rails(rails: RailsFile, *, environ: Mapping[str, str], sandbox_ledger: Path, clock: Clock) -> dict[str, Rail]:
    return {c.name: build_rail(c, environ=environ, sandbox_ledger=sandbox_ledger, clock=clock) for c in rails.rails}
