"""`fiduciary audit sink status|resume`: a thin shell over the control plane's sinks."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

from fiduciary.cli.printed import REFUSED, Printed, listing
from fiduciary.control import Operator
from fiduciary.runtime import Runtime

Args = argparse.Namespace
COLUMNS = [("sink", "sink"), ("org_id", "org"), ("cursor_seq", "cursor"), ("head_seq", "head"), ("lag", "lag"),
           ("last_success", "last success"), ("last_error", "last error"), ("state", "state")]  # fmt: skip


async def audit_sink(rt: Runtime, op: Operator, args: Args) -> Printed:
    if args.sink_action == "resume":
        return await sink_resume(rt, op, args)
    return await sink_status(rt, op, args)


async def sink_status(rt: Runtime, op: Operator, args: Args) -> Printed:
    found: list[dict[str, Any]] = []
    for status in await rt.control.sinks.status(op):
        item = asdict(status) | {"lag": status.lag}
        item["state"] = "stopped" if status.stopped else ("failing" if status.failures else "ok")
        found.append(item)
    printed = listing(found, COLUMNS, key="sinks", empty="No sinks (HOME/sinks.toml configures them).")
    stopped = sorted({item["sink"] for item in found if item["stopped"]})
    text = printed.text
    for name in stopped:
        reason = next(item["stop_reason"] for item in found if item["sink"] == name)
        text += f"\n{name} is stopped: {reason}. Fix it, then `fiduciary audit sink resume {name}`."
    return Printed(printed.data, text, code=REFUSED if stopped else 0)


async def sink_resume(rt: Runtime, op: Operator, args: Args) -> Printed:
    resumed = await rt.control.sinks.resume(op, args.name)
    text = f"Resumed sink {args.name}." if resumed else f"Sink {args.name} was not stopped."
    return Printed({"sink": args.name, "resumed": resumed}, text)
