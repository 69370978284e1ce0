// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ClearingHouseBase} from "./utils/ClearingHouseBase.sol";

/// @notice EIP-5267: the house describes the EIP-712 domain debtors sign obligations under.
contract ClearingHouseEip712Test is ClearingHouseBase {
    function test_eip712Domain_describesNameVersionChainAndContract() public view {
        (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        ) = house.eip712Domain();
        assertEq(uint8(fields), 0x0f, "fields: name, version, chainId, verifyingContract");
        assertEq(keccak256(bytes(name)), keccak256("ClearingHouse"), "name");
        assertEq(keccak256(bytes(version)), keccak256("1"), "version");
        assertEq(chainId, block.chainid, "chainId");
        assertEq(verifyingContract, address(house), "verifyingContract");
        assertEq(salt, bytes32(0), "salt");
        assertEq(extensions.length, 0, "extensions");
    }
}
