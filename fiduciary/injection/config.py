"""Per-organisation screening configuration: thresholds and custom patterns.

The TOML table an operator writes::

    threshold = 0.7            # org-wide block threshold, 0 < t <= 1
    [tools]                    # per-tool overrides
    pay = 0.6
    upstream_result = 0.5
    [[patterns]]
    id = "acme-new-iban"       # [a-z0-9][a-z0-9_.-]{0,63}, unique
    pattern = "\\bnew\\s+iban\\b"  # RE2 syntax, compiled case-insensitively
    weight = 0.8               # 0 < weight <= 1
    family = "custom"          # optional label, [a-z0-9_]{1,32}

Custom patterns are compiled with RE2, which runs in time linear in the text whatever the
pattern, so an operator's ``(a+)+$`` cannot stall the gate. They are matched against the
original text and against its normalised form (case-folded, diacritics removed,
look-alike letters folded), so "NEW IBAN", "new\\u200biban" and "new iban" written with a Cyrillic "e" all match.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import re2  # type: ignore[import-untyped]

from fiduciary.domain import limits
from fiduciary.domain.errors import ConfigError

DEFAULT_THRESHOLD: float = 0.7

_PATTERN_ID = re.compile(rf"[a-z0-9][a-z0-9_.-]{{0,{limits.injection_custom_id_chars_max - 1}}}")
_FAMILY = re.compile(rf"[a-z0-9_]{{1,{limits.injection_custom_family_chars_max}}}")
_TOP_KEYS = frozenset({"threshold", "tools", "patterns"})
_PATTERN_KEYS = frozenset({"id", "pattern", "weight", "family"})
_TOOL = re.compile(r"[a-z0-9_.-]{1,64}")


class FrozenThresholds(Mapping[str, float]):
    """An immutable, hashable tool -> threshold mapping."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, float] | None = None) -> None:
        self._items: tuple[tuple[str, float], ...] = tuple(sorted((items or {}).items()))

    def __getitem__(self, key: str) -> float:
        for name, value in self._items:
            if name == key:
                return value
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self._items) == dict(other.items())

    def __repr__(self) -> str:
        return f"FrozenThresholds({dict(self._items)!r})"


