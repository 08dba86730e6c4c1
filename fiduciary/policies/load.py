"""Parse and validate a policy file. Every problem names its line, rule and key; nothing unknown passes.

```toml
name = "default"
currencies = ["USD", "BRL"]
timezone = "America/Sao_Paulo"   # where calendar windows begin; default UTC

[[rules]]
id = "weekly-budget-usd"
kind = "budget"               # see RuleKind for every kind
currency = "USD"
amount = "2000.00"            # major units, as a string
window = "week"               # day | week | month | rolling (with hours = N)
per = "agent"                 # agent (default) | project
tools = ["pay", "refund"]     # optional; default: the tools the kind applies to
agents = ["agt_..."]          # optional; default: every agent
when = { countries = ["BR"] } # optional scope: tools, agents, currencies, counterparties, categories, countries
```
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fiduciary.domain import limits
from fiduciary.domain.canonical import digest
from fiduciary.domain.counterparties import parse_counterparty
from fiduciary.domain.errors import ConfigError, InputError
from fiduciary.domain.intents import OUTFLOWS, Tool
from fiduciary.domain.money import check_currency, parse_amount
from fiduciary.policies.model import Per, Policy, Rule, RuleKind, Scope, Window

K = RuleKind
_ALL_TOOLS = frozenset(tool.value for tool in Tool)
_OUTFLOW_TOOLS = frozenset(tool.value for tool in OUTFLOWS)
_AMOUNT = frozenset({"currency", "amount"})
REQUIRED: dict[RuleKind, frozenset[str]] = {
    K.MAX_AMOUNT: _AMOUNT,
    K.BUDGET: _AMOUNT | {"window"},
    K.DAILY_BUDGET: _AMOUNT,
    K.RATE_LIMIT: frozenset({"calls", "window"}),
    K.APPROVAL_THRESHOLD: _AMOUNT,
    K.APPROVAL_NEW_COUNTERPARTY: frozenset(),
    K.APPROVAL_REQUIRED: frozenset(),
    K.ALLOW_COUNTERPARTY: frozenset({"counterparties"}),
    K.DENY_COUNTERPARTY: frozenset({"counterparties"}),
    K.DENY_COUNTRY: frozenset({"countries"}),
    K.DENY_CATEGORY: frozenset({"categories"}),
    K.DENY_RAIL: frozenset({"rails"}),
    K.INJECTION_REVIEW: frozenset({"min_score"}),
    K.BLOCKED_HOURS: frozenset({"start", "end"}),
    K.COUNTERPARTY_LIMIT: frozenset({"window"}),
}
OPTIONAL: dict[RuleKind, frozenset[str]] = {
    K.BUDGET: frozenset({"hours", "per"}),
    K.DAILY_BUDGET: frozenset({"per"}),
    K.RATE_LIMIT: frozenset({"per"}),
    K.APPROVAL_THRESHOLD: frozenset({"approvers"}),
    K.APPROVAL_REQUIRED: frozenset({"approvers"}),
    K.APPROVAL_NEW_COUNTERPARTY: frozenset({"min_payments", "per", "approvers"}),
    K.BLOCKED_HOURS: frozenset({"days", "action", "approvers"}),
    K.COUNTERPARTY_LIMIT: frozenset({"currency", "amount", "payments", "hours", "per"}),
    K.INJECTION_REVIEW: frozenset({"max_score", "approvers"}),
}
_DEFAULT_TOOLS: dict[RuleKind, frozenset[str]] = {
    K.BUDGET: _OUTFLOW_TOOLS,
    K.DAILY_BUDGET: _OUTFLOW_TOOLS,
    K.ALLOW_COUNTERPARTY: _OUTFLOW_TOOLS,
    K.APPROVAL_NEW_COUNTERPARTY: frozenset({Tool.PAY.value}),
    K.COUNTERPARTY_LIMIT: _OUTFLOW_TOOLS,
}
COUNTED = frozenset({K.BUDGET, K.DAILY_BUDGET, K.RATE_LIMIT, K.APPROVAL_NEW_COUNTERPARTY, K.COUNTERPARTY_LIMIT})
"""Kinds that read a durable counter from the store."""
COMMON_KEYS = frozenset({"id", "kind", "tools", "agents", "when", "description"})
WHEN_KEYS = frozenset({"tools", "agents", "currencies", "counterparties", "categories", "countries"})
_COUNTRY_RE = re.compile(r"[A-Z]{2}")
_HOURS_MAX = 366 * 24
_URL_RE = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+(?:/[A-Za-z0-9._~%!$&'()*+,;=:@/\-]*)?")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK_RE = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


def parse_policy(source: str) -> Policy:
    """Parse TOML text into a validated `Policy`; raises `ConfigError` naming the line, rule and key."""
    if len(source.encode()) > limits.policy_file_bytes_max:
        raise ConfigError("policy file is too large")
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"policy is not valid TOML: {exc}") from exc
    return build_policy(data, lines=_rule_lines(source))


def _rule_lines(source: str) -> list[int]:
    """The line of each `[[rules]]` table, to point at it in errors."""
    return [n for n, line in enumerate(source.splitlines(), start=1) if line.strip() == "[[rules]]"]


def build_policy(data: Mapping[str, Any], *, lines: list[int] | None = None) -> Policy:
    unknown = set(data) - {"name", "currencies", "rules", "description", "timezone", "alerts", "mode"}
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
    timezone = _timezone(data.get("timezone", "UTC"))
    raw_rules = data.get("rules", [])
    if not isinstance(raw_rules, list) or len(raw_rules) > limits.policy_rules_max:
        raise ConfigError(f"`rules` must be a list of at most {limits.policy_rules_max} tables")
    rules = []
    for index, raw in enumerate(raw_rules):
        line = lines[index] if lines and index < len(lines) else None
        rules.append(_rule(raw, f"line {line}: " if line else "", index, allowed))
    ids = [rule.id for rule in rules]
    if len(set(ids)) != len(ids):
        raise ConfigError("rule ids must be unique")
    _no_contradicting_windows(rules)
    threshold_bp, webhooks = _alerts(data.get("alerts", {}))
    mode = data.get("mode", "enforce")
    if mode not in ("enforce", "shadow"):
        raise ConfigError('`mode` must be "enforce" or "shadow" (decide and record, move no money)')
    form = _canonical_form(name, allowed, timezone, tuple(rules)) | {"alerts": [threshold_bp, list(webhooks)]}
    if mode == "shadow":
        form["mode"] = mode
    counted = tuple(rule for rule in rules if rule.kind in COUNTED)
    return Policy(
        name,
        allowed,
        tuple(rules),
        digest(form),
        timezone=timezone,
        counted=counted,
        alert_threshold_bp=threshold_bp,
        webhooks=webhooks,
        shadow=mode == "shadow",
    )


def _alerts(value: object) -> tuple[int, tuple[str, ...]]:
    """`[alerts]`: `threshold` (share of a budget, default 0.8) and `webhooks` (http or https URLs)."""
    if not isinstance(value, dict) or set(value) - {"threshold", "webhooks"}:
        raise ConfigError("`alerts` is a table of `threshold` and `webhooks`")
    threshold = value.get("threshold", 0.8)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 < threshold < 1:
        raise ConfigError("`alerts.threshold` must be a number between 0 and 1, e.g. 0.8")
    hooks = value.get("webhooks", [])
    if not isinstance(hooks, list) or len(hooks) > limits.alert_webhooks_max:
        raise ConfigError(f"`alerts.webhooks` must be a list of at most {limits.alert_webhooks_max} URLs")
    for url in hooks:
        if not isinstance(url, str) or not _URL_RE.fullmatch(url) or len(url) > limits.alert_url_chars_max:
            raise ConfigError("`alerts.webhooks` entries must be http:// or https:// URLs without credentials")
    return round(threshold * 10_000), tuple(hooks)


def _week_minutes(rule: Rule) -> set[int]:
    """The minutes of the week (Monday 00:00 = 0) a time window covers."""
    assert rule.start_minute is not None and rule.end_minute is not None
    covered: set[int] = set()
    week = 7 * 24 * 60
    for day in rule.days if rule.days is not None else range(7):
        start = day * 1440 + rule.start_minute
        length = (rule.end_minute - rule.start_minute) % 1440
        covered.update((start + m) % week for m in range(length))
    return covered


def _no_contradicting_windows(rules: list[Rule]) -> None:
    """Two time windows over the same scope that overlap and disagree (one denies, one holds) are an error."""
    windows = [r for r in rules if r.kind is K.BLOCKED_HOURS]
    for i, first in enumerate(windows):
        for second in windows[i + 1 :]:
            if first.scope != second.scope or first.hold_instead == second.hold_instead:
                continue
            if _week_minutes(first) & _week_minutes(second):
                raise ConfigError(
                    f"rules {first.id!r} and {second.id!r}: their time windows overlap over the same scope, "
                    "and one denies while the other holds; make them meet, not overlap"
                )


def _timezone(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError("`timezone` must be an IANA time zone name such as America/Sao_Paulo")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"`timezone` {value!r} is not a known time zone") from exc
    return value


def _rule(raw: object, at: str, index: int, currencies: frozenset[str]) -> Rule:
    if not isinstance(raw, dict):
        raise ConfigError(f"{at}rules[{index}] must be a table")
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not rule_id or len(rule_id) > 64:
        raise ConfigError(f"{at}rules[{index}] needs an `id` string of 1-64 characters")
    where = f"{at}rule {rule_id!r}"
    try:
        kind = RuleKind(str(raw.get("kind")))
    except ValueError as exc:
        kinds = ", ".join(k.value for k in RuleKind)
        raise ConfigError(f"{where}: `kind` must be one of {kinds}") from exc
    unknown = set(raw) - COMMON_KEYS - REQUIRED[kind] - OPTIONAL.get(kind, frozenset())
    if unknown:
        raise ConfigError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    missing = REQUIRED[kind] - set(raw)
    if missing:
        raise ConfigError(f"{where}: missing keys {', '.join(sorted(missing))}")
    fields: dict[str, Any] = {"scope": _scope(raw, where, _DEFAULT_TOOLS.get(kind, _ALL_TOOLS))}
    if "amount" in REQUIRED[kind]:
        fields |= _amount(raw, where, currencies)
    if kind in (K.ALLOW_COUNTERPARTY, K.DENY_COUNTERPARTY):
        fields["counterparties"] = _counterparties(raw["counterparties"], where, "counterparties")
    if kind is K.DENY_COUNTRY:
        fields["values"] = _countries(raw["countries"], where, "countries")
    if kind is K.DENY_RAIL:
        fields["values"] = _names(raw["rails"], where, "rails") or frozenset()
    if kind is K.DENY_CATEGORY:
        fields["values"] = frozenset(c.casefold() for c in _names(raw["categories"], where, "categories") or ())
    if kind is K.INJECTION_REVIEW:
        fields["min_score_bp"] = _score_bp(raw["min_score"], where)
        if "max_score" in raw:
            fields["max_score_bp"] = _score_bp(raw["max_score"], where)
            if fields["max_score_bp"] <= fields["min_score_bp"]:
                raise ConfigError(f"{where}: `max_score` must be above `min_score`")
    if kind is K.BLOCKED_HOURS:
        fields |= _hours(raw, where)
    if kind is K.COUNTERPARTY_LIMIT:
        fields |= _payee_limit(raw, where, currencies)
    if kind in COUNTED:
        fields |= _counting(kind, raw, where)
    if "approvers" in raw:
        fields["approvers"] = _approvers(kind, raw, where)
    return Rule(id=rule_id, kind=kind, **fields)


def _approvers(kind: RuleKind, raw: Mapping[str, Any], where: str) -> int:
    """How many distinct operators must approve what the rule holds."""
    if kind is K.BLOCKED_HOURS and raw.get("action", "deny") != "approval":
        raise ConfigError(f'{where}: `approvers` needs action = "approval"')
    count = raw["approvers"]
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= limits.approvers_max:
        raise ConfigError(f"{where}: `approvers` must be a whole number from 1 to {limits.approvers_max}")
    return count


def _amount(raw: Mapping[str, Any], where: str, currencies: frozenset[str]) -> dict[str, Any]:
    try:
        money = parse_amount(raw["amount"], raw["currency"])
    except InputError as exc:
        raise ConfigError(f"{where}: `amount`: {exc.message}") from exc
    if money.currency not in currencies:
        raise ConfigError(f"{where}: `currency` {money.currency} is not in the policy's `currencies`")
    return {"currency": money.currency, "amount_minor": money.amount_minor}


def _hours(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A weekly window: `start`/`end` as HH:MM local time, optional `days` it starts on, optional action."""
    start, end = (_clock(raw[key], where, key) for key in ("start", "end"))
    if start == end:
        raise ConfigError(f"{where}: `start` and `end` are the same time; a window needs a length")
    days = None
    if "days" in raw:
        named = _names(raw["days"], where, "days") or frozenset()
        unknown = sorted(named - set(DAYS))
        if unknown:
            raise ConfigError(f"{where}: `days` holds {unknown[0]!r}; use {', '.join(DAYS)}")
        days = frozenset(DAYS.index(day) for day in named)
    action = raw.get("action", "deny")
    if action not in ("deny", "approval"):
        raise ConfigError(f"{where}: `action` must be deny or approval")
    return {"start_minute": start, "end_minute": end, "days": days, "hold_instead": action == "approval"}


