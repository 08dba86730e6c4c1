"""What every part of the control plane shares: its collaborators and the role check.

Each operator action is a method decorated with `@action(Action.X)`: the decorator checks the
operator's role before the method runs, and writes an audit entry for a refusal (a role that
may not act, or input the action refused), so every refused control action is on the record.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from fiduciary.control.roles import Action, Operator, may
from fiduciary.domain import limits
from fiduciary.domain.clock import Clock
from fiduciary.domain.codes import Code
from fiduciary.domain.errors import AccessError, ConfigError, InputError
from fiduciary.domain.intents import PLATFORM
from fiduciary.gate import Gate
from fiduciary.keyring import Keyring
from fiduciary.sinks.config import NO_SINKS, SinksFile
from fiduciary.store import Store, WriteTx

P = ParamSpec("P")
R = TypeVar("R")
PartT = TypeVar("PartT", bound="Part")


@dataclass(frozen=True, slots=True)
class ControlContext:
    """The collaborators runtime hands the control plane."""

    store: Store
    gate: Gate
    keyring: Keyring
    clock: Clock
    rails_path: Path | None = None
    """The rails file operators add rails to (the running process reads it when it starts)."""
    sinks: SinksFile = NO_SINKS
    """The audit sinks of the sinks file, read when the process started."""
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)
    """The environment the sinks file's `credential_env` names are read from."""


class Part:
    """One job of the control plane (mandates, approvals, kill switch...) over the shared context."""

    def __init__(self, ctx: ControlContext) -> None:
        self.ctx = ctx

    @property
    def store(self) -> Store:
        return self.ctx.store

    async def refused(self, op: Operator, action: Action, *, code: str, detail: dict[str, Any] | None = None) -> None:
        """Record a refused control action in the platform chain; nothing else changes."""
        async with self.store.write() as w:
            await audit_platform(
                w,
                actor=op.actor,
                type="control.refused",
                subject=op.operator_id,
                payload={"action": action.value, "role": str(op.role), "code": code, **(detail or {})},
            )


async def audit_platform(w: WriteTx, *, actor: str, type: str, subject: str | None, payload: dict[str, Any]) -> None:
    """An entry in the chain of the platform org, which records what belongs to no tenant."""
    await w.audit(PLATFORM.org_id, None, actor=actor, type=type, subject=subject, payload=payload)


def action(
    name: Action,
) -> Callable[
    [Callable[Concatenate[PartT, Operator, P], Awaitable[R]]], Callable[Concatenate[PartT, Operator, P], Awaitable[R]]
]:
    """Check the operator's role before the action; audit any refusal of it."""

    def wrap(
        fn: Callable[Concatenate[PartT, Operator, P], Awaitable[R]],
    ) -> Callable[Concatenate[PartT, Operator, P], Awaitable[R]]:
        @functools.wraps(fn)
        async def run(self: PartT, op: Operator, /, *args: P.args, **kwargs: P.kwargs) -> R:
            if not may(op.role, name):
                await self.refused(op, name, code=Code.FORBIDDEN.value)
                raise AccessError(Code.FORBIDDEN, f"the {op.role} role may not {name.value}; ask an admin")
            try:
                return await fn(self, op, *args, **kwargs)
            except InputError as exc:
                await self.refused(op, name, code=exc.code)
                raise
            except ConfigError:  # a policy or screening file that does not validate
                await self.refused(op, name, code=Code.INVALID_ARGUMENT.value)
                raise

        return run

    return wrap


def not_found(what: str, identifier: str) -> InputError:
    return InputError(Code.NOT_FOUND, f"no {what} {identifier}")


def check_reason(reason: str) -> str:
    """An operator's reason: required, bounded."""
    text = reason.strip()
    if not text or len(text) > limits.reason_chars_max:
        raise InputError(Code.INVALID_ARGUMENT, f"give a reason of 1 to {limits.reason_chars_max} characters")
    return text
