"""An independent verifier for the fiduciary audit chain, written from docs/AUDIT_FORMAT.md alone.

It imports nothing of ``fiduciary``: only the standard library, ``cryptography`` (Ed25519) and
``rfc8785`` (JCS). The RFC 9162 Merkle hashing and the inclusion / consistency verification
algorithms (RFC 9162 §2.1.3.2 and §2.1.4.2) are implemented here, step for step.

Every public function is pure: it returns normally when the thing verifies and raises
``VerificationError`` with a message naming what failed otherwise.

CLI::

    python tests/audit/outsider_verifier.py bundle DIR --jwks FILE
    python tests/audit/outsider_verifier.py proof FILE --jwks FILE
"""

from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import json
import pathlib
import re
import sys
from collections.abc import Iterable
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = [
    "VerificationError",
    "load_jwks",
    "manifest_digest",
    "verify_bundle",
    "verify_checkpoint",
    "verify_consistency_proof",
    "verify_inclusion_proof",
]


class VerificationError(Exception):
    """Raised when a key set, checkpoint, proof or bundle does not verify."""


# ---------------------------------------------------------------------------------------------
# Constants from the document
# ---------------------------------------------------------------------------------------------

CHECKPOINT_TYPE = "fiduciary.checkpoint.v1"
INCLUSION_TYPE = "fiduciary.inclusion_proof.v1"
CONSISTENCY_TYPE = "fiduciary.consistency_proof.v1"
MANIFEST_TYPE = "fiduciary.export_manifest.v1"

ZERO_HASH = bytes(32)
SAFE_INT_LIMIT = 2**53  # JCS values: integers with magnitude below 2^53

BODY_MEMBERS = frozenset({"seq", "org_id", "project_id", "ts", "actor", "type", "subject", "ref", "payload"})
SEAL_MEMBERS = frozenset({"prev_hash", "entry_hash", "signature", "kid"})
JSONL_MEMBERS = BODY_MEMBERS | SEAL_MEMBERS
CHECKPOINT_MEMBERS = frozenset({"type", "org_id", "size", "root", "ts", "kid", "signature"})
INCLUSION_MEMBERS = frozenset({"type", "org_id", "seq", "entry_hash", "tree_size", "path", "checkpoint"})
CONSISTENCY_MEMBERS = frozenset({"type", "org_id", "path", "old", "new"})
MANIFEST_OUTER_MEMBERS = frozenset({"manifest", "signature"})
MANIFEST_MEMBERS = frozenset(
    {
        "type",
        "org_id",
        "number",
        "format",
        "from_seq",
        "to_seq",
        "first_prev_hash",
        "last_entry_hash",
        "checkpoint",
        "last_inclusion_path",
        "files",
        "previous_manifest_sha256",
        "created_at",
        "created_by",
        "kid",
    }
)
FILE_MEMBERS = frozenset({"name", "sha256", "bytes", "entries"})
FORMATS = ("jsonl", "csv")
CSV_COLUMNS = ["seq", "ts", "actor", "type", "subject", "ref", "body", "prev_hash", "entry_hash", "signature", "kid"]
MANIFEST_FILE = "manifest.json"

_HEX32_RE = re.compile(r"[0-9a-f]{64}")
_B64URL_RE = re.compile(r"[A-Za-z0-9_-]*")
_TS_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
_CSV_SEQ_RE = re.compile(r"[1-9][0-9]*")


# ---------------------------------------------------------------------------------------------
# Small strict helpers
# ---------------------------------------------------------------------------------------------


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate member name {key!r}")
        out[key] = value
    return out


def _no_float(text: str) -> Any:
    raise ValueError(f"number {text!r} has a fraction or an exponent")


