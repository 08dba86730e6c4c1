"""A JSON Schema of policy files for editors, built from the loader's own tables of keys.

Which keys each rule kind requires and allows comes from `load.REQUIRED`, `load.OPTIONAL` and
`load.COMMON_KEYS`, the same tables `parse_policy` checks, so the schema cannot drift from the
loader; this module only adds each key's JSON type. Semantic checks (a checksum, a time zone
that exists, a currency the policy lists) stay the loader's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from fiduciary.domain import limits
from fiduciary.domain.intents import Tool
from fiduciary.policies.load import COMMON_KEYS, DAYS, OPTIONAL, REQUIRED, WHEN_KEYS
from fiduciary.policies.model import RuleKind

_Strict = ConfigDict(extra="forbid")
if TYPE_CHECKING:
    _ToolName = str
else:
    _ToolName = Literal[tuple(t.value for t in Tool)]
_Names = Annotated[list[str], Field(min_length=1, max_length=limits.policy_list_entries_max)]
_Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
_Clock = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description='"HH:MM", local time')]
_Score = Annotated[float, Field(gt=0, lt=1)]
_Count = Annotated[int, Field(ge=1, le=1_000_000)]

TYPES: dict[str, Any] = {
    "currency": Annotated[str, Field(pattern=r"^[A-Z]{3,4}$", description="ISO 4217, e.g. USD")],
    "amount": Annotated[str, Field(pattern=r"^[0-9]+(\.[0-9]+)?$", description='major units, e.g. "500.00"')],
    "window": Literal["minute", "hour", "day", "week", "month", "rolling"],
    "hours": Annotated[int, Field(ge=1, le=366 * 24)],
    "per": Literal["agent", "project"],
    "calls": _Count,
    "min_payments": _Count,
    "payments": _Count,
    "counterparties": _Names,
    "countries": Annotated[list[_Country], Field(min_length=1)],
    "categories": _Names,
    "rails": _Names,
    "min_score": _Score,
    "max_score": _Score,
    "start": _Clock,
    "end": _Clock,
    "days": Annotated[list[Literal[DAYS]], Field(min_length=1)],  # type: ignore[valid-type]
    "action": Literal["deny", "approval"],
    "approvers": Annotated[int, Field(ge=1, le=limits.approvers_max, description="distinct operators who approve")],
}
"""The JSON type of every kind-specific key."""


class When(BaseModel):
    """A rule's scope."""

    model_config = _Strict
    tools: list[_ToolName] | None = None
    agents: _Names | None = None
    currencies: _Names | None = None
    counterparties: _Names | None = None
    categories: _Names | None = None
    countries: Annotated[list[_Country], Field(min_length=1)] | None = None


_COMMON: dict[str, Any] = {
    "id": (Annotated[str, Field(min_length=1, max_length=64)], ...),
    "description": (str | None, None),
    "tools": (list[_ToolName] | None, None),
    "agents": (_Names | None, None),
    "when": (When | None, None),
}
assert set(_COMMON) | {"kind"} == COMMON_KEYS and set(When.model_fields) == WHEN_KEYS, "schema and loader agree"


def _rule_model(kind: RuleKind) -> type[BaseModel]:
    fields: dict[str, Any] = dict(_COMMON)
    fields["kind"] = (Literal[kind.value], ...)
    fields |= {key: (TYPES[key], ...) for key in REQUIRED[kind]}
    fields |= {key: (TYPES[key] | None, None) for key in OPTIONAL.get(kind, frozenset())}
    doc = (kind.__doc__ or "").strip() or None
    model: type[BaseModel] = create_model(f"Rule_{kind.value}", __config__=_Strict, __doc__=doc, **fields)
    return model


if TYPE_CHECKING:
    _Rule = BaseModel
else:
    # One model per kind, told apart by `kind`: an editor knows each kind's keys.
    _Rule = Annotated[Union[tuple(_rule_model(k) for k in RuleKind)], Field(discriminator="kind")]  # noqa: UP007


class Alerts(BaseModel):
    model_config = _Strict
    threshold: _Score = 0.8
    webhooks: Annotated[list[str], Field(max_length=limits.alert_webhooks_max)] = []


class PolicyFile(BaseModel):
    """A fiduciary policy file (TOML)."""

    model_config = _Strict
    name: Annotated[str, Field(min_length=1)]
    description: str | None = None
    currencies: Annotated[list[str], Field(min_length=1)]
    timezone: str = Field(default="UTC", description="IANA zone where day, week and month begin")
    mode: Literal["enforce", "shadow"] = "enforce"
    alerts: Alerts | None = None
    rules: Annotated[list[_Rule], Field(max_length=limits.policy_rules_max)] = []


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a policy file."""
    schema = PolicyFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "fiduciary policy"
    return schema
