// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";

/// @title TestCollectible
/// @notice TEST ONLY: a plain OpenZeppelin ERC-721 that anyone can mint, for the
/// asset vault's tests. Never deploy it where tokens have value.
contract TestCollectible is ERC721 {
    constructor() ERC721("Test Collectible", "TCOL") {}

    /// @notice Mints `tokenId` to `to`. Emits {Transfer} from the zero address.
    function mint(address to, uint256 tokenId) external {
        _safeMint(to, tokenId);
    }
}