@dataclass(frozen=True, slots=True)
class CustomPattern:
    """An organisation's own pattern, compiled with RE2."""

    id: str
    pattern: str
    weight: float
    family: str = "custom"
    compiled: Any = field(default=None, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        if not _PATTERN_ID.fullmatch(self.id):
            raise ConfigError(f"pattern id {self.id!r} must match [a-z0-9][a-z0-9_.-]{{0,63}}")
        if isinstance(self.weight, bool) or not 0.0 < self.weight <= 1.0:
            raise ConfigError(f"pattern {self.id!r}: weight must be in (0, 1]")
        if not _FAMILY.fullmatch(self.family):
            raise ConfigError(f"pattern {self.id!r}: family must match [a-z0-9_]{{1,32}}")
        if self.compiled is None:
            object.__setattr__(self, "compiled", compile_pattern(self.id, self.pattern))

    @property
    def rule_id(self) -> str:
        """The id a match of this pattern carries: ``custom:<id>``."""
        return f"custom:{self.id}"


def compile_pattern(pattern_id: str, source: str) -> Any:
    """Compile an organisation pattern with RE2, or raise ConfigError naming it."""
    if len(source) > limits.injection_custom_pattern_chars_max:
        raise ConfigError(
            f"pattern {pattern_id!r} is longer than {limits.injection_custom_pattern_chars_max} characters"
        )
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    options.max_mem = limits.injection_custom_pattern_mem_bytes_max
    try:
        return re2.compile(source, options)
    except re2.error as exc:
        raise ConfigError(f"pattern {pattern_id!r} is not valid RE2 syntax") from exc


def _check_threshold(where: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where} must be a number")
    number = float(value)
    if not 0.0 < number <= 1.0:
        raise ConfigError(f"{where} must be in (0, 1], got {number}")
    return number


@dataclass(frozen=True, slots=True)
class InjectionConfig:
    """An organisation's screening configuration; the defaults block at 0.7."""

    threshold: float = DEFAULT_THRESHOLD
    tool_thresholds: Mapping[str, float] = field(default_factory=FrozenThresholds)
    custom_patterns: tuple[CustomPattern, ...] = ()

    def __post_init__(self) -> None:
        _check_threshold("threshold", self.threshold)
        for tool, value in self.tool_thresholds.items():
            _check_threshold(f"tools.{tool}", value)
        if not isinstance(self.tool_thresholds, FrozenThresholds):
            object.__setattr__(self, "tool_thresholds", FrozenThresholds(self.tool_thresholds))
        if len(self.custom_patterns) > limits.injection_custom_patterns_max:
            raise ConfigError(f"at most {limits.injection_custom_patterns_max} patterns are allowed")
        ids = [p.id for p in self.custom_patterns]
        if len(set(ids)) != len(ids):
            raise ConfigError("pattern ids must be unique")
        object.__setattr__(self, "custom_patterns", tuple(self.custom_patterns))

    def threshold_for(self, tool: str | None) -> float:
        """The block threshold for ``tool``: its override if any, else the organisation's."""
        if tool is not None and tool in self.tool_thresholds:
            return self.tool_thresholds[tool]
        return self.threshold


DEFAULT_CONFIG = InjectionConfig()


def _load_pattern(index: int, entry: object, seen: set[str]) -> CustomPattern:
    where = f"patterns[{index}]"
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where} must be a table")
    unknown = sorted(set(entry) - _PATTERN_KEYS)
    if unknown:
        raise ConfigError(f"{where} has unknown key(s): {', '.join(map(str, unknown))}")
    pattern_id = entry.get("id")
    if not isinstance(pattern_id, str) or not _PATTERN_ID.fullmatch(pattern_id):
        raise ConfigError(f"{where}.id must match [a-z0-9][a-z0-9_.-]{{0,63}}")
    if pattern_id in seen:
        raise ConfigError(f"pattern id {pattern_id!r} is used twice")
    seen.add(pattern_id)
    source = entry.get("pattern")
    if not isinstance(source, str) or not source:
        raise ConfigError(f"pattern {pattern_id!r}: 'pattern' must be a non-empty string")
    weight = entry.get("weight")
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0.0 < float(weight) <= 1.0:
        raise ConfigError(f"pattern {pattern_id!r}: 'weight' must be a number in (0, 1]")
    family = entry.get("family", "custom")
    if not isinstance(family, str) or not _FAMILY.fullmatch(family):
        raise ConfigError(f"pattern {pattern_id!r}: 'family' must match [a-z0-9_]{{1,32}}")
    return CustomPattern(pattern_id, source, float(weight), family)


def load_config(data: Mapping[str, object]) -> InjectionConfig:
    """Validate a parsed TOML table (see the module docstring) into an InjectionConfig.

    Raises ConfigError naming the offending key or pattern id: unknown keys, wrong types,
    values out of range, invalid RE2 syntax, too many or too long patterns, duplicate ids.
    """
    if not isinstance(data, Mapping):
        raise ConfigError("injection config must be a table")
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise ConfigError(f"unknown key(s) in injection config: {', '.join(map(str, unknown))}")
    threshold = _check_threshold("threshold", data.get("threshold", DEFAULT_THRESHOLD))
    tools_table = data.get("tools", {})
    if not isinstance(tools_table, Mapping):
        raise ConfigError("tools must be a table of tool = threshold")
    tools: dict[str, float] = {}
    for tool, value in tools_table.items():
        if not isinstance(tool, str) or not _TOOL.fullmatch(tool):
            raise ConfigError(f"tools: {tool!r} is not a valid tool name")
        tools[tool] = _check_threshold(f"tools.{tool}", value)
    entries = data.get("patterns", [])
    if not isinstance(entries, list | tuple):
        raise ConfigError("patterns must be an array of tables")
    if len(entries) > limits.injection_custom_patterns_max:
        raise ConfigError(f"patterns: at most {limits.injection_custom_patterns_max} are allowed")
    seen: set[str] = set()
    patterns = tuple(_load_pattern(i, entry, seen) for i, entry in enumerate(entries))
    return InjectionConfig(threshold, FrozenThresholds(tools), patterns)