def _clock(value: object, where: str, key: str) -> int:
    found = _CLOCK_RE.fullmatch(value) if isinstance(value, str) else None
    if found is None:
        raise ConfigError(f'{where}: `{key}` must be a time of day such as "22:30"')
    return int(found[1]) * 60 + int(found[2])


def _payee_limit(raw: Mapping[str, Any], where: str, currencies: frozenset[str]) -> dict[str, Any]:
    """At most `amount` (with `currency`) or at most `payments` to one payee in the window: one of the two."""
    if ("amount" in raw) == ("payments" in raw):
        raise ConfigError(f"{where}: give either `amount` (with `currency`) or `payments`, not both")
    if "amount" in raw:
        if "currency" not in raw:
            raise ConfigError(f"{where}: missing keys currency")
        return _amount(raw, where, currencies)
    payments = raw["payments"]
    if isinstance(payments, bool) or not isinstance(payments, int) or not 1 <= payments <= 1_000_000:
        raise ConfigError(f"{where}: `payments` must be a whole number from 1")
    return {"payments": payments}


def _counting(kind: RuleKind, raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Window, length and whose totals a counted rule adds up."""
    per = raw.get("per", Per.AGENT.value)
    if per not in {p.value for p in Per}:
        raise ConfigError(f"{where}: `per` must be agent or project")
    fields: dict[str, Any] = {"per": Per(per)}
    if kind is K.DAILY_BUDGET:
        return fields | {"window": Window.DAY}
    if kind is K.APPROVAL_NEW_COUNTERPARTY:
        count = raw.get("min_payments", 1)
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 1_000_000:
            raise ConfigError(f"{where}: `min_payments` must be a whole number from 1")
        return fields | {"min_payments": count}
    allowed = {"minute", "hour", "day"} if kind is K.RATE_LIMIT else {"day", "week", "month", "rolling"}
    window = raw["window"]
    if window not in allowed:
        raise ConfigError(f"{where}: `window` must be one of {', '.join(sorted(allowed))}")
    fields["window"] = Window(window)
    if kind is K.RATE_LIMIT:
        calls = raw["calls"]
        if isinstance(calls, bool) or not isinstance(calls, int) or not 1 <= calls <= 1_000_000:
            raise ConfigError(f"{where}: `calls` must be a whole number from 1")
        return fields | {"calls": calls}
    hours = raw.get("hours")
    if (window == "rolling") != (hours is not None):
        raise ConfigError(f'{where}: `hours` is required with window = "rolling" and only then')
    if hours is not None and (isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= _HOURS_MAX):
        raise ConfigError(f"{where}: `hours` must be a whole number from 1 to {_HOURS_MAX}")
    return fields | {"hours": hours}


def _scope(raw: Mapping[str, Any], where: str, default_tools: frozenset[str]) -> Scope:
    when = raw.get("when", {})
    if not isinstance(when, dict):
        raise ConfigError(f"{where}: `when` must be a table")
    unknown = set(when) - WHEN_KEYS
    if unknown:
        raise ConfigError(f"{where}: `when` has unknown keys {', '.join(sorted(unknown))}")
    for key in ("tools", "agents"):
        if key in raw and key in when:
            raise ConfigError(f"{where}: give `{key}` once, in the rule or in `when`")
    tools = _names(raw.get("tools", when.get("tools")), where, "tools", allowed=_ALL_TOOLS)
    currencies = _names(when.get("currencies"), where, "when.currencies")
    try:
        currencies = None if currencies is None else frozenset(check_currency(c) for c in currencies)
    except InputError as exc:
        raise ConfigError(f"{where}: `when.currencies`: {exc.message}") from exc
    categories = _names(when.get("categories"), where, "when.categories")
    return Scope(
        tools=tools or default_tools,
        agents=_names(raw.get("agents", when.get("agents")), where, "agents"),
        currencies=currencies,
        counterparties=(
            None
            if "counterparties" not in when
            else _counterparties(when["counterparties"], where, "when.counterparties")
        ),
        categories=None if categories is None else frozenset(c.casefold() for c in categories),
        countries=None if "countries" not in when else _countries(when["countries"], where, "when.countries"),
    )


def _names(value: object, where: str, key: str, *, allowed: frozenset[str] | None = None) -> frozenset[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: `{key}` must be a non-empty list of non-empty strings")
    if len(value) > limits.policy_list_entries_max:
        raise ConfigError(f"{where}: `{key}` has more than {limits.policy_list_entries_max} entries")
    if allowed is not None and not set(value) <= allowed:
        raise ConfigError(f"{where}: `{key}` may only name {', '.join(sorted(allowed))}")
    return frozenset(value)


def _countries(value: object, where: str, key: str) -> frozenset[str]:
    found = _names(value, where, key) or frozenset()
    bad = sorted(c for c in found if not _COUNTRY_RE.fullmatch(c))
    if bad:
        raise ConfigError(f"{where}: `{key}` holds {bad[0]!r}, not an ISO 3166 alpha-2 code such as BR")
    return found


def _counterparties(value: object, where: str, key: str) -> frozenset[str]:
    """A list of identifiers, each in canonical form (with a BR Code's Pix key beside it)."""
    found: set[str] = set()
    for entry in sorted(_names(value, where, key) or ()):
        try:
            found |= parse_counterparty(entry).match_keys()
        except InputError as exc:
            raise ConfigError(f"{where}: `{key}` entry {entry!r}: {exc.message}") from exc
    return frozenset(found)


def _score_bp(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise ConfigError(f"{where}: `min_score` must be a number between 0 and 1")
    return round(value * 10_000)


def _sorted(values: frozenset[str] | None) -> list[str] | None:
    return None if values is None else sorted(values)


def _canonical_form(name: str, currencies: frozenset[str], timezone: str, rules: tuple[Rule, ...]) -> dict[str, object]:
    return {
        "name": name,
        "currencies": sorted(currencies),
        "timezone": timezone,
        "rules": [
            {
                "id": r.id,
                "kind": r.kind.value,
                "scope": {
                    "tools": sorted(r.scope.tools),
                    "agents": _sorted(r.scope.agents),
                    "currencies": _sorted(r.scope.currencies),
                    "counterparties": _sorted(r.scope.counterparties),
                    "categories": _sorted(r.scope.categories),
                    "countries": _sorted(r.scope.countries),
                },
                "currency": r.currency,
                "amount_minor": r.amount_minor,
                "counterparties": sorted(r.counterparties),
                "values": sorted(r.values),
                "min_score_bp": r.min_score_bp,
                "max_score_bp": r.max_score_bp,
                "window": None if r.window is None else r.window.value,
                "hours": r.hours,
                "per": r.per.value,
                "calls": r.calls,
                "min_payments": r.min_payments,
                "payments": r.payments,
                "days": None if r.days is None else sorted(r.days),
                "start_minute": r.start_minute,
                "end_minute": r.end_minute,
                "hold_instead": r.hold_instead,
            }
            # One approver is the default; leaving it out keeps the versions of older policies.
            | ({} if r.approvers == 1 else {"approvers": r.approvers})
            for r in rules
        ],
    }


def default_source() -> str:
    """The packaged default policy (the same file as examples/policies/default.toml)."""
    return resources.files("fiduciary.policies").joinpath("default.toml").read_text()
