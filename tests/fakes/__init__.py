"""Fake payment providers for the HTTP adapters' tests: real HTTP servers, in-memory state, faults on demand.

- `FakeStripe` (card, `stripe.py`): PaymentIntents and refunds, form bodies, `Idempotency-Key`.
- `FakePix` (Pix, `pix.py`): Efí's OAuth2 tokens, payouts by `idEnvio`, returns (devoluções).
- `FakeWire` (wire, `wire.py`): Modern Treasury payment orders and reversals, `Idempotency-Key`.
- `FakeCircle` (stablecoin, `circle.py`): Circle's USDC transfers, `idempotencyKey` in the body.
- `serve` (`base.py`) runs any of them under uvicorn on 127.0.0.1 for the length of a `with` block.
"""

from __future__ import annotations

from tests.fakes.base import FAULT_MODES, Faults, serve
from tests.fakes.circle import FakeCircle
from tests.fakes.pix import FakePix
from tests.fakes.stripe import FakeStripe
from tests.fakes.wire import FakeWire

__all__ = ["FAULT_MODES", "FakeCircle", "FakePix", "FakeStripe", "FakeWire", "Faults", "serve"]
