"""Audit sinks: every entry of every org reaches Splunk HEC and Datadog in order, at least once,
through faults and restarts; a refusing sink stops until an admin resumes it; nothing leaks the
credential. The receivers are real HTTP servers on 127.0.0.1 (`tests/fakes/hec.py`, `datadog.py`)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, replace
from datetime import timedelta

import anyio
import pytest

from fiduciary.control import Operator, Role, SinkStatus, Tenant
from fiduciary.domain.clock import FakeClock, parse_iso
from fiduciary.domain.errors import AccessError, ConfigError, InputError
from fiduciary.domain.intents import PLATFORM
from fiduciary.runtime import Runtime, open_runtime
from fiduciary.settings import Settings
from tests.control.test_export import pay
from tests.fakes import serve
from tests.fakes.datadog import FakeDatadog
from tests.fakes.hec import FakeHec
from tests.fakes.intake import Intake
from tests.rows import rows

pytestmark = pytest.mark.anyio

HEC_TOKEN = "hec-6c1d0f5e-secret-token"
DD_KEY = "dd-9a7b3c2e-secret-api-key"
ENVIRON = {"SPLUNK_HEC_TOKEN": HEC_TOKEN, "DD_API_KEY": DD_KEY}
ROUNDS_MAX = 60


def sinks_file(hec_url: str, dd_url: str, *, hec: str = "", dd: str = "") -> str:
    return f"""
[[sinks]]
name = "splunk"
kind = "splunk_hec"
base_url = "{hec_url}"
credential_env = "SPLUNK_HEC_TOKEN"
index = "audit"
timeout_ms = 300
{hec}

