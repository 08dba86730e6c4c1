from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fiduciary.audit.merkle import (
    EMPTY_ROOT,
    Frontier,
    MerkleTree,
    ProofError,
    leaf_hash,
    node_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).parent / "vectors"
REFERENCE: dict[str, Any] = json.loads((VECTORS / "transparency_dev_reference.json").read_text())
PROBES: dict[str, Any] = json.loads((VECTORS / "transparency_dev_probes.json").read_text())

REF_LEAVES = [bytes.fromhex(h) for h in REFERENCE["node_hashes"][0]]
REF_ROOTS = [bytes.fromhex(h) for h in REFERENCE["root_hashes"]]
REF_TREE = MerkleTree(REF_LEAVES)

LEAVES = [leaf_hash(i.to_bytes(4, "big")) for i in range(3000)]
TREE = MerkleTree(LEAVES)

STRICTER_THAN_GO = {
    "testdata/consistency/additional/sizes-are-equal-one-and-proof-is-empty.json": "root is not 32 bytes",
}
"""Published probes the Go verifier accepts and this one refuses: its roots are 12 bytes long."""


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def split(n: int) -> int:
    k = 1
    while 2 * k < n:
        k *= 2
    return k


def ref_mth(d: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 MTH, over leaf hashes."""
    if not d:
        return sha256(b"")
    if len(d) == 1:
        return d[0]
    k = split(len(d))
    return sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:]))


def ref_path(m: int, d: list[bytes]) -> list[tuple[bytes, bool]]:
    """RFC 9162 §2.1.3.1 PATH(m, D), each element with whether it is a left sibling."""
    if len(d) == 1:
        return []
    k = split(len(d))
    if m < k:
        return [*ref_path(m, d[:k]), (ref_mth(d[k:]), False)]
    return [*ref_path(m - k, d[k:]), (ref_mth(d[:k]), True)]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[tuple[bytes, str]]:
    """RFC 9162 §2.1.4.1 SUBPROOF(m, D, b), each element with the step that produced it."""
    if m == len(d):
        return [] if b else [(ref_mth(d), "old")]
    k = split(len(d))
    if m <= k:
        return [*ref_subproof(m, d[:k], b), (ref_mth(d[k:]), "right")]
    return [*ref_subproof(m - k, d[k:], False), (ref_mth(d[:k]), "left")]


def ref_proof(m: int, d: list[bytes]) -> list[tuple[bytes, str]]:
    return [] if m in (0, len(d)) else ref_subproof(m, d, True)


def hashes(pairs: list[tuple[bytes, Any]]) -> list[bytes]:
    return [h for h, _ in pairs]


def shape(pairs: list[tuple[bytes, Any]]) -> list[Any]:
    return [side for _, side in pairs]


def flip(h: bytes, bit: int) -> bytes:
    return h[: bit // 8] + bytes([h[bit // 8] ^ (1 << bit % 8)]) + h[bit // 8 + 1 :]


def b64(value: str | None) -> bytes:
    return base64.b64decode(value or "")


# Published test vectors


def test_the_published_leaf_and_node_hashes_are_reproduced() -> None:
    levels = [[bytes.fromhex(h) for h in level] for level in REFERENCE["node_hashes"]]
    assert [leaf_hash(bytes.fromhex(d)) for d in REFERENCE["leaf_inputs"]] == levels[0]
    for below, here in pairwise(levels):
        assert [node_hash(below[2 * i], below[2 * i + 1]) for i in range(len(here))] == here


def test_the_published_roots_are_reproduced_for_every_size() -> None:
    assert REF_ROOTS[0] == EMPTY_ROOT == hashlib.sha256(b"").digest()
    for size, root in enumerate(REF_ROOTS):
        assert REF_TREE.root(size) == root
        assert MerkleTree(REF_LEAVES[:size]).root() == root
        assert root_of(REF_LEAVES[:size]) == root


@pytest.mark.parametrize("vector", REFERENCE["inclusion_proofs"], ids=lambda v: f"{v['leaf_index']}@{v['tree_size']}")
def test_the_published_inclusion_proofs_are_built_and_accepted(vector: dict[str, Any]) -> None:
    index, size = vector["leaf_index"], vector["tree_size"]
    proof = [bytes.fromhex(h) for h in vector["proof"]]
    assert REF_TREE.inclusion_proof(index, size) == proof
    assert MerkleTree(REF_LEAVES[:size]).inclusion_proof(index) == proof
    verify_inclusion(REF_LEAVES[index], index, size, proof, REF_ROOTS[size])


@pytest.mark.parametrize("vector", REFERENCE["consistency_proofs"], ids=lambda v: f"{v['old_size']}-{v['new_size']}")
def test_the_published_consistency_proofs_are_built_and_accepted(vector: dict[str, Any]) -> None:
    old, new = vector["old_size"], vector["new_size"]
    proof = [bytes.fromhex(h) for h in vector["proof"]]
    assert REF_TREE.consistency_proof(old, new) == proof
    assert MerkleTree(REF_LEAVES[:new]).consistency_proof(old) == proof
    verify_consistency(old, new, REF_ROOTS[old], REF_ROOTS[new], proof)


@pytest.mark.parametrize("probe", PROBES["inclusion"], ids=lambda p: p["file"])
def test_the_published_inclusion_probes_are_judged_as_published(probe: dict[str, Any]) -> None:
    args = (b64(probe["leafHash"]), probe["leafIdx"], probe["treeSize"], [b64(p) for p in probe["proof"] or []])
    if probe["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args, b64(probe["root"]))
    else:
        verify_inclusion(*args, b64(probe["root"]))


@pytest.mark.parametrize("probe", PROBES["consistency"], ids=lambda p: p["file"])
def test_the_published_consistency_probes_are_judged_as_published(probe: dict[str, Any]) -> None:
    args = (probe["size1"], probe["size2"], b64(probe["root1"]), b64(probe["root2"]))
    proof = [b64(p) for p in probe["proof"] or []]
    if probe["file"] in STRICTER_THAN_GO:
        with pytest.raises(ProofError, match=STRICTER_THAN_GO[probe["file"]]):
            verify_consistency(*args, proof)
    elif probe["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*args, proof)
    else:
        verify_consistency(*args, proof)


def test_the_published_happy_paths_are_the_built_proofs() -> None:
    happy = [p for p in PROBES["inclusion"] if not p["wantErr"] and p["file"].split("/")[2].isdigit()]
    for probe in happy:
        index, size = probe["leafIdx"], probe["treeSize"]
        assert b64(probe["root"]) == REF_TREE.root(size)
        assert [b64(p) for p in probe["proof"] or []] == REF_TREE.inclusion_proof(index, size)
    happy = [p for p in PROBES["consistency"] if not p["wantErr"] and p["file"].split("/")[2].isdigit()]
    for probe in happy:
        old, new = probe["size1"], probe["size2"]
        assert (b64(probe["root1"]), b64(probe["root2"])) == (REF_TREE.root(old), REF_TREE.root(new))
        assert [b64(p) for p in probe["proof"] or []] == REF_TREE.consistency_proof(old, new)


# Tampered proofs


def tampered(proof: list[bytes]) -> Iterator[list[bytes]]:
    for i, h in enumerate(proof):
        for bit in (0, 7, 100, 255):
            yield [*proof[:i], flip(h, bit), *proof[i + 1 :]]
        yield proof[:i] + proof[i + 1 :]
        yield [*proof[:i], h[:31], *proof[i + 1 :]]
        yield [*proof[:i], h + b"\x00", *proof[i + 1 :]]
    for i in range(len(proof) + 1):
        for extra in (EMPTY_ROOT, *proof[i - 1 : i], *proof[i : i + 1]):
            yield [*proof[:i], extra, *proof[i:]]


CLAIMS = [(i, n) for n in range(1, 18) for i in range(n)]


@pytest.mark.parametrize(("index", "size"), CLAIMS)
def test_a_tampered_inclusion_proof_is_refused(index: int, size: int) -> None:
    proof, root, leaf = TREE.inclusion_proof(index, size), TREE.root(size), LEAVES[index]
    verify_inclusion(leaf, index, size, proof, root)
    for bad in tampered(proof):
        with pytest.raises(ProofError):
            verify_inclusion(leaf, index, size, bad, root)
    for bad_root in {flip(root, 3), TREE.root(size - 1), TREE.root(size + 1), leaf, root[:31]} - {root}:
        with pytest.raises(ProofError):
            verify_inclusion(leaf, index, size, proof, bad_root)
    for bad_leaf in (flip(leaf, 200), LEAVES[index + 1], leaf_hash(b"x"), leaf + b"\x00"):
        with pytest.raises(ProofError):
            verify_inclusion(bad_leaf, index, size, proof, root)
    for bad_index in (index ^ 1, index + 1, index - 1, size, -1):
        with pytest.raises(ProofError):
            verify_inclusion(leaf, bad_index, size, proof, root)


@pytest.mark.parametrize(("index", "size"), CLAIMS)
def test_an_inclusion_proof_is_refused_for_another_size_unless_it_hashes_the_same_way(index: int, size: int) -> None:
    proof, root, leaf = TREE.inclusion_proof(index, size), TREE.root(size), LEAVES[index]
    sides = shape(ref_path(index, LEAVES[:size]))
    for other in {size - 1, size + 1, size // 2, 2 * size, index, 0, -1} - {size}:
        if other > index and shape(ref_path(index, LEAVES[:other])) == sides:
            verify_inclusion(leaf, index, other, proof, root)
            continue
        with pytest.raises(ProofError):
            verify_inclusion(leaf, index, other, proof, root)


def test_an_inclusion_proof_alone_does_not_bind_the_tree_size() -> None:
    proof = TREE.inclusion_proof(0, 5)
    verify_inclusion(LEAVES[0], 0, 6, proof, TREE.root(5))
    with pytest.raises(ProofError):
        verify_inclusion(LEAVES[0], 0, 9, proof, TREE.root(5))


SIZE_PAIRS = [(m, n) for n in range(1, 18) for m in range(1, n)]


@pytest.mark.parametrize(("old", "new"), SIZE_PAIRS)
def test_a_tampered_consistency_proof_is_refused(old: int, new: int) -> None:
    proof, old_root, new_root = TREE.consistency_proof(old, new), TREE.root(old), TREE.root(new)
    verify_consistency(old, new, old_root, new_root, proof)
    for bad in tampered(proof):
        with pytest.raises(ProofError):
            verify_consistency(old, new, old_root, new_root, bad)
    roots = [
        (new_root, old_root),
        (flip(old_root, 9), new_root),
        (old_root, flip(new_root, 9)),
        (TREE.root(old + 1), new_root),
        (old_root, TREE.root(new + 1)),
        (old_root[:31], new_root),
        (old_root, new_root + b"\x00"),
    ]
    for bad_old, bad_new in roots:
        with pytest.raises(ProofError):
            verify_consistency(old, new, bad_old, bad_new, proof)
    with pytest.raises(ProofError, match="greater"):
        verify_consistency(new, old, new_root, old_root, proof)


@pytest.mark.parametrize(("old", "new"), SIZE_PAIRS)
def test_a_consistency_proof_is_refused_for_other_sizes_unless_it_hashes_the_same_way(old: int, new: int) -> None:
    proof, old_root, new_root = TREE.consistency_proof(old, new), TREE.root(old), TREE.root(new)
    steps = shape(ref_proof(old, LEAVES[:new]))
    others = {(o, n) for o in (old - 1, old, old + 1, old ^ 2, 0) for n in (new - 1, new, new + 1, 2 * new, new // 2)}
    for other_old, other_new in others - {(old, new)}:
        if 0 < other_old < other_new and shape(ref_proof(other_old, LEAVES[:other_new])) == steps:
            verify_consistency(other_old, other_new, old_root, new_root, proof)
            continue
        with pytest.raises(ProofError):
            verify_consistency(other_old, other_new, old_root, new_root, proof)


def test_the_edge_sizes_of_consistency() -> None:
    root = TREE.root(5)
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    verify_consistency(0, 5, EMPTY_ROOT, root, [])
    verify_consistency(5, 5, root, root, [])
    cases = [
        ((0, 5, EMPTY_ROOT, root, [root]), "too long"),
        ((0, 5, root, root, []), "empty tree"),
        ((0, 0, EMPTY_ROOT, root, []), "empty tree"),
        ((5, 5, root, TREE.root(4), []), "different roots"),
        ((5, 5, root, root, [root]), "too long"),
        ((6, 5, root, root, []), "greater"),
        ((-1, 5, root, root, []), "negative"),
        ((1, -5, root, root, []), "negative"),
        ((1, 5, TREE.root(1), root, []), "too short"),
    ]
    for args, message in cases:
        with pytest.raises(ProofError, match=message):
            verify_consistency(*args)


def test_the_edge_cases_of_inclusion() -> None:
    leaf = LEAVES[0]
    verify_inclusion(leaf, 0, 1, [], leaf)
    cases = [
        ((leaf, 0, 0, [], EMPTY_ROOT), "out of range"),
        ((leaf, 1, 1, [], leaf), "out of range"),
        ((leaf, -1, 1, [], leaf), "negative"),
        ((leaf, 0, -1, [], leaf), "negative"),
        ((leaf, 0, 1, [leaf], leaf), "too long"),
        ((leaf, 0, 2, [], TREE.root(2)), "too short"),
        ((leaf, 0, 1, [], LEAVES[1]), "root"),
        ((leaf[:16], 0, 1, [], leaf), "leaf hash is not 32 bytes"),
        ((leaf, 0, 2, [b""], TREE.root(2)), "proof hash 0 is not 32 bytes"),
        ((leaf, 0, 2, ["ab" * 16], TREE.root(2)), "proof hash 0 is not 32 bytes"),
    ]
    for args, message in cases:
        with pytest.raises(ProofError, match=message):
            verify_inclusion(*args)  # type: ignore[arg-type]


# Exhaustive small trees


SMALL = 41


def test_every_prefix_root_matches_the_rfc_definition() -> None:
    for size in range(SMALL):
        want = ref_mth(LEAVES[:size])
        assert TREE.root(size) == want
        assert root_of(LEAVES[:size]) == want
        assert MerkleTree(LEAVES[:size]).root() == want


def test_every_small_inclusion_proof_is_the_rfc_path_and_verifies() -> None:
    for size in range(1, SMALL):
        own = MerkleTree(LEAVES[:size])
        root = TREE.root(size)
        for index in range(size):
            proof = TREE.inclusion_proof(index, size)
            assert proof == hashes(ref_path(index, LEAVES[:size])) == own.inclusion_proof(index)
            verify_inclusion(LEAVES[index], index, size, proof, root)


def test_every_small_consistency_proof_is_the_rfc_proof_and_verifies() -> None:
    for new in range(SMALL):
        own = MerkleTree(LEAVES[:new])
        for old in range(new + 1):
            proof = TREE.consistency_proof(old, new)
            assert proof == hashes(ref_proof(old, LEAVES[:new])) == own.consistency_proof(old)
            verify_consistency(old, new, TREE.root(old), TREE.root(new), proof)


def test_growing_a_tree_piece_by_piece_gives_the_same_tree() -> None:
    grown = MerkleTree()
    for start, end in [(0, 1), (1, 2), (2, 2), (2, 7), (7, 8), (8, 21), (21, 22), (22, 40)]:
        grown.extend(LEAVES[start:end])
        assert grown.size == len(grown) == end
        assert grown.root() == TREE.root(end)
    grown.append(LEAVES[40])
    for size in range(SMALL + 1):
        assert grown.root(size) == TREE.root(size)
        assert grown.consistency_proof(size) == TREE.consistency_proof(size, SMALL)
        for index in range(size):
            assert grown.inclusion_proof(index, size) == TREE.inclusion_proof(index, size)


# Wrong inputs


def test_wrong_inputs_to_the_tree_raise_value_error() -> None:
    tree = MerkleTree(LEAVES[:5])
    calls: list[Callable[[], object]] = [
        lambda: tree.root(6),
        lambda: tree.root(-1),
        lambda: tree.inclusion_proof(5),
        lambda: tree.inclusion_proof(-1),
        lambda: tree.inclusion_proof(3, 3),
        lambda: tree.inclusion_proof(0, 0),
        lambda: tree.inclusion_proof(0, 6),
        lambda: tree.consistency_proof(6),
        lambda: tree.consistency_proof(-1),
        lambda: tree.consistency_proof(4, 3),
        lambda: tree.consistency_proof(1, 6),
        lambda: tree.leaf(5),
        lambda: tree.extend([LEAVES[0], LEAVES[0][:31]]),
        lambda: tree.append(bytearray(32)),  # type: ignore[arg-type]
        lambda: MerkleTree(["00" * 32]),  # type: ignore[list-item]
        lambda: root_of([b"short"]),
    ]
    for call in calls:
        with pytest.raises(ValueError):
            call()
    assert tree.size == 5 and tree.root() == TREE.root(5) and tree.leaf(4) == LEAVES[4]


# Properties over larger trees


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_random_proofs_over_a_large_tree_verify_against_prefix_roots(data: st.DataObject) -> None:
    new = data.draw(st.integers(1, len(LEAVES)), label="new")
    old = data.draw(st.integers(0, new), label="old")
    index = data.draw(st.integers(0, new - 1), label="index")
    new_root = TREE.root(new)
    assert new_root == root_of(LEAVES[:new])
    inclusion = TREE.inclusion_proof(index, new)
    assert inclusion == hashes(ref_path(index, LEAVES[:new]))
    verify_inclusion(LEAVES[index], index, new, inclusion, new_root)
    consistency = TREE.consistency_proof(old, new)
    verify_consistency(old, new, TREE.root(old), new_root, consistency)
    if consistency:
        with pytest.raises(ProofError):
            verify_consistency(old, new, TREE.root(old), new_root, consistency[1:])


def test_a_frontier_grown_leaf_by_leaf_or_in_batches_has_every_prefix_root() -> None:
    leaves = [leaf_hash(bytes([n % 256, n // 256])) for n in range(300)]
    one, batched = Frontier(), Frontier()
    assert one.root() == EMPTY_ROOT
    for n, leaf in enumerate(leaves, 1):
        one.extend([leaf])
        assert (one.size, one.root()) == (n, root_of(leaves[:n]))
    for start in range(0, 300, 37):
        batched.extend(leaves[start : start + 37])
        assert batched.root() == root_of(leaves[: batched.size])


def test_a_saved_frontier_restores_to_the_same_root_and_grows_on() -> None:
    leaves = [leaf_hash(bytes([n % 256, n // 256])) for n in range(200)]
    for size in (0, 1, 2, 3, 7, 8, 100, 199):
        grown = Frontier()
        grown.extend(leaves[:size])
        back = Frontier.restored(size, grown.saved())
        assert (back.size, back.root()) == (size, root_of(leaves[:size]))
        back.extend(leaves[size:])
        assert back.root() == root_of(leaves)
    with pytest.raises(ValueError, match="is 96 bytes, not 64"):
        Frontier.restored(7, bytes(64))
    with pytest.raises(ValueError):
        Frontier.restored(-1, b"")
