"""The dashboard's refusals, in process over ASGI with a fake clock: sessions, CSRF, replays, bad input.

Every refused request changes nothing and leaves an audit entry; the browser tests in
`tests/e2e/test_dashboard_browser.py` cover the pages working end to end.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import AsyncIterator

import httpx2
import pytest

from fiduciary.control import Role, Tenant
from fiduciary.domain import limits
from fiduciary.domain.clock import FakeClock
from fiduciary.domain.ids import Prefix, new_id
from fiduciary.domain.intents import AgentRef, PaymentRequest, Tool
from fiduciary.domain.money import Money
from fiduciary.domain.results import Status
from fiduciary.gate.flags import FlagKind, raise_flag
from fiduciary.policies import default_source
from fiduciary.runtime import Runtime
from fiduciary.server.admin import build_admin_app
from fiduciary.settings import Settings

pytestmark = pytest.mark.anyio

BASE = "http://admin.test/dashboard"


@pytest.fixture
async def web(runtime: Runtime) -> AsyncIterator[httpx2.AsyncClient]:
    app = build_admin_app(lambda: runtime)
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=BASE) as client:
        yield client


async def sign_in(web: httpx2.AsyncClient, token: str) -> httpx2.Response:
    page = await web.get("/sign-in")
    nonce = re.search(r'name="nonce" value="([^"]+)"', page.text)
    assert nonce is not None
    return await web.post("/sign-in", data={"nonce": nonce[1], "token": token, "next": "/dashboard/approvals"})


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, "every signed-in page carries a form token (the sign-out form at least)"
    return found[1]


async def held_payment(runtime: Runtime, tenant: Tenant, amount_minor: int = 30_000) -> str:
    caller = AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id)
    request = PaymentRequest(
        tool=Tool.PAY,
        amount=Money(amount_minor, "USD").to_major(),
        currency="USD",
        counterparty="acct:laptops",
        purpose="laptops",
        idempotency_key=f"k-{amount_minor}",
    )
    result = await runtime.gate.request(caller, request, reference=new_id(Prefix.REFERENCE))
    assert result.status is Status.PENDING_APPROVAL and result.approval_id is not None
    return result.approval_id


def platform_entries(settings: Settings, type_: str) -> list[dict[str, object]]:
    with sqlite3.connect(settings.db_path) as db:
        rows = db.execute(
            "SELECT actor, payload FROM audit WHERE org_id = 'org_platform' AND type = ? ORDER BY seq", (type_,)
        ).fetchall()
    return [{"actor": actor, **json.loads(payload)} for actor, payload in rows]


def refusals_counted(settings: Settings, kind: str) -> int:
    with sqlite3.connect(settings.db_path) as db:
        row = db.execute("SELECT count FROM refusal_windows WHERE kind = ?", (kind,)).fetchone()
    return 0 if row is None else int(row[0])


async def test_signing_in_sets_a_strict_http_only_cookie_and_is_audited(
    web: httpx2.AsyncClient, tenant: Tenant, settings: Settings
) -> None:
    response = await sign_in(web, tenant.admin_token)
    assert response.status_code == 303 and response.headers["location"] == "/dashboard/approvals"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("fid_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/dashboard" in cookie
    assert "Secure" not in cookie, "plain HTTP on loopback; Secure is set when the request came over HTTPS"
    assert tenant.admin_token not in cookie
    page = await web.get("/approvals")
    assert page.status_code == 200 and "Content-Security-Policy" in page.headers
    assert "script-src" not in page.headers["Content-Security-Policy"], "default-src 'none' forbids every script"
    assert [e["actor"] for e in platform_entries(settings, "operator.signed_in")] == [tenant.admin.actor]


async def test_a_wrong_token_an_agent_token_or_a_stale_sign_in_form_opens_nothing(
    web: httpx2.AsyncClient, tenant: Tenant, settings: Settings
) -> None:
    assert (await sign_in(web, "fid_op_forged")).status_code == 401
    refused = await sign_in(web, tenant.agent_token)
    assert refused.status_code == 401 and "agent token" in refused.text
    stale = await web.post("/sign-in", data={"nonce": "made-up", "token": tenant.admin_token})
    assert stale.status_code == 403 and "fid_session" not in stale.headers.get("set-cookie", "")
    assert (await web.get("/approvals")).status_code == 303
    # The first refusal per source and minute gets its entry; the ones after it are counted with it.
    assert [e["cause"] for e in platform_entries(settings, "control.unauthenticated")] == ["unknown"]
    assert refusals_counted(settings, "operator_token") == 2


async def test_a_forged_ended_or_expired_session_is_sent_to_sign_in_and_recorded(
    web: httpx2.AsyncClient, tenant: Tenant, settings: Settings, clock: FakeClock
) -> None:
    web.cookies.set("fid_session", "fid_ses_forged", domain="admin.test", path="/dashboard")
    response = await web.get("/approvals/apr_x")
    assert response.status_code == 303 and response.headers["location"].endswith("next=/dashboard/approvals/apr_x")
    web.cookies.clear()

    await sign_in(web, tenant.admin_token)
    clock.advance(seconds=limits.session_ttl_seconds)
    assert (await web.get("/approvals")).status_code == 303, "a session ends on its own"
    posted = await web.post("/kill", data={"csrf": "x.y", "scope": "platform", "reason": "r"})
    assert posted.status_code == 401
    causes = [e["cause"] for e in platform_entries(settings, "control.unauthenticated")]
    assert causes == ["session_unknown", "session_expired"]
    assert refusals_counted(settings, "dashboard_session") == 2, "expired on GET, then on POST in the same minute"


async def test_signing_out_or_revoking_the_operator_ends_the_session(
    web: httpx2.AsyncClient, runtime: Runtime, tenant: Tenant, settings: Settings
) -> None:
    _, token = await runtime.control.operators.add(tenant.admin, "erin", Role.APPROVER)
    await sign_in(web, token)
    page = await web.get("/approvals")
    assert page.status_code == 200
    await runtime.control.operators.revoke(tenant.admin, "erin")
    assert (await web.get("/approvals")).status_code == 303

    await sign_in(web, tenant.admin_token)
    page = await web.get("/approvals")
    out = await web.post("/sign-out", data={"csrf": csrf_of(page.text)})
    assert out.status_code == 303
    assert (await web.get("/approvals")).status_code == 303
    assert len(platform_entries(settings, "operator.signed_out")) == 1


async def test_a_post_without_a_valid_one_time_token_changes_nothing_and_is_audited(
    web: httpx2.AsyncClient, runtime: Runtime, tenant: Tenant, settings: Settings
) -> None:
    approval_id = await held_payment(runtime, tenant)
    await sign_in(web, tenant.admin_token)
    page = await web.get(f"/approvals/{approval_id}")
    token = csrf_of(page.text)
    path = f"/approvals/{approval_id}/reject"

    missing = await web.post(path, data={"reason": "no"})
    forged = await web.post(path, data={"reason": "no", "csrf": token.split(".")[0] + ".00"})
    assert missing.status_code == forged.status_code == 403
    assert (await runtime.control.approvals.show(tenant.admin, approval_id)).approval.status == "pending"

    done = await web.post(path, data={"reason": "no", "csrf": token})
    assert done.status_code == 303 and done.headers["location"].endswith("done=rejected")
    replayed = await web.post(path, data={"reason": "no", "csrf": token})
    assert replayed.status_code == 403 and "already sent" in replayed.text
    codes = [e["code"] for e in platform_entries(settings, "control.refused") if e["action"] == "dashboard.form"]
    assert codes == ["csrf_missing", "csrf_invalid", "form_replayed"]


async def test_deciding_twice_an_expired_approval_or_an_unknown_id_shows_a_clear_page(
    web: httpx2.AsyncClient, runtime: Runtime, tenant: Tenant, clock: FakeClock
) -> None:
    approval_id = await held_payment(runtime, tenant)
    late = await held_payment(runtime, tenant, amount_minor=26_000)
    await sign_in(web, tenant.admin_token)

    async def post(path: str, **data: str) -> httpx2.Response:
        page = await web.get("/approvals")
        return await web.post(path, data={"csrf": csrf_of(page.text), **data})

    assert (await post(f"/approvals/{approval_id}/approve")).status_code == 303
    again = await post(f"/approvals/{approval_id}/approve")
    assert again.status_code == 400 and "already approved" in again.text

    missing = await web.get("/approvals/apr_nope<b>")
    assert missing.status_code == 404 and "apr_nope&lt;b&gt;" in missing.text

    clock.advance(seconds=limits.approval_ttl_seconds + 1)
    await sign_in(web, tenant.admin_token)  # the first session outlived its eight hours
    expired = await post(f"/approvals/{late}/approve")
    assert expired.status_code == 400 and "already expired" in expired.text


async def test_an_oversized_non_form_or_incomplete_body_is_refused_and_recorded(
    web: httpx2.AsyncClient, tenant: Tenant, settings: Settings
) -> None:
    await sign_in(web, tenant.admin_token)
    page = await web.get("/approvals")
    big = await web.post("/kill", data={"csrf": csrf_of(page.text), "reason": "x" * limits.dashboard_form_bytes_max})
    assert big.status_code == 413
    as_json = await web.post("/kill", json={"scope": "platform"})
    assert as_json.status_code == 400 and "x-www-form-urlencoded" in as_json.text
    page = await web.get("/kill")
    no_reason = await web.post("/kill", data={"csrf": csrf_of(page.text), "scope": "platform", "reason": " "})
    assert no_reason.status_code == 400 and "fill in reason" in no_reason.text
    assert "No kill switch is pulled." in (await web.get("/kill")).text
    codes = [e["code"] for e in platform_entries(settings, "control.refused") if e["action"] == "dashboard.form"]
    assert codes == ["too_large", "invalid_argument", "missing_argument"]


async def test_a_payment_that_needs_two_approvers_waits_for_a_second_distinct_person(
    web: httpx2.AsyncClient, runtime: Runtime, tenant: Tenant
) -> None:
    two = default_source().replace('amount = "250.00"\n', 'amount = "250.00"\napprovers = 2\n', 1)
    await runtime.control.config.apply_policy(tenant.admin, tenant.org_id, tenant.project_id, two)
    approval_id = await held_payment(runtime, tenant)
    await sign_in(web, tenant.admin_token)

    page = await web.get(f"/approvals/{approval_id}")
    assert "0 of 2" in page.text
    first = await web.post(f"/approvals/{approval_id}/approve", data={"csrf": csrf_of(page.text)})
    assert first.headers["location"].endswith("done=vote")
    page = await web.get(f"/approvals/{approval_id}?done=vote")
    assert "1 of 2" in page.text and "needs another operator" in page.text
    twice = await web.post(f"/approvals/{approval_id}/approve", data={"csrf": csrf_of(page.text)})
    assert twice.status_code == 400 and "needs another operator" in twice.text

    _, token = await runtime.control.operators.add(tenant.admin, "frank", Role.APPROVER)
    await sign_in(web, token)
    page = await web.get(f"/approvals/{approval_id}")
    second = await web.post(f"/approvals/{approval_id}/approve", data={"csrf": csrf_of(page.text)})
    assert second.headers["location"].endswith("done=approved")
    held = await runtime.control.approvals.show(tenant.admin, approval_id)
    assert held.approval.status == "approved" and held.transaction.state.value == "settled"
    assert len(held.votes) == 2


async def test_the_rails_page_shows_breakers_and_an_admin_resolves_a_flag_with_a_note(
    web: httpx2.AsyncClient, runtime: Runtime, tenant: Tenant, settings: Settings
) -> None:
    async with runtime.store.write() as w:
        flag_id = await raise_flag(w, None, kind=FlagKind.ORPHAN_RECEIPT, detail={"idempotency_key": "x"},
                                   rail="sandbox")  # fmt: skip
    assert flag_id is not None
    await sign_in(web, tenant.admin_token)
    page = await web.get("/rails")
    assert page.status_code == 200 and "orphan_receipt" in page.text and "closed" in page.text
    done = await web.post(f"/flags/{flag_id}/resolve", data={"csrf": csrf_of(page.text), "note": "a test deposit"})
    assert done.status_code == 303 and done.headers["location"].endswith("done=resolved")
    assert "No open flags." in (await web.get("/rails")).text
    resolved = await runtime.store.read.flag(flag_id)
    assert resolved is not None and resolved.note == "a test deposit" and resolved.resolved_by == tenant.admin.actor

    _, token = await runtime.control.operators.add(tenant.admin, "gail", Role.AUDITOR)
    await sign_in(web, token)
    assert 'action="/dashboard/flags/' not in (await web.get("/rails")).text, "an auditor reads, resolves nothing"


async def test_a_transaction_whose_counterparty_was_erased_says_so_on_its_pages(
    web: httpx2.AsyncClient, runtime: Runtime, tenant: Tenant
) -> None:
    caller = AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id)
    request = PaymentRequest(Tool.PAY, "pens", "12.50", "USD", "acct:maria-pens", idempotency_key="e1")
    paid = await runtime.gate.request(caller, request, reference="ref_e1")
    await sign_in(web, tenant.admin_token)
    assert "acct:maria-pens" in (await web.get("/transactions")).text
    await runtime.control.privacy.erase(tenant.admin, tenant.org_id, "acct:maria-pens", reason="DSR-3")
    for path in ("/transactions", f"/transactions/{paid.transaction_id}"):
        page = await web.get(path)
        assert page.status_code == 200 and "(erased)" in page.text and "maria-pens" not in page.text, path
