from __future__ import annotations

import json
import random
import time
from pathlib import Path

import eth_abi
import eth_utils
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearing.domain import errors
from clearing.domain.merkle import (
    LEAF_ENCODING,
    MerkleTree,
    encode_leaf,
    encode_obligation_key,
    hash_pair,
    leaf_hash,
    legacy_obligation_key,
    obligation_key,
    obligation_leaf,
    verify_proof,
)
from clearing.domain.types import Obligation

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
VECTORS = HERE / "merkle_vectors.json"

addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
leaf_fields = st.tuples(
    st.integers(0, 2**64 - 1), st.text(min_size=1, max_size=20), addresses, addresses, st.integers(0, 2**256 - 1)
)
#: Ids of any length and script: the string's padding and UTF-8 length are where an encoder goes wrong.
ids = st.text(min_size=1, max_size=80)


def reference_key(submitter, oid):
    """Independent: eth_abi's ``abi.encode(address, string)``."""
    return eth_utils.keccak(eth_abi.encode(["address", "string"], [submitter, oid]))


def reference_leaf(cycle_id, oid, debtor, creditor, amount):
    """Independent: eth_abi + eth_utils, not our hand-rolled encoder (the debtor submitted it)."""
    key = reference_key(debtor, oid)
    enc = eth_abi.encode(list(LEAF_ENCODING), [cycle_id, key, debtor, creditor, amount])
    return eth_utils.keccak(eth_utils.keccak(enc))


@settings(max_examples=200, deadline=None)
@given(addresses, ids)
def test_obligation_key_matches_eth_abi(submitter, oid):
    assert encode_obligation_key(submitter, oid) == eth_abi.encode(["address", "string"], [submitter, oid])
    assert obligation_key(submitter, oid) == reference_key(submitter, oid)


def test_obligation_key_is_scoped_to_the_submitter():
    a, b = "0x" + "ab" * 20, "0x" + "cd" * 20
    assert obligation_key(a, "X") != obligation_key(b, "X") != obligation_key(b, "Y")
    assert obligation_key(a, "X") == obligation_key(a.upper().replace("0X", "0x"), "X")  # the address, not its text
    # the key of obligations recorded before migration 0004 is unchanged
    assert legacy_obligation_key("ord-1") == eth_utils.keccak(text="ord-1")
    assert legacy_obligation_key("X") not in (obligation_key(a, "X"), obligation_key(b, "X"))
    for bad in ("", None):
        with pytest.raises(errors.InvalidLeaf):
            obligation_key(a, bad)
        with pytest.raises(errors.InvalidLeaf):
            legacy_obligation_key(bad)
    with pytest.raises(errors.InvalidAddress):
        obligation_key("0x12", "X")


def reference_root(leaves):
    """Independent OZ StandardMerkleTree root: the same recursion written naively."""
    tree = [None] * (2 * len(leaves) - 1)
    for i, leaf in enumerate(sorted(leaves)):
        tree[len(tree) - 1 - i] = leaf
    for i in range(len(tree) - 1 - len(leaves), -1, -1):
        a, b = tree[2 * i + 1], tree[2 * i + 2]
        tree[i] = eth_utils.keccak(b"".join(sorted([a, b])))
    return tree[0]


@settings(max_examples=60, deadline=None)
@given(leaf_fields)
def test_leaf_matches_eth_abi(fields):
    cycle_id, oid, debtor, creditor, amount = fields
    key = obligation_key(debtor, oid)
    assert leaf_hash(cycle_id, key, debtor, creditor, amount) == reference_leaf(*fields)
    assert encode_leaf(cycle_id, key, debtor, creditor, amount) == eth_abi.encode(
        list(LEAF_ENCODING), [cycle_id, key, debtor, creditor, amount]
    )


def test_checksummed_and_lower_addresses_give_the_same_leaf():
    addr = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
    key = obligation_key(addr, "o")
    assert leaf_hash(1, key, addr, addr.lower(), 1) == leaf_hash(
        1, key, addr.lower(), addr.upper().replace("0X", "0x"), 1
    )


