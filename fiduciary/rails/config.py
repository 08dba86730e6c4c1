"""The rails file (`HOME/rails.toml`): which rails exist, where they are, and where their secrets live.

```toml
[[rails]]
name = "stripe"                        # how transactions, `rails status` and routing name it
kind = "card"                          # sandbox, card, pix, wire, stablecoin or mcp
base_url = "https://api.stripe.com"
credential_env = "STRIPE_SECRET_KEY"   # or: credential_file = "/run/secrets/stripe" (not both)
timeout_ms = 5000                      # each request; at most limits.rail_timeout_ms
retry = { attempts = 3, base_ms = 200, max_ms = 2000 }
breaker = { failures = 5, failure_rate = 0.5, window = 20, open_seconds = 30, probes = 1 }

[routing]                              # counterparty kind -> rail name (defaults: by rail kind)
pix = "efi"
```

Kind-specific keys: `pix` needs `payer_key` (the account's own Pix key); `wire` needs
`originating_account_id`; `stablecoin` needs `source_wallet_id` (the Circle wallet paid from)
and `chain` (the blockchain, such as `ETH` or `BASE`). The credential itself is read only when
a rail is built, from the environment variable or the file named here; it is never written to
the database, a log, the audit chain or a result. Without a rails file every payment goes to the sandbox rail.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from fiduciary.domain import limits
from fiduciary.domain.counterparties import Kind
from fiduciary.domain.errors import ConfigError
from fiduciary.domain.intents import RAIL_NAME_RE
from fiduciary.domain.tomlfile import read_toml
from fiduciary.rails.mcp import RECEIPT_FIELDS, SOURCES, McpSettings
from fiduciary.rails.wrappers import BreakerSettings, RetrySettings


class RailKind(StrEnum):
    SANDBOX = "sandbox"
    CARD = "card"
    PIX = "pix"
    WIRE = "wire"
    STABLECOIN = "stablecoin"
    """USDC on Circle's transfers API (`rails.stablecoin`)."""
    MCP = "mcp"
    """A payment tool of an upstream MCP server (`rails.mcp`)."""


DEFAULT_ROUTES: Mapping[Kind, tuple[RailKind, ...]] = {
    Kind.PIX: (RailKind.PIX, RailKind.SANDBOX),
    Kind.BR_CODE: (RailKind.PIX, RailKind.SANDBOX),
    Kind.CARD: (RailKind.CARD, RailKind.SANDBOX),
    Kind.CUSTOMER: (RailKind.CARD, RailKind.SANDBOX),
    Kind.IBAN: (RailKind.WIRE, RailKind.SANDBOX),
    Kind.ACCOUNT: (RailKind.WIRE, RailKind.SANDBOX),
    Kind.EVM: (RailKind.STABLECOIN, RailKind.SANDBOX),
}
"""Which kind of rail carries a counterparty of each kind, in order of preference."""

_ENV_RE = re.compile(r"[A-Z_][A-Z0-9_]{0,63}")
_URL_RE = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~%\-/]*)?")
_CHAIN_RE = re.compile(r"[A-Z][A-Z0-9]{1,15}(-[A-Z0-9]{1,15})?")
_KEYS = {"name", "kind", "base_url", "credential_env", "credential_file", "timeout_ms", "retry", "breaker"}
_EXTRA: Mapping[RailKind, frozenset[str]] = {
    RailKind.SANDBOX: frozenset(),
    RailKind.CARD: frozenset(),
    RailKind.PIX: frozenset({"payer_key"}),
    RailKind.WIRE: frozenset({"originating_account_id"}),
    RailKind.STABLECOIN: frozenset({"source_wallet_id", "chain"}),
    RailKind.MCP: frozenset(),
}
_MCP_KEYS = {
    "url", "command", "tool", "arguments", "receipt", "succeeded", "failed", "status_tool", "status_argument",
    "idempotent",
}  # fmt: skip
RAILS_FILE = "rails.toml"


