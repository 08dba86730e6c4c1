"""The dashboard in a real headless Chromium, driven by Playwright, against real servers on 127.0.0.1.

An agent pays through the official MCP client over Streamable HTTP; an operator signs in with the
keyboard, sees the held payments with their context, approves one (it settles), rejects another,
and works every other page. Screenshots of each page are saved under `test-results/dashboard/`
(or `$FIDUCIARY_TEST_RESULTS/dashboard/`).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fiduciary.control import Role
from fiduciary.runtime import open_runtime
from tests.e2e.conftest import HOST, Servers, agent_pays

playwright_api = pytest.importorskip("playwright.async_api")

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("Debian's chromium is not installed (.ci/run installs it)", allow_module_level=True)

RESULTS = Path(os.environ.get("FIDUCIARY_TEST_RESULTS", Path(__file__).parents[2] / "test-results")) / "dashboard"
SCRIPT_PURPOSE = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"> laptop'
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def browser() -> AsyncIterator[playwright_api.Browser]:
    async with playwright_api.async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            await launched.close()


async def shot(page: playwright_api.Page, name: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(RESULTS / f"{name}.png"), full_page=True)


def dashboard(s: Servers, path: str = "") -> str:
    return f"http://{HOST}:{s.admin_port}/dashboard{path}"


async def sign_in_by_keyboard(page: playwright_api.Page, s: Servers, token: str, path: str = "/approvals") -> None:
    """Open a page, land on sign-in, type the token into the focused field and press Enter."""
    await page.goto(dashboard(s, path))
    assert "/dashboard/sign-in" in page.url
    await token_field_has_focus(page)
    await page.keyboard.type(token)
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(re.escape(dashboard(s, path)) + r"$"))


async def token_field_has_focus(page: playwright_api.Page) -> None:
    """The sign-in page puts the keyboard in the token field by itself."""
    await page.wait_for_function("document.activeElement && document.activeElement.id === 'token'")


async def add_operator(s: Servers, name: str, role: Role) -> str:
    async with open_runtime(s.settings, resume=False) as rt:
        admin = await rt.control.operators.authenticate(s.tenant.admin_token)
        _, token = await rt.control.operators.add(admin, name, role)
    return token


async def test_an_operator_approves_and_rejects_what_an_agent_paid_over_mcp(
    servers: Servers, browser: playwright_api.Browser
) -> None:
    held = await agent_pays(servers, "300.00", purpose=SCRIPT_PURPOSE)
    other = await agent_pays(servers, "260.00", purpose="monitors")
    assert held["status"] == other["status"] == "pending_approval"

    context = await browser.new_context(viewport={"width": 1366, "height": 768})
    page = await context.new_page()
    await page.goto(dashboard(servers, "/approvals"))
    await token_field_has_focus(page)
    await shot(page, "01-sign-in")
    await page.keyboard.type(servers.tenant.admin_token)
    await page.keyboard.press("Enter")
    await page.wait_for_url(dashboard(servers, "/approvals"))

    # The pending list shows the context, and the agent's script is text, never code.
    body = await page.locator("main").inner_text()
    assert SCRIPT_PURPOSE in body
    assert "300.00 USD" in body and "260.00 USD" in body
    assert "approval_threshold" in body or "large-payment" in body or "Held by rule" in body
    assert servers.tenant.mandate_id in body and "after this" in body
    assert await page.evaluate("window.pwned") is None
    assert await page.locator("main script, main img").count() == 0
    await shot(page, "02-approvals")

    # Approve the first: it is dispatched, and the page shows it settled.
    await page.goto(dashboard(servers, f"/approvals/{held['approval_id']}"))
    await shot(page, "03-approval")
    await page.get_by_role("button", name="Approve and pay").click()
    await page.wait_for_url(re.compile(r"done=approved"))
    assert await page.locator("#state").inner_text() == "settled"
    assert "Approved." in await page.locator("[role=status]").inner_text()
    await shot(page, "04-approved")

    # Reject the second with a reason, using only the keyboard.
    await page.goto(dashboard(servers, f"/approvals/{other['approval_id']}"))
    await page.locator("#reason").focus()
    await page.keyboard.type("not in this quarter's plan")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"done=rejected"))
    assert await page.locator("#state").inner_text() == "rejected"

    await page.goto(dashboard(servers, "/approvals"))
    recent = await page.locator("table").inner_text()
    assert "approved" in recent and "rejected" in recent and "not in this quarter's plan" in recent
    await shot(page, "05-decided")

    # Reloading the approve result sends nothing again (post/redirect/get); a replayed form is refused.
    await page.goto(dashboard(servers, f"/approvals/{held['approval_id']}?done=approved"))
    await page.reload()
    assert await page.locator("#state").inner_text() == "settled"

    await page.goto(dashboard(servers, "/transactions?state=settled"))
    assert held["transaction_id"] in await page.locator("main").inner_text()
    await shot(page, "06-transactions")
    await page.get_by_role("link", name=held["transaction_id"]).click()
    entries = await page.locator("main").inner_text()
    assert "transaction.settled" in entries and "transaction.approved" in entries
    await shot(page, "07-transaction")
    await context.close()


async def test_the_admin_pages_issue_revoke_fund_kill_and_verify(
    servers: Servers, browser: playwright_api.Browser
) -> None:
    context = await browser.new_context(viewport={"width": 1366, "height": 768})
    page = await context.new_page()
    await sign_in_by_keyboard(page, servers, servers.tenant.admin_token, "/mandates")
    agent_id = servers.tenant.agent_id

    await page.locator("#m-currency").fill("USD")
    await page.locator("#m-per-use").fill("40.00")
    await page.locator("#m-cap").fill("120.00")
    await page.locator("#m-purpose").fill("office snacks")
    await page.locator("#m-payees").fill("acct:snacks")
    await page.get_by_role("button", name="Issue").click()
    await page.wait_for_url(re.compile(r"done=issued"))
    table = await page.locator("table").inner_text()
    assert "120.00" in table and "acct:snacks" in table
    await shot(page, "08-mandates")
    row = page.locator("tr", has_text="acct:snacks")
    await row.locator("input[name=reason]").fill("snacks are paid by card now")
    await row.get_by_role("button", name="Revoke").click()
    await page.wait_for_url(re.compile(r"done=revoked"))
    assert "acct:snacks" not in await page.locator("main").inner_text()

    await page.goto(dashboard(servers, "/wallets"))
    before = await page.locator("tbody").inner_text()
    assert "1000.00" in before
    await page.locator("#fund-amount").fill("25.50")
    await page.locator("#fund-currency").fill("USD")
    await page.get_by_role("button", name="Fund").click()
    await page.wait_for_url(re.compile(r"done=funded"))
    assert "1025.50" in await page.locator("tbody").inner_text()
    await shot(page, "09-wallets")

    await page.goto(dashboard(servers, "/kill"))
    await page.locator("#k-scope").select_option("agent")
    await page.locator("#k-target").fill(agent_id)
    await page.locator("#k-reason").fill("drill")
    await page.get_by_role("button", name="Pull the kill switch").click()
    await page.wait_for_url(re.compile(r"done=pulled"))
    assert agent_id in await page.locator("table").inner_text()
    await shot(page, "10-kill")
    frozen = await agent_pays(servers, "10.00", purpose="during the drill")
    assert frozen["code"] == "agent_frozen"
    await page.get_by_role("button", name="Unfreeze agent").click()
    await page.wait_for_url(re.compile(r"done=lifted"))
    assert "No kill switch is pulled." in await page.locator("main").inner_text()

    await page.goto(dashboard(servers, "/rails"))
    assert "sandbox" in await page.locator("tbody").first.inner_text()
    await shot(page, "13-rails")

    await page.goto(dashboard(servers, "/audit"))
    chains = await page.locator("tbody").inner_text()
    assert "verified" in chains and "broken" not in chains
    await shot(page, "11-audit")

    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url(re.compile(r"/dashboard/sign-in"))
    await page.goto(dashboard(servers, "/audit"))
    assert "/dashboard/sign-in" in page.url, "a signed-out session opens nothing"
    await context.close()


async def test_a_post_without_its_csrf_token_and_a_wrong_role_are_refused(
    servers: Servers, browser: playwright_api.Browser
) -> None:
    held = await agent_pays(servers, "300.00", purpose="a chair")
    context = await browser.new_context()
    page = await context.new_page()
    await sign_in_by_keyboard(page, servers, servers.tenant.admin_token)

    # A POST from this browser's own session, without the form's token: refused, nothing changed.
    refused = await page.request.post(dashboard(servers, f"/approvals/{held['approval_id']}/approve"), form={})
    assert refused.status == 403 and "security token" in await refused.text()
    await page.goto(dashboard(servers, f"/approvals/{held['approval_id']}"))
    assert await page.locator("#state").inner_text() == "pending_approval"

    # An auditor reads but has no approve button; forcing the POST with a valid token is refused.
    auditor = await browser.new_context()
    viewer = await auditor.new_page()
    await sign_in_by_keyboard(viewer, servers, await add_operator(servers, "carol", Role.AUDITOR))
    await viewer.goto(dashboard(servers, f"/approvals/{held['approval_id']}"))
    assert await viewer.get_by_role("button", name="Approve and pay").count() == 0
    csrf = await viewer.locator("form.signout input[name=csrf]").get_attribute("value")
    forced = await viewer.request.post(
        dashboard(servers, f"/approvals/{held['approval_id']}/approve"), form={"csrf": csrf or ""}
    )
    assert forced.status == 403 and "auditor role may not" in await forced.text()

    # An approver decides but does not configure: the wallets page is refused.
    approver = await browser.new_context()
    decider = await approver.new_page()
    await sign_in_by_keyboard(decider, servers, await add_operator(servers, "dave", Role.APPROVER))
    nav = await decider.locator("nav").inner_text()
    assert "Approvals" in nav and "Wallets" not in nav
    response = await decider.goto(dashboard(servers, "/wallets"))
    assert response is not None and response.status == 403
    await shot(decider, "12-forbidden")

    await page.goto(dashboard(servers, f"/approvals/{held['approval_id']}"))
    assert await page.locator("#state").inner_text() == "pending_approval", "nothing was changed"
    for ctx in (context, auditor, approver):
        await ctx.close()
