"""Webhook notices: budget alerts and held payments, recorded in the transaction that causes them,
delivered afterwards.

When a payment takes a budget across the policy's alert threshold (80% unless `[alerts]` says
otherwise), the hold's transaction writes a `budget.alert` audit entry and one outbox row per
webhook. When a payment is held for a person, the same transaction queues an
`approval.requested` notice per webhook, with a link to its dashboard page when one is served;
its agent-written text is escaped as on a terminal. A running server delivers the outbox: a
JSON POST signed with HMAC-SHA256 over the
exact body, in the header `X-Fiduciary-Signature: sha256=<hex>`; a 2xx is delivered, a 4xx
other than 408 and 429 is given up, anything else (5xx, timeout, refused connection) is tried
again with exponential backoff and full jitter, up to `limits.alert_attempts_max` times.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx2

from fiduciary.domain import limits
from fiduciary.domain.clock import Clock, iso
from fiduciary.domain.ids import Prefix, new_id
from fiduciary.domain.money import Money
from fiduciary.domain.records import DeliveryRow, TransactionRow
from fiduciary.policies import Policy
from fiduciary.policies.evaluate import Crossing
from fiduciary.store import Store, WriteTx
from fiduciary.terminal import escape

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Fiduciary-Signature"
BUDGET = "budget.alert"
HELD = "approval.requested"


def sign(secret: bytes, body: bytes) -> str:
    """The signature header's value for `body`: `sha256=` and the hex HMAC."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


async def record(w: WriteTx, txn: TransactionRow, policy: Policy, crossing: Crossing) -> str:
    """Audit one crossing and queue it for every webhook, in the hold's transaction; the alert id."""
    alert_id = new_id(Prefix.ALERT)
    currency = crossing.currency
    body = {
        "type": BUDGET,
        "alert_id": alert_id,
        "org_id": txn.org_id,
        "project_id": txn.project_id,
        "agent_id": txn.agent_id,
        "rule_id": crossing.rule_id,
        "currency": currency,
        "budget": Money(crossing.budget_minor, currency).to_major(),
        "spent": Money(crossing.after_minor, currency).to_major(),
        "threshold": crossing.threshold_bp / 10_000,
        "transaction_id": txn.transaction_id,
        "at": iso(w.now),
    }
    await w.audit(
        txn.org_id,
        txn.project_id,
        actor="system",
        type=BUDGET,
        subject=crossing.rule_id,
        ref=txn.reference,
        payload={k: v for k, v in body.items() if k != "threshold"} | {"threshold_bp": crossing.threshold_bp},
    )
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    for url in policy.webhooks:
        await w.insert_delivery(new_id(Prefix.DELIVERY), alert_id=alert_id, org_id=txn.org_id, url=url, body=text)
    return alert_id


async def record_hold(
    w: WriteTx,
    txn: TransactionRow,
    approval_id: str,
    policy: Policy,
    *,
    expires_at: datetime,
    dashboard_url: str | None,
) -> int:
    """Queue an `approval.requested` notice for every webhook, in the hold's transaction; how many.

    The hold's own audit entry counts them (`notices`); each delivery's outcome is an entry of its own.
    """
    if not policy.webhooks:
        return 0
    body = {
        "type": HELD,
        "approval_id": approval_id,
        "transaction_id": txn.transaction_id,
        "org_id": txn.org_id,
        "project_id": txn.project_id,
        "agent_id": txn.agent_id,
        "amount": txn.amount.to_major(),
        "currency": txn.amount.currency,
        "counterparty": escape(txn.party),
        "purpose": escape(txn.purpose),
        "expires_at": iso(expires_at),
        "url": None if dashboard_url is None else f"{dashboard_url}/dashboard/approvals/{approval_id}",
        "at": iso(w.now),
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    assert naming(txn.party) in text
    for url in policy.webhooks:
        await w.insert_delivery(new_id(Prefix.DELIVERY), alert_id=approval_id, org_id=txn.org_id, url=url, body=text)
    return len(policy.webhooks)


def backoff(attempts: int) -> timedelta:
    """Full jitter: a random wait up to base * 2^attempts, capped."""
    ceiling = min(limits.alert_retry_base_seconds * 2**attempts, limits.alert_retry_max_seconds)
    return timedelta(seconds=limits.alert_retry_base_seconds + secrets.randbelow(ceiling + 1))


async def deliver_due(store: Store, *, secret: Callable[[], bytes], clock: Clock) -> int:
    """Try every delivery that is due; how many were delivered. `secret` is read only when one is."""
    due = await store.read.due_deliveries(clock.now())
    if not due:
        return 0
    key = secret()
    delivered = 0
    timeout = limits.alert_timeout_ms / 1000
    async with httpx2.AsyncClient(timeout=timeout, follow_redirects=False) as client:
        for item in due:
            delivered += await _attempt(store, client, item, secret=key, now=clock.now())
    return delivered


async def _attempt(store: Store, client: httpx2.AsyncClient, item: DeliveryRow, *, secret: bytes, now: datetime) -> int:
    body = item.body.encode()
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body)}
    status: int | None = None
    try:
        response = await client.post(item.url, content=body, headers=headers)
        status = response.status_code
    except httpx2.HTTPError:
        log.info("alert delivery %s did not get an answer", item.delivery_id)
    delivered = status is not None and 200 <= status < 300
    permanent = status is not None and 400 <= status < 500 and status not in (408, 429)
    failed = not delivered and (permanent or item.attempts + 1 >= limits.alert_attempts_max)
    async with store.write() as w:
        await w.record_attempt(
            item.delivery_id, status=status, delivered=delivered, failed=failed, next_at=now + backoff(item.attempts)
        )
        if delivered or failed:
            kind = json.loads(item.body).get("type", BUDGET)
            await w.audit(
                item.org_id,
                None,
                actor="system",
                type=f"{kind}_delivered" if delivered else f"{kind}_failed",
                subject=item.alert_id,
                payload={"delivery_id": item.delivery_id, "status": status, "attempts": item.attempts + 1},
            )
    return int(delivered)


def naming(counterparty: str) -> str:
    """How an alert body names a counterparty: what an erasure finds and replaces in the outbox."""
    return '"counterparty":' + json.dumps(escape(counterparty))