def _no_constant(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


def _parse_json(data: str | bytes, what: str) -> Any:
    """Parse one JSON text strictly: UTF-8, no duplicate member names, no fractions/exponents."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise VerificationError(f"{what}: not UTF-8 ({exc})") from None
    try:
        return json.loads(
            data,
            object_pairs_hook=_no_duplicates,
            parse_float=_no_float,
            parse_constant=_no_constant,
        )
    except (ValueError, RecursionError) as exc:
        raise VerificationError(f"{what}: not valid JSON ({exc})") from None


def _check_jcs_domain(value: Any, what: str) -> None:
    """Values that are hashed or signed hold only null, booleans, safe integers, strings, arrays, objects."""
    stack = [value]
    while stack:
        v = stack.pop()
        if v is None or isinstance(v, bool | str):
            continue
        if isinstance(v, int):
            if not -SAFE_INT_LIMIT < v < SAFE_INT_LIMIT:
                raise VerificationError(f"{what}: integer {v} has magnitude 2^53 or more")
            continue
        if isinstance(v, float):
            raise VerificationError(f"{what}: number {v!r} is a fraction (only integers are allowed)")
        if isinstance(v, list):
            stack.extend(v)
            continue
        if isinstance(v, dict):
            for k, item in v.items():
                if not isinstance(k, str):
                    raise VerificationError(f"{what}: object member name {k!r} is not a string")
                stack.append(item)
            continue
        raise VerificationError(f"{what}: {type(v).__name__} is not a JSON value")


def _jcs(value: Any, what: str) -> bytes:
    _check_jcs_domain(value, what)
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, RecursionError) as exc:
        raise VerificationError(f"{what}: cannot be canonicalized with JCS ({exc})") from None


def _exact_members(obj: Any, members: frozenset[str], what: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise VerificationError(f"{what}: not a JSON object")
    keys = set(obj)
    if keys != members:
        missing = sorted(members - keys)
        extra = sorted(keys - members)
        parts = []
        if missing:
            parts.append(f"missing {missing}")
        if extra:
            parts.append(f"unexpected {extra}")
        raise VerificationError(f"{what}: wrong members ({'; '.join(parts)})")
    return obj


def _str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise VerificationError(f"{what}: not a string")
    return value


def _opt_str(value: Any, what: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise VerificationError(f"{what}: neither a string nor null")
    return value


def _int(value: Any, what: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise VerificationError(f"{what}: not an integer")
    if value < minimum:
        raise VerificationError(f"{what}: {value} is below {minimum}")
    if value >= SAFE_INT_LIMIT:
        raise VerificationError(f"{what}: {value} has magnitude 2^53 or more")
    return value


def _hex32(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not _HEX32_RE.fullmatch(value):
        raise VerificationError(f"{what}: not a SHA-256 hash as 64 lowercase hex digits")
    return bytes.fromhex(value)


def _b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64url(value: Any, what: str, size: int) -> bytes:
    if not isinstance(value, str) or not _B64URL_RE.fullmatch(value) or len(value) % 4 == 1:
        raise VerificationError(f"{what}: not base64url without padding")
    raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    if _b64url_encode(raw) != value:
        raise VerificationError(f"{what}: not canonical base64url (stray bits in the last character)")
    if len(raw) != size:
        raise VerificationError(f"{what}: decodes to {len(raw)} bytes, expected {size}")
    return raw


def _hex_path(value: Any, what: str) -> list[bytes]:
    if not isinstance(value, list):
        raise VerificationError(f"{what}: not an array")
    return [_hex32(item, f"{what}[{i}]") for i, item in enumerate(value)]


# ---------------------------------------------------------------------------------------------
# §1 Keys
# ---------------------------------------------------------------------------------------------


def load_jwks(path: str | pathlib.Path) -> dict:
    """Read a JWK Set from a JSON file (checked when a key is looked up, not here)."""
    try:
        data = pathlib.Path(path).read_bytes()
    except OSError as exc:
        raise VerificationError(f"JWKS {path}: cannot read ({exc})") from None
    jwks = _parse_json(data, f"JWKS {path}")
    if not isinstance(jwks, dict):
        raise VerificationError(f"JWKS {path}: not a JSON object")
    return jwks


def _audit_key(jwks: Any, kid: str, org_id: str, what: str) -> Ed25519PublicKey:
    """The Ed25519 key `kid`, which must be an audit key of `org_id` (§1)."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise VerificationError("JWKS: not a JWK Set (no 'keys' array)")
    seen: set[str] = set()
    found: dict[str, Any] | None = None
    for i, key in enumerate(jwks["keys"]):
        if not isinstance(key, dict):
            raise VerificationError(f"JWKS: keys[{i}] is not an object")
        key_id = key.get("kid")
        if not isinstance(key_id, str):
            raise VerificationError(f"JWKS: keys[{i}] has no string 'kid'")
        if key_id in seen:
            raise VerificationError(f"JWKS: key id {key_id!r} appears twice; the key set is refused")
        seen.add(key_id)
        if key_id == kid:
            found = key
    if found is None:
        raise VerificationError(f"{what}: key {kid!r} is not in the JWKS")
    label = f"{what}: key {kid!r}"
    if found.get("kty") != "OKP" or found.get("crv") != "Ed25519":
        raise VerificationError(f"{label} is not an Ed25519 OKP key")
    for member, expected in (("alg", "EdDSA"), ("use", "sig")):
        if member in found and found[member] != expected:
            raise VerificationError(f"{label} has {member} {found[member]!r}, expected {expected!r}")
    if "key_ops" in found and (not isinstance(found["key_ops"], list) or "verify" not in found["key_ops"]):
        raise VerificationError(f"{label} key_ops does not allow 'verify'")
    if found.get("fiduciary_purpose") != "audit":
        raise VerificationError(
            f"{label} has fiduciary_purpose {found.get('fiduciary_purpose')!r}; only 'audit' keys sign chain evidence"
        )
    if found.get("fiduciary_org") != org_id:
        raise VerificationError(f"{label} belongs to org {found.get('fiduciary_org')!r}, not {org_id!r}")
    raw = _b64url(found.get("x"), f"{label} member x", 32)
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise VerificationError(f"{label}: not a usable Ed25519 public key ({exc})") from None


def _verify_signature(key: Ed25519PublicKey, signature: bytes, message: bytes, what: str) -> None:
    try:
        key.verify(signature, message)
    except InvalidSignature:
        raise VerificationError(f"{what}: signature does not verify") from None


# ---------------------------------------------------------------------------------------------
# §3 Merkle tree, RFC 9162 §2.1
# ---------------------------------------------------------------------------------------------


def _leaf_hash(entry_hash: bytes) -> bytes:
    return _sha256(b"\x00" + entry_hash)


def _node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right)


