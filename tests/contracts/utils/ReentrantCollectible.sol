// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";

/// @notice A hostile ERC-721: on every transfer it calls `target` with `payload`
/// once and bubbles any revert, so tests can show the vault's reentrancy guard holds.
contract ReentrantCollectible is ERC721 {
    address public target;
    bytes public payload;

    constructor() ERC721("Hostile", "HNFT") {}

    function mint(address to, uint256 tokenId) external {
        _mint(to, tokenId);
    }

    function arm(address target_, bytes calldata payload_) external {
        target = target_;
        payload = payload_;
    }

    function _update(address to, uint256 tokenId, address auth) internal override returns (address from) {
        from = super._update(to, tokenId, auth);
        address t = target;
        if (t != address(0)) {
            target = address(0); // one shot
            (bool ok, bytes memory ret) = t.call(payload);
            if (!ok) {
                assembly ("memory-safe") {
                    revert(add(ret, 0x20), mload(ret))
                }
            }
        }
    }
}