@pytest.mark.parametrize(
    "debtor",
    [
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD",
        "0x123",
        "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed00",
        "0x" + "zz" * 20,
        7,
    ],
)
def test_bad_address(debtor):
    with pytest.raises(errors.InvalidAddress):
        leaf_hash(1, legacy_obligation_key("o"), debtor, "0x" + "00" * 20, 1)


@pytest.mark.parametrize(
    "args",
    [(2**64, bytes(32), 1), (-1, bytes(32), 1), (1, bytes(31), 1), (1, bytes(32), 2**256), (1, bytes(32), -1)],
)
def test_bad_leaf_fields(args):
    cycle_id, key, amount = args
    with pytest.raises(errors.InvalidLeaf):
        leaf_hash(cycle_id, key, "0x" + "00" * 20, "0x" + "11" * 20, amount)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=70, unique=True), st.randoms())
def test_every_proof_verifies_and_tampering_fails(leaves, rnd):
    tree = MerkleTree(leaves)
    assert tree.root == reference_root(leaves)
    assert MerkleTree(list(reversed(leaves))).root == tree.root  # order of input does not matter
    for leaf in leaves:
        proof = tree.proof(leaf)
        assert verify_proof(proof, tree.root, leaf)
        other = bytes(32) if leaf != bytes(32) else b"\x01" * 32
        if other not in leaves:
            assert not verify_proof(proof, tree.root, other)
        if proof:
            bad = list(proof)
            k = rnd.randrange(len(bad))
            bad[k] = bytes([bad[k][0] ^ 1]) + bad[k][1:]
            assert not verify_proof(bad, tree.root, leaf)
            assert not verify_proof(proof[:-1], tree.root, leaf)


def test_tree_shapes():
    one = b"\x07" * 32
    assert MerkleTree([one]).root == one and MerkleTree([one]).proof(one) == []
    a, b = b"\x02" * 32, b"\x01" * 32
    assert MerkleTree([a, b]).root == hash_pair(a, b) == eth_utils.keccak(b + a)
    with pytest.raises(errors.InvalidLeaf):
        MerkleTree([a, a])
    with pytest.raises(errors.InvalidLeaf):
        MerkleTree([b"\x01" * 31])
    with pytest.raises(errors.LeafNotFound):
        MerkleTree([a]).proof(b)


def test_ten_thousand_leaves_fast():
    rnd = random.Random(1)
    addrs = ["0x" + rnd.randbytes(20).hex() for _ in range(50)]
    t = time.perf_counter()
    leaves = [
        leaf_hash(9, obligation_key(addrs[i % 50], f"o{i}"), addrs[i % 50], addrs[(i + 1) % 50], 10**20 + i)
        for i in range(10_000)
    ]
    tree = MerkleTree(leaves)
    proofs = [tree.proof(leaf) for leaf in leaves]
    elapsed = time.perf_counter() - t
    assert elapsed < 1.0, elapsed
    assert all(len(p) in (13, 14) for p in proofs)
    assert verify_proof(proofs[1234], tree.root, leaves[1234])


# -- fixed vectors: the same leaves and root in every language ----------------------


def _vector_obligations():
    rnd = random.Random(2024)
    out = []
    for i in range(7):
        d, c = rnd.randbytes(20), rnd.randbytes(20)
        out.append(
            Obligation(
                f"order-{i}",
                eth_utils.to_checksum_address(d),
                "0x" + c.hex(),
                rnd.randrange(1, 2**200) if i % 2 else rnd.randrange(1, 10**9),
            )
        )
    return out


def _submitter(i: int, o: Obligation) -> str:
    """Odd vectors were submitted by their creditor (with the debtor's signature), even ones by their debtor."""
    return o.creditor if i % 2 else o.debtor