def _merkle_root(leaf_hashes: list[bytes]) -> bytes:
    """MTH (RFC 9162 §2.1.1) over already-computed leaf hashes."""

    def mth(lo: int, hi: int) -> bytes:
        n = hi - lo
        if n == 0:
            return _sha256(b"")
        if n == 1:
            return leaf_hashes[lo]
        k = 1 << ((n - 1).bit_length() - 1)  # the largest power of two smaller than n
        return _node_hash(mth(lo, lo + k), mth(lo + k, hi))

    return mth(0, len(leaf_hashes))


def _verify_inclusion(leaf_index: int, tree_size: int, leaf: bytes, path: list[bytes], root: bytes, what: str) -> None:
    """RFC 9162 §2.1.3.2."""
    # 1. leaf_index must be smaller than tree_size.
    if leaf_index >= tree_size:
        raise VerificationError(f"{what}: leaf index {leaf_index} is not below tree size {tree_size}")
    # 2.
    fn, sn = leaf_index, tree_size - 1
    # 3.
    r = leaf
    # 4.
    for p in path:
        # a.
        if sn == 0:
            raise VerificationError(f"{what}: inclusion path is longer than the tree needs")
        # b.
        if fn & 1 or fn == sn:
            r = _node_hash(p, r)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = _node_hash(r, p)
        # c.
        fn >>= 1
        sn >>= 1
    # 5.
    if sn != 0:
        raise VerificationError(f"{what}: inclusion path is shorter than the tree needs")
    if r != root:
        raise VerificationError(f"{what}: inclusion path does not lead to the checkpoint root")


def _verify_consistency(
    first: int, second: int, first_hash: bytes, second_hash: bytes, path: list[bytes], what: str
) -> None:
    """RFC 9162 §2.1.4.2 (for 0 < first < second; equal sizes are handled by the caller)."""
    if not 0 < first < second:
        raise VerificationError(f"{what}: consistency needs 0 < old size < new size, got {first} and {second}")
    # 1.
    if not path:
        raise VerificationError(f"{what}: consistency path is empty")
    # 2.
    path = list(path)
    if first & (first - 1) == 0:
        path.insert(0, first_hash)
    # 3.
    fn, sn = first - 1, second - 1
    # 4.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5.
    fr = sr = path[0]
    # 6.
    for c in path[1:]:
        # a.
        if sn == 0:
            raise VerificationError(f"{what}: consistency path is longer than the trees need")
        # b.
        if fn & 1 or fn == sn:
            fr = _node_hash(c, fr)
            sr = _node_hash(c, sr)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = _node_hash(sr, c)
        # c.
        fn >>= 1
        sn >>= 1
    # 7.
    if sn != 0:
        raise VerificationError(f"{what}: consistency path is shorter than the trees need")
    if fr != first_hash:
        raise VerificationError(f"{what}: consistency path does not lead to the old root")
    if sr != second_hash:
        raise VerificationError(f"{what}: consistency path does not lead to the new root")


