"""A server SIGKILLed in the middle of payments, restarted and swept to rest, pays each payment once.

Each case is one round of `bench/crash.py` (imported from its file, so the test and the harness
run the very same round): a fake Modern Treasury with faults, `fiduciary serve --http` as a
subprocess, concurrent pays over Streamable HTTP, a kill at the seed's step, a restart, a retry
of every payment with its key, sweeps until nothing is in flight, and the harness's invariants.
The round stops every process and server it starts on its way out, whatever went wrong.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

CRASH_PY = Path(__file__).resolve().parents[2] / "bench" / "crash.py"
KILL_AFTER_SECONDS = 8.0
"""Long enough for the step to show on a busy machine, so each case kills where it says it does."""


def load_crash() -> ModuleType:
    """`bench/crash.py` as a module (bench is no package)."""
    name = "bench_crash"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, CRASH_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


crash = load_crash()


@pytest.mark.parametrize(
    ("seed", "step", "fault"),
    [
        (116, "dispatching", "timeout"),  # killed while a slow provider sits on the order it already made
        (5, "unknown", "error_after"),  # the provider made the order and answered 500; the rail asked again
        (109, "dispatching", "drop"),  # recorded for the rail, its answer lost: asked by key, never resent blind
    ],
    ids=["dispatching-timeout", "unknown-error-after", "dispatching-drop"],
)
async def test_a_killed_server_pays_each_payment_once_and_loses_no_money(seed: int, step: str, fault: str) -> None:
    plan = crash.plan_round(seed)
    assert plan.step == step and fault in {f.mode for f in plan.faults}, "the seed still stands for its case"

    result = await crash.run_round(seed, kill_after_seconds=KILL_AFTER_SECONDS)

    assert result.kill["killed"] and result.kill["at_step"], f"killed at {step}: {result.kill}"
    assert result.findings == []
    assert sum(result.states.values()) == plan.pays, "one transaction per payment"