@dataclass(frozen=True, slots=True)
class RailConfig:
    name: str
    kind: RailKind
    base_url: str | None = None
    credential_env: str | None = None
    credential_file: str | None = None
    timeout_ms: int = 5_000
    retry: RetrySettings = field(default_factory=RetrySettings)
    breaker: BreakerSettings = field(default_factory=BreakerSettings)
    options: Mapping[str, str] = field(default_factory=dict)
    """Kind-specific settings (`payer_key`, `originating_account_id`, `source_wallet_id`, `chain`)."""
    mcp: McpSettings | None = None
    """For an `mcp` rail: the server, its tool and the mappings."""

    @property
    def credential_source(self) -> str:
        """Where the credential comes from, for a person (never the credential)."""
        if self.credential_env:
            return f"${self.credential_env}"
        return self.credential_file or "none"

    @property
    def has_credential(self) -> bool:
        return bool(self.credential_env or self.credential_file)

    def credential(self, environ: Mapping[str, str]) -> str:
        """Read the credential now; a missing one is a `ConfigError` that names where it was looked for."""
        if self.credential_env:
            value = environ.get(self.credential_env, "").strip()
            if not value:
                raise ConfigError(f"rail {self.name}: the environment variable {self.credential_env} is not set")
            return value
        if self.credential_file:
            try:
                value = Path(self.credential_file).read_text().strip()
            except OSError as exc:
                raise ConfigError(f"rail {self.name}: cannot read {self.credential_file}") from exc
            if not value:
                raise ConfigError(f"rail {self.name}: {self.credential_file} is empty")
            return value
        raise ConfigError(f"rail {self.name}: no credential_env or credential_file")


@dataclass(frozen=True, slots=True)
class RailsFile:
    rails: tuple[RailConfig, ...]
    routes: Mapping[Kind, str]
    """Routing overrides from `[routing]`: a counterparty kind to a rail name."""

    def named(self, name: str) -> RailConfig | None:
        return next((r for r in self.rails if r.name == name), None)


SANDBOX_ONLY = RailsFile((RailConfig("sandbox", RailKind.SANDBOX),), {})
"""What runs without a rails file."""


def load_rails(path: Path) -> RailsFile:
    """The rails file at `path`, validated; no file means the sandbox rail alone."""
    data = read_toml(path)
    return SANDBOX_ONLY if data is None else parse_rails(data, where=str(path))


def parse_rails(data: Mapping[str, Any], *, where: str = "rails file") -> RailsFile:
    unknown = set(data) - {"rails", "routing"}
    if unknown:
        raise ConfigError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    raw = data.get("rails", [])
    if not isinstance(raw, list) or not raw or len(raw) > limits.rails_max:
        raise ConfigError(f"{where}: give 1 to {limits.rails_max} [[rails]] tables")
    rails = tuple(_rail(entry, where, index) for index, entry in enumerate(raw))
    names = [r.name for r in rails]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: two rails share a name")
    return RailsFile(rails, _routes(data.get("routing", {}), rails, where))


