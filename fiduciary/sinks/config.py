"""The sinks file (`HOME/sinks.toml`): where every org's audit entries are delivered.

```toml
[[sinks]]
name = "splunk"                          # how `audit sink status` and the cursors name it
kind = "splunk_hec"                      # splunk_hec, datadog or s3
base_url = "https://splunk.example.com:8088"
credential_env = "SPLUNK_HEC_TOKEN"      # the HEC token: read from the environment, never written here
index = "audit"                          # optional; host, max_batch_bytes, max_batch_events too

[[sinks]]
name = "datadog"
kind = "datadog"
base_url = "https://http-intake.logs.datadoghq.eu"
credential_env = "DD_API_KEY"            # optional: service, hostname, max_batch_bytes, max_batch_events

[[sinks]]
name = "archive"
kind = "s3"
bucket = "acme-audit"
prefix = "fiduciary/"                    # optional
region = "eu-west-1"
endpoint_url = "https://s3.eu-west-1.amazonaws.com"   # optional
credential_env = "AUDIT_S3_KEYS"         # optional: "ACCESS_KEY_ID:SECRET_ACCESS_KEY"; else boto3's chain
manifest_seconds = 300                   # how often a signed bundle is written
```

Every sink may set `timeout_ms` (at most `limits.sink_timeout_ms`). The credential is read only
when a sink is used, from the environment variable named here; it is never written to the
database, a log, the audit chain, an error or a status. Without a sinks file nothing is delivered.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from fiduciary.domain import limits
from fiduciary.domain.errors import ConfigError
from fiduciary.domain.tomlfile import read_toml

SINKS_FILE = "sinks.toml"
_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_ENV_RE = re.compile(r"[A-Z_][A-Z0-9_]{0,63}")
_URL_RE = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~%\-/]*)?")
_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")
_PREFIX_RE = re.compile(r"([A-Za-z0-9!_.*'()\-]+/)*")
_REGION_RE = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
_LABEL_RE = re.compile(r"[A-Za-z0-9_.:\-]{1,128}")


class SinkKind(StrEnum):
    SPLUNK_HEC = "splunk_hec"
    DATADOG = "datadog"
    S3 = "s3"


_COMMON = frozenset({"name", "kind", "credential_env", "timeout_ms"})
_KEYS: Mapping[SinkKind, frozenset[str]] = {
    SinkKind.SPLUNK_HEC: _COMMON | {"base_url", "index", "host", "max_batch_bytes", "max_batch_events"},
    SinkKind.DATADOG: _COMMON | {"base_url", "service", "hostname", "max_batch_bytes", "max_batch_events"},
    SinkKind.S3: _COMMON | {"bucket", "prefix", "region", "endpoint_url", "manifest_seconds"},
}
_BATCH_LIMITS: Mapping[SinkKind, tuple[int, int]] = {
    SinkKind.SPLUNK_HEC: (limits.splunk_batch_bytes_max, limits.splunk_batch_events_max),
    SinkKind.DATADOG: (limits.datadog_batch_bytes_max, limits.datadog_batch_entries_max),
    SinkKind.S3: (0, limits.s3_batch_entries_max),
}
"""Each service's documented limits per request: bytes, then entries (S3: entries per bundle)."""


@dataclass(frozen=True, slots=True)
class SinkConfig:
    name: str
    kind: SinkKind
    credential_env: str | None = None
    timeout_ms: int = 5_000
    base_url: str | None = None
    label: str | None = None
    """Splunk's `index`, or Datadog's `service`."""
    host: str = "fiduciary"
    """Splunk's `host`, Datadog's `hostname`: this machine's name unless the file says otherwise."""
    batch_bytes: int = 0
    batch_events: int = 0
    bucket: str | None = None
    prefix: str = ""
    region: str | None = None
    endpoint_url: str | None = None
    manifest_seconds: int = limits.s3_manifest_seconds_default

    @property
    def credential_source(self) -> str:
        """Where the credential comes from, for a person (never the credential)."""
        return f"${self.credential_env}" if self.credential_env else "none"

    @property
    def where(self) -> str:
        """Where entries go, for a person."""
        if self.kind is SinkKind.S3:
            return f"s3://{self.bucket}/{self.prefix}"
        return str(self.base_url)

    def credential(self, environ: Mapping[str, str]) -> str | None:
        """Read the credential now; a missing one is a `ConfigError` naming the variable, never a value."""
        if self.credential_env is None:
            return None
        value = environ.get(self.credential_env, "").strip()
        if not value:
            raise ConfigError(f"sink {self.name}: the environment variable {self.credential_env} is not set")
        return value


@dataclass(frozen=True, slots=True)
class SinksFile:
    sinks: tuple[SinkConfig, ...]

    def named(self, name: str) -> SinkConfig | None:
        return next((s for s in self.sinks if s.name == name), None)


NO_SINKS = SinksFile(())