def _vectors():
    obs = _vector_obligations()
    leaves = [obligation_leaf(42, o, _submitter(i, o)) for i, o in enumerate(obs)]
    tree = MerkleTree(leaves)
    return {
        "description": "clearing.domain.merkle test vectors: OZ StandardMerkleTree, leaf encoding "
        + json.dumps(list(LEAF_ENCODING))
        + ", obligationKey = keccak256(abi.encode(address submitter, string id))",
        "cycleId": 42,
        "root": "0x" + tree.root.hex(),
        "obligations": [
            {
                "id": o.id,
                "submitter": _submitter(i, o),
                "obligationKey": "0x" + obligation_key(_submitter(i, o), o.id).hex(),
                "debtor": o.debtor,
                "creditor": o.creditor,
                "amount": str(o.amount),
                "leaf": "0x" + leaf.hex(),
                "proof": ["0x" + p.hex() for p in tree.proof(leaf)],
            }
            for i, (o, leaf) in enumerate(zip(obs, leaves, strict=True))
        ],
    }


def test_vectors_file_is_current():
    """The committed vectors (for the contract and JS tooling) match the code."""
    assert json.loads(VECTORS.read_text()) == _vectors()


# -- on chain: OpenZeppelin's MerkleProof in the EVM ----------------------------------


@pytest.fixture(scope="module")
def merkle_check():
    """OpenZeppelin's MerkleProof compiled by the project's own pipeline (tools/solc, shared settings)."""
    from web3 import EthereumTesterProvider, Web3

    from clearing.adapters.chain.compile import compile_sources

    unit = str((HERE / "MerkleCheck.sol").relative_to(REPO))
    out = compile_sources({unit: unit})["MerkleCheck"]
    # the wrapper resolved the named import from node_modules
    assert out["metadata"] and "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol" in out["metadata"]
    w3 = Web3(EthereumTesterProvider())
    factory = w3.eth.contract(abi=out["abi"], bytecode=out["bytecode"])
    tx = factory.constructor().transact({"from": w3.eth.accounts[0]})
    address = w3.eth.wait_for_transaction_receipt(tx)["contractAddress"]
    return w3.eth.contract(address=address, abi=out["abi"])


def test_vectors_verify_on_chain(merkle_check):
    vec = _vectors()
    root = bytes.fromhex(vec["root"][2:])
    for item in vec["obligations"]:
        key = bytes.fromhex(item["obligationKey"][2:])
        submitter = eth_utils.to_checksum_address(item["submitter"])
        assert merkle_check.functions.obligationKey(submitter, item["id"]).call() == key  # Solidity's abi.encode
        proof = [bytes.fromhex(p[2:]) for p in item["proof"]]
        debtor = eth_utils.to_checksum_address(item["debtor"])
        creditor = eth_utils.to_checksum_address(item["creditor"])
        amount = int(item["amount"])
        assert merkle_check.functions.leaf(vec["cycleId"], key, debtor, creditor, amount).call() == bytes.fromhex(
            item["leaf"][2:]
        )
        assert merkle_check.functions.verify(proof, root, vec["cycleId"], key, debtor, creditor, amount).call()
        # tampered: another amount, another cycle, a flipped proof byte
        assert not merkle_check.functions.verify(proof, root, vec["cycleId"], key, debtor, creditor, amount + 1).call()
        assert not merkle_check.functions.verify(proof, root, vec["cycleId"] + 1, key, debtor, creditor, amount).call()
        bad = [bytes([proof[0][0] ^ 0x80]) + proof[0][1:]] + proof[1:]
        assert not merkle_check.functions.verify(bad, root, vec["cycleId"], key, debtor, creditor, amount).call()


def test_random_tree_verifies_on_chain(merkle_check):
    rnd = random.Random(11)
    leaves = [rnd.randbytes(32) for _ in range(33)]
    tree = MerkleTree(leaves)
    for leaf in leaves[::4]:
        assert merkle_check.functions.verifyLeaf(tree.proof(leaf), tree.root, leaf).call()
        other = leaves[0] if leaf != leaves[0] else leaves[1]
        assert not merkle_check.functions.verifyLeaf(tree.proof(leaf), tree.root, other).call()
