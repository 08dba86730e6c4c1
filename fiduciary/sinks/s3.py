"""S3: signed bundles of entries, written with boto3 (the optional `s3` extra, imported only here and
only when an S3 sink is used).

Each bundle is the directory `{prefix}{org_id}/bundles/{number:08d}/` holding `entries.jsonl`
and `manifest.json` exactly as an export bundle (docs/AUDIT_FORMAT.md §5): the entries from
after the sink's cursor to a signed checkpoint, and the manifest the org's audit key signs.
The entries object is written first and the manifest last, so a directory without a manifest
is an attempt that did not finish; the next attempt writes the same number again.
"""

from __future__ import annotations

import importlib
from typing import IO, Any

from fiduciary.domain.errors import ConfigError
from fiduciary.sinks.config import SinkConfig
from fiduciary.sinks.http import Answer, answer_of

EXTRA_HINT = "pip install 'fiduciary[s3]'"


def bundle_prefix(config: SinkConfig, org_id: str, number: int) -> str:
    return f"{config.prefix}{org_id}/bundles/{number:08d}/"


def client(config: SinkConfig, credential: str | None) -> Any:
    """A boto3 S3 client for the sink; a `ConfigError` naming the extra when boto3 is not installed."""
    try:
        boto3 = importlib.import_module("boto3")
        botocore_config = importlib.import_module("botocore.config")
    except ImportError as exc:
        raise ConfigError(f"sink {config.name}: an S3 sink needs boto3: {EXTRA_HINT}") from exc
    options: dict[str, Any] = {
        "region_name": config.region,
        "endpoint_url": config.endpoint_url,
        "config": botocore_config.Config(
            connect_timeout=config.timeout_ms / 1000,
            read_timeout=config.timeout_ms / 1000,
            retries={"max_attempts": 1, "mode": "standard"},
        ),
    }
    if credential is not None:
        key_id, _, secret = credential.partition(":")
        if not key_id or not secret:
            raise ConfigError(f"sink {config.name}: {config.credential_env} holds ACCESS_KEY_ID:SECRET_ACCESS_KEY")
        options |= {"aws_access_key_id": key_id, "aws_secret_access_key": secret}
    return boto3.client("s3", **options)


def available() -> bool:
    """Whether boto3 can be imported."""
    try:
        importlib.import_module("boto3")
    except ImportError:
        return False
    return True


def put(s3: Any, config: SinkConfig, key: str, body: IO[bytes] | bytes, content_type: str) -> Answer:
    """Write one object (runs in a worker thread: boto3 blocks); what the answer means."""
    botocore = importlib.import_module("botocore.exceptions")
    try:
        response = s3.put_object(Bucket=config.bucket, Key=key, Body=body, ContentType=content_type)
    except botocore.ClientError as exc:
        meta = exc.response.get("ResponseMetadata", {})
        status = meta.get("HTTPStatusCode")
        retry_after = meta.get("HTTPHeaders", {}).get("retry-after")
        return answer_of(status if isinstance(status, int) else None, retry_after=retry_after)
    except botocore.BotoCoreError:
        return answer_of(None)
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 200)
    return answer_of(status if isinstance(status, int) else 200)
