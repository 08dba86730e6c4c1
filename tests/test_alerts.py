"""Webhook notices (budget alerts, held payments): an audit entry with the hold, then a signed POST to a real
receiver on 127.0.0.1, retried."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace

import anyio
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fiduciary.control import MandateSpec, Tenant
from fiduciary.domain.clock import FakeClock
from fiduciary.domain.intents import AgentRef, PaymentRequest, Tool
from fiduciary.domain.results import Status
from fiduciary.runtime import Runtime, open_runtime
from fiduciary.settings import Settings

pytestmark = pytest.mark.anyio

HOST = "127.0.0.1"
START_SECONDS_MAX = 15


@dataclass
class Receiver:
    """A webhook endpoint that fails its first `failures` requests, then accepts, and keeps what it got."""

    port: int
    failures: int = 1
    received: list[tuple[bytes, str]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/hooks/budget"

    async def handle(self, request: Request) -> Response:
        self.received.append((await request.body(), request.headers.get("x-fiduciary-signature", "")))
        if self.failures > 0:
            self.failures -= 1
            return Response(status_code=503)
        return Response(status_code=204)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind((HOST, 0))
    found = Receiver(sock.getsockname()[1])
    app = Starlette(routes=[Route("/hooks/budget", found.handle, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host=HOST, port=found.port, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        with anyio.fail_after(START_SECONDS_MAX):
            while not server.started:
                assert thread.is_alive(), "the receiver exited during start-up"
                await anyio.sleep(0.01)
        yield found
    finally:
        server.should_exit = True
        await anyio.to_thread.run_sync(thread.join, START_SECONDS_MAX)
        sock.close()


def policy(url: str) -> str:
    return (
        'name = "alerts"\ncurrencies = ["USD"]\n\n[alerts]\nthreshold = 0.8\n'
        f'webhooks = ["{url}"]\n\n'
        '[[rules]]\nid = "day-usd"\nkind = "budget"\ncurrency = "USD"\namount = "100.00"\nwindow = "day"\n'
    )


async def pay(rt: Runtime, tenant: Tenant, amount: str) -> Status:
    caller = AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id)
    request = PaymentRequest(Tool.PAY, "supplies", amount, "USD", "acct:shop")
    return (await rt.gate.request(caller, request, reference="ref_alert")).status


async def test_crossing_80_percent_of_a_budget_is_audited_and_posted_signed_with_retries(
    runtime: Runtime, tenant: Tenant, settings: Settings, clock: FakeClock, receiver: Receiver
) -> None:
    await runtime.control.config.apply_policy(tenant.admin, None, None, policy(receiver.url))
    assert await pay(runtime, tenant, "50.00") is Status.EXECUTED
    await runtime.maintain()
    assert receiver.received == [], "50% of the budget: no alert"

    assert await pay(runtime, tenant, "35.00") is Status.EXECUTED
    entries = [e for e in await runtime.store.read.audit_by_ref("ref_alert") if e.body.type == "budget.alert"]
    assert len(entries) == 1 and entries[0].body.payload["spent"] == "85.00"

    await runtime.maintain()
    assert len(receiver.received) == 1, "the first attempt got a 503"
    clock.advance(seconds=30)
    await runtime.maintain()
    assert len(receiver.received) == 2
    body, signature = receiver.received[-1]
    alert = json.loads(body)
    assert (alert["type"], alert["rule_id"], alert["budget"], alert["spent"]) == (
        "budget.alert",
        "day-usd",
        "100.00",
        "85.00",
    )
    assert "acct:shop" not in body.decode(), "no personal data in an alert"
    expected = hmac.new(settings.webhook_secret(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, f"sha256={expected}")
    (delivery,) = await runtime.store.read.deliveries(alert["alert_id"])
    assert (delivery.attempts, delivery.last_status, delivery.delivered_at is not None) == (2, 204, True)

    assert await pay(runtime, tenant, "5.00") is Status.EXECUTED
    clock.advance(seconds=3600)
    await runtime.maintain()
    assert len(receiver.received) == 2, "past the mark already: one alert per crossing"


async def test_a_receiver_that_refuses_is_given_up_and_the_chain_says_so(
    runtime: Runtime, tenant: Tenant, clock: FakeClock, receiver: Receiver
) -> None:
    receiver.failures = 0
    bad_url = receiver.url.replace("/hooks/budget", "/nowhere")  # a 404: permanent
    await runtime.control.config.apply_policy(tenant.admin, None, None, policy(bad_url))
    spec = MandateSpec(agent_id=tenant.agent_id, currency="USD", max_per_use="100.00", total_cap="500.00", purpose="t")
    await runtime.control.mandates.issue(tenant.admin, spec)
    assert await pay(runtime, tenant, "90.00") is Status.EXECUTED
    await runtime.maintain()
    failed = [e for e in await runtime.store.read.audit_page(tenant.org_id, after_seq=0, limit=1000)
              if e.body.type == "budget.alert_failed"]  # fmt: skip
    assert len(failed) == 1 and failed[0].body.payload["status"] == 404


HOLD_POLICY = (
    'name = "holds"\ncurrencies = ["USD"]\n\n[alerts]\nwebhooks = ["{url}"]\n\n'
    '[[rules]]\nid = "every-payment"\nkind = "approval_required"\n'
)


async def test_a_held_payment_posts_a_signed_notice_with_a_link_to_its_dashboard_page(
    tenant: Tenant, settings: Settings, clock: FakeClock, receiver: Receiver
) -> None:
    receiver.failures = 0
    linked = replace(settings, dashboard_url="https://ops.example.com")
    async with open_runtime(linked, clock=clock) as rt:
        await rt.control.config.apply_policy(tenant.admin, None, None, HOLD_POLICY.format(url=receiver.url))
        caller = AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id)
        purpose = "toner \u202egnp.exe <b>now</b>"
        request = PaymentRequest(Tool.PAY, purpose, "12.00", "USD", "acct:shop")
        held = await rt.gate.request(caller, request, reference="ref_held")
        assert held.status is Status.PENDING_APPROVAL and held.approval_id is not None
        (hold,) = [e for e in await rt.store.read.audit_by_ref("ref_held") if e.body.type.endswith("pending_approval")]
        assert hold.body.payload["notices"] == 1, "the hold's own entry counts the notices it queued"

        await rt.maintain()
        ((body, signature),) = receiver.received
        notice = json.loads(body)
        assert notice["type"] == "approval.requested" and notice["approval_id"] == held.approval_id
        assert notice["url"] == f"https://ops.example.com/dashboard/approvals/{held.approval_id}"
        assert (notice["amount"], notice["currency"], notice["counterparty"]) == ("12.00", "USD", "acct:shop")
        assert notice["purpose"] == "toner \\u202egnp.exe <b>now</b>", "a bidi override arrives as a visible escape"
        expected = hmac.new(settings.webhook_secret(), body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(signature, f"sha256={expected}")
        delivered = [e for e in await rt.store.read.audit_page(tenant.org_id, after_seq=0, limit=1000)
                     if e.body.type == "approval.requested_delivered"]  # fmt: skip
        assert len(delivered) == 1 and delivered[0].body.subject == held.approval_id
