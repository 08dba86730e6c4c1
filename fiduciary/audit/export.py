"""Signed export bundles of an org's chain, and their verification from the files and a JWKS alone.

A bundle is a directory holding `manifest.json` and one entries file, `entries.jsonl` or
`entries.csv`; docs/AUDIT_FORMAT.md defines both precisely enough to verify a bundle without
fiduciary. In short:

- Each entry carries its `seq`, the fields of its hashed body, `prev_hash`, `entry_hash`,
  `signature` and `kid`; `entry_hash = SHA-256(prev_hash || JCS(body))` and the signature is
  Ed25519 over `entry_hash`. A CSV row also carries the body as its canonical JSON text (`body`),
  since a CSV cell cannot tell null from empty.
- The manifest states the org, the range, the first entry's `prev_hash` and the last entry's
  hash, the checkpoint the export ends at and the last entry's inclusion path in it, the SHA-256
  of each file, and the SHA-256 of the org's previous manifest; the org's audit key signs the
  RFC 8785 canonical JSON of the manifest object.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from fiduciary.audit import merkle
from fiduciary.audit.chain import GENESIS, StoredEntry, link_hash
from fiduciary.audit.checkpoint import Checkpoint, EvidenceError, audit_key, leaf, verify_checkpoint
from fiduciary.audit.jwks import b64url, b64url_decode
from fiduciary.domain.canonical import canonical_json

MANIFEST = "manifest.json"
MANIFEST_TYPE = "fiduciary.export_manifest.v1"
FORMATS = ("jsonl", "csv")
BODY_FIELDS = ("seq", "org_id", "project_id", "ts", "actor", "type", "subject", "ref", "payload")
MANIFEST_FIELDS = ("type", "org_id", "number", "format", "from_seq", "to_seq", "first_prev_hash", "last_entry_hash",
                   "checkpoint", "last_inclusion_path", "files", "previous_manifest_sha256", "created_at",
                   "created_by", "kid")  # fmt: skip
CSV_COLUMNS = ("seq", "ts", "actor", "type", "subject", "ref", "body", "prev_hash", "entry_hash", "signature", "kid")
FILE_BYTES_MAX = 4 * 1024**3
"""The largest entries file `verify-export` reads."""


def entries_file(fmt: str) -> str:
    return f"entries.{fmt}"


def jsonl_line(entry: StoredEntry) -> bytes:
    """One entry as a JSONL line: the body's fields, then its link and signature."""
    body = json.loads(entry.canonical)
    line = {name: body[name] for name in BODY_FIELDS} | _sealed(entry)
    return json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def csv_header() -> bytes:
    return _csv_row(CSV_COLUMNS)


def csv_line(entry: StoredEntry) -> bytes:
    """One entry as a CSV row; `body` is the exact canonical JSON that was hashed."""
    body = json.loads(entry.canonical)
    sealed = _sealed(entry)
    cells = [str(body["seq"]), body["ts"], body["actor"], body["type"], body["subject"] or "", body["ref"] or "",
             entry.canonical.decode(), sealed["prev_hash"], sealed["entry_hash"], sealed["signature"],
             sealed["kid"]]  # fmt: skip
    return _csv_row(cells)


def _sealed(entry: StoredEntry) -> dict[str, Any]:
    return {"prev_hash": entry.prev_hash.hex(), "entry_hash": entry.entry_hash.hex(),
            "signature": b64url(entry.signature), "kid": entry.kid}  # fmt: skip


