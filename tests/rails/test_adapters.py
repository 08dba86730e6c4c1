"""Each HTTP adapter, wrapped as the rails file builds it, against its fake provider on 127.0.0.1.

A timeout, a 5xx after processing or a dropped answer never pays twice: the resend carries the
same idempotency key and the provider answers with the first outcome. Answers that are wrong,
unreadable, huge or about something else are not believed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from fiduciary.domain.clock import FakeClock
from fiduciary.domain.errors import RailMismatch, RailRejected, RailTimeout, RailUnavailable
from fiduciary.rails import Direction, Outcome, Rail, RailRequest
from fiduciary.rails.config import RailConfig, RailKind
from fiduciary.rails.registry import build_rail
from fiduciary.rails.wrappers import BreakerSettings, RetrySettings
from tests.fakes import FakePix, FakeStripe, FakeWire, serve

pytestmark = pytest.mark.anyio

FAST = RetrySettings(attempts=3, base_ms=1, max_ms=5)
ENV = {"STRIPE_KEY": "sk_test_abc", "EFI": "cid:csecret", "MT": "org-1:key-1"}


@asynccontextmanager
async def rail_for(fake: object, config: RailConfig) -> AsyncIterator[Rail]:
    async with serve(fake) as url:  # type: ignore[arg-type]
        rail = build_rail(replace(config, base_url=url), environ=ENV, sandbox_ledger=Path("/nonexistent"),
                          clock=FakeClock())  # fmt: skip
        await rail.open()
        try:
            yield rail
        finally:
            await rail.close()


CARD = RailConfig("stripe", RailKind.CARD, base_url="http://x", credential_env="STRIPE_KEY", timeout_ms=300, retry=FAST)
PIX = RailConfig("efi", RailKind.PIX, base_url="http://x", credential_env="EFI", timeout_ms=300, retry=FAST,
                 options={"payer_key": "financeiro@acme.com.br"})  # fmt: skip
WIRE = RailConfig("mt", RailKind.WIRE, base_url="http://x", credential_env="MT", timeout_ms=300, retry=FAST,
                  options={"originating_account_id": "acc_ours"})  # fmt: skip


def charge(key: str = "fid-txn_a", amount: int = 2_500, card: str = "card:pm_card_visa") -> RailRequest:
    return RailRequest(key, Direction.COLLECT, amount, "USD", card)


async def test_a_card_charge_settles_once_however_often_it_is_sent() -> None:
    fake = FakeStripe("sk_test_abc")
    async with rail_for(fake, CARD) as rail:
        first = await rail.dispatch(charge())
        again = await rail.dispatch(charge())
        assert first.outcome is Outcome.SUCCEEDED and again.rail_reference == first.rail_reference
        assert (first.amount_minor, first.currency, first.counterparty) == (2_500, "USD", "card:pm_card_visa")
        found = await rail.status("fid-txn_a")
        assert found is not None and found.rail_reference == first.rail_reference
        assert await rail.status("fid-txn_never") is None
        refund = await rail.reverse(first, amount_minor=1_000, idempotency_key="fid-rev-a")
        assert (refund.amount_minor, refund.direction) == (1_000, Direction.PAYOUT)
        listed = await rail.receipts(FakeClock().now() - timedelta(days=1))
        assert [r.rail_reference for r in listed] == [first.rail_reference]
    assert fake.created_count("fid-txn_a", kind="payment_intent") == 1


@pytest.mark.parametrize("mode", ["timeout", "error_after", "drop", "unavailable"])
async def test_a_lost_or_failed_answer_is_resent_with_the_same_key_and_charges_once(mode: str) -> None:
    fake = FakeStripe("sk_test_abc")
    fake.faults.add(mode, path_prefix="/v1/payment_intents", delay=1.0)
    async with rail_for(fake, CARD) as rail:
        receipt = await rail.dispatch(charge("fid-txn_lost"))
    assert receipt.outcome is Outcome.SUCCEEDED
    assert fake.created_count("fid-txn_lost", kind="payment_intent") == 1


@pytest.mark.parametrize(
    ("mode", "cause"),
    [
        ("wrong_amount", "amount"),
        ("negative_amount", "amount"),
        ("malformed", "answer_not_json"),
        ("huge", "answer_too_large"),
    ],
)
async def test_an_answer_that_cannot_be_believed_is_not_and_is_not_resent(mode: str, cause: str) -> None:
    fake = FakeStripe("sk_test_abc")
    fake.faults.add(mode, path_prefix="/v1/payment_intents")
    async with rail_for(fake, CARD) as rail:
        with pytest.raises(RailMismatch) as refused:
            await rail.dispatch(charge("fid-txn_odd"))
    assert refused.value.cause == cause
    assert fake.created_count("fid-txn_odd", kind="payment_intent") == 1


async def test_a_declined_card_is_a_refusal_and_a_processing_one_is_pending() -> None:
    fake = FakeStripe("sk_test_abc")
    async with rail_for(fake, CARD) as rail:
        with pytest.raises(RailRejected) as declined:
            await rail.dispatch(charge("fid-txn_d", card="card:pm_card_declined"))
        assert declined.value.code in ("generic_decline", "card_declined")
        pending = await rail.dispatch(charge("fid-txn_p", card="card:pm_card_processing"))
        assert pending.outcome is Outcome.PENDING
        later = await rail.status("fid-txn_p")
        assert later is not None and later.outcome is Outcome.SUCCEEDED
        with pytest.raises(RailRejected, match="collects"):
            await rail.dispatch(replace(charge("fid-txn_x"), direction=Direction.PAYOUT))


async def test_a_wrong_credential_is_refused_and_an_unreachable_provider_is_unavailable() -> None:
    fake = FakeStripe("sk_other")
    async with rail_for(fake, CARD) as rail:
        with pytest.raises(RailRejected) as refused:
            await rail.dispatch(charge())
    assert refused.value.code == "api_key_invalid" and "sk_test_abc" not in str(refused.value)
    closed = build_rail(replace(CARD, base_url="http://127.0.0.1:9"), environ=ENV,
                        sandbox_ledger=Path("/nonexistent"), clock=FakeClock())  # fmt: skip
    with pytest.raises(RailUnavailable):
        await closed.dispatch(charge())
    await closed.close()


async def test_a_provider_that_keeps_failing_opens_the_breaker_and_nothing_more_is_sent() -> None:
    fake = FakeStripe("sk_test_abc")
    fake.faults.add("unavailable", count=50, path_prefix="/v1/payment_intents")
    config = replace(CARD, retry=replace(FAST, attempts=1), breaker=BreakerSettings(failures=3, open_seconds=60))
    async with rail_for(fake, config) as rail:
        for _ in range(3):
            with pytest.raises(RailUnavailable):
                await rail.dispatch(charge("fid-txn_b"))
        before = len(fake.faults.pending())
        with pytest.raises(RailUnavailable, match="circuit breaker"):
            await rail.dispatch(charge("fid-txn_b"))
        assert len(fake.faults.pending()) == before, "an open breaker sends nothing"


def pix(key: str = "fid-txn_pix1", payee: str = "pix:maria@example.com", amount: int = 1_234) -> RailRequest:
    return RailRequest(key, Direction.PAYOUT, amount, "BRL", payee)


async def test_a_pix_is_sent_once_by_its_id_and_its_status_read_back() -> None:
    fake = FakePix("cid", "csecret", refused_key="recusado@example.com")
    async with rail_for(fake, PIX) as rail:
        sent = await rail.dispatch(pix())
        assert sent.outcome is Outcome.PENDING and sent.amount_minor == 1_234 and sent.rail_reference.startswith("E")
        again = await rail.dispatch(pix())
        assert again.rail_reference == sent.rail_reference
        done = await rail.status("fid-txn_pix1")
        assert done is not None and done.outcome is Outcome.SUCCEEDED and done.counterparty == "pix:maria@example.com"
        assert await rail.status("fid-txn_unknown") is None

        await rail.dispatch(pix("fid-txn_pix2", payee="pix:recusado@example.com"))
        refused = await rail.status("fid-txn_pix2")
        assert refused is not None and refused.outcome is Outcome.FAILED

        fake.expire_tokens()
        assert await rail.status("fid-txn_pix1") is not None, "an expired token is fetched again"
        with pytest.raises(RailRejected, match="BRL"):
            await rail.dispatch(replace(pix("fid-txn_usd"), currency="USD"))
    assert fake.created_count("fidtxnpix1") == 1


async def test_a_pix_answer_dropped_after_sending_is_resent_and_finds_the_same_pix() -> None:
    fake = FakePix("cid", "csecret")
    fake.faults.add("drop", path_prefix="/v3/gn/pix")
    async with rail_for(fake, PIX) as rail:
        sent = await rail.dispatch(pix("fid-txn_drop"))
    assert sent.amount_minor == 1_234 and fake.created_count("fidtxndrop") == 1


def wire(key: str = "fid-txn_w1", account: str = "acct:123456789") -> RailRequest:
    return RailRequest(key, Direction.PAYOUT, 50_000, "USD", account)


async def test_a_wire_payment_order_is_created_once_and_followed_to_completion() -> None:
    fake = FakeWire("org-1", "key-1")
    async with rail_for(fake, WIRE) as rail:
        order = await rail.dispatch(wire())
        assert order.outcome is Outcome.PENDING and order.counterparty == "acct:123456789"
        again = await rail.dispatch(wire())
        assert again.rail_reference == order.rail_reference
        outcome = None
        for _ in range(5):
            found = await rail.status("fid-txn_w1")
            assert found is not None
            outcome = found.outcome
            if outcome is not Outcome.PENDING:
                break
        assert outcome is Outcome.SUCCEEDED
        await rail.dispatch(wire("fid-txn_w2", account="acct:000000000"))
        for _ in range(5):
            failed = await rail.status("fid-txn_w2")
            assert failed is not None
            if failed.outcome is not Outcome.PENDING:
                break
        assert failed.outcome is Outcome.FAILED
        assert {r.idempotency_key for r in await rail.receipts(FakeClock().now() - timedelta(days=1))} == {
            "fid-txn_w1",
            "fid-txn_w2",
        }
    assert fake.created_count("fid-txn_w1") == 1


async def test_a_wire_timeout_is_resent_under_the_same_key() -> None:
    fake = FakeWire("org-1", "key-1")
    fake.faults.add("timeout", path_prefix="/api/payment_orders", delay=1.0)
    async with rail_for(fake, WIRE) as rail:
        order = await rail.dispatch(wire("fid-txn_slow"))
    assert order.rail_reference and fake.created_count("fid-txn_slow") == 1


async def test_without_retries_a_lost_wire_answer_is_a_timeout_and_the_order_exists() -> None:
    fake = FakeWire("org-1", "key-1")
    fake.faults.add("timeout", path_prefix="/api/payment_orders", delay=1.0)
    async with rail_for(fake, replace(WIRE, retry=replace(FAST, attempts=1))) as rail:
        with pytest.raises(RailTimeout):
            await rail.dispatch(wire("fid-txn_lost"))
        found = await rail.status("fid-txn_lost")
    assert found is not None and fake.created_count("fid-txn_lost") == 1, "status finds it; nothing is resent"