def load_sinks(path: Path) -> SinksFile:
    """The sinks file at `path`, validated; no file means no sinks."""
    data = read_toml(path)
    return NO_SINKS if data is None else parse_sinks(data, where=str(path))


def parse_sinks(data: Mapping[str, Any], *, where: str = "sinks file") -> SinksFile:
    unknown = set(data) - {"sinks"}
    if unknown:
        raise ConfigError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    raw = data.get("sinks", [])
    if not isinstance(raw, list) or not raw or len(raw) > limits.sinks_max:
        raise ConfigError(f"{where}: give 1 to {limits.sinks_max} [[sinks]] tables")
    sinks = tuple(_sink(entry, where, index) for index, entry in enumerate(raw))
    names = [s.name for s in sinks]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: two sinks share a name")
    return SinksFile(sinks)


def _sink(entry: object, where: str, index: int) -> SinkConfig:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: sinks[{index}] must be a table")
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise ConfigError(f"{where}: sinks[{index}] needs a `name` of lower-case letters, digits, - and _")
    at = f"{where}: sink {name!r}"
    try:
        kind = SinkKind(str(entry.get("kind")))
    except ValueError as exc:
        raise ConfigError(f"{at}: `kind` must be one of {', '.join(k.value for k in SinkKind)}") from exc
    unknown = set(entry) - _KEYS[kind]
    if unknown:
        raise ConfigError(f"{at}: unknown keys {', '.join(sorted(unknown))}")
    env = entry.get("credential_env")
    if env is None and kind is not SinkKind.S3:
        raise ConfigError(f"{at}: `credential_env` is required (the environment variable holding the secret)")
    if env is not None and (not isinstance(env, str) or not _ENV_RE.fullmatch(env)):
        raise ConfigError(f"{at}: `credential_env` must be an environment variable name such as SPLUNK_HEC_TOKEN")
    timeout = _number(entry, "timeout_ms", at, 5_000, 1, limits.sink_timeout_ms)
    if kind is SinkKind.S3:
        return _s3(name, entry, at, env, timeout)
    bytes_max, events_max = _BATCH_LIMITS[kind]
    label_key, host_key = ("index", "host") if kind is SinkKind.SPLUNK_HEC else ("service", "hostname")
    return SinkConfig(
        name,
        kind,
        credential_env=env,
        timeout_ms=timeout,
        base_url=_url(entry, "base_url", at, required=True),
        label=_label(entry, label_key, at, "fiduciary" if kind is SinkKind.DATADOG else None),
        host=_label(entry, host_key, at, socket.gethostname()[:128] or "fiduciary") or "fiduciary",
        batch_bytes=_number(entry, "max_batch_bytes", at, bytes_max, 1_024, bytes_max),
        batch_events=_number(entry, "max_batch_events", at, events_max, 1, events_max),
    )


def _s3(name: str, entry: Mapping[str, Any], at: str, env: str | None, timeout: int) -> SinkConfig:
    bucket = entry.get("bucket")
    if not isinstance(bucket, str) or not _BUCKET_RE.fullmatch(bucket):
        raise ConfigError(
            f"{at}: `bucket` is required: an S3 bucket name (3 to 63 lower-case letters, digits, . and -)"
        )
    prefix = entry.get("prefix", "")
    if not isinstance(prefix, str) or len(prefix) > 256 or not _PREFIX_RE.fullmatch(prefix):
        raise ConfigError(f"{at}: `prefix` is a key prefix of path segments, each ending with /, such as audit/")
    region = entry.get("region")
    if region is not None and (not isinstance(region, str) or not _REGION_RE.fullmatch(region)):
        raise ConfigError(f"{at}: `region` is an AWS region such as eu-west-1")
    return SinkConfig(
        name,
        SinkKind.S3,
        credential_env=env,
        timeout_ms=timeout,
        bucket=bucket,
        prefix=prefix,
        region=region,
        endpoint_url=_url(entry, "endpoint_url", at, required=False),
        batch_events=limits.s3_batch_entries_max,
        manifest_seconds=_number(
            entry, "manifest_seconds", at, limits.s3_manifest_seconds_default, 1, limits.s3_manifest_seconds_max
        ),
    )


def _url(entry: Mapping[str, Any], key: str, at: str, *, required: bool) -> str | None:
    value = entry.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or len(value) > limits.alert_url_chars_max or not _URL_RE.fullmatch(value):
        raise ConfigError(f"{at}: `{key}` must be an http:// or https:// address")
    return value.rstrip("/")


def _label(entry: Mapping[str, Any], key: str, at: str, default: str | None) -> str | None:
    value = entry.get(key, default)
    if value is not None and (not isinstance(value, str) or not _LABEL_RE.fullmatch(value)):
        raise ConfigError(f"{at}: `{key}` is 1 to 128 letters, digits, _ . : and -")
    return value


def _number(entry: Mapping[str, Any], key: str, at: str, default: int, low: int, high: int) -> int:
    value = entry.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{at}: `{key}` must be a whole number from {low} to {high}")
    return value
