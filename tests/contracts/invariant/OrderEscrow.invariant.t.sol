// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {OrderEscrow} from "../../../contracts/OrderEscrow.sol";
import {IOrderEscrow} from "../../../contracts/interfaces/IOrderEscrow.sol";
import {SettlementToken} from "../../../contracts/test/SettlementToken.sol";
import {Test} from "../utils/Test.sol";
import {OrderEscrowHandler} from "./OrderEscrowHandler.sol";

/// @notice OrderEscrow invariants E1-E3 under random lifecycles.
contract OrderEscrowInvariantTest is Test {
    OrderEscrowHandler internal handler;
    OrderEscrow internal escrow;
    SettlementToken internal token;

    function setUp() public {
        vm.warp(1_700_000_000);
        handler = new OrderEscrowHandler();
        escrow = handler.escrow();
        token = handler.token();
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// E1: tokens held == Σ remaining (== totalRemaining), beyond unswept plain transfers.
    function invariant_balanceEqualsSumOfRemaining() public view {
        bytes32[] memory ids = handler.orders();
        uint256 remaining;
        for (uint256 i; i < ids.length; ++i) {
            remaining += escrow.orderOf(ids[i]).remaining;
        }
        assertEq(escrow.totalRemaining(), remaining, "totalRemaining == sum of remaining");
        assertEq(token.balanceOf(address(escrow)), remaining + handler.ghostSurplus(), "E1 balance");
    }

    /// E2: per order, released + refunded + remaining == amount; closed exactly when empty.
    function invariant_ordersConserveTheirAmount() public view {
        bytes32[] memory ids = handler.orders();
        for (uint256 i; i < ids.length; ++i) {
            IOrderEscrow.Order memory o = escrow.orderOf(ids[i]);
            assertEq(o.released + o.refunded + o.remaining, o.amount, "E2 conservation");
            assertEq(o.status == IOrderEscrow.OrderStatus.CLOSED, o.remaining == 0, "closed iff empty");
        }
    }

    /// No token is created or lost: parties + escrow + swept == what was minted to parties and stranger.
    function invariant_tokensConserved() public view {
        address[] memory parties = handler.parties();
        uint256 sum = token.balanceOf(address(escrow)) + token.balanceOf(address(0xA3)) + handler.ghostSwept();
        for (uint256 i; i < parties.length; ++i) {
            sum += token.balanceOf(parties[i]);
        }
        assertEq(sum, 4 * handler.INITIAL(), "tokens conserved");
    }

    /// E3 and roles: funded once, closed orders never move, only entitled callers move funds,
    /// no claim before the window or while disputed, nothing moves while paused.
    function invariant_onlyEntitledMoves() public view {
        assertEq(handler.ghostDoubleFunds(), 0, "E3 order funded twice");
        assertEq(handler.ghostClosedMoves(), 0, "E3 closed order moved");
        assertEq(handler.ghostUnauthorizedMoves(), 0, "unentitled caller moved funds");
        assertEq(handler.ghostEarlyClaims(), 0, "claim or dispute outside its window");
        assertEq(handler.ghostPausedMovements(), 0, "funds moved while paused");
    }

    /// The handler is not vacuous: every fund-moving action takes effect on a plain walk.
    function test_handlerReachesEveryAction() public {
        for (uint256 i; i < 500; ++i) {
            uint256 r = uint256(keccak256(abi.encode("escrow", i)));
            uint256 a = r >> 8;
            uint256 b = r >> 64;
            uint256 k = r % 10;
            if (k <= 1) handler.fund(a, b, uint64(b >> 8), b % 8 == 0);
            else if (k == 2) handler.release(a, b, b >> 8);
            else if (k == 3) handler.refund(a, b, b >> 8);
            else if (k == 4) handler.dispute(a, b);
            else if (k == 5) handler.resolve(a, b, b >> 8);
            else if (k == 6) handler.claim(a);
            else if (k == 7) handler.warp(b);
            else if (k == 8) handler.togglePause(a);
            else if (b % 2 == 0) handler.donate(b);
            else handler.sweep();
        }
        string[7] memory mustAct = ["fund", "release", "refund", "resolve", "claim", "donate", "sweep"];
        for (uint256 i; i < mustAct.length; ++i) {
            assertGe(handler.effective(mustAct[i]), 1, mustAct[i]);
        }
        invariant_balanceEqualsSumOfRemaining();
        invariant_ordersConserveTheirAmount();
        invariant_tokensConserved();
        invariant_onlyEntitledMoves();
    }
}
