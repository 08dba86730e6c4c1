"""`fiduciary keys`: the orgs' public keys, as a table or a JWKS, and their rotation."""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import anyio

from fiduciary.cli.printed import Printed, listing
from fiduciary.control import Operator
from fiduciary.mandates.keys import KeyPurpose
from fiduciary.runtime import Runtime
from fiduciary.terminal import table

Args = argparse.Namespace


async def keys_list(rt: Runtime, op: Operator, args: Args) -> Printed:
    rows = await rt.control.keys.list(op, args.org)
    items = [
        {"org_id": k.org_id, "kid": k.kid, "purpose": k.purpose, "created_at": k.created_at,
         "retired_at": k.retired_at, "status": "retired" if k.retired_at else "signing"}
        for k in rows
    ]  # fmt: skip
    columns = [("org_id", "org"), ("kid", "key"), ("purpose", "signs"), ("status", "status")]
    return listing(items, [*columns, ("created_at", "created"), ("retired_at", "retired")], key="keys", empty="no keys")


async def keys_export_jwks(rt: Runtime, op: Operator, args: Args) -> Printed:
    key_set = await rt.control.keys.jwks(op, args.org)
    text = json.dumps(key_set, indent=2, sort_keys=True) + "\n"
    if args.out is None:
        return Printed(key_set, text.rstrip("\n"))
    await anyio.to_thread.run_sync(write_replacing, Path(args.out), text)
    summary = {"out": args.out, "keys": len(key_set["keys"])}
    return Printed(summary, f"wrote {len(key_set['keys'])} keys to {args.out}")


async def keys_rotate(rt: Runtime, op: Operator, args: Args) -> Printed:
    purposes = list(KeyPurpose) if args.purpose == "all" else [KeyPurpose(args.purpose)]
    done = await rt.control.keys.rotate(op, args.org, purposes, reason=args.reason)
    items = [{"org_id": r.org_id, "purpose": r.purpose, "kid": r.kid, "retired": list(r.retired)} for r in done]
    rows = [(r.org_id, r.purpose, r.kid, ", ".join(r.retired)) for r in done]
    text = table(rows, ["org", "signs", "new key", "retired"])
    text += "\n\nThe retired keys stay in the JWKS: what they signed still verifies."
    return Printed({"rotated": items}, text)


def write_replacing(path: Path, text: str) -> None:
    """Write `text` to `path` whole: a temporary file beside it, flushed, then renamed over it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
