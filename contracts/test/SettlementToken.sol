// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title SettlementToken
/// @notice DEV ONLY: a mintable stand-in for the settlement stablecoin ("Test USD",
/// TUSD, 6 decimals), deployed on local chains and test networks only. It meets
/// the token assumptions in {IClearingHouse}: plain ERC-20, no fee, no hooks.
/// Never deploy it where tokens have value: its owner can mint without limit.
contract SettlementToken is ERC20, Ownable {
    /// @dev The deployer becomes the owner, the only account that can mint.
    constructor() ERC20("Test USD", "TUSD") Ownable(msg.sender) {}

    /// @notice Mints `amount` (in 10^-6 TUSD) to `to`.
    /// Requirements: caller is the owner (else {OwnableUnauthorizedAccount}).
    /// Emits {Transfer} from the zero address.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }

    /// @notice 6, like USDC and USDT.
    function decimals() public pure override returns (uint8) {
        return 6;
    }
}