[[sinks]]
name = "datadog"
kind = "datadog"
base_url = "{dd_url}"
credential_env = "DD_API_KEY"
timeout_ms = 300
{dd}
"""


@asynccontextmanager
async def receivers() -> AsyncIterator[tuple[FakeHec, str, FakeDatadog, str]]:
    hec, dd = FakeHec(HEC_TOKEN, index="audit"), FakeDatadog(DD_KEY)
    async with serve(hec) as hec_url, serve(dd) as dd_url:
        yield hec, hec_url, dd, dd_url


@asynccontextmanager
async def sinking(settings: Settings, clock: FakeClock, text: str) -> AsyncIterator[Runtime]:
    settings.sinks_path.write_text(text)
    async with open_runtime(replace(settings, environ=ENVIRON), clock=clock) as rt:
        yield rt


async def heads(rt: Runtime) -> dict[str, int]:
    return {org: (await rt.store.read.audit_head(org) or (0, b""))[0] for org in await rt.store.read.org_ids()}


async def status(rt: Runtime, admin: Operator, sink: str) -> dict[str, SinkStatus]:
    return {s.org_id: s for s in await rt.control.sinks.status(admin) if s.sink == sink}


async def drain(rt: Runtime, clock: FakeClock, admin: Operator, sink: str, *, check: Intake | None = None) -> None:
    """Delivery rounds, with time moving on past every backoff, until `sink` has every chain whole."""
    for _ in range(ROUNDS_MAX):
        await rt.control.sinks.deliver()
        if check is not None:
            for org, row in (await status(rt, admin, sink)).items():
                arrived = set(check.seqs(org))
                assert set(range(1, row.cursor_seq + 1)) <= arrived, "the cursor passed an entry that never arrived"
        if all(s.lag == 0 for s in (await status(rt, admin, sink)).values()):
            return
        clock.advance(seconds=3_600)
    raise AssertionError(f"{sink} still lags after {ROUNDS_MAX} rounds")


async def test_each_sink_gets_every_entry_in_order_exactly_once_without_faults(
    settings: Settings, tenant: Tenant, clock: FakeClock
) -> None:
    async with receivers() as (hec, hec_url, dd, dd_url), sinking(settings, clock, sinks_file(hec_url, dd_url)) as rt:
        for n in range(5):
            await pay(rt, tenant, f"k{n}")
        await drain(rt, clock, tenant.admin, "splunk")
        await drain(rt, clock, tenant.admin, "datadog")
        for org, head in (await heads(rt)).items():
            assert hec.seqs(org) == list(range(1, head + 1))
            assert dd.seqs(org) == list(range(1, head + 1))
        stored = await rt.store.read.audit_stored(tenant.org_id, after_seq=0, limit=1)
        first = next(e for e in hec.entries if e["org_id"] == tenant.org_id)
        assert first["entry_hash"] == stored[0].entry_hash.hex() and first["prev_hash"] == "00" * 32
        assert all(e["index"] == "audit" and e["sourcetype"] == "fiduciary:audit" for e in hec.envelopes)
        assert {log["ddsource"] for log in dd.logs} == {"fiduciary"}
        assert not hec.refusals and not dd.refusals


async def test_through_faults_a_sink_gets_every_entry_at_least_once_and_its_cursor_never_passes_a_lost_one(
    settings: Settings, tenant: Tenant, clock: FakeClock
) -> None:
    async with receivers() as (hec, hec_url, dd, dd_url):
        text = sinks_file(hec_url, dd_url, hec="max_batch_events = 4", dd="max_batch_events = 3")
        async with sinking(settings, clock, text) as rt:
            for n in range(4):
                await pay(rt, tenant, f"k{n}")
            for fake in (hec, dd):
                fake.faults.add("error", 2)
                fake.faults.add("error_after")
                fake.faults.add("throttle", retry_after="7")
                fake.faults.add("timeout", delay=1.0)
                fake.faults.add("drop")
                fake.faults.add("unavailable")
            await drain(rt, clock, tenant.admin, "splunk", check=hec)
            await drain(rt, clock, tenant.admin, "datadog", check=dd)
            for org, head in (await heads(rt)).items():
                for fake in (hec, dd):
                    arrived = fake.seqs(org)
                    assert set(arrived) == set(range(1, head + 1))
                    firsts = list(dict.fromkeys(arrived))
                    assert firsts == sorted(firsts), "entries arrive in order"
            for fake in (hec, dd):
                distinct = {(e["org_id"], e["seq"]) for e in fake.entries}
                assert len(fake.entries) > len(distinct), "a lost answer sent its batch again"
            assert max(hec.batches) <= 4 and max(dd.batches) <= 3


async def test_a_sink_honours_retry_after(settings: Settings, tenant: Tenant, clock: FakeClock) -> None:
    async with receivers() as (hec, hec_url, _dd, dd_url), sinking(settings, clock, sinks_file(hec_url, dd_url)) as rt:
        hec.faults.add("throttle", retry_after="42")
        await rt.control.sinks.deliver()
        row = (await status(rt, tenant.admin, "splunk"))[PLATFORM.org_id]
        assert row.last_error_status == 429 and row.cursor_seq == 0 and not row.stopped
        assert row.next_attempt is not None and row.last_error_at is not None
        assert parse_iso(row.next_attempt) - parse_iso(row.last_error_at) == timedelta(seconds=42)
        await rt.control.sinks.deliver()  # not due yet: nothing is sent
        assert hec.requests == 1
        clock.advance(seconds=42)
        await drain(rt, clock, tenant.admin, "splunk")


async def test_a_new_runtime_on_the_same_home_resumes_each_sink_from_its_cursor(
    settings: Settings, tenant: Tenant, clock: FakeClock
) -> None:
    async with receivers() as (hec, hec_url, _dd, dd_url):
        text = sinks_file(hec_url, dd_url)
        async with sinking(settings, clock, text) as rt:
            await pay(rt, tenant, "before")
            await drain(rt, clock, tenant.admin, "splunk")
            delivered = len(hec.entries)
        async with sinking(settings, clock, text) as rt:
            await pay(rt, tenant, "after")
            await drain(rt, clock, tenant.admin, "splunk")
            for org, head in (await heads(rt)).items():
                assert hec.seqs(org) == list(range(1, head + 1)), "nothing is sent twice after a clean restart"
            assert len(hec.entries) > delivered


async def test_a_sink_that_fails_for_ever_keeps_its_cursor_and_holds_back_no_other(
    settings: Settings, tenant: Tenant, clock: FakeClock
) -> None:
    async with receivers() as (hec, hec_url, dd, dd_url), sinking(settings, clock, sinks_file(hec_url, dd_url)) as rt:
        hec.faults.add("error", 10_000)
        await pay(rt, tenant, "k")
        await drain(rt, clock, tenant.admin, "datadog")
        for _ in range(3):
            await rt.maintain()  # the whole maintenance round goes on
            clock.advance(seconds=3_600)
        found = await status(rt, tenant.admin, "splunk")
        assert all(s.cursor_seq == 0 and s.lag == s.head_seq > 0 for s in found.values())
        failing = [s for s in found.values() if s.last_error]
        assert failing and all(s.last_error_status == 500 and "HTTP 500" in (s.last_error or "") for s in failing)
        assert not any(s.stopped for s in found.values())
        assert hec.entries == []
        for org, head in (await heads(rt)).items():
            assert set(range(1, head)) <= set(dd.seqs(org))


async def test_a_refused_credential_stops_the_sink_until_an_admin_resumes_it(
    settings: Settings, tenant: Tenant, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="fiduciary")
    async with receivers() as (hec, hec_url, dd, dd_url), sinking(settings, clock, sinks_file(hec_url, dd_url)) as rt:
        hec.credential = "another-token"
        dd.credential = "another-key"
        await pay(rt, tenant, "k")
        await rt.control.sinks.deliver()
        for sink, code in (("splunk", 403), ("datadog", 403)):
            found = await status(rt, tenant.admin, sink)
            assert all(s.stopped for s in found.values())
            assert any(s.last_error_status == code for s in found.values())
        stops = [
            e for e in await rt.store.read.audit_by_subject(PLATFORM.org_id, "splunk") if e.body.type == "sink.stopped"
        ]
        assert len(stops) == 1 and stops[0].body.payload["status"] == 403
        clock.advance(seconds=3_600)
        await rt.control.sinks.deliver()
        assert len(hec.refusals) == 1, "a stopped sink is not tried again"
        hec.credential = HEC_TOKEN
        auditor = Operator("opr_auditor", "auditor", Role.AUDITOR)
        with pytest.raises(AccessError):
            await rt.control.sinks.resume(auditor, "splunk")
        with pytest.raises(InputError):
            await rt.control.sinks.resume(tenant.admin, "nosuch")
        assert await rt.control.sinks.resume(tenant.admin, "splunk")
        assert not await rt.control.sinks.resume(tenant.admin, "splunk")
        resumed = [
            e for e in await rt.store.read.audit_by_subject(PLATFORM.org_id, "splunk") if e.body.type == "sink.resumed"
        ]
        assert len(resumed) == 1 and resumed[0].body.actor == tenant.admin.actor
        await drain(rt, clock, tenant.admin, "splunk")
        for org, head in (await heads(rt)).items():
            assert hec.seqs(org) == list(range(1, head + 1))
        assert all(s.stopped for s in (await status(rt, tenant.admin, "datadog")).values())
        shown = repr([asdict(s) for s in await rt.control.sinks.status(tenant.admin)])
    for secret in (HEC_TOKEN, DD_KEY):
        assert secret not in shown
        assert secret not in caplog.text
        for table in ("sink_cursors", "sink_states", "audit"):
            assert secret not in repr(rows(settings, f"SELECT * FROM {table}"))


async def test_sink_batches_keep_within_the_limits_the_file_sets(
    settings: Settings, tenant: Tenant, clock: FakeClock
) -> None:
    async with receivers() as (hec, hec_url, dd, dd_url):
        text = sinks_file(hec_url, dd_url, hec="max_batch_bytes = 2048", dd="max_batch_events = 2")
        hec.max_events, dd.entries_max = 1_000, 2
        async with sinking(settings, clock, text) as rt:
            for n in range(3):
                await pay(rt, tenant, f"k{n}")
            await drain(rt, clock, tenant.admin, "splunk")
            await drain(rt, clock, tenant.admin, "datadog")
            assert max(len(body) for body in hec.bodies) <= 2048 and len(hec.bodies) > 1
            assert max(dd.batches) == 2 and not dd.refusals and not hec.refusals
            assert len(dd.entries) == sum((await heads(rt)).values())


async def test_a_server_does_not_start_with_a_sink_whose_credential_is_unset(
    settings: Settings, tenant: Tenant, clock: FakeClock
) -> None:
    settings.sinks_path.write_text(sinks_file("http://127.0.0.1:9", "http://127.0.0.1:9"))
    with pytest.raises(ConfigError, match="SPLUNK_HEC_TOKEN is not set"):
        async with open_runtime(settings, clock=clock, maintain=True):
            pass


async def test_sink_two_instances_delivering_at_once_send_each_entry_once_and_take_over_a_dead_ones_claim(
    settings: Settings, tenant: Tenant, clock: FakeClock
) -> None:
    async with receivers() as (hec, hec_url, _, dd_url):
        text = sinks_file(hec_url, dd_url, hec="max_batch_events = 3")
        async with sinking(settings, clock, text) as one, sinking(settings, clock, text) as two:
            for n in range(8):
                await pay(one, tenant, f"k{n}")
            for _ in range(10):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(one.control.sinks.deliver)
                    tg.start_soon(two.control.sinks.deliver)
            head = await heads(one)
            for org, seq in head.items():
                assert hec.seqs(org) == list(range(1, seq + 1)), "in order, and no entry sent by both"

            await pay(one, tenant, "after")
            async with one.store.write() as w:  # an instance that died holding the pair
                assert await w.claim_sink("splunk", tenant.org_id, until=w.now + timedelta(seconds=600))
            await two.control.sinks.deliver()
            assert hec.seqs(tenant.org_id)[-1] == head[tenant.org_id], "nobody sends a claimed pair"
            clock.advance(seconds=601)
            await two.control.sinks.deliver()
            assert hec.seqs(tenant.org_id)[-1] == (await heads(two))[tenant.org_id], "taken over once it expired"