# ---------------------------------------------------------------------------------------------
# §3 Checkpoints
# ---------------------------------------------------------------------------------------------


def verify_checkpoint(doc: dict, jwks: dict) -> dict:
    """Verify a checkpoint document (§3) against the JWKS; return it unchanged when valid."""
    what = "checkpoint"
    _exact_members(doc, CHECKPOINT_MEMBERS, what)
    if doc["type"] != CHECKPOINT_TYPE:
        raise VerificationError(f"{what}: type is {doc['type']!r}, expected {CHECKPOINT_TYPE!r}")
    org_id = _str(doc["org_id"], f"{what} org_id")
    _int(doc["size"], f"{what} size", 0)
    _hex32(doc["root"], f"{what} root")
    _str(doc["ts"], f"{what} ts")
    kid = _str(doc["kid"], f"{what} kid")
    signature = _b64url(doc["signature"], f"{what} signature", 64)
    key = _audit_key(jwks, kid, org_id, what)
    signed = {k: v for k, v in doc.items() if k != "signature"}
    _verify_signature(key, signature, _jcs(signed, what), what)
    return doc


# ---------------------------------------------------------------------------------------------
# §4 Proofs
# ---------------------------------------------------------------------------------------------


def verify_inclusion_proof(doc: dict, jwks: dict) -> None:
    """Verify an inclusion proof document (§4)."""
    what = "inclusion proof"
    _exact_members(doc, INCLUSION_MEMBERS, what)
    if doc["type"] != INCLUSION_TYPE:
        raise VerificationError(f"{what}: type is {doc['type']!r}, expected {INCLUSION_TYPE!r}")
    org_id = _str(doc["org_id"], f"{what} org_id")
    seq = _int(doc["seq"], f"{what} seq", 1)
    entry_hash = _hex32(doc["entry_hash"], f"{what} entry_hash")
    tree_size = _int(doc["tree_size"], f"{what} tree_size", 0)
    path = _hex_path(doc["path"], f"{what} path")
    checkpoint = verify_checkpoint(doc["checkpoint"], jwks)
    if tree_size != checkpoint["size"]:
        raise VerificationError(f"{what}: tree_size {tree_size} differs from the checkpoint size {checkpoint['size']}")
    if org_id != checkpoint["org_id"]:
        raise VerificationError(f"{what}: org_id {org_id!r} differs from the checkpoint's {checkpoint['org_id']!r}")
    root = bytes.fromhex(checkpoint["root"])
    _verify_inclusion(seq - 1, tree_size, _leaf_hash(entry_hash), path, root, f"{what} (seq {seq})")


def verify_consistency_proof(doc: dict, jwks: dict) -> None:
    """Verify a consistency proof document (§4)."""
    what = "consistency proof"
    _exact_members(doc, CONSISTENCY_MEMBERS, what)
    if doc["type"] != CONSISTENCY_TYPE:
        raise VerificationError(f"{what}: type is {doc['type']!r}, expected {CONSISTENCY_TYPE!r}")
    org_id = _str(doc["org_id"], f"{what} org_id")
    path = _hex_path(doc["path"], f"{what} path")
    try:
        old = verify_checkpoint(doc["old"], jwks)
    except VerificationError as exc:
        raise VerificationError(f"{what}: old {exc}") from None
    try:
        new = verify_checkpoint(doc["new"], jwks)
    except VerificationError as exc:
        raise VerificationError(f"{what}: new {exc}") from None
    for name, cp in (("old", old), ("new", new)):
        if cp["org_id"] != org_id:
            raise VerificationError(f"{what}: {name} checkpoint is of org {cp['org_id']!r}, not {org_id!r}")
    old_size, new_size = old["size"], new["size"]
    old_root, new_root = bytes.fromhex(old["root"]), bytes.fromhex(new["root"])
    if old_size > new_size:
        raise VerificationError(f"{what}: old size {old_size} is larger than new size {new_size}")
    if old_size == new_size:
        if path:
            raise VerificationError(f"{what}: sizes are equal ({old_size}) but the path is not empty")
        if old_root != new_root:
            raise VerificationError(f"{what}: sizes are equal ({old_size}) but the roots differ")
        return
    _verify_consistency(old_size, new_size, old_root, new_root, path, what)


