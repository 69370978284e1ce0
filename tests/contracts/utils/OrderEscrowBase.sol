// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

import {OrderEscrow} from "../../../contracts/OrderEscrow.sol";
import {IOrderEscrow} from "../../../contracts/interfaces/IOrderEscrow.sol";
import {SettlementToken} from "../../../contracts/test/SettlementToken.sol";
import {Test} from "./Test.sol";

/// @notice Shared fixture: an escrow with an operator, a debtor and a creditor.
abstract contract OrderEscrowBase is Test {
    uint256 internal constant D = 1e6;
    uint64 internal constant WINDOW = 2 days;
    bytes32 internal constant OID = keccak256("order-1");

    address internal constant DEBTOR = address(0x1001);
    address internal constant CREDITOR = address(0x1002);
    address internal constant ADMIN = address(0x3001);
    address internal constant OPERATOR = address(0x3002);
    address internal constant STRANGER = address(0x4001);

    SettlementToken internal token;
    OrderEscrow internal escrow;
    bytes32 internal OPERATOR_ROLE;
    uint64 internal t0;

    function setUp() public virtual {
        vm.warp(1_700_000_000);
        t0 = uint64(block.timestamp);
        token = new SettlementToken();
        escrow = new OrderEscrow(token, ADMIN);
        OPERATOR_ROLE = escrow.OPERATOR_ROLE();
        vm.prank(ADMIN);
        escrow.grantRole(OPERATOR_ROLE, OPERATOR);
        address[3] memory holders = [DEBTOR, CREDITOR, STRANGER];
        for (uint256 i; i < holders.length; ++i) {
            token.mint(holders[i], 100_000 * D);
            vm.prank(holders[i]);
            token.approve(address(escrow), type(uint256).max);
        }
    }

    function _fund(bytes32 orderId, uint256 amount) internal {
        vm.prank(DEBTOR);
        escrow.fund(orderId, CREDITOR, amount, WINDOW);
    }

    function _unauthorized(address account, bytes32 role) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, account, role);
    }

    function _err(bytes4 selector, bytes32 orderId) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(selector, orderId);
    }

    /// @dev E1 and E2 for one order.
    function _assertConserved(bytes32 orderId) internal view {
        IOrderEscrow.Order memory o = escrow.orderOf(orderId);
        assertEq(o.released + o.refunded + o.remaining, o.amount, "E2 released + refunded + remaining == amount");
        assertEq(token.balanceOf(address(escrow)), escrow.totalRemaining(), "E1 balance == totalRemaining");
    }
}
