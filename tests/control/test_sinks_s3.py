"""The S3 sink: bundles of entries and their signed manifest, each verifying exactly as an export
bundle, against `moto`'s S3 served on 127.0.0.1; and fiduciary without boto3."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from fiduciary.audit.export import manifest_digest, verify_bundle
from fiduciary.control import Tenant
from fiduciary.domain.clock import FakeClock
from fiduciary.domain.errors import ConfigError
from fiduciary.runtime import Runtime, open_runtime
from fiduciary.settings import Settings
from tests.control.test_export import pay
from tests.rows import rows

pytestmark = pytest.mark.anyio

KEYS = "AKIAFIDUCIARYTEST:s3-secret-4d2e7f9a1b"
VERIFIER = Path(__file__).resolve().parent.parent / "audit" / "outsider_verifier.py"


@dataclass(frozen=True, slots=True)
class S3:
    url: str
    bucket: str

    def keys(self, prefix: str) -> list[str]:
        found = bucket_client(self.url).list_objects_v2(Bucket=self.bucket, Prefix=prefix).get("Contents", [])
        return [item["Key"] for item in found]


@pytest.fixture
def s3() -> Iterator[S3]:
    """moto's S3 on 127.0.0.1 and a fresh bucket (moto's state outlives one server in a process)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    served = S3(f"http://{host}:{port}", f"acme-audit-{uuid.uuid4().hex[:12]}")
    try:
        bucket_client(served.url).create_bucket(Bucket=served.bucket)
        yield served
    finally:
        server.stop()


def bucket_client(url: str) -> Any:
    key_id, secret = KEYS.split(":")
    return boto3.client(
        "s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id=key_id, aws_secret_access_key=secret
    )


def sinks_file(url: str, bucket: str = "acme-audit") -> str:
    return f"""
[[sinks]]
name = "archive"
kind = "s3"
bucket = "{bucket}"
prefix = "audit/"
region = "us-east-1"
endpoint_url = "{url}"
credential_env = "AUDIT_S3_KEYS"
manifest_seconds = 60
"""


@asynccontextmanager
async def sinking(settings: Settings, clock: FakeClock, url: str, bucket: str) -> AsyncIterator[Runtime]:
    settings.sinks_path.write_text(sinks_file(url, bucket))
    async with open_runtime(replace(settings, environ={"AUDIT_S3_KEYS": KEYS}), clock=clock) as rt:
        yield rt


def download(s3: S3, prefix: str, into: Path) -> Path:
    client = bucket_client(s3.url)
    into.mkdir(parents=True)
    for key in s3.keys(prefix):
        (into / key.removeprefix(prefix)).write_bytes(client.get_object(Bucket=s3.bucket, Key=key)["Body"].read())
    return into


def outsider() -> Any:
    spec = importlib.util.spec_from_file_location("outsider_verifier", VERIFIER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_each_s3_bundle_verifies_like_an_export_and_names_the_one_before(
    settings: Settings, tenant: Tenant, clock: FakeClock, s3: S3, tmp_path: Path
) -> None:
    async with sinking(settings, clock, s3.url, s3.bucket) as rt:
        await pay(rt, tenant, "one")
        await rt.control.sinks.deliver()
        key_set = await rt.control.keys.jwks(tenant.admin, tenant.org_id)
        first = download(s3, f"audit/{tenant.org_id}/bundles/00000001/", tmp_path / "1")
        assert sorted(p.name for p in first.iterdir()) == ["entries.jsonl", "manifest.json"]
        report = verify_bundle(first, key_set)
        assert report.ok, report.problems
        assert report.from_seq == 1 and report.previous_manifest_sha256 is None
        outsider().verify_bundle(first, key_set)
        (cursor,) = [s for s in await rt.control.sinks.status(tenant.admin) if s.org_id == tenant.org_id]
        assert cursor.cursor_seq == report.to_seq and cursor.last_error is None

        await pay(rt, tenant, "two")
        await rt.control.sinks.deliver()  # the schedule is not due yet
        assert not s3.keys(f"audit/{tenant.org_id}/bundles/00000002/")
        clock.advance(seconds=61)
        await rt.control.sinks.deliver()
        second = download(s3, f"audit/{tenant.org_id}/bundles/00000002/", tmp_path / "2")
        again = verify_bundle(second, key_set)
        assert again.ok, again.problems
        assert again.from_seq == report.to_seq + 1
        manifest = json.loads((first / "manifest.json").read_text())["manifest"]
        assert again.previous_manifest_sha256 == manifest_digest(manifest).hex()
        outsider().verify_bundle(second, key_set)
        platform = download(s3, "audit/org_platform/bundles/00000001/", tmp_path / "p")
        assert verify_bundle(platform, await rt.control.keys.jwks(tenant.admin, "org_platform")).ok

        clock.advance(seconds=61)
        await rt.control.sinks.deliver()  # idle: no new checkpoint, no new bundle
        checkpoints = len(await rt.store.read.checkpoints(tenant.org_id))
        clock.advance(seconds=61)
        await rt.control.sinks.deliver()
        assert len(await rt.store.read.checkpoints(tenant.org_id)) == checkpoints
    for table in ("sink_cursors", "sink_states", "audit"):
        assert KEYS.split(":")[1] not in repr(rows(settings, f"SELECT * FROM {table}"))


async def test_an_unreachable_bucket_moves_no_cursor(
    settings: Settings, tenant: Tenant, clock: FakeClock, s3: S3
) -> None:
    async with sinking(settings, clock, "http://127.0.0.1:9", s3.bucket) as rt:
        await pay(rt, tenant, "one")
        await rt.control.sinks.deliver()
        found = await rt.control.sinks.status(tenant.admin)
        assert all(s.cursor_seq == 0 for s in found)
        assert any(s.last_error and "no answer" in s.last_error for s in found)
        assert not any(s.stopped for s in found)


async def test_a_missing_bucket_stops_the_sink(settings: Settings, tenant: Tenant, clock: FakeClock, s3: S3) -> None:
    bucket_client(s3.url).delete_bucket(Bucket=s3.bucket)
    async with sinking(settings, clock, s3.url, s3.bucket) as rt:
        await rt.control.sinks.deliver()
        found = await rt.control.sinks.status(tenant.admin)
        assert all(s.stopped for s in found) and any(s.last_error_status == 404 for s in found)


async def test_an_s3_sink_without_boto3_is_refused_by_name_of_the_extra(
    settings: Settings, tenant: Tenant, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.sinks_path.write_text(sinks_file("http://127.0.0.1:9"))
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(ConfigError, match=r"fiduciary\[s3\]"):
        async with open_runtime(replace(settings, environ={"AUDIT_S3_KEYS": KEYS}), clock=clock, maintain=True):
            pass


def test_fiduciary_imports_and_builds_its_command_without_boto3() -> None:
    code = (
        "import sys; sys.modules['boto3'] = None; sys.modules['botocore'] = None\n"
        "import fiduciary.runtime, fiduciary.cli, fiduciary.server.http\n"
        "assert 'boto3' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
