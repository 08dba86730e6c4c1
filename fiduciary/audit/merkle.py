"""Merkle tree hashing, inclusion proofs and consistency proofs of RFC 9162 §2.1 (CT 2.0).

Leaves are hashed as SHA-256(0x00 || data), interior nodes as SHA-256(0x01 || left || right), and
the empty tree's root is SHA-256(""). `MerkleTree` holds every perfect subtree's hash, so the root
of any prefix and the inclusion (§2.1.3.1) and consistency (§2.1.4.1) proofs for it cost O(log n).
`verify_inclusion` and `verify_consistency` follow §2.1.3.2 and §2.1.4.2 and need nothing else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from itertools import repeat

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

_Span = tuple[int, int]


class ProofError(ValueError):
    """A Merkle proof, or a root it is checked against, does not hold."""


def leaf_hash(data: bytes) -> bytes:
    """The hash of one leaf: SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_of(leaf_hashes: Iterable[bytes]) -> bytes:
    """MTH of the leaves with these hashes, keeping one level in memory at a time."""
    level = _checked_hashes(leaf_hashes)
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        odd = [level[-1]] if len(level) % 2 else []
        level = _pair_up(level) + odd
    return level[0]


class Frontier:
    """The root of a growing tree in O(log n) memory: the roots of its perfect subtrees, largest first.

    What a long-running process keeps per chain to sign checkpoints; proofs need a `MerkleTree`.
    """

    __slots__ = ("_nodes", "size")

    def __init__(self) -> None:
        self._nodes: list[tuple[int, bytes]] = []
        """(height, hash) of each perfect subtree, left to right, heights strictly falling."""
        self.size = 0

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        nodes = self._nodes
        for leaf in _checked_hashes(leaf_hashes):
            height, node = 0, leaf
            while nodes and nodes[-1][0] == height:
                node = node_hash(nodes.pop()[1], node)
                height += 1
            nodes.append((height, node))
            self.size += 1

    def root(self) -> bytes:
        """MTH of every leaf added so far."""
        if not self._nodes:
            return EMPTY_ROOT
        root = self._nodes[-1][1]
        for _, node in reversed(self._nodes[:-1]):
            root = node_hash(node, root)
        return root

    def saved(self) -> bytes:
        """The subtree roots, largest first, concatenated: with the size, all `restored` needs."""
        return b"".join(node for _, node in self._nodes)

    @classmethod
    def restored(cls, size: int, saved: bytes) -> Frontier:
        """The frontier of a tree of `size` leaves from its `saved()` bytes: one 32-byte root per
        bit set in `size`, the highest first."""
        heights = [h for h in range(size.bit_length() - 1, -1, -1) if size >> h & 1] if size > 0 else []
        if size < 0 or len(saved) != HASH_SIZE * len(heights):
            raise ValueError(f"a frontier of {size} leaves is {HASH_SIZE * len(heights)} bytes, not {len(saved)}")
        frontier = cls()
        frontier._nodes = [(h, saved[i * HASH_SIZE : (i + 1) * HASH_SIZE]) for i, h in enumerate(heights)]
        frontier.size = size
        return frontier