def _csv_row(cells: Iterable[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(list(cells))
    return out.getvalue().encode()


@dataclass(frozen=True, slots=True)
class FileDigest:
    name: str
    sha256: str
    bytes: int
    entries: int


def manifest_body(
    *,
    org_id: str,
    number: int,
    fmt: str,
    from_seq: int,
    to_seq: int,
    first_prev_hash: bytes,
    last_entry_hash: bytes,
    checkpoint: Checkpoint,
    last_inclusion_path: Sequence[bytes],
    files: Sequence[FileDigest],
    previous_manifest_sha256: bytes | None,
    created_at: str,
    created_by: str,
    kid: str,
) -> dict[str, Any]:
    """The manifest object the org's audit key signs."""
    return {
        "type": MANIFEST_TYPE,
        "org_id": org_id,
        "number": number,
        "format": fmt,
        "from_seq": from_seq,
        "to_seq": to_seq,
        "first_prev_hash": first_prev_hash.hex(),
        "last_entry_hash": last_entry_hash.hex(),
        "checkpoint": checkpoint.document(),
        "last_inclusion_path": [p.hex() for p in last_inclusion_path],
        "files": [{"name": f.name, "sha256": f.sha256, "bytes": f.bytes, "entries": f.entries} for f in files],
        "previous_manifest_sha256": previous_manifest_sha256.hex() if previous_manifest_sha256 else None,
        "created_at": created_at,
        "created_by": created_by,
        "kid": kid,
    }


def manifest_digest(manifest: Mapping[str, Any]) -> bytes:
    """SHA-256 of the manifest's signed bytes: what the next export names as its previous."""
    return hashlib.sha256(canonical_json(manifest)).digest()


# Verification.


def strict_json(text: str | bytes) -> Any:
    """JSON as `json.loads` reads it, except that an object naming a member twice is refused:
    which of two values was hashed must not depend on the parser."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        found = dict(items)
        if len(found) != len(items):
            raise ValueError("a member is named twice")
        return found

    return json.loads(text, object_pairs_hook=pairs)


@dataclass(slots=True)
class BundleReport:
    """What `verify_bundle` found: every problem, or the range and checkpoint that verified."""

    org_id: str | None = None
    from_seq: int | None = None
    to_seq: int | None = None
    entries: int = 0
    checkpoint_size: int | None = None
    manifest_sha256: str | None = None
    previous_manifest_sha256: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_bundle(directory: Path, key_set: Mapping[str, Any]) -> BundleReport:
    """Check a bundle from its files and `key_set` alone; every problem is named, none is fatal to the report."""
    report = BundleReport()
    try:
        manifest = _verified_manifest(directory, key_set, report)
        checkpoint = verify_checkpoint(manifest["checkpoint"], key_set)
    except EvidenceError as exc:
        report.problems.append(str(exc))
        return report
    report.checkpoint_size = checkpoint.size
    if checkpoint.org_id != report.org_id or checkpoint.size != manifest["to_seq"]:
        report.problems.append("the checkpoint is not of the export's org and last entry")
        return report
    (listed,) = manifest["files"]
    data = _checked_file(directory, listed, report)
    if data is None:
        return report
    entries = list(_parse(data, manifest["format"], report))
    if report.problems:
        return report
    _check_chain(entries, manifest, key_set, report)
    if not report.problems:
        _check_tree(entries, manifest, checkpoint, report)
    report.entries = len(entries)
    return report


def _verified_manifest(directory: Path, key_set: Mapping[str, Any], report: BundleReport) -> dict[str, Any]:
    path = directory / MANIFEST
    try:
        signed = strict_json(path.read_bytes())
    except OSError as exc:
        raise EvidenceError(f"cannot read {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise EvidenceError(f"{path} is not JSON") from exc
    manifest = signed.get("manifest") if isinstance(signed, dict) else None
    if (
        not isinstance(manifest, dict)
        or manifest.get("type") != MANIFEST_TYPE
        or set(signed) != {"manifest", "signature"}
        or set(manifest) != set(MANIFEST_FIELDS)
    ):
        raise EvidenceError(f"{path} is not a {MANIFEST_TYPE} document with exactly its members")
    _check_manifest_form(manifest)
    report.org_id, report.from_seq, report.to_seq = manifest["org_id"], manifest["from_seq"], manifest["to_seq"]
    report.previous_manifest_sha256 = manifest["previous_manifest_sha256"]
    public = audit_key(key_set, manifest["kid"], manifest["org_id"])
    try:
        signature = b64url_decode(signed["signature"])
        Ed25519PublicKey.from_public_bytes(public).verify(signature, canonical_json(manifest))
    except (ValueError, InvalidSignature) as exc:
        raise EvidenceError(f"the manifest is not signed by {manifest['kid']}") from exc
    report.manifest_sha256 = manifest_digest(manifest).hex()
    extra = sorted(
        p.name for p in directory.iterdir() if p.name not in {MANIFEST, *[f["name"] for f in manifest["files"]]}
    )
    if extra:
        raise EvidenceError(f"the bundle holds files its manifest does not list: {', '.join(extra)}")
    return manifest


def _check_manifest_form(manifest: Mapping[str, Any]) -> None:
    ints = ("number", "from_seq", "to_seq")
    if not all(isinstance(manifest.get(n), int) and not isinstance(manifest.get(n), bool) for n in ints):
        raise EvidenceError("the manifest's number, from_seq and to_seq are whole numbers")
    if not 1 <= manifest["from_seq"] <= manifest["to_seq"] or manifest.get("format") not in FORMATS:
        raise EvidenceError("the manifest's range or format is not valid")
    files = manifest.get("files")
    if not isinstance(files, list) or len(files) != 1 or not isinstance(files[0], dict):
        raise EvidenceError("the manifest lists exactly one entries file")
    if set(files[0]) != {"name", "sha256", "bytes", "entries"}:
        raise EvidenceError("the manifest's file has exactly name, sha256, bytes and entries")
    if (manifest.get("previous_manifest_sha256") is None) != (manifest["number"] == 1):
        raise EvidenceError("an org's first export, and only it, names no previous manifest")
    if files[0].get("name") != entries_file(manifest["format"]):
        raise EvidenceError(f"the manifest's entries file is not {entries_file(manifest['format'])}")
    if not all(isinstance(manifest.get(n), str) for n in ("org_id", "kid", "first_prev_hash", "last_entry_hash")):
        raise EvidenceError("the manifest's org_id, kid and hashes are strings")


def _checked_file(directory: Path, listed: Mapping[str, Any], report: BundleReport) -> bytes | None:
    path = directory / str(listed["name"])
    try:
        if path.stat().st_size > FILE_BYTES_MAX:
            report.problems.append(f"{path.name} is larger than {FILE_BYTES_MAX} bytes")
            return None
        data = path.read_bytes()
    except OSError as exc:
        report.problems.append(f"cannot read {path.name}: {exc.strerror}")
        return None
    if len(data) != listed.get("bytes") or hashlib.sha256(data).hexdigest() != listed.get("sha256"):
        report.problems.append(f"{path.name} is not the file the manifest lists (its size or SHA-256 differs)")
        return None
    return data


@dataclass(frozen=True, slots=True)
class _Entry:
    seq: int
    body: bytes
    prev_hash: bytes
    entry_hash: bytes
    signature: bytes
    kid: str
    org_id: str


def _parse(data: bytes, fmt: str, report: BundleReport) -> Iterator[_Entry]:
    try:
        text = data.decode()
    except UnicodeDecodeError:
        report.problems.append("the entries file is not UTF-8")
        return
    end = "\n" if fmt == "jsonl" else "\r\n"
    if not text.endswith(end):
        report.problems.append(f"the entries file does not end with a line end ({end!r})")
        return
    if fmt == "jsonl":
        for number, line in enumerate(text[:-1].split("\n"), 1):
            yield from _one(number, lambda line=line: _from_jsonl(line), report)
        return
    rows = csv.reader(io.StringIO(text, newline=""))
    if next(rows, None) != list(CSV_COLUMNS):
        report.problems.append(f"the CSV header is not {','.join(CSV_COLUMNS)}")
        return
    for number, row in enumerate(rows, 2):
        yield from _one(number, lambda row=row: _from_csv(row), report)


def _one(number: int, read: Any, report: BundleReport) -> Iterator[_Entry]:
    try:
        yield read()
    except (ValueError, KeyError, TypeError) as exc:
        report.problems.append(f"line {number} is not an entry: {exc}")


def _from_jsonl(line: str) -> _Entry:
    item = strict_json(line)
    body = {name: item[name] for name in BODY_FIELDS}
    if set(item) != {*BODY_FIELDS, "prev_hash", "entry_hash", "signature", "kid"}:
        raise ValueError("unexpected or missing fields")
    return _sealed_entry(canonical_json(body), item)


def _from_csv(row: list[str]) -> _Entry:
    if len(row) != len(CSV_COLUMNS):
        raise ValueError(f"{len(row)} cells, not {len(CSV_COLUMNS)}")
    cells = dict(zip(CSV_COLUMNS, row, strict=True))
    body = strict_json(cells["body"])
    if not isinstance(body, dict) or set(body) != set(BODY_FIELDS) or str(body["seq"]) != cells["seq"]:
        raise ValueError("its body is not an entry body, or not the one its seq names")
    if canonical_json(body).decode() != cells["body"]:
        raise ValueError("its body is not written in canonical form")
    return _sealed_entry(canonical_json(body), cells)


def _sealed_entry(body: bytes, item: Mapping[str, Any]) -> _Entry:
    parsed = json.loads(body)
    seq = parsed["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise ValueError("seq is not a whole number")
    return _Entry(seq, body, bytes.fromhex(item["prev_hash"]), bytes.fromhex(item["entry_hash"]),
                  b64url_decode(item["signature"]), str(item["kid"]), str(parsed["org_id"]))  # fmt: skip


def _check_chain(
    entries: list[_Entry], manifest: Mapping[str, Any], key_set: Mapping[str, Any], report: BundleReport
) -> None:
    expected_count = manifest["to_seq"] - manifest["from_seq"] + 1
    if len(entries) != expected_count or manifest["files"][0].get("entries") != expected_count:
        report.problems.append(f"the file holds {len(entries)} entries, the manifest's range {expected_count}")
        return
    first_prev = bytes.fromhex(manifest["first_prev_hash"])
    if manifest["from_seq"] == 1 and first_prev != GENESIS:
        report.problems.append("an export from entry 1 must start from the genesis hash (32 zero bytes)")
    prev, keys = first_prev, dict[str, bytes]()
    for expected_seq, entry in enumerate(entries, manifest["from_seq"]):
        if entry.seq != expected_seq or entry.org_id != manifest["org_id"]:
            report.problems.append(
                f"entry {entry.seq} is out of place (expected {expected_seq} of {manifest['org_id']})"
            )
            return
        if entry.prev_hash != prev:
            report.problems.append(f"entry {entry.seq} does not link to the entry before it")
            return
        if link_hash(entry.prev_hash, entry.body) != entry.entry_hash:
            report.problems.append(f"entry {entry.seq}'s hash does not match its body (edited)")
            return
        try:
            public = keys.get(entry.kid) or keys.setdefault(
                entry.kid, audit_key(key_set, entry.kid, manifest["org_id"])
            )
            Ed25519PublicKey.from_public_bytes(public).verify(entry.signature, entry.entry_hash)
        except (EvidenceError, InvalidSignature) as exc:
            report.problems.append(f"entry {entry.seq}'s signature does not verify ({exc or 'bad signature'})")
            return
        prev = entry.entry_hash
    if prev.hex() != manifest["last_entry_hash"]:
        report.problems.append("the last entry is not the one the manifest names")


def _check_tree(
    entries: list[_Entry], manifest: Mapping[str, Any], checkpoint: Checkpoint, report: BundleReport
) -> None:
    """The last entry is in the signed checkpoint; from entry 1, the whole tree is rebuilt and compared."""
    last = entries[-1].entry_hash
    try:
        path = [bytes.fromhex(h) for h in manifest["last_inclusion_path"]]
        merkle.verify_inclusion(leaf(last), checkpoint.size - 1, checkpoint.size, path, checkpoint.root)
    except (ValueError, TypeError, merkle.ProofError) as exc:
        report.problems.append(f"the last entry is not in the checkpoint's tree: {exc}")
        return
    if manifest["from_seq"] == 1 and merkle.root_of(leaf(e.entry_hash) for e in entries) != checkpoint.root:
        report.problems.append("the entries' Merkle root is not the checkpoint's")
