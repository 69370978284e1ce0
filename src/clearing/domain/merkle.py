"""Merkle commitments of a cycle's obligations, as OpenZeppelin verifies them.

Leaf: ``keccak256(keccak256(abi.encode(uint64 cycleId, bytes32 obligationKey,
address debtor, address creditor, uint256 amount)))`` — the double hash of
OpenZeppelin's ``StandardMerkleTree`` with leaf encoding
``["uint64", "bytes32", "address", "address", "uint256"]``, so auditors can
rebuild the tree and proofs with OZ's JavaScript library.

``obligationKey`` names the obligation on chain (leaves, tier-C order ids).
Obligation ids are chosen by, and unique per, the submitting member, so the
key binds both: ``keccak256(abi.encode(address submitter, string id))``
(:func:`obligation_key`). Obligations recorded before ids were scoped to their
submitter (ledger migration 0004) keep the key they were committed with,
``keccak256`` of the UTF-8 id (:func:`legacy_obligation_key`), so roots
already on chain stay verifiable.

Tree: OZ's layout. Leaves are sorted by hash and stored at the end of a flat
array of ``2n − 1`` nodes (``tree[len − 1 − i] = leaves[i]``); node ``i``
has children ``2i + 1`` and ``2i + 2``; a parent is ``keccak256`` of its two
children in sorted order (commutative), as ``MerkleProof.verify`` expects.

>>> a = "0x" + "11" * 20
>>> b = "0x" + "22" * 20
>>> leaves = [leaf_hash(7, obligation_key(a, f"ord-{i}"), a, b, 100 + i) for i in range(5)]
>>> tree = MerkleTree(leaves)
>>> len(tree.root), all(verify_proof(tree.proof(l), tree.root, l) for l in leaves)
(32, True)
>>> verify_proof(tree.proof(leaves[0]), tree.root, leaf_hash(7, obligation_key(a, "ord-0"), a, b, 101))
False
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

from clearing.domain.errors import InvalidAddress, InvalidLeaf, LeafNotFound
from clearing.domain.types import UINT256_MAX, Obligation

try:  # safe-pysha3: ~5x faster than the pure-C fallbacks when present
    from sha3 import keccak_256 as _keccak_256

    def keccak256(data: bytes) -> bytes:
        """Keccak-256 (Ethereum's, not NIST SHA3-256).

        >>> keccak256(b"").hex()[:16]
        'c5d2460186f7233c'
        """
        digest: bytes = _keccak_256(data).digest()  # safe-pysha3 ships no type information
        return digest

except ImportError:  # pragma: no cover - depends on the environment
    from eth_hash.auto import keccak as _eth_keccak

    def keccak256(data: bytes) -> bytes:
        """Keccak-256 (Ethereum's, not NIST SHA3-256).

        >>> keccak256(b"").hex()[:16]
        'c5d2460186f7233c'
        """
        return _eth_keccak(data)


__all__ = [
    "keccak256",
    "obligation_key",
    "legacy_obligation_key",
    "encode_obligation_key",
    "encode_leaf",
    "leaf_hash",
    "obligation_leaf",
    "hash_pair",
    "MerkleTree",
    "verify_proof",
    "LEAF_ENCODING",
]

#: ABI types of the leaf, in order (pass to OZ ``StandardMerkleTree.of``).
LEAF_ENCODING = ("uint64", "bytes32", "address", "address", "uint256")
_UINT64_MAX = 2**64 - 1
_HEX = frozenset("0123456789abcdefABCDEF")


def _check_id(obligation_id: str) -> bytes:
    if not isinstance(obligation_id, str) or not obligation_id:
        raise InvalidLeaf(f"obligation id must be a non-empty string, got {obligation_id!r}", field="id")
    return obligation_id.encode("utf-8")


def encode_obligation_key(submitter: str, obligation_id: str) -> bytes:
    """``abi.encode(address submitter, string id)``: the preimage of :func:`obligation_key`.

    Head: the address in one word, then the string's offset (0x40); tail: the
    UTF-8 length in one word, then the bytes, right-padded with zeros to a
    multiple of 32. Hand-rolled like :func:`encode_leaf`; the tests check it
    against ``eth_abi`` and Solidity's ``abi.encode``.

    >>> enc = encode_obligation_key("0x" + "ab" * 20, "ord-1")
    >>> len(enc), enc[32:64].hex()[-2:], enc[64:96].hex()[-2:]
    (128, '40', '05')
    """
    data = _check_id(obligation_id)
    n = len(data)
    # Runs once per submitted obligation, under the member locks: constant words and padded addresses are reused.
    return b"".join((_address_word(submitter), _OFFSET_0X40, n.to_bytes(32, "big"), data, bytes(-n % 32)))


#: The string's offset in ``abi.encode(address, string)``: two head words.
_OFFSET_0X40 = (64).to_bytes(32, "big")


@functools.lru_cache(maxsize=1 << 12)
def _address_word(submitter: str) -> bytes:
    return bytes(12) + _address(submitter, "submitter")


def obligation_key(submitter: str, obligation_id: str) -> bytes:
    """An obligation's 32-byte on-chain key: ``keccak256(abi.encode(address submitter, string id))``.

    ``submitter`` is the address of the member that submitted it (ids are
    unique per submitter, so two members may use the same id and still get
    two keys). In ethers: ``keccak256(AbiCoder.defaultAbiCoder().encode(["address",
    "string"], [submitter, id]))``; with cast: ``cast keccak $(cast abi-encode
    "f(address,string)" SUBMITTER ID)``.

    >>> a, b = "0x" + "ab" * 20, "0x" + "cd" * 20
    >>> obligation_key(a, "ord-1") == obligation_key(b, "ord-1"), len(obligation_key(a, "ord-1"))
    (False, 32)
    """
    return keccak256(encode_obligation_key(submitter, obligation_id))


def legacy_obligation_key(obligation_id: str) -> bytes:
    """The key of obligations recorded before ids were scoped to their submitter: ``keccak256`` of the UTF-8 id.

    Such obligations keep it (ledger migration 0004 stored it), so roots
    committed with it stay verifiable; new obligations use :func:`obligation_key`.

    >>> legacy_obligation_key("ord-1").hex()[:16]
    'ad6de6e2b7aef867'
    """
    return keccak256(_check_id(obligation_id))


@functools.lru_cache(maxsize=1 << 16)
def _address(value: str, field: str) -> bytes:
    """20 address bytes; mixed case must carry a valid EIP-55 checksum.

    Cached: a cycle names the same few members thousands of times, and the
    checksum check is a keccak per call.
    """
    if (
        not isinstance(value, str)
        or len(value) != 42
        or value[:2] not in ("0x", "0X")
        or not _HEX.issuperset(value[2:])
    ):
        raise InvalidAddress(f"{field} must be a 0x-prefixed 20-byte hex address, got {value!r}", field=field)
    body = value[2:]
    if body != body.lower() and body != body.upper():
        digest = keccak256(body.lower().encode("ascii")).hex()
        expected = "".join(ch.upper() if int(digest[j], 16) >= 8 else ch for j, ch in enumerate(body.lower()))
        if body != expected:
            raise InvalidAddress(f"{field} {value!r} has a bad EIP-55 checksum", field=field)
    return bytes.fromhex(body)


def encode_leaf(cycle_id: int, obligation_key: bytes, debtor: str, creditor: str, amount: int) -> bytes:
    """``abi.encode(uint64, bytes32, address, address, uint256)``: 160 bytes.

    Hand-rolled (every field is static, one 32-byte word each) because it is
    ~20x faster than ``eth_abi.encode``; the tests check both agree.

    >>> len(encode_leaf(1, bytes(32), "0x" + "00" * 20, "0x" + "ff" * 20, 5))
    160
    """
    if type(cycle_id) is not int or not 0 <= cycle_id <= _UINT64_MAX:
        raise InvalidLeaf(f"cycle id must be a uint64, got {cycle_id!r}", field="cycle_id")
    if not isinstance(obligation_key, (bytes, bytearray)) or len(obligation_key) != 32:
        raise InvalidLeaf("obligation key must be 32 bytes", field="obligation_key")
    if type(amount) is not int or not 0 <= amount <= UINT256_MAX:
        raise InvalidLeaf(f"amount must be a uint256, got {amount!r}", field="amount")
    return b"".join(
        (
            cycle_id.to_bytes(32, "big"),
            bytes(obligation_key),
            bytes(12) + _address(debtor, "debtor"),
            bytes(12) + _address(creditor, "creditor"),
            amount.to_bytes(32, "big"),
        )
    )


def leaf_hash(cycle_id: int, obligation_key: bytes, debtor: str, creditor: str, amount: int) -> bytes:
    """The committed leaf: ``keccak256(keccak256(abi.encode(...)))``.

    >>> leaf_hash(1, legacy_obligation_key("x"), "0x" + "ab" * 20, "0x" + "cd" * 20, 10).hex()[:16]
    '351c65a5be0edca0'
    """
    return keccak256(keccak256(encode_leaf(cycle_id, obligation_key, debtor, creditor, amount)))


def obligation_leaf(cycle_id: int, obligation: Obligation, submitter: str) -> bytes:
    """:func:`leaf_hash` of an obligation whose members are addresses, submitted by ``submitter`` (an address).

    >>> o = Obligation("x", "0x" + "ab" * 20, "0x" + "cd" * 20, 10)
    >>> obligation_leaf(1, o, o.debtor) == leaf_hash(1, obligation_key(o.debtor, "x"), o.debtor, o.creditor, 10)
    True
    """
    key = obligation_key(submitter, obligation.id)
    return leaf_hash(cycle_id, key, obligation.debtor, obligation.creditor, obligation.amount)


def hash_pair(a: bytes, b: bytes) -> bytes:
    """``keccak256`` of the two nodes in ascending order (OZ ``Hashes.commutativeKeccak256``)."""
    return keccak256(a + b) if a < b else keccak256(b + a)


class MerkleTree:
    """OZ ``StandardMerkleTree`` layout over already-hashed 32-byte leaves.

    Leaves are sorted and must be distinct (a cycle's obligation keys are
    unique, so a repeat is a bug upstream). One leaf: the root is the leaf
    and its proof is empty. Building 10,000 leaves takes a few tens of ms.

    >>> t = MerkleTree([bytes([i]) * 32 for i in (3, 1, 2)])
    >>> t.leaves == tuple(sorted(bytes([i]) * 32 for i in (1, 2, 3)))
    True
    >>> [p.hex()[:4] for p in t.proof(bytes([1]) * 32)]
    ['0202', '0303']
    >>> MerkleTree([]).root
    Traceback (most recent call last):
    ...
    clearing.domain.errors.InvalidLeaf: a Merkle tree needs at least one leaf
    """

    __slots__ = ("leaves", "_tree", "_index")

    def __init__(self, leaves: Sequence[bytes] | Iterable[bytes]) -> None:
        items = [bytes(leaf) for leaf in leaves]
        if not items:
            raise InvalidLeaf("a Merkle tree needs at least one leaf", field="leaves")
        for leaf in items:
            if len(leaf) != 32:
                raise InvalidLeaf(f"leaves must be 32 bytes, got {len(leaf)}", field="leaves")
        items.sort()
        for x, y in zip(items, items[1:], strict=False):  # neighbours: one shorter
            if x == y:
                raise InvalidLeaf(f"duplicate leaf 0x{x.hex()}", field="leaves")
        n = len(items)
        size = 2 * n - 1
        tree: list[bytes] = [b""] * size
        for i, leaf in enumerate(items):
            tree[size - 1 - i] = leaf
        for i in range(size - 1 - n, -1, -1):
            left, right = tree[2 * i + 1], tree[2 * i + 2]
            tree[i] = _keccak(left + right) if left < right else _keccak(right + left)
        self.leaves: tuple[bytes, ...] = tuple(items)
        self._tree = tree
        self._index = {leaf: size - 1 - i for i, leaf in enumerate(items)}

    @property
    def root(self) -> bytes:
        return self._tree[0]

    def proof(self, leaf: bytes) -> list[bytes]:
        """Sibling hashes from the leaf up to (not including) the root."""
        try:
            i = self._index[bytes(leaf)]
        except KeyError:
            raise LeafNotFound(f"leaf 0x{bytes(leaf).hex()} is not in the tree", field="leaf") from None
        out = []
        while i > 0:
            out.append(self._tree[i + 1 if i % 2 else i - 1])
            i = (i - 1) // 2
        return out


def verify_proof(proof: Sequence[bytes], root: bytes, leaf: bytes) -> bool:
    """OZ ``MerkleProof.verify``: fold the proof with sorted-pair hashing.

    >>> verify_proof([], b"\\x01" * 32, b"\\x01" * 32)
    True
    """
    node = bytes(leaf)
    for sibling in proof:
        node = hash_pair(node, bytes(sibling))
    return node == bytes(root)


_keccak = keccak256