class MerkleTree:
    """An append-only RFC 9162 tree over leaf hashes, answering for any of its prefixes.

    Level k holds the hash of every complete subtree of 2**k leaves, left to right; a prefix's
    nodes on its right border are combined from these when asked for.
    """

    __slots__ = ("_levels",)

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        self.extend(leaf_hashes)

    @property
    def size(self) -> int:
        """The number of leaves."""
        return len(self._levels[0])

    def __len__(self) -> int:
        return self.size

    def append(self, leaf_hash: bytes) -> None:
        """Add one leaf hash at the end."""
        self.extend((leaf_hash,))

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Add leaf hashes at the end, hashing only the subtrees they complete."""
        new = _checked_hashes(leaf_hashes)
        levels = self._levels
        levels[0].extend(new)
        height = 1
        while True:
            below = levels[height - 1]
            if height == len(levels):
                if len(below) < 2:
                    return
                levels.append([])
            here = levels[height]
            done = 2 * len(here)
            if len(below) - done < 2:
                return
            here.extend(_pair_up(below[done:]))
            height += 1

    def leaf(self, index: int) -> bytes:
        """The leaf hash at this index."""
        self._check_index(index, self.size)
        return self._levels[0][index]

    def root(self, size: int | None = None) -> bytes:
        """MTH(D[0:size]): the root of the first `size` leaves, or of the whole tree."""
        size = self._check_size(size)
        return self._subtree(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, lowest sibling first."""
        size = self._check_size(size)
        self._check_index(index, size)
        return [self._subtree(lo, hi) for lo, hi in _inclusion_spans(index, size)]

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """PROOF(old_size, D[0:new_size]) of RFC 9162 §2.1.4.1; empty when old_size is 0 or new_size."""
        new_size = self._check_size(new_size)
        if not 0 <= old_size <= new_size:
            raise ValueError(f"old size {old_size} is not within 0..{new_size}")
        return [self._subtree(lo, hi) for lo, hi in _consistency_spans(old_size, new_size)]

    def _check_size(self, size: int | None) -> int:
        if size is None:
            return self.size
        if not 0 <= size <= self.size:
            raise ValueError(f"size {size} is not within 0..{self.size}")
        return size

    @staticmethod
    def _check_index(index: int, size: int) -> None:
        if not 0 <= index < size:
            raise ValueError(f"index {index} is out of range for a tree of size {size}")

    def _subtree(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]) for a subtree of the RFC's tree: `lo` is a multiple of 2**k, the
        largest power of two below or at hi - lo."""
        levels = self._levels
        nodes: list[bytes] = []
        width = hi - lo
        for height in range(width.bit_length() - 1, -1, -1):
            if width >> height & 1:
                nodes.append(levels[height][lo >> height])
                lo += 1 << height
        if not nodes:
            return EMPTY_ROOT
        root = nodes.pop()
        while nodes:
            root = node_hash(nodes.pop(), root)
        return root


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Check that `proof` shows the leaf with `leaf_hash` at `index` in the tree `root` of `size`
    leaves (RFC 9162 §2.1.3.2); raise ProofError if it does not."""
    if size < 0 or index < 0:
        raise ProofError("index and size must not be negative")
    if index >= size:
        raise ProofError(f"index {index} is out of range for a tree of size {size}")
    _check_hash("leaf hash", leaf_hash)
    _check_hash("root", root)
    _check_proof_hashes(proof)
    _check_proof_length(proof, sum(1 for _ in _inclusion_spans(index, size)))
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError("proof too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("proof too short")
    if r != root:
        raise ProofError("inclusion proof does not lead to the given root")


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> None:
    """Check that `proof` shows the tree `old_root` of `old_size` leaves to be a prefix of the tree
    `new_root` of `new_size` leaves (RFC 9162 §2.1.4.2); raise ProofError if it does not."""
    if old_size < 0 or new_size < 0:
        raise ProofError("tree sizes must not be negative")
    if old_size > new_size:
        raise ProofError(f"old size {old_size} is greater than new size {new_size}")
    _check_hash("old root", old_root)
    _check_hash("new root", new_root)
    _check_proof_hashes(proof)
    if old_size == 0:
        _verify_from_empty(new_size, old_root, new_root, proof)
        return
    if old_size == new_size:
        _check_proof_length(proof, 0)
        if old_root != new_root:
            raise ProofError("trees of the same size have different roots")
        return
    _check_proof_length(proof, sum(1 for _ in _consistency_spans(old_size, new_size)))
    _verify_growth(old_size, new_size, old_root, new_root, proof)


def _verify_from_empty(new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> None:
    _check_proof_length(proof, 0)
    if old_root != EMPTY_ROOT:
        raise ProofError("old root is not the empty tree's root")
    if new_size == 0 and new_root != EMPTY_ROOT:
        raise ProofError("new root is not the empty tree's root")


def _verify_growth(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> None:
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("proof too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("proof too short")
    if fr != old_root:
        raise ProofError("consistency proof does not lead to the old root")
    if sr != new_root:
        raise ProofError("consistency proof does not lead to the new root")


def _inclusion_spans(index: int, size: int) -> Iterator[_Span]:
    """The leaf ranges whose roots make up PATH(index, D[0:size]), lowest first."""
    spans: list[_Span] = []
    lo, hi = 0, size
    while hi - lo > 1:
        mid = lo + _split(hi - lo)
        if index < mid:
            spans.append((mid, hi))
            hi = mid
        else:
            spans.append((lo, mid))
            lo = mid
    return reversed(spans)


def _consistency_spans(old_size: int, new_size: int) -> Iterator[_Span]:
    """The leaf ranges whose roots make up PROOF(old_size, D[0:new_size]), lowest first."""
    if old_size in (0, new_size):
        return iter(())
    spans: list[_Span] = []
    lo, hi = 0, new_size
    whole = True
    while old_size != hi:
        mid = lo + _split(hi - lo)
        if old_size <= mid:
            spans.append((mid, hi))
            hi = mid
        else:
            spans.append((lo, mid))
            lo = mid
            whole = False
    if not whole:
        spans.append((lo, hi))
    return reversed(spans)


def _split(width: int) -> int:
    """The largest power of two smaller than `width` (which is at least 2)."""
    return 1 << ((width - 1).bit_length() - 1)


def _pair_up(level: list[bytes]) -> list[bytes]:
    """The parents of each adjacent pair in `level`; an odd last node is left out."""
    sha256 = hashlib.sha256
    pairs = iter(level)
    return [sha256(b"\x01" + left + right).digest() for left, right in zip(pairs, pairs, strict=False)]


def _checked_hashes(hashes: Iterable[bytes]) -> list[bytes]:
    items = list(hashes)
    if all(map(isinstance, items, repeat(bytes))) and set(map(len, items)) <= {HASH_SIZE}:
        return items
    for position, item in enumerate(items):
        if not isinstance(item, bytes) or len(item) != HASH_SIZE:
            raise ValueError(f"leaf hash {position} is not {HASH_SIZE} bytes")
    return items


def _check_hash(name: str, value: bytes) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise ProofError(f"{name} is not {HASH_SIZE} bytes")


def _check_proof_hashes(proof: Sequence[bytes]) -> None:
    for position, item in enumerate(proof):
        if not isinstance(item, bytes) or len(item) != HASH_SIZE:
            raise ProofError(f"proof hash {position} is not {HASH_SIZE} bytes")


def _check_proof_length(proof: Sequence[bytes], expected: int) -> None:
    if len(proof) > expected:
        raise ProofError(f"proof too long: {len(proof)} hashes, expected {expected}")
    if len(proof) < expected:
        raise ProofError(f"proof too short: {len(proof)} hashes, expected {expected}")
