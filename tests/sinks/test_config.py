"""The sinks file is validated with errors that name the sink and the key; answers mean what they say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fiduciary.domain import limits
from fiduciary.domain.errors import ConfigError
from fiduciary.sinks.config import SinkKind, parse_sinks
from fiduciary.sinks.http import answer_of, backoff

HEC = {"name": "splunk", "kind": "splunk_hec", "base_url": "https://hec.example:8088", "credential_env": "HEC_TOKEN"}
DD = {"name": "dd", "kind": "datadog", "base_url": "https://http-intake.logs.datadoghq.eu", "credential_env": "DD_KEY"}
S3 = {"name": "archive", "kind": "s3", "bucket": "acme-audit", "prefix": "audit/", "region": "eu-west-1"}


def one(**entry: Any) -> Any:
    return parse_sinks({"sinks": [entry]}).sinks[0]


def test_each_kind_reads_with_the_documented_limits_as_defaults() -> None:
    hec, dd, s3 = parse_sinks({"sinks": [HEC, DD, S3]}).sinks
    assert (hec.kind, hec.batch_bytes, hec.batch_events) == (SinkKind.SPLUNK_HEC, 1024 * 1024, 1_000)
    assert (dd.batch_bytes, dd.batch_events, dd.label) == (5_000_000, 1_000, "fiduciary")
    assert s3.where == "s3://acme-audit/audit/" and s3.credential_env is None
    assert hec.credential_source == "$HEC_TOKEN"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({**HEC, "token": "x"}, "unknown keys token"),
        ({**HEC, "credential_env": None}, "credential_env"),
        ({k: v for k, v in HEC.items() if k != "credential_env"}, "`credential_env` is required"),
        ({**HEC, "credential_env": "lower"}, "`credential_env` must be"),
        ({**HEC, "base_url": "ftp://x"}, "`base_url`"),
        ({**HEC, "kind": "syslog"}, "`kind` must be one of"),
        ({**HEC, "max_batch_bytes": 2 * 1024 * 1024}, "`max_batch_bytes` must be a whole number from"),
        ({**DD, "max_batch_events": 1_001}, "`max_batch_events`"),
        ({**DD, "timeout_ms": limits.sink_timeout_ms + 1}, "`timeout_ms`"),
        ({**S3, "bucket": "No"}, "`bucket` is required"),
        ({**S3, "prefix": "no-slash"}, "`prefix`"),
        ({**S3, "region": "moon"}, "`region`"),
        ({**S3, "base_url": "https://x"}, "unknown keys base_url"),
        ({**HEC, "name": "Bad Name"}, "needs a `name`"),
    ],
)
def test_a_bad_entry_is_refused_naming_the_sink_and_the_key(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        parse_sinks({"sinks": [entry]})


def test_the_file_as_a_whole_is_checked() -> None:
    with pytest.raises(ConfigError, match="two sinks share a name"):
        parse_sinks({"sinks": [HEC, HEC]})
    with pytest.raises(ConfigError, match="unknown keys"):
        parse_sinks({"sinks": [HEC], "extra": 1})
    with pytest.raises(ConfigError, match=r"\[\[sinks\]\]"):
        parse_sinks({"sinks": []})


def test_a_missing_credential_names_the_variable_and_never_a_value() -> None:
    sink = one(**HEC)
    with pytest.raises(ConfigError, match="HEC_TOKEN is not set"):
        sink.credential({})
    assert sink.credential({"HEC_TOKEN": " t0k "}) == "t0k"


def test_what_an_answer_means() -> None:
    assert answer_of(200).delivered and answer_of(202).delivered
    for status in (None, 408, 429, 500, 502, 503):
        assert answer_of(status).retryable and not answer_of(status).delivered
    for status in (301, 400, 401, 403, 404, 413):
        assert not answer_of(status).retryable and not answer_of(status).delivered
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    assert answer_of(429, retry_after="30").retry_after == 30
    assert answer_of(503, retry_after="Tue, 01 Dec 2026 12:01:00 GMT", now=now).retry_after == 60
    assert answer_of(429, retry_after="99999999").retry_after == limits.sink_retry_max_seconds
    assert answer_of(429, retry_after="soon").retry_after is None
    assert backoff(0, answer_of(429, retry_after="7")) == timedelta(seconds=7)
    for attempts in range(30):
        wait = backoff(attempts, answer_of(500))
        assert timedelta(seconds=limits.sink_retry_base_seconds) <= wait
        assert wait <= timedelta(seconds=limits.sink_retry_base_seconds + limits.sink_retry_max_seconds)
