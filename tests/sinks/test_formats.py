"""Batches hold as many entries as the service's limits allow, and never part of one."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

from fiduciary.audit.chain import GENESIS, StoredEntry
from fiduciary.domain.canonical import canonical_json
from fiduciary.sinks.config import parse_sinks
from fiduciary.sinks.formats import batch

HEC = {"name": "splunk", "kind": "splunk_hec", "base_url": "https://hec.example", "credential_env": "T", "host": "h1"}
DD = {"name": "dd", "kind": "datadog", "base_url": "https://dd.example", "credential_env": "K", "hostname": "h1"}


def entry(seq: int, payload_chars: int = 10) -> StoredEntry:
    body = {"seq": seq, "org_id": "org_a", "project_id": None, "ts": "2026-12-01T17:00:00.000000Z",
            "actor": "system", "type": "t.x", "subject": None, "ref": None,
            "payload": {"p": "x" * payload_chars}}  # fmt: skip
    return StoredEntry(seq, GENESIS, bytes(32), bytes(64), "audit-k", canonical_json(body), None)


def test_a_hec_batch_is_concatenated_events_within_the_byte_and_event_limits() -> None:
    config = parse_sinks({"sinks": [HEC | {"max_batch_bytes": 4096, "max_batch_events": 5}]}).sinks[0]
    page = [entry(n, 500) for n in range(1, 20)]
    made = batch(config, page)
    assert 1 <= made.count <= 5 and len(made.body) <= 4096
    decoder, text, at, events = json.JSONDecoder(), made.body.decode(), 0, []
    while at < len(text):
        event, at = decoder.raw_decode(text, at)
        events.append(event)
    assert [e["event"]["seq"] for e in events] == list(range(1, made.count + 1))
    assert (
        events[0]["time"] == datetime(2026, 12, 1, 17, tzinfo=UTC).timestamp()
        and events[0]["host"] == "h1"
        and "index" not in events[0]
    )
    assert len(batch(config, [entry(1, 10_000)]).body) == 0 and batch(config, [entry(1, 10_000)]).count == 0


def test_a_datadog_batch_is_an_array_of_at_most_1000_logs_and_5_mb_and_skips_none() -> None:
    config = parse_sinks({"sinks": [DD]}).sinks[0]
    made = batch(config, [entry(n) for n in range(1, 1_500)])
    logs = json.loads(made.body)
    assert made.count == len(logs) == 1_000
    assert logs[0]["ddsource"] == "fiduciary" and logs[0]["seq"] == 1 and logs[0]["message"] == "t.x #1 of org_a"
    big = batch(config, [entry(n, 400_000) for n in range(1, 40)])
    assert big.count < 39 and len(big.body) <= 5_000_000 and len(json.loads(big.body)) == big.count
    huge = batch(replace(config, batch_bytes=5_000_000), [entry(1, 1_000_001), entry(2)])
    assert huge.count == 0, "an entry over 1 MB would be truncated by Datadog, so it is never sent"
