// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @notice Test-only: recomputes the clearing house's obligation leaf and
/// verifies a proof with OpenZeppelin's MerkleProof, so the Python Merkle
/// code (clearing.domain.merkle) is checked against the EVM, not itself.
contract MerkleCheck {
    /// @notice keccak256(bytes.concat(keccak256(abi.encode(...)))): OZ StandardMerkleTree's double-hashed leaf.
    function leaf(uint64 cycleId, bytes32 obligationKey, address debtor, address creditor, uint256 amount)
        public
        pure
        returns (bytes32)
    {
        return keccak256(bytes.concat(keccak256(abi.encode(cycleId, obligationKey, debtor, creditor, amount))));
    }

    /// @notice Whether the obligation is under `root` with `proof`.
    function verify(
        bytes32[] calldata proof,
        bytes32 root,
        uint64 cycleId,
        bytes32 obligationKey,
        address debtor,
        address creditor,
        uint256 amount
    ) external pure returns (bool) {
        return MerkleProof.verify(proof, root, leaf(cycleId, obligationKey, debtor, creditor, amount));
    }

    /// @notice The obligation key of an id scoped to its submitter: keccak256(abi.encode(submitter, id)).
    function obligationKey(address submitter, string calldata id) external pure returns (bytes32) {
        return keccak256(abi.encode(submitter, id));
    }

    /// @notice OZ's verifier alone, for raw leaves.
    function verifyLeaf(bytes32[] calldata proof, bytes32 root, bytes32 leafHash) external pure returns (bool) {
        return MerkleProof.verify(proof, root, leafHash);
    }
}