def _rail(entry: object, where: str, index: int) -> RailConfig:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: rails[{index}] must be a table")
    name = entry.get("name")
    if not isinstance(name, str) or not RAIL_NAME_RE.fullmatch(name):
        raise ConfigError(f"{where}: rails[{index}] needs a `name` of lower-case letters, digits, - and _")
    at = f"{where}: rail {name!r}"
    try:
        kind = RailKind(str(entry.get("kind")))
    except ValueError as exc:
        raise ConfigError(f"{at}: `kind` must be one of {', '.join(k.value for k in RailKind)}") from exc
    unknown = set(entry) - _KEYS - _EXTRA[kind] - (_MCP_KEYS if kind is RailKind.MCP else set())
    if unknown:
        raise ConfigError(f"{at}: unknown keys {', '.join(sorted(unknown))}")
    if kind is RailKind.MCP:
        return _mcp_rail(name, entry, at)
    options = {key: _text(entry, key, at) for key in sorted(_EXTRA[kind])}
    if "chain" in options and not _CHAIN_RE.fullmatch(options["chain"]):
        raise ConfigError(f"{at}: `chain` is a Circle chain code such as ETH, BASE or ETH-SEPOLIA")
    if kind is RailKind.SANDBOX:
        if any(key in entry for key in ("base_url", "credential_env", "credential_file")):
            raise ConfigError(f"{at}: the sandbox rail has no base_url or credential")
        return RailConfig(name, kind)
    base_url = _text(entry, "base_url", at)
    if not _URL_RE.fullmatch(base_url):
        raise ConfigError(f"{at}: `base_url` must be an http:// or https:// address")
    env, file = entry.get("credential_env"), entry.get("credential_file")
    if (env is None) == (file is None):
        raise ConfigError(f"{at}: give exactly one of credential_env and credential_file")
    if env is not None and (not isinstance(env, str) or not _ENV_RE.fullmatch(env)):
        raise ConfigError(f"{at}: `credential_env` must be an environment variable name such as STRIPE_SECRET_KEY")
    if file is not None and (not isinstance(file, str) or not file.startswith("/")):
        raise ConfigError(f"{at}: `credential_file` must be an absolute path")
    timeout = _number(entry, "timeout_ms", at, 5_000, 1, limits.rail_timeout_ms)
    return RailConfig(
        name,
        kind,
        base_url=base_url.rstrip("/"),
        credential_env=env,
        credential_file=file,
        timeout_ms=timeout,
        retry=_retry(entry.get("retry", {}), at),
        breaker=_breaker(entry.get("breaker", {}), at),
        options=options,
    )


def _mcp_rail(name: str, entry: Mapping[str, Any], at: str) -> RailConfig:
    """An upstream MCP server: where it is, its tool, and how payments and receipts map onto it."""
    url, command = entry.get("url"), entry.get("command")
    if (url is None) == (command is None):
        raise ConfigError(f"{at}: give exactly one of url and command")
    if url is not None and (not isinstance(url, str) or not _URL_RE.fullmatch(url)):
        raise ConfigError(f"{at}: `url` must be an http:// or https:// address")
    if command is not None and (
        not isinstance(command, list) or not command or not all(isinstance(c, str) and c for c in command)
    ):
        raise ConfigError(f"{at}: `command` is a list of strings, the program first")
    env, file = entry.get("credential_env"), entry.get("credential_file")
    if env is not None and file is not None:
        raise ConfigError(f"{at}: give at most one of credential_env and credential_file")
    if (env is not None or file is not None) and url is None:
        raise ConfigError(f"{at}: a credential is sent as a bearer token, so it needs `url`")
    arguments = _mapping(entry, "arguments", at, allowed_values=SOURCES)
    receipt = _mapping(entry, "receipt", at, allowed_keys=RECEIPT_FIELDS)
    for needed in ("reference", "amount", "status"):
        if needed not in receipt:
            raise ConfigError(f"{at}: `receipt` needs `{needed}`")
    succeeded, failed = (_words(entry, key, at) for key in ("succeeded", "failed"))
    status_tool, status_argument = entry.get("status_tool"), entry.get("status_argument")
    if (status_tool is None) != (status_argument is None):
        raise ConfigError(f"{at}: `status_tool` and `status_argument` go together")
    idempotent = entry.get("idempotent", False)
    if not isinstance(idempotent, bool):
        raise ConfigError(f"{at}: `idempotent` is true or false")
    settings = McpSettings(
        tool=_text(entry, "tool", at),
        arguments=arguments,
        receipt=receipt,
        succeeded=succeeded,
        failed=failed,
        url=url,
        command=tuple(command or ()),
        status_tool=None if status_tool is None else str(status_tool),
        status_argument=None if status_argument is None else str(status_argument),
        idempotent=idempotent,
    )
    retry = _retry(entry.get("retry", {}), at)
    # Without the server's own idempotency a lost answer is looked up, never sent again.
    retry = replace(retry, resend_after_timeout=idempotent)
    return RailConfig(
        name,
        RailKind.MCP,
        base_url=url,
        credential_env=env,
        credential_file=file,
        timeout_ms=_number(entry, "timeout_ms", at, 5_000, 1, limits.rail_timeout_ms),
        retry=retry,
        breaker=_breaker(entry.get("breaker", {}), at),
        mcp=settings,
    )


