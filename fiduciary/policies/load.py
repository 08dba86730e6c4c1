"""Parse and validate a policy file. Every problem names its rule and key; nothing unknown passes.

```toml
name = "default"
currencies = ["USD", "BRL"]

[[rules]]
id = "max-per-payment-usd"
kind = "max_amount"           # max_amount | daily_budget | approval_threshold | deny_counterparty | injection_review
currency = "USD"
amount = "500.00"             # major units, as a string
tools = ["pay", "refund"]     # optional; default: every tool the kind applies to
agents = ["agt_..."]          # optional; default: every agent
```
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from importlib import resources
from typing import Any

from fiduciary.domain import limits
from fiduciary.domain.canonical import digest
from fiduciary.domain.counterparties import parse_counterparty
from fiduciary.domain.errors import ConfigError, InputError
from fiduciary.domain.intents import OUTFLOWS, Tool
from fiduciary.domain.money import check_currency, parse_amount
from fiduciary.policies.model import Policy, Rule, RuleKind

_ALL_TOOLS = frozenset(tool.value for tool in Tool)
_OUTFLOW_TOOLS = frozenset(tool.value for tool in OUTFLOWS)
_KIND_KEYS: dict[RuleKind, frozenset[str]] = {
    RuleKind.MAX_AMOUNT: frozenset({"currency", "amount"}),
    RuleKind.DAILY_BUDGET: frozenset({"currency", "amount"}),
    RuleKind.APPROVAL_THRESHOLD: frozenset({"currency", "amount"}),
    RuleKind.DENY_COUNTERPARTY: frozenset({"counterparties"}),
    RuleKind.INJECTION_REVIEW: frozenset({"min_score"}),
}
_COMMON_KEYS = frozenset({"id", "kind", "tools", "agents", "description"})


def parse_policy(source: str) -> Policy:
    """Parse TOML text into a validated `Policy`; raises `ConfigError` naming the problem."""
    if len(source.encode()) > limits.policy_file_bytes_max:
        raise ConfigError("policy file is too large")
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"policy is not valid TOML: {exc}") from exc
    return build_policy(data)


def build_policy(data: Mapping[str, Any]) -> Policy:
    unknown = set(data) - {"name", "currencies", "rules", "description"}
    if unknown:
        raise ConfigError(f"policy has unknown keys: {', '.join(sorted(unknown))}")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError("policy needs a non-empty string `name`")
    currencies = data.get("currencies")
    if not isinstance(currencies, list) or not currencies:
        raise ConfigError("policy needs `currencies`, a non-empty list of currency codes")
    try:
        allowed = frozenset(check_currency(c) for c in currencies)
    except InputError as exc:
        raise ConfigError(f"policy currencies: {exc.message}") from exc
    raw_rules = data.get("rules", [])
    if not isinstance(raw_rules, list) or len(raw_rules) > limits.policy_rules_max:
        raise ConfigError(f"`rules` must be a list of at most {limits.policy_rules_max} tables")
    rules = tuple(_rule(raw, index) for index, raw in enumerate(raw_rules))
    ids = [rule.id for rule in rules]
    if len(set(ids)) != len(ids):
        raise ConfigError("rule ids must be unique")
    return Policy(name, allowed, rules, digest(_canonical_form(name, allowed, rules)))


def _rule(raw: object, index: int) -> Rule:
    if not isinstance(raw, dict):
        raise ConfigError(f"rules[{index}] must be a table")
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not rule_id or len(rule_id) > 64:
        raise ConfigError(f"rules[{index}] needs an `id` string of 1-64 characters")
    where = f"rule {rule_id!r}"
    try:
        kind = RuleKind(str(raw.get("kind")))
    except ValueError as exc:
        kinds = ", ".join(k.value for k in RuleKind)
        raise ConfigError(f"{where}: `kind` must be one of {kinds}") from exc
    unknown = set(raw) - _COMMON_KEYS - _KIND_KEYS[kind]
    if unknown:
        raise ConfigError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    missing = _KIND_KEYS[kind] - set(raw)
    if missing:
        raise ConfigError(f"{where}: missing keys {', '.join(sorted(missing))}")
    default_tools = _OUTFLOW_TOOLS if kind is RuleKind.DAILY_BUDGET else _ALL_TOOLS
    fields: dict[str, Any] = {
        "tools": _names(raw.get("tools"), where, "tools", allowed=_ALL_TOOLS) or default_tools,
        "agents": _names(raw.get("agents"), where, "agents"),
    }
    if "amount" in _KIND_KEYS[kind]:
        try:
            money = parse_amount(raw["amount"], raw["currency"])
        except InputError as exc:
            raise ConfigError(f"{where}: {exc.message}") from exc
        fields |= {"currency": money.currency, "amount_minor": money.amount_minor}
    if kind is RuleKind.DENY_COUNTERPARTY:
        fields["counterparties"] = _counterparties(raw["counterparties"], where)
    if kind is RuleKind.INJECTION_REVIEW:
        fields["min_score_bp"] = _score_bp(raw["min_score"], where)
    return Rule(id=rule_id, kind=kind, **fields)


def _names(value: object, where: str, key: str, *, allowed: frozenset[str] | None = None) -> frozenset[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: `{key}` must be a list of non-empty strings")
    if len(value) > limits.policy_list_entries_max:
        raise ConfigError(f"{where}: `{key}` has more than {limits.policy_list_entries_max} entries")
    if allowed is not None and not set(value) <= allowed:
        raise ConfigError(f"{where}: `{key}` may only name {', '.join(sorted(allowed))}")
    return frozenset(value)


def _counterparties(value: object, where: str) -> frozenset[str]:
    """A list of identifiers, each in canonical form (with a BR Code's Pix key beside it)."""
    found: set[str] = set()
    for entry in sorted(_names(value, where, "counterparties") or ()):
        try:
            found |= parse_counterparty(entry).match_keys()
        except InputError as exc:
            raise ConfigError(f"{where}: `counterparties` entry {entry!r}: {exc.message}") from exc
    return frozenset(found)


def _score_bp(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise ConfigError(f"{where}: `min_score` must be a number between 0 and 1")
    return round(value * 10_000)


def _canonical_form(name: str, currencies: frozenset[str], rules: tuple[Rule, ...]) -> dict[str, object]:
    return {
        "name": name,
        "currencies": sorted(currencies),
        "rules": [
            {
                "id": r.id,
                "kind": r.kind.value,
                "tools": sorted(r.tools),
                "agents": None if r.agents is None else sorted(r.agents),
                "currency": r.currency,
                "amount_minor": r.amount_minor,
                "counterparties": sorted(r.counterparties),
                "min_score_bp": r.min_score_bp,
            }
            for r in rules
        ],
    }


def default_source() -> str:
    """The packaged default policy (the same file as examples/policies/default.toml)."""
    return resources.files("fiduciary.policies").joinpath("default.toml").read_text()
