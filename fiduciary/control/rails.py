"""The configured rails as an operator sees them: where each one is, whether it answers, its breaker."""

from __future__ import annotations

import json
import os
import time
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from fiduciary import metrics
from fiduciary.control.base import Part, action, audit_platform
from fiduciary.control.roles import Action, Operator
from fiduciary.domain.codes import Code
from fiduciary.domain.errors import ConfigError, InputError, RailError
from fiduciary.rails.config import RailConfig, RailKind, parse_rails
from fiduciary.rails.wrappers import breaker_of


@dataclass(frozen=True, slots=True)
class RailStatus:
    name: str
    kind: str
    base_url: str | None
    credential_source: str
    breaker: str
    """closed, open or half_open, as this process sees it."""
    breaker_opened: int
    reachable: bool | None = None
    """With a probe: whether the rail answered a listing of its latest receipts."""
    probe_ms: float | None = None
    problem: str | None = None


class Rails(Part):
    @action(Action.RAILS_CONFIGURE)
    async def add(self, op: Operator, entry: dict[str, Any]) -> RailConfig:
        """Add one rail to the rails file, checked with the whole file; it takes effect on the next start.

        The entry names where the credential lives (`credential_env` or `credential_file`), never
        the credential; the audit entry records the rail's name, kind, address and that source.
        """
        path = self.ctx.rails_path
        assert path is not None, "runtime gives the control plane its rails file"
        text = path.read_text() if path.exists() else HEADER
        try:
            current = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML; fix it by hand first") from exc
        if any(r.get("name") == entry.get("name") for r in current.get("rails", [])):
            raise InputError(Code.INVALID_ARGUMENT, f"a rail named {entry.get('name')} is already configured")
        updated = text.rstrip("\n") + "\n\n" + render_entry(entry)
        added = parse_rails(tomllib.loads(updated), where=str(path)).named(str(entry["name"]))
        assert added is not None
        _write_private(path, updated)
        async with self.store.write() as w:
            await audit_platform(
                w,
                actor=op.actor,
                type="rails.added",
                subject=added.name,
                payload={
                    "kind": added.kind.value,
                    "base_url": added.base_url,
                    "credential_source": added.credential_source,
                },
            )
        return added

    @action(Action.METRICS_READ)
    async def metrics(self, op: Operator) -> bytes:
        """The Prometheus exposition of this process, with breakers, open flags and holds read now."""
        settlement = self.ctx.gate.settlement
        breakers = {}
        for name, rail in settlement.rails.items():
            breaker = breaker_of(rail)
            breakers[name] = ("closed", 0) if breaker is None else (breaker.state.value, breaker.opened)
        reads = self.store.read
        return metrics.render(
            breakers=breakers, flags_open=await reads.open_flag_count(), holds=await reads.held_totals()
        )

    @action(Action.RAILS_READ)
    async def status(self, op: Operator, *, probe: bool = False) -> list[RailStatus]:
        """Every configured rail; with `probe`, each is asked for its latest receipts (nothing moves)."""
        settlement = self.ctx.gate.settlement
        found = []
        for config in settlement.routes.rails:
            rail = settlement.rails[config.name]
            breaker = breaker_of(rail)
            item = RailStatus(
                name=config.name,
                kind=config.kind.value,
                base_url=config.base_url,
                credential_source="none" if config.kind is RailKind.SANDBOX else config.credential_source,
                breaker="closed" if breaker is None else breaker.state.value,
                breaker_opened=0 if breaker is None else breaker.opened,
                problem=getattr(rail, "problem", None),
            )
            if probe:
                started = time.perf_counter()
                try:
                    await rail.receipts(self.ctx.clock.now())
                    item = _probed(item, reachable=True, started=started, problem=None)
                except RailError as exc:
                    item = _probed(item, reachable=False, started=started, problem=type(exc).__name__)
                if breaker is not None:
                    item = _with_breaker(item, breaker.state.value, breaker.opened)
            found.append(item)
        return found


HEADER = (
    "# Rails: see `fiduciary rails --help` and the README's Rails section.\n"
    "# The sandbox rail carries what no other rail does; remove it to refuse such payments instead.\n\n"
    '[[rails]]\nname = "sandbox"\nkind = "sandbox"\n'
)
"""A new rails file starts with the sandbox rail, which carried everything before there was one."""


def render_entry(entry: dict[str, Any]) -> str:
    """One `[[rails]]` table in TOML: strings and whole numbers, inline tables for retry and breaker."""
    lines = ["[[rails]]"]
    for key, value in entry.items():
        if value is None:
            continue
        if isinstance(value, dict):
            inner = ", ".join(f"{k} = {_value(v)}" for k, v in value.items())
            lines.append(f"{key} = {{ {inner} }}")
        else:
            lines.append(f"{key} = {_value(value)}")
    return "\n".join(lines) + "\n"


def _value(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InputError(Code.INVALID_ARGUMENT, "rail settings are text or numbers")
    return json.dumps(value)  # a JSON string or number is a TOML basic string or number


def _write_private(path: Path, text: str) -> None:
    """Replace the file at once (a crash leaves the old or the new one), readable by this user only."""
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _probed(item: RailStatus, *, reachable: bool, started: float, problem: str | None) -> RailStatus:
    elapsed = round((time.perf_counter() - started) * 1000, 1)
    return replace(item, reachable=reachable, probe_ms=elapsed, problem=problem)


def _with_breaker(item: RailStatus, state: str, opened: int) -> RailStatus:
    return replace(item, breaker=state, breaker_opened=opened)
