"""`fiduciary audit checkpoint`, `audit prove` and `audit verify-proof` (the last needs no data directory)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import anyio

from fiduciary.audit.checkpoint import (
    CONSISTENCY_TYPE,
    INCLUSION_TYPE,
    Checkpoint,
    EvidenceError,
    verify_consistency_document,
    verify_inclusion_document,
)
from fiduciary.audit.export import verify_bundle
from fiduciary.audit.receipts import verify_receipt
from fiduciary.cli.keys import write_replacing
from fiduciary.cli.printed import REFUSED, Printed, listing
from fiduciary.control import Operator
from fiduciary.domain.codes import Code
from fiduciary.domain.errors import InputError
from fiduciary.runtime import Runtime
from fiduciary.terminal import escape

Args = argparse.Namespace
DOCUMENT_BYTES_MAX = 16 * 1024 * 1024
"""The largest proof or JWKS file `verify-proof` reads."""


def _shown(checkpoint: Checkpoint) -> dict[str, Any]:
    return checkpoint.document()


async def audit_checkpoint(rt: Runtime, op: Operator, args: Args) -> Printed:
    if args.list:
        items = [_shown(c) for c in await rt.control.evidence.list(op, args.org)]
        columns = [("size", "size"), ("root", "root"), ("ts", "time"), ("kid", "key")]
        return listing(items, columns, key="checkpoints", empty="no checkpoints yet")
    made = await rt.control.evidence.checkpoint(op, args.org)
    text = (
        f"checkpoint of {made.org_id}: {made.size} entries, root {made.root.hex()}, signed by {made.kid} at {made.ts}"
    )
    return Printed(_shown(made), text)


async def audit_prove(rt: Runtime, op: Operator, args: Args) -> Printed:
    if args.consistency is not None:
        if args.size is not None:
            raise InputError(Code.INVALID_ARGUMENT, "--size goes with --seq")
        old, new = args.consistency
        doc = await rt.control.evidence.prove_consistency(op, args.org, old, new)
        summary = f"consistency of {doc['org_id']}'s checkpoints of {old} and {new} entries: {len(doc['path'])} hashes"
    else:
        doc = await rt.control.evidence.prove_inclusion(op, args.org, args.seq, size=args.size)
        summary = (
            f"entry {doc['seq']} of {doc['org_id']} in the checkpoint of {doc['tree_size']}: {len(doc['path'])} hashes"
        )
    text = json.dumps(doc, indent=2, sort_keys=True) + "\n"
    if args.out is None:
        return Printed(doc, text.rstrip("\n"))
    await anyio.to_thread.run_sync(write_replacing, Path(args.out), text)
    return Printed({"out": args.out, "type": doc["type"]}, f"{summary}; wrote {args.out}")


def audit_verify_proof(args: Args) -> Printed:
    """Check a proof file against a JWKS file; nothing else is read."""
    doc, key_set = _json_file(args.proof, "proof"), _json_file(args.jwks, "JWKS")
    kind = doc.get("type") if isinstance(doc, dict) else None
    try:
        if kind == INCLUSION_TYPE:
            checkpoint = verify_inclusion_document(doc, key_set)
            what = f"entry {doc['seq']} is in {checkpoint.org_id}'s chain of {checkpoint.size} entries"
        elif kind == CONSISTENCY_TYPE:
            old, checkpoint = verify_consistency_document(doc, key_set)
            what = f"{checkpoint.org_id}'s chain of {old.size} entries is a prefix of the one of {checkpoint.size}"
        else:
            raise EvidenceError(f"not a proof: its type must be {INCLUSION_TYPE} or {CONSISTENCY_TYPE}")
    except EvidenceError as exc:
        return Printed({"ok": False, "reason": str(exc)}, f"FAILED  {escape(str(exc))}", REFUSED)
    data = {"ok": True, "type": kind, "org_id": checkpoint.org_id, "checkpoint_size": checkpoint.size,
            "root": checkpoint.root.hex(), "signed_by": checkpoint.kid, "signed_at": checkpoint.ts}  # fmt: skip
    return Printed(data, f"OK      {escape(what)} (root {checkpoint.root.hex()[:16]}, signed by {checkpoint.kid})")


async def audit_export(rt: Runtime, op: Operator, args: Args) -> Printed:
    done = await rt.control.evidence.export(op, args.org, fmt=args.format, out=Path(args.out), from_seq=args.from_seq)
    row = done.row
    data = {"out": args.out, "org_id": row.org_id, "number": row.number, "format": row.format,
            "from_seq": row.from_seq, "to_seq": row.to_seq, "entries": done.entries,
            "checkpoint_root": done.checkpoint.root.hex(), "manifest_sha256": row.manifest_sha256.hex()}  # fmt: skip
    text = (
        f"export {row.number} of {row.org_id}: entries {row.from_seq} to {row.to_seq} ({done.entries}) as "
        f"{row.format} in {args.out}\nmanifest SHA-256 {row.manifest_sha256.hex()}, checkpoint root "
        f"{done.checkpoint.root.hex()}\nverify it anywhere: fiduciary audit verify-export {args.out} --jwks JWKS.json"
    )
    return Printed(data, text)


def audit_verify_export(args: Args) -> Printed:
    """Check a bundle directory against a JWKS file; nothing else is read."""
    key_set = _json_file(args.jwks, "JWKS")
    report = verify_bundle(Path(args.dir), key_set if isinstance(key_set, dict) else {})
    data = {"ok": report.ok, "org_id": report.org_id, "from_seq": report.from_seq, "to_seq": report.to_seq,
            "entries": report.entries, "checkpoint_size": report.checkpoint_size,
            "manifest_sha256": report.manifest_sha256, "previous_manifest_sha256": report.previous_manifest_sha256,
            "problems": report.problems}  # fmt: skip
    if not report.ok:
        return Printed(data, "\n".join(f"FAILED  {escape(p)}" for p in report.problems), REFUSED)
    text = (
        f"OK      {report.org_id}: entries {report.from_seq} to {report.to_seq} ({report.entries}), every link, hash "
        f"and signature, in the signed checkpoint of {report.checkpoint_size}; manifest {report.manifest_sha256}"
    )
    return Printed(data, text)


def receipts_verify(args: Args) -> Printed:
    """Check a refusal receipt against a JWKS file; nothing else is read."""
    doc, key_set = _json_file(args.receipt, "receipt"), _json_file(args.jwks, "JWKS")
    try:
        statement = verify_receipt(doc, key_set if isinstance(key_set, dict) else {})
    except EvidenceError as exc:
        return Printed({"ok": False, "reason": str(exc)}, f"FAILED  {escape(str(exc))}", REFUSED)
    text = (
        f"OK      {statement['org_id']} refused {statement['tool']} {statement['transaction_id']} of agent "
        f"{statement['agent_id']} at {statement['ts']}: {statement['code']} (audit entry {statement['audit_seq']}, "
        f"signed by {statement['kid']})"
    )
    return Printed({"ok": True, **statement}, escape(text))


def _json_file(name: str, what: str) -> Any:
    path = Path(name)
    try:
        if path.stat().st_size > DOCUMENT_BYTES_MAX:
            raise InputError(Code.INVALID_ARGUMENT, f"the {what} file {name} is larger than {DOCUMENT_BYTES_MAX} bytes")
        return json.loads(path.read_bytes())
    except OSError as exc:
        raise InputError(Code.INVALID_ARGUMENT, f"cannot read the {what} file {name}: {exc.strerror}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(Code.INVALID_ARGUMENT, f"the {what} file {name} is not JSON") from exc
