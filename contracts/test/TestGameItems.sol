// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";

/// @title TestGameItems
/// @notice TEST ONLY: a plain OpenZeppelin ERC-1155 that anyone can mint, for the
/// asset vault's tests. Never deploy it where tokens have value.
contract TestGameItems is ERC1155 {
    constructor() ERC1155("") {}

    /// @notice Mints `amount` of `id` to `to`. Emits {TransferSingle} from the zero address.
    function mint(address to, uint256 id, uint256 amount) external {
        _mint(to, id, amount, "");
    }
}
