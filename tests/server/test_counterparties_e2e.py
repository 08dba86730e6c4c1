"""Counterparties through a real MCP client: compared only in canonical form, refused when not identifiers."""

from __future__ import annotations

import pytest

from fiduciary.control import MandateSpec, Tenant
from fiduciary.runtime import Runtime
from tests.server.test_agent_plane import call, client

pytestmark = pytest.mark.anyio

DENY_CASINO = """
name = "no-casino"
currencies = ["USD"]

[[rules]]
id = "deny-casino"
kind = "deny_counterparty"
counterparties = ["acct:casino"]
"""


def pay(counterparty: str, amount: str = "12.00") -> dict[str, str]:
    return {"amount": amount, "currency": "USD", "counterparty": counterparty, "purpose": "chips"}


async def test_a_deny_list_cannot_be_dodged_with_spaces_invisible_or_look_alike_letters(
    runtime: Runtime, tenant: Tenant, clock: object
) -> None:
    await runtime.control.config.apply_policy(tenant.admin, None, None, DENY_CASINO)
    async with client(runtime.settings, clock, tenant.agent_token, "auto") as c:  # type: ignore[arg-type]
        expectations = {
            "acct:casino": "counterparty_blocked",
            "ACCT:Casino": "counterparty_blocked",
            "acct:\uff43asino": "counterparty_blocked",  # fullwidth c: NFKC makes it the same payee
            "acct:casino ": "invalid_counterparty",
            "acct:casino\u200b": "invalid_counterparty",
            "acct:\u0441\u0430sino": "invalid_counterparty",  # Cyrillic look-alikes
        }
        for i, (counterparty, code) in enumerate(expectations.items()):
            is_error, result = await call(c, "pay", pay(counterparty, f"{12 + i}.00"))
            assert is_error and result["code"] == code, counterparty
            assert counterparty.strip() not in result["message"]
        _, ok = await call(c, "pay", pay("acct:casinos"))
        assert ok["status"] == "executed", "a different payee is not blocked"


async def test_an_iban_written_with_spaces_matches_the_allow_list_entry_written_without(
    runtime: Runtime, tenant: Tenant, clock: object
) -> None:
    await runtime.control.mandates.revoke(tenant.admin, tenant.mandate_id, reason="allow-list only")
    spec = MandateSpec(
        agent_id=tenant.agent_id,
        currency="USD",
        max_per_use="100.00",
        total_cap="500.00",
        purpose="rent",
        counterparties=("iban:de89370400440532013000",),
    )
    issued = await runtime.control.mandates.issue(tenant.admin, spec)
    assert issued.mandate is not None and issued.mandate.terms.counterparties == ("iban:DE89370400440532013000",)
    async with client(runtime.settings, clock, tenant.agent_token, "auto") as c:  # type: ignore[arg-type]
        _, paid = await call(c, "pay", pay("DE89 3704 0044 0532 0130 00", "50.00"))
        assert paid["status"] == "executed"
        _, txn = await call(c, "get_transaction", {"transaction_id": paid["transaction_id"]})
        assert txn["transaction"]["counterparty"] == "iban:DE89370400440532013000"
        is_error, wrong = await call(c, "pay", pay("DE89 3704 0044 0532 0130 01", "50.00"))
        assert is_error and wrong["code"] == "invalid_counterparty", "a failed checksum never reaches a mandate"
        _, other = await call(c, "pay", pay("GB82 WEST 1234 5698 7654 32", "50.00"))
        assert other["code"] == "no_mandate"


async def test_the_same_payee_written_two_ways_is_one_payment_for_idempotency(
    runtime: Runtime, tenant: Tenant, clock: object
) -> None:
    async with client(runtime.settings, clock, tenant.agent_token, "auto") as c:  # type: ignore[arg-type]
        _, first = await call(c, "pay", pay("pix:Ana.Souza@Example.com", "20.00"))
        _, again = await call(c, "pay", pay("ana.souza@example.com", "20.00"))
    assert first["status"] == "executed" and again["replayed"] is True
    assert again["transaction_id"] == first["transaction_id"]
