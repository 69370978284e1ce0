// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {SettlementToken} from "../../contracts/test/SettlementToken.sol";
import {Test} from "./utils/Test.sol";

/// @notice The dev-only TUSD token: metadata and owner-only minting.
contract SettlementTokenTest is Test {
    SettlementToken internal token;

    function setUp() public {
        token = new SettlementToken();
    }

    function test_metadata() public view {
        assertEq(keccak256(bytes(token.name())), keccak256("Test USD"), "name");
        assertEq(keccak256(bytes(token.symbol())), keccak256("TUSD"), "symbol");
        assertEq(uint256(token.decimals()), 6, "decimals");
        assertEq(token.owner(), address(this), "deployer owns");
        assertEq(token.totalSupply(), 0, "no premint");
    }

    function test_mint_byOwner() public {
        vm.expectEmit(address(token));
        emit IERC20.Transfer(address(0), address(0xBEEF), 5e6);
        token.mint(address(0xBEEF), 5e6);
        assertEq(token.balanceOf(address(0xBEEF)), 5e6, "minted");
        assertEq(token.totalSupply(), 5e6, "supply");
    }

    function test_mint_revertsForNonOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(0xBAD)));
        vm.prank(address(0xBAD));
        token.mint(address(0xBAD), 1);
    }
}