# ---------------------------------------------------------------------------------------------
# §2 / §5 Entries
# ---------------------------------------------------------------------------------------------


class _Entry:
    __slots__ = ("body", "body_jcs", "entry_hash", "kid", "prev_hash", "signature", "where")

    def __init__(
        self,
        where: str,
        body: dict[str, Any],
        body_jcs: bytes,
        prev_hash: bytes,
        entry_hash: bytes,
        signature: bytes,
        kid: str,
    ) -> None:
        self.where = where
        self.body = body
        self.body_jcs = body_jcs
        self.prev_hash = prev_hash
        self.entry_hash = entry_hash
        self.signature = signature
        self.kid = kid


def _check_body(body: dict[str, Any], where: str) -> bytes:
    """Check the nine body members' types (§2); return JCS(body)."""
    _exact_members(body, BODY_MEMBERS, f"{where} body")
    _int(body["seq"], f"{where} seq", 1)
    _str(body["org_id"], f"{where} org_id")
    _opt_str(body["project_id"], f"{where} project_id")
    ts = _str(body["ts"], f"{where} ts")
    if not _TS_RE.fullmatch(ts):
        raise VerificationError(f"{where} ts: {ts!r} is not YYYY-MM-DDTHH:MM:SS.ffffffZ")
    try:
        datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        raise VerificationError(f"{where} ts: {ts!r} is not a real date and time") from None
    _str(body["actor"], f"{where} actor")
    _str(body["type"], f"{where} type")
    _opt_str(body["subject"], f"{where} subject")
    _opt_str(body["ref"], f"{where} ref")
    if not isinstance(body["payload"], dict):
        raise VerificationError(f"{where} payload: not an object")
    return _jcs(body, f"{where} body")


def _parse_jsonl(data: bytes, name: str) -> list[_Entry]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise VerificationError(f"{name}: not UTF-8 ({exc})") from None
    if not text:
        return []
    if not text.endswith("\n"):
        raise VerificationError(f"{name}: the last line is not \\n-terminated")
    entries = []
    for lineno, line in enumerate(text[:-1].split("\n"), 1):
        where = f"{name} line {lineno}"
        obj = _exact_members(_parse_json(line, where), JSONL_MEMBERS, where)
        body = {k: obj[k] for k in BODY_MEMBERS}
        body_jcs = _check_body(body, where)
        entries.append(
            _Entry(
                where,
                body,
                body_jcs,
                _hex32(obj["prev_hash"], f"{where} prev_hash"),
                _hex32(obj["entry_hash"], f"{where} entry_hash"),
                _b64url(obj["signature"], f"{where} signature", 64),
                _str(obj["kid"], f"{where} kid"),
            )
        )
    return entries


def _parse_rfc4180(text: str, name: str) -> list[list[str]]:
    """RFC 4180 records, with CRLF record separators (a bare CR or LF outside quotes is refused)."""
    records: list[list[str]] = []
    record: list[str] = []
    i, n = 0, len(text)
    while True:
        if i < n and text[i] == '"':
            i += 1
            parts = []
            while True:
                j = text.find('"', i)
                if j < 0:
                    raise VerificationError(f"{name}: record {len(records) + 1} has an unterminated quoted field")
                parts.append(text[i:j])
                if text.startswith('""', j):
                    parts.append('"')
                    i = j + 2
                    continue
                i = j + 1
                break
            field = "".join(parts)
        else:
            j = i
            while j < n and text[j] not in ',"\r\n':
                j += 1
            field = text[i:j]
            i = j
            if i < n and text[i] == '"':
                raise VerificationError(f"{name}: record {len(records) + 1} has a quote inside an unquoted field")
        record.append(field)
        if i == n:  # RFC 4180: the last record may lack its line break
            records.append(record)
            return records
        if text[i] == ",":
            i += 1
            continue
        if text.startswith("\r\n", i):
            records.append(record)
            record = []
            i += 2
            if i == n:
                return records
            continue
        raise VerificationError(
            f"{name}: record {len(records) + 1}: unexpected {text[i]!r} (line ends must be \\r\\n, fields RFC 4180)"
        )


