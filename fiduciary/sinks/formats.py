"""Each service's batch of entries, built within its documented limits.

Every entry is the JSONL object of docs/AUDIT_FORMAT.md §5.1 (the nine body members, then
`prev_hash`, `entry_hash`, `signature` and `kid`), so what a sink holds verifies like an export.

- Splunk HEC (`/services/collector/event`): a body of concatenated event objects,
  `{"time", "host", "source": "fiduciary", "sourcetype": "fiduciary:audit", "index"?, "event"}`,
  with `event` the entry; at most `max_batch_bytes` (1 MB by default, HEC's usual
  `max_content_length`) and `max_batch_events` per request.
- Datadog logs (`/api/v2/logs`): a JSON array of log objects, `ddsource`, `service`,
  `hostname`, `message` and the entry's members as attributes; at most 1,000 entries, 5 MB per
  request and 1 MB per entry, as Datadog documents (a larger entry would be truncated).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from fiduciary.audit.chain import StoredEntry
from fiduciary.audit.export import jsonl_line
from fiduciary.domain import limits
from fiduciary.domain.clock import parse_iso
from fiduciary.sinks.config import SinkConfig, SinkKind

SOURCE = "fiduciary"
SOURCETYPE = "fiduciary:audit"


@dataclass(frozen=True, slots=True)
class Batch:
    """The body of one request and how many entries of the page it holds (0: the first entry fits in none)."""

    body: bytes
    count: int


def entry_json(entry: StoredEntry) -> bytes:
    """The entry as one JSON object, without its line end."""
    return jsonl_line(entry).rstrip(b"\n")


def splunk_event(config: SinkConfig, entry: StoredEntry) -> bytes:
    """One HEC event: the envelope, then the entry as `event`."""
    ts = parse_iso(json.loads(entry.canonical)["ts"])
    envelope = {"time": round(ts.timestamp(), 6), "host": config.host, "source": SOURCE, "sourcetype": SOURCETYPE}
    if config.label is not None:
        envelope["index"] = config.label
    head = json.dumps(envelope, separators=(",", ":")).encode()
    return head[:-1] + b',"event":' + entry_json(entry) + b"}"


def datadog_log(config: SinkConfig, entry: StoredEntry) -> bytes:
    """One Datadog log: the reserved attributes, then the entry's members."""
    body = json.loads(entry.canonical)
    reserved = {
        "ddsource": SOURCE,
        "service": config.label or SOURCE,
        "hostname": config.host,
        "message": f"{body['type']} #{body['seq']} of {body['org_id']}",
    }
    head = json.dumps(reserved, separators=(",", ":"), ensure_ascii=False).encode()
    return head[:-1] + b"," + entry_json(entry)[1:]


def batch(config: SinkConfig, page: Sequence[StoredEntry]) -> Batch:
    """The longest prefix of `page` one request may carry."""
    if config.kind is SinkKind.SPLUNK_HEC:
        return _packed([splunk_event(config, e) for e in page[: config.batch_events]], config, b"", b"", b"")
    if config.kind is SinkKind.DATADOG:
        logs = [datadog_log(config, e) for e in page[: config.batch_events]]
        cut = next((i for i, log in enumerate(logs) if len(log) > limits.datadog_entry_bytes_max), len(logs))
        return _packed(logs[:cut], config, b"[", b",", b"]")
    raise AssertionError(f"{config.kind} sinks are not sent in HTTP batches")


def _packed(items: list[bytes], config: SinkConfig, start: bytes, sep: bytes, end: bytes) -> Batch:
    size, count = len(start) + len(end), 0
    for item in items:
        extra = len(item) + (len(sep) if count else 0)
        if size + extra > config.batch_bytes:
            break
        size, count = size + extra, count + 1
    return Batch(start + sep.join(items[:count]) + end, count)
