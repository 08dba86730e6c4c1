"""The injection stage: every free-text argument in, every upstream text coming back.

Arguments are scored before any mandate is signed. Text a rail or an upstream tool returns
is scored before it may reach the model: a flagged result is withheld and taints the agent,
so its next money-moving call waits for a person.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from typing import Any

from fiduciary import injection
from fiduciary.domain import limits
from fiduciary.domain.canonical import digest
from fiduciary.domain.errors import ConfigError
from fiduciary.domain.ids import Prefix, new_id
from fiduciary.domain.intents import AgentRef, PaymentIntent
from fiduciary.store import Reads, WriteTx

UPSTREAM_TOOL = "upstream_result"
"""The tool name screening thresholds use for text flowing back from rails and upstream tools."""


@dataclass(frozen=True, slots=True)
class Screening:
    """The injection stage's verdict over every free-text field of an intent."""

    blocked: bool
    risk_bp: int
    payload: dict[str, Any]


def screen(intent: PaymentIntent, config: injection.InjectionConfig | None) -> Screening:
    """Score every free-text field; the intent is blocked if any field is."""
    fields: dict[str, Any] = {}
    blocked, risk_bp = False, 0
    for name, text in intent.free_text():
        result = injection.score(text, context=injection.ScanContext(tool=intent.tool.value, field=name, config=config))
        blocked = blocked or result.blocked
        risk_bp = max(risk_bp, round(result.score * 10_000))
        if result.matches or result.flags:
            fields[name] = result.audit_payload()
    return Screening(blocked, risk_bp, {"risk_bp": risk_bp, "blocked": blocked, "fields": fields})


def parse_injection_config(source: str) -> injection.InjectionConfig:
    """Validate an org's screening file (TOML); raises `ConfigError` naming the problem."""
    if len(source.encode()) > limits.policy_file_bytes_max:
        raise ConfigError("injection config file is too large")
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"injection config is not valid TOML: {exc}") from exc
    return injection.load_config(data)


def config_version(source: str) -> str:
    return digest({"injection_config": source})


class ScreeningConfigs:
    """Each org's current screening configuration, parsed once per version."""

    def __init__(self) -> None:
        self._parsed: dict[str, injection.InjectionConfig] = {}

    async def for_org(self, reads: Reads, org_id: str) -> injection.InjectionConfig | None:
        version = await reads.injection_config_hash(org_id)
        if version is None:  # the org screens with the defaults
            return None
        known = self._parsed.get(version)
        if known is not None:
            return known
        row = await reads.injection_config(org_id)
        if row is None:
            return None
        parsed = self._parsed.get(row.version_hash)
        if parsed is None:
            parsed = parse_injection_config(row.source)
            self._parsed[row.version_hash] = parsed
        return parsed


async def screen_upstream(
    w: WriteTx,
    caller: AgentRef,
    text: str,
    *,
    source: str,
    reference: str,
    config: injection.InjectionConfig | None,
) -> str | None:
    """Score text that came back from outside; return it if clean, else withhold it and taint the agent."""
    context = injection.ScanContext(tool=UPSTREAM_TOOL, field=source, config=config)
    result = injection.score(text, context=context)
    if not result.blocked:
        return text if len(text) <= limits.rail_note_chars_max else None
    taint_id = new_id(Prefix.TAINT)
    await w.insert_taint(caller, taint_id, source=source, reference=reference)
    payload = {"taint_id": taint_id, "source": source, "screening": result.audit_payload(), "chars": len(text)}
    await w.audit(
        caller.org_id,
        caller.project_id,
        actor="system",
        type="agent.tainted",
        subject=caller.agent_id,
        ref=reference,
        payload=payload,
    )
    return None
