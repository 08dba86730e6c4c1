"""The stablecoin rail against a fake Circle on 127.0.0.1, alone and through the gate.

Circle's transfers carry no key of ours, so a status question is the replay Circle documents
(the same `idempotencyKey` and body): it finds the transfer a lost answer made, or makes it
once, and it is never asked once Circle may have forgotten the key. Receipts are matched to
transactions by the transfer id.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from fiduciary.control import Tenant
from fiduciary.domain import limits
from fiduciary.domain.clock import FakeClock, iso
from fiduciary.domain.errors import RailMismatch, RailRejected
from fiduciary.domain.intents import AgentRef, PaymentRequest, Tool
from fiduciary.mandates import OpenTerms
from fiduciary.rails import Direction, Outcome, Rail, RailRequest
from fiduciary.rails.config import RailConfig, RailKind
from fiduciary.rails.registry import build_rail
from fiduciary.rails.stablecoin import circle_key
from fiduciary.rails.wrappers import RetrySettings
from fiduciary.runtime import Runtime, open_runtime
from fiduciary.settings import Settings
from tests.conftest import TEST_POLICY, make_tenant
from tests.fakes import FakeCircle, serve

pytestmark = pytest.mark.anyio

API_KEY = "TEST_API_KEY:circle-secret-9Xw"
WALLET = "1000216185"
PAYEE = "evm:0x52908400098527886E0F7030069857D2E4169EE7"
FAST = RetrySettings(attempts=3, base_ms=1, max_ms=5)
CONFIG = RailConfig("circle", RailKind.STABLECOIN, base_url="http://x", credential_env="CIRCLE", timeout_ms=300,
                    retry=FAST, options={"source_wallet_id": WALLET, "chain": "BASE"})  # fmt: skip


@asynccontextmanager
async def circle_rail(fake: FakeCircle, clock: FakeClock) -> AsyncIterator[Rail]:
    async with serve(fake) as url:
        rail = build_rail(replace(CONFIG, base_url=url), environ={"CIRCLE": API_KEY}, sandbox_ledger=Path("/none"),
                          clock=clock)  # fmt: skip
        await rail.open()
        try:
            yield rail
        finally:
            await rail.close()


def usdc(clock: FakeClock, key: str = "fid-txn_s1", amount: int = 3_140_000, payee: str = PAYEE) -> RailRequest:
    return RailRequest(key, Direction.PAYOUT, amount, "USDC", payee, created_at=iso(clock.now()))


def test_the_circle_key_is_a_version_4_uuid_and_always_the_same_for_one_payment() -> None:
    key = uuid.UUID(circle_key("fid-txn_s1"))
    assert (key.version, key.variant) == (4, uuid.RFC_4122)
    assert circle_key("fid-txn_s1") == str(key) != circle_key("fid-txn_s2")


async def test_a_usdc_transfer_is_made_once_and_its_status_finds_it_without_a_second() -> None:
    clock = FakeClock()
    fake = FakeCircle(API_KEY, WALLET, clock=clock)
    async with circle_rail(fake, clock) as rail:
        first = await rail.dispatch(usdc(clock))
        assert (first.outcome, first.amount_minor, first.currency, first.counterparty) == (
            Outcome.PENDING, 3_140_000, "USDC", PAYEE)  # fmt: skip
        again = await rail.dispatch(usdc(clock))
        asked = await rail.status("fid-txn_s1", request=usdc(clock))
        assert asked is not None and again.rail_reference == asked.rail_reference == first.rail_reference
        (listed,) = await rail.receipts(clock.now() - timedelta(minutes=1))
        assert (listed.rail_reference, listed.idempotency_key) == (first.rail_reference, ""), "no key of ours"
        assert listed.outcome is Outcome.SUCCEEDED, "the transfer completed on chain"
    assert fake.created_count(circle_key("fid-txn_s1")) == 1
    assert fake.objects[0]["amount"] == {"amount": "3.14", "currency": "USD"}


@pytest.mark.parametrize("mode", ["timeout", "error_after", "drop", "unavailable"])
async def test_a_lost_answer_is_resent_under_the_same_key_and_pays_once(mode: str) -> None:
    clock = FakeClock()
    fake = FakeCircle(API_KEY, WALLET, clock=clock)
    fake.faults.add(mode, path_prefix="/v1/transfers", delay=1.0)
    async with circle_rail(fake, clock) as rail:
        receipt = await rail.dispatch(usdc(clock, key="fid-txn_lost"))
    assert receipt.outcome is Outcome.PENDING and receipt.rail_reference == fake.objects[0]["id"]
    assert fake.created_count(circle_key("fid-txn_lost")) == 1


@pytest.mark.parametrize(
    ("mode", "cause"),
    [("wrong_amount", "amount"), ("negative_amount", "amount"), ("malformed", "answer_not_json"),
     ("huge", "answer_too_large")],
)  # fmt: skip
async def test_an_answer_that_cannot_be_believed_is_not(mode: str, cause: str) -> None:
    clock = FakeClock()
    fake = FakeCircle(API_KEY, WALLET, clock=clock)
    fake.faults.add(mode, count=5, path_prefix="/v1/transfers")
    async with circle_rail(fake, clock) as rail:
        with pytest.raises(RailMismatch) as caught:
            await rail.dispatch(usdc(clock))
    assert caught.value.cause == cause
    assert fake.created_count(circle_key("fid-txn_s1")) == 1, "the replays of a doubted answer make nothing more"


async def test_status_is_a_replay_only_with_the_request_and_only_while_circle_keeps_the_key() -> None:
    clock = FakeClock()
    fake = FakeCircle(API_KEY, WALLET, clock=clock)
    async with circle_rail(fake, clock) as rail:
        with pytest.raises(RailRejected) as without:
            await rail.status("fid-txn_s1")
        old = replace(usdc(clock), created_at=iso(clock.now() - timedelta(hours=limits.circle_replay_hours, seconds=1)))
        with pytest.raises(RailRejected) as forgotten:
            await rail.status("fid-txn_s1", request=old)
        made = await rail.status("fid-txn_s1", request=usdc(clock))
    assert without.value.code == forgotten.value.code == "status_unproven"
    assert made is not None and fake.created_count(circle_key("fid-txn_s1")) == 1, "never seen: made now, once"


async def test_what_the_rail_does_not_carry_is_refused_and_nothing_is_sent() -> None:
    clock = FakeClock()
    fake = FakeCircle(API_KEY, WALLET, balance_minor=1_000_000, clock=clock)
    async with circle_rail(fake, clock) as rail:
        refusals = []
        for request in (
            replace(usdc(clock), currency="USD"),
            replace(usdc(clock), counterparty="acct:123456789"),
            replace(usdc(clock), direction=Direction.COLLECT),
        ):
            with pytest.raises(RailRejected) as refused:
                await rail.dispatch(request)
            refusals.append(refused.value.code)
        assert fake.objects == []
        poor = await rail.dispatch(usdc(clock, key="fid-txn_big", amount=2_000_000))
        with pytest.raises(RailRejected) as reversal:
            await rail.reverse(poor, amount_minor=poor.amount_minor, idempotency_key="fid-rev-1")
    assert refusals == ["currency_unsupported", "counterparty_unsupported", "direction_unsupported"]
    assert (poor.outcome, poor.failure_code) == (Outcome.FAILED, "insufficient_funds")
    assert reversal.value.code == "reversal_unsupported"


STABLECOIN_POLICY = TEST_POLICY.replace('currencies = ["USD", "BRL"]', 'currencies = ["USD", "BRL", "USDC"]')
USDC_TERMS = OpenTerms(currency="USDC", max_per_use_minor=500_000_000, total_cap_minor=5_000_000_000,
                       tools=("pay",), purpose="tests")  # fmt: skip


@asynccontextmanager
async def on_circle(settings: Settings, clock: FakeClock, fake: FakeCircle) -> AsyncIterator[tuple[Runtime, Tenant]]:
    assert 'currencies = ["USD", "BRL"]' in TEST_POLICY
    tenant = await make_tenant(settings, clock, policy=STABLECOIN_POLICY, terms=USDC_TERMS)
    async with serve(fake) as url:
        settings.rails_path.write_text(
            f'[[rails]]\nname = "circle"\nkind = "stablecoin"\nbase_url = "{url}"\ncredential_env = "CIRCLE"\n'
            f'source_wallet_id = "{WALLET}"\nchain = "BASE"\ntimeout_ms = 500\n'
            "retry = { attempts = 1, base_ms = 1, max_ms = 5 }\n"
        )
        async with open_runtime(replace(settings, environ={"CIRCLE": API_KEY}), clock=clock) as rt:
            await rt.control.wallets.fund(tenant.admin, tenant.agent_id, ("100.00", "USDC"))
            yield rt, tenant


async def pay(rt: Runtime, tenant: Tenant, amount: str = "3.14", key: str = "k1", payee: str = PAYEE) -> str:
    caller = AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id)
    request = PaymentRequest(Tool.PAY, "hosting", amount, "USDC", payee.removeprefix("evm:"), idempotency_key=key)
    outcome = await rt.gate.request(caller, request, reference=f"ref_{key}")
    assert outcome.transaction_id is not None, outcome
    return outcome.transaction_id


async def state(rt: Runtime, transaction_id: str) -> str:
    txn = await rt.store.read.transaction_by_id(transaction_id)
    assert txn is not None and txn.rail == "circle"
    return txn.state.value


async def test_an_address_payment_goes_by_stablecoin_and_a_lost_answer_is_settled_by_replay(
    settings: Settings, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake = FakeCircle(API_KEY, WALLET, clock=clock)
    async with on_circle(settings, clock, fake) as (rt, tenant):
        paid = await pay(rt, tenant)
        fake.faults.add("drop", count=2, path_prefix="/v1/transfers")
        lost = await pay(rt, tenant, amount="1.50", key="k2")
        assert await state(rt, lost) == "unknown", "the answer and the status answer were both lost"
        for _ in range(3):
            await rt.gate.sweep(idle_seconds=0)
        assert [await state(rt, t) for t in (paid, lost)] == ["settled", "settled"]
        wallet = await rt.store.read.wallet(AgentRef(tenant.org_id, tenant.project_id, tenant.agent_id), "USDC")
        assert wallet is not None and (wallet.available_minor, wallet.held_minor) == (95_360_000, 0)
        clock.advance(seconds=limits.reconcile_overlap_seconds + 1)
        (report,) = await rt.control.reconciliation.run(tenant.admin)
        assert (report.receipts, report.settled, report.flags) == (2, 2, []), "matched by transfer id"
    assert [fake.created_count(circle_key(f"fid-{t}")) for t in (paid, lost)] == [1, 1]
    secret = API_KEY.split(":")[-1]
    assert all(secret.encode() not in p.read_bytes() for p in settings.home.rglob("*") if p.is_file())
    assert secret not in caplog.text


async def test_a_transfer_no_payment_made_is_an_orphan_once_it_is_older_than_the_overlap(
    settings: Settings, clock: FakeClock
) -> None:
    fake = FakeCircle(API_KEY, WALLET, clock=clock)
    async with on_circle(settings, clock, fake) as (rt, tenant):
        rail = rt.gate.settlement.rails["circle"]
        await rail.dispatch(usdc(clock, key="made-by-hand-at-circle"))
        (young,) = await rt.control.reconciliation.run(tenant.admin)
        assert (young.receipts, young.flags) == (1, []), "a young receipt may still be a payment's"
        clock.advance(seconds=limits.reconcile_overlap_seconds + 1)
        (old,) = await rt.control.reconciliation.run(tenant.admin)
        (flag,) = await rt.store.read.flags()
    assert len(old.flags) == 1 and flag.kind == "orphan_receipt" and flag.rail_reference == fake.objects[0]["id"]


async def test_a_payment_older_than_the_replay_window_waits_for_a_person(settings: Settings, clock: FakeClock) -> None:
    fake = FakeCircle(API_KEY, WALLET, clock=clock)
    async with on_circle(settings, clock, fake) as (rt, tenant):
        fake.faults.add("timeout", count=1, path_prefix="/v1/transfers", delay=1.0)
        fake.faults.add("unavailable", count=1, path_prefix="/v1/transfers")
        waiting = await pay(rt, tenant)
        assert await state(rt, waiting) == "unknown"
        clock.advance(seconds=limits.circle_replay_hours * 3600 + 1)
        await rt.gate.sweep(idle_seconds=0)
        assert await state(rt, waiting) == "unknown", "no replay once Circle may have forgotten the key"
    assert fake.created_count(circle_key(f"fid-{waiting}")) == 1