def _parse_csv(data: bytes, name: str) -> list[_Entry]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise VerificationError(f"{name}: not UTF-8 ({exc})") from None
    if not text:
        raise VerificationError(f"{name}: empty (no header row)")
    records = _parse_rfc4180(text, name)
    if records[0] != CSV_COLUMNS:
        raise VerificationError(f"{name}: header row is {records[0]!r}, expected {','.join(CSV_COLUMNS)}")
    entries = []
    for rowno, row in enumerate(records[1:], 1):
        where = f"{name} row {rowno}"
        if len(row) != len(CSV_COLUMNS):
            raise VerificationError(f"{where}: {len(row)} fields, expected {len(CSV_COLUMNS)}")
        cells = dict(zip(CSV_COLUMNS, row, strict=True))
        body = _parse_json(cells["body"], f"{where} body")
        if not isinstance(body, dict):
            raise VerificationError(f"{where} body: not a JSON object")
        body_jcs = _check_body(body, where)
        if body_jcs != cells["body"].encode("utf-8"):
            raise VerificationError(f"{where} body: not the JCS text of the body (not canonical)")
        if not _CSV_SEQ_RE.fullmatch(cells["seq"]) or int(cells["seq"]) != body["seq"]:
            raise VerificationError(f"{where}: seq cell {cells['seq']!r} does not equal the body's seq {body['seq']}")
        # ts, actor, type, subject, ref are for reading only and are not hashed: the body is trusted.
        entries.append(
            _Entry(
                where,
                body,
                body_jcs,
                _hex32(cells["prev_hash"], f"{where} prev_hash"),
                _hex32(cells["entry_hash"], f"{where} entry_hash"),
                _b64url(cells["signature"], f"{where} signature", 64),
                cells["kid"],
            )
        )
    return entries


# ---------------------------------------------------------------------------------------------
# §5 Bundles
# ---------------------------------------------------------------------------------------------


def manifest_digest(manifest: dict) -> str:
    """Hex SHA-256 of JCS of the inner manifest object.

    Accepts the inner object, or the whole manifest.json document ({"manifest", "signature"}),
    in which case the inner object is used.
    """
    if isinstance(manifest, dict) and set(manifest) == MANIFEST_OUTER_MEMBERS:
        manifest = manifest["manifest"]
    if not isinstance(manifest, dict):
        raise VerificationError("manifest: not a JSON object")
    return _sha256(_jcs(manifest, "manifest")).hex()


def _check_manifest(m: dict[str, Any]) -> None:
    what = "manifest"
    _exact_members(m, MANIFEST_MEMBERS, what)
    if m["type"] != MANIFEST_TYPE:
        raise VerificationError(f"{what}: type is {m['type']!r}, expected {MANIFEST_TYPE!r}")
    _str(m["org_id"], f"{what} org_id")
    number = _int(m["number"], f"{what} number", 1)
    if m["format"] not in FORMATS:
        raise VerificationError(f"{what}: format {m['format']!r} is neither 'jsonl' nor 'csv'")
    from_seq = _int(m["from_seq"], f"{what} from_seq", 1)
    to_seq = _int(m["to_seq"], f"{what} to_seq", 1)
    if to_seq < from_seq:
        raise VerificationError(f"{what}: to_seq {to_seq} is below from_seq {from_seq}")
    first_prev = _hex32(m["first_prev_hash"], f"{what} first_prev_hash")
    if from_seq == 1 and first_prev != ZERO_HASH:
        raise VerificationError(f"{what}: from_seq is 1 but first_prev_hash is not 32 zero bytes")
    _hex32(m["last_entry_hash"], f"{what} last_entry_hash")
    _hex_path(m["last_inclusion_path"], f"{what} last_inclusion_path")
    files = m["files"]
    if not isinstance(files, list) or len(files) != 1:
        raise VerificationError(f"{what}: files must list exactly one file")
    f = _exact_members(files[0], FILE_MEMBERS, f"{what} files[0]")
    expected_name = f"entries.{m['format']}"
    if f["name"] != expected_name:
        raise VerificationError(f"{what}: files[0] name is {f['name']!r}, expected {expected_name!r}")
    _hex32(f["sha256"], f"{what} files[0] sha256")
    _int(f["bytes"], f"{what} files[0] bytes", 0)
    _int(f["entries"], f"{what} files[0] entries", 0)
    previous = m["previous_manifest_sha256"]
    if number == 1:
        if previous is not None:
            raise VerificationError(f"{what}: number is 1 but previous_manifest_sha256 is not null")
    elif previous is None:
        raise VerificationError(f"{what}: number is {number} but previous_manifest_sha256 is null")
    else:
        _hex32(previous, f"{what} previous_manifest_sha256")
    _str(m["created_at"], f"{what} created_at")
    _str(m["created_by"], f"{what} created_by")
    _str(m["kid"], f"{what} kid")