def _mapping(
    entry: Mapping[str, Any],
    key: str,
    at: str,
    *,
    allowed_keys: frozenset[str] | None = None,
    allowed_values: frozenset[str] | None = None,
) -> dict[str, str]:
    value = entry.get(key)
    if not isinstance(value, dict) or not value or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(f"{at}: `{key}` is a table of names")
    if allowed_keys is not None and not set(value) <= allowed_keys:
        raise ConfigError(f"{at}: `{key}` maps {', '.join(sorted(allowed_keys))}")
    if allowed_values is not None and not set(value.values()) <= allowed_values:
        raise ConfigError(f"{at}: `{key}` values are {', '.join(sorted(allowed_values))}")
    return dict(value)


def _words(entry: Mapping[str, Any], key: str, at: str) -> frozenset[str]:
    value = entry.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{at}: `{key}` is a list of the tool's status words")
    return frozenset(value)


def _text(entry: Mapping[str, Any], key: str, at: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value or len(value) > limits.alert_url_chars_max:
        raise ConfigError(f"{at}: `{key}` is required (a string)")
    return value


def _number(entry: Mapping[str, Any], key: str, at: str, default: int, low: int, high: int) -> int:
    value = entry.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{at}: `{key}` must be a whole number from {low} to {high}")
    return value


def _table(value: object, at: str, key: str, allowed: set[str]) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{at}: `{key}` must be a table")
    unknown = set(value) - allowed
    if unknown:
        raise ConfigError(f"{at}: unknown keys in {key}: {', '.join(sorted(unknown))}")
    return value


def _retry(value: object, at: str) -> RetrySettings:
    t = _table(value, at, "retry", {"attempts", "base_ms", "max_ms"})
    where = f"{at} retry"
    return RetrySettings(
        attempts=_number(t, "attempts", where, 3, 1, limits.rail_attempts_max),
        base_ms=_number(t, "base_ms", where, 200, 1, 60_000),
        max_ms=_number(t, "max_ms", where, 2_000, 1, 60_000),
    )


def _breaker(value: object, at: str) -> BreakerSettings:
    t = _table(value, at, "breaker", {"failures", "failure_rate", "window", "open_seconds", "probes"})
    where = f"{at} breaker"
    rate = t.get("failure_rate", 0.5)
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate <= 1:
        raise ConfigError(f"{where}: `failure_rate` must be above 0 and at most 1")
    return BreakerSettings(
        failures=_number(t, "failures", where, 5, 1, 1_000),
        failure_rate=float(rate),
        window=_number(t, "window", where, 20, 1, 1_000),
        open_seconds=float(_number(t, "open_seconds", where, 30, 1, 3_600)),
        probes=_number(t, "probes", where, 1, 1, 100),
    )


def _routes(value: object, rails: tuple[RailConfig, ...], where: str) -> Mapping[Kind, str]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [routing] must be a table")
    names = {r.name for r in rails}
    routes: dict[Kind, str] = {}
    for key, target in value.items():
        try:
            kind = Kind(key)
        except ValueError as exc:
            raise ConfigError(f"{where}: [routing] {key!r} is not a counterparty kind") from exc
        if target not in names:
            raise ConfigError(f"{where}: [routing] {key} names no rail {target!r}")
        routes[kind] = target
    return routes


def route(rails: RailsFile, kind: Kind, *, requested: str | None = None) -> str | None:
    """The rail that carries a counterparty of `kind`: the one asked for, the `[routing]` entry, or
    the first configured rail of the preferred kinds. None: no configured rail can carry it."""
    if requested is not None:
        return requested if rails.named(requested) is not None else None
    if kind in rails.routes:
        return rails.routes[kind]
    for rail_kind in DEFAULT_ROUTES.get(kind, ()):
        found = next((r.name for r in rails.rails if r.kind is rail_kind), None)
        if found is not None:
            return found
    return None
