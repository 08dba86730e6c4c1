"""The audit an outsider verifies: append, verify, export and proof figures in one run.

    python bench/audit.py [--entries 100000] [--proofs 1000] [--largest 1000000]

1. Append: `--entries` entries written through the store's journal (hashed, signed, inserted),
   1,000 to a write transaction, on a fresh SQLite data directory: entries per second.
2. Verify that chain as `audit verify` does, with and without signatures, against raw Ed25519
   verification and a raw SHA-256 chain over the same entries' bytes, in memory, in the same run.
3. Export it (`audit export`, JSONL and CSV) and verify each bundle offline (`audit
   verify-export`: every link, hash and signature, and the Merkle root): entries per second.
4. Proofs for n = 10^3 ... `--largest` leaves: the tree's build time, inclusion and consistency
   proof sizes (bytes; the mean over `--proofs` random proofs) and verification time per proof.

Prints the figures and writes bench/results/audit.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fiduciary.audit import merkle
from fiduciary.audit.export import verify_bundle
from fiduciary.control import Operator, Role, TenantSpec, verify_chain
from fiduciary.domain.money import parse_amount
from fiduciary.mandates import OpenTerms
from fiduciary.mandates.keys import KeyPurpose
from fiduciary.runtime import Runtime, open_runtime
from fiduciary.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results"
POLICY = 'name = "bench"\ncurrencies = ["USD"]\n'
BATCH = 1_000


async def append(rt: Runtime, org_id: str, project_id: str, entries: int) -> float:
    """Entries per second through the journal, `BATCH` to a transaction."""
    start = time.perf_counter()
    for first in range(0, entries, BATCH):
        async with rt.store.write() as w:
            for n in range(first, min(entries, first + BATCH)):
                payload = {"amount_minor": 1_000 + n, "currency": "USD", "note": f"entry {n}", "tool": "pay"}
                await w.audit(
                    org_id, project_id, actor="system", type="bench.entry", subject=f"txn_{n}", payload=payload
                )
    return entries / (time.perf_counter() - start)


async def verification(rt: Runtime, org_id: str) -> dict[str, Any]:
    """`audit verify` with and without signatures, and the raw primitives over the same entries."""
    start = time.perf_counter()
    signed = await verify_chain(rt.store.read, org_id)
    signed_s = time.perf_counter() - start
    start = time.perf_counter()
    walked = await verify_chain(rt.store.read, org_id, signatures=False)
    walk_s = time.perf_counter() - start
    assert signed.ok and walked.ok, (signed, walked)
    stored = []
    while page := await rt.store.read.audit_stored(org_id, after_seq=len(stored), limit=5_000):
        stored += page
    keys = await rt.store.read.public_keys(org_id, KeyPurpose.AUDIT)
    public = {kid: Ed25519PublicKey.from_public_bytes(raw) for kid, raw in keys.items()}
    start = time.perf_counter()
    for entry in stored:
        public[entry.kid].verify(entry.signature, entry.entry_hash)
    ed_s = time.perf_counter() - start
    start = time.perf_counter()
    prev = bytes(32)
    for entry in stored:
        prev = hashlib.sha256(prev + entry.canonical).digest()
    sha_s = time.perf_counter() - start
    n = signed.checked
    return {
        "entries": n,
        "verify_per_s": round(n / signed_s),
        "raw_ed25519_per_s": round(n / ed_s),
        "verify_over_raw_ed25519": round(ed_s / signed_s, 2),
        "hash_walk_per_s": round(n / walk_s),
        "raw_sha256_chain_per_s": round(n / sha_s),
        "hash_walk_over_raw_sha256": round(sha_s / walk_s, 2),
    }


async def exports(rt: Runtime, org_id: str, tmp: Path) -> dict[str, Any]:
    """`audit export` and `audit verify-export` rates, per format."""
    admin = next(o for o in await rt.store.read.operators() if o.role == "admin")
    op = Operator(admin.operator_id, admin.name, Role.ADMIN)
    key_set = await rt.control.keys.jwks(op, org_id)
    figures: dict[str, Any] = {}
    for fmt in ("jsonl", "csv"):
        out = tmp / f"export-{fmt}"
        start = time.perf_counter()
        done = await rt.control.evidence.export(op, org_id, fmt=fmt, out=out)
        export_s = time.perf_counter() - start
        start = time.perf_counter()
        report = await anyio.to_thread.run_sync(verify_bundle, out, key_set)
        verify_s = time.perf_counter() - start
        assert report.ok, report.problems
        size = sum(p.stat().st_size for p in out.iterdir())
        figures[fmt] = {"entries": done.entries, "bytes": size, "export_per_s": round(done.entries / export_s),
                        "verify_export_per_s": round(done.entries / verify_s)}  # fmt: skip
    return figures


def proofs(largest: int, count: int) -> list[dict[str, Any]]:
    """Tree build, proof sizes and verification times for n = 10^3 ... `largest`."""
    rng = random.Random(9162)
    rows = []
    n = 1_000
    while n <= largest:
        leaves = [merkle.leaf_hash(os.urandom(32)) for _ in range(n)]
        start = time.perf_counter()
        tree = merkle.MerkleTree(leaves)
        build_s = time.perf_counter() - start
        root = tree.root()
        indices = [rng.randrange(n) for _ in range(count)]
        paths = [tree.inclusion_proof(i) for i in indices]
        start = time.perf_counter()
        for i, path in zip(indices, paths, strict=True):
            merkle.verify_inclusion(leaves[i], i, n, path, root)
        inclusion_s = (time.perf_counter() - start) / count
        olds = [rng.randrange(1, n) for _ in range(count)]
        consistency = [(old, tree.consistency_proof(old)) for old in olds]
        start = time.perf_counter()
        for old, path in consistency:
            merkle.verify_consistency(old, n, tree.root(old), root, path)
        consistency_s = (time.perf_counter() - start) / count
        rows.append({
            "n": n,
            "build_ms": round(build_s * 1e3, 1),
            "inclusion_bytes": round(statistics.fmean(32 * len(p) for p in paths)),
            "inclusion_verify_us": round(inclusion_s * 1e6, 1),
            "consistency_bytes": round(statistics.fmean(32 * len(p) for _, p in consistency)),
            "consistency_verify_us": round(consistency_s * 1e6, 1),
        })  # fmt: skip
        n *= 10
    return rows


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "entries": args.entries,
    }
    terms = OpenTerms(currency="USD", max_per_use_minor=100, total_cap_minor=100, tools=("pay",), purpose="bench")
    with tempfile.TemporaryDirectory(prefix="fiduciary-bench-audit-") as tmp:
        settings = Settings(home=Path(tmp) / "home", log_level="WARNING", key_rotation_days=0)
        spec = TenantSpec("bench", "bench-0", POLICY, parse_amount("1.00", "USD"), terms, 1)
        async with open_runtime(settings, resume=False, create=True) as rt:
            made = await rt.control.initialise(spec, admin_name="bench")
            report["append_per_s"] = round(await append(rt, made.org_id, made.project_id, args.entries))
            report["verify"] = await verification(rt, made.org_id)
            report["export"] = await exports(rt, made.org_id, Path(tmp))
    report["proofs"] = proofs(args.largest, args.proofs)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=100_000, help="entries to append, verify and export")
    parser.add_argument("--proofs", type=int, default=1_000, help="proofs verified per tree size")
    parser.add_argument("--largest", type=int, default=1_000_000, help="the largest tree for the proof figures")
    args = parser.parse_args()
    report = anyio.run(measure, args)
    v = report["verify"]
    print(f"append (journal: hash, sign, insert)   {report['append_per_s']:>9,} entries/s")
    print(f"audit verify                           {v['verify_per_s']:>9,} entries/s   raw Ed25519 "
          f"{v['raw_ed25519_per_s']:,}/s   ratio {v['verify_over_raw_ed25519']}")  # fmt: skip
    print(f"audit verify --no-signatures           {v['hash_walk_per_s']:>9,} entries/s   raw SHA-256 chain "
          f"{v['raw_sha256_chain_per_s']:,}/s   ratio {v['hash_walk_over_raw_sha256']}")  # fmt: skip
    for fmt, e in report["export"].items():
        print(f"audit export --format {fmt:<5}            {e['export_per_s']:>9,} entries/s   verify-export "
              f"{e['verify_export_per_s']:,} entries/s   {e['bytes'] / e['entries']:.0f} bytes/entry")  # fmt: skip
    print("\n       n  build ms   inclusion bytes  verify µs   consistency bytes  verify µs")
    for p in report["proofs"]:
        print(f"{p['n']:>8,}  {p['build_ms']:>8}  {p['inclusion_bytes']:>16}  {p['inclusion_verify_us']:>9}"
              f"  {p['consistency_bytes']:>18}  {p['consistency_verify_us']:>9}")  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "audit.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {RESULTS / 'audit.json'}")


if __name__ == "__main__":
    main()