def _names(items: Iterable[str]) -> str:
    return ", ".join(sorted(items))


def verify_bundle(directory: str | pathlib.Path, jwks: dict) -> dict:
    """Verify an export bundle directory (§5.4, all eight steps); return a summary."""
    d = pathlib.Path(directory)
    if not d.is_dir():
        raise VerificationError(f"bundle {d}: not a directory")
    manifest_path = d / MANIFEST_FILE
    try:
        outer = _parse_json(manifest_path.read_bytes(), MANIFEST_FILE)
    except OSError as exc:
        raise VerificationError(f"bundle: cannot read {MANIFEST_FILE} ({exc})") from None
    _exact_members(outer, MANIFEST_OUTER_MEMBERS, MANIFEST_FILE)
    m = outer["manifest"]
    _check_manifest(m)
    org_id: str = m["org_id"]
    from_seq: int = m["from_seq"]
    to_seq: int = m["to_seq"]
    file_entry = m["files"][0]
    entries_name: str = file_entry["name"]

    # 1. The directory holds manifest.json and the files it lists, nothing else.
    try:
        present = {p.name for p in d.iterdir()}
    except OSError as exc:
        raise VerificationError(f"step 1: cannot list {d} ({exc})") from None
    wanted = {MANIFEST_FILE, entries_name}
    if present != wanted:
        parts = []
        if wanted - present:
            parts.append(f"missing {_names(wanted - present)}")
        if present - wanted:
            parts.append(f"not listed: {_names(present - wanted)}")
        raise VerificationError(f"step 1: bundle directory content is wrong ({'; '.join(parts)})")
    for name in sorted(wanted):
        if not (d / name).is_file():
            raise VerificationError(f"step 1: {name} is not a regular file")

    # 2. The manifest's signature verifies with the audit key kid of org_id.
    signature = _b64url(outer["signature"], "step 2: manifest signature", 64)
    key = _audit_key(jwks, m["kid"], org_id, "step 2: manifest")
    _verify_signature(key, signature, _jcs(m, "manifest"), "step 2: manifest")

    # 3. The checkpoint verifies, is of org_id, and its size equals to_seq.
    try:
        checkpoint = verify_checkpoint(m["checkpoint"], jwks)
    except VerificationError as exc:
        raise VerificationError(f"step 3: manifest {exc}") from None
    if checkpoint["org_id"] != org_id:
        raise VerificationError(f"step 3: checkpoint is of org {checkpoint['org_id']!r}, not {org_id!r}")
    if checkpoint["size"] != to_seq:
        raise VerificationError(f"step 3: checkpoint size {checkpoint['size']} differs from to_seq {to_seq}")

    # 4. The entries file's byte count and SHA-256 equal its bytes and sha256.
    try:
        data = (d / entries_name).read_bytes()
    except OSError as exc:
        raise VerificationError(f"step 4: cannot read {entries_name} ({exc})") from None
    if len(data) != file_entry["bytes"]:
        raise VerificationError(f"step 4: {entries_name} has {len(data)} bytes, manifest says {file_entry['bytes']}")
    if hashlib.sha256(data).hexdigest() != file_entry["sha256"]:
        raise VerificationError(f"step 4: {entries_name} SHA-256 differs from the manifest's")

    entries = _parse_jsonl(data, entries_name) if m["format"] == "jsonl" else _parse_csv(data, entries_name)

    # 5. Count, seq run, org_id.
    count = to_seq - from_seq + 1
    if file_entry["entries"] != count:
        raise VerificationError(f"step 5: manifest files[0] entries is {file_entry['entries']}, expected {count}")
    if len(entries) != count:
        raise VerificationError(f"step 5: {entries_name} holds {len(entries)} entries, expected {count}")
    for offset, entry in enumerate(entries):
        if entry.body["seq"] != from_seq + offset:
            raise VerificationError(f"step 5: {entry.where}: seq {entry.body['seq']}, expected {from_seq + offset}")
        if entry.body["org_id"] != org_id:
            raise VerificationError(f"step 5: {entry.where}: org_id {entry.body['org_id']!r}, expected {org_id!r}")

    # 6. The prev_hash chain.
    expected_prev = bytes.fromhex(m["first_prev_hash"])
    for entry in entries:
        if entry.prev_hash != expected_prev:
            if entry is entries[0]:
                raise VerificationError(f"step 6: {entry.where}: prev_hash differs from first_prev_hash")
            raise VerificationError(f"step 6: {entry.where}: prev_hash differs from the entry_hash before it")
        expected_prev = entry.entry_hash

    # 7. Each entry_hash and signature.
    keys: dict[str, Ed25519PublicKey] = {}
    for entry in entries:
        if _sha256(entry.prev_hash + entry.body_jcs) != entry.entry_hash:
            raise VerificationError(f"step 7: {entry.where}: entry_hash is not SHA-256(prev_hash || JCS(body))")
        if entry.kid not in keys:
            keys[entry.kid] = _audit_key(jwks, entry.kid, org_id, f"step 7: {entry.where}")
        _verify_signature(keys[entry.kid], entry.signature, entry.entry_hash, f"step 7: {entry.where}")

    # 8. The last entry, the inclusion path, and (from seq 1) the whole tree.
    last = entries[-1]
    if last.entry_hash.hex() != m["last_entry_hash"]:
        raise VerificationError("step 8: the last entry's entry_hash differs from last_entry_hash")
    root = bytes.fromhex(checkpoint["root"])
    path = _hex_path(m["last_inclusion_path"], "step 8: last_inclusion_path")
    _verify_inclusion(to_seq - 1, to_seq, _leaf_hash(last.entry_hash), path, root, "step 8: last_inclusion_path")
    if from_seq == 1:
        computed = _merkle_root([_leaf_hash(e.entry_hash) for e in entries])
        if computed != root:
            raise VerificationError("step 8: the Merkle root of the entries differs from the checkpoint root")

    return {
        "org_id": org_id,
        "from_seq": from_seq,
        "to_seq": to_seq,
        "entries": count,
        "manifest_sha256": manifest_digest(m),
    }


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------


def _verify_proof_file(path: str, jwks: dict) -> str:
    try:
        data = pathlib.Path(path).read_bytes()
    except OSError as exc:
        raise VerificationError(f"proof {path}: cannot read ({exc})") from None
    doc = _parse_json(data, f"proof {path}")
    kind = doc.get("type") if isinstance(doc, dict) else None
    if kind == INCLUSION_TYPE:
        verify_inclusion_proof(doc, jwks)
        return f"inclusion of seq {doc['seq']} in checkpoint of size {doc['tree_size']} ({doc['org_id']})"
    if kind == CONSISTENCY_TYPE:
        verify_consistency_proof(doc, jwks)
        return f"consistency of size {doc['old']['size']} with size {doc['new']['size']} ({doc['org_id']})"
    if kind == CHECKPOINT_TYPE:
        verify_checkpoint(doc, jwks)
        return f"checkpoint of size {doc['size']} ({doc['org_id']})"
    raise VerificationError(f"proof {path}: type {kind!r} is not an inclusion proof, consistency proof or checkpoint")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Independent verifier for fiduciary audit evidence.")
    sub = parser.add_subparsers(dest="command", required=True)
    bundle = sub.add_parser("bundle", help="verify an export bundle directory")
    bundle.add_argument("directory")
    bundle.add_argument("--jwks", required=True)
    proof = sub.add_parser("proof", help="verify an inclusion or consistency proof (or a checkpoint)")
    proof.add_argument("file")
    proof.add_argument("--jwks", required=True)
    args = parser.parse_args(argv)
    try:
        jwks = load_jwks(args.jwks)
        if args.command == "bundle":
            summary = verify_bundle(args.directory, jwks)
            detail = (
                f"{summary['org_id']} seq {summary['from_seq']}..{summary['to_seq']} "
                f"({summary['entries']} entries), manifest sha256 {summary['manifest_sha256']}"
            )
        else:
            detail = _verify_proof_file(args.file, jwks)
    except VerificationError as exc:
        print(f"FAILED: {exc}")
        return 1
    print(f"OK: {detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
