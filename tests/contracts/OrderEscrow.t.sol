// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {OrderEscrow} from "../../contracts/OrderEscrow.sol";
import {IOrderEscrow} from "../../contracts/interfaces/IOrderEscrow.sol";
import {OrderEscrowBase} from "./utils/OrderEscrowBase.sol";

/// @notice One test per entry point and per custom error of OrderEscrow.
contract OrderEscrowTest is OrderEscrowBase {
    bytes32 internal constant ADMIN_ROLE = 0x00;

    // ───────────── constructor ─────────────

    function test_constructor_setsTokenAndAdmin() public view {
        assertEq(address(escrow.token()), address(token), "token");
        assertTrue(escrow.hasRole(ADMIN_ROLE, ADMIN), "admin");
        assertEq(OPERATOR_ROLE, keccak256("OPERATOR_ROLE"), "role id");
        assertEq(uint256(escrow.MAX_DISPUTE_WINDOW()), 90 days, "window cap");
    }

    function test_constructor_revertsOnZeroToken() public {
        vm.expectRevert(abi.encodeWithSelector(IOrderEscrow.OrderEscrowZeroAddress.selector));
        new OrderEscrow(IERC20(address(0)), ADMIN);
    }

    function test_constructor_revertsOnZeroAdmin() public {
        vm.expectRevert(abi.encodeWithSelector(IOrderEscrow.OrderEscrowZeroAddress.selector));
        new OrderEscrow(token, address(0));
    }

    // ───────────── fund ─────────────

    function test_fund_storesOrderPullsTokensAndEmits() public {
        uint256 before = token.balanceOf(DEBTOR);
        vm.expectEmit(address(escrow));
        emit IOrderEscrow.OrderFunded(OID, DEBTOR, CREDITOR, 120 * D, t0 + WINDOW);
        _fund(OID, 120 * D);

        IOrderEscrow.Order memory o = escrow.orderOf(OID);
        assertEq(o.debtor, DEBTOR, "debtor");
        assertEq(o.creditor, CREDITOR, "creditor");
        assertEq(o.amount, 120 * D, "amount");
        assertEq(o.remaining, 120 * D, "remaining");
        assertEq(uint256(o.disputeDeadline), uint256(t0 + WINDOW), "deadline");
        assertEq(uint256(o.status), uint256(IOrderEscrow.OrderStatus.FUNDED), "status");
        assertEq(token.balanceOf(DEBTOR), before - 120 * D, "pulled");
        assertEq(escrow.totalRemaining(), 120 * D, "total");
        _assertConserved(OID);
    }

    function test_fund_revertsOnZeroOrderId() public {
        vm.expectRevert(abi.encodeWithSelector(IOrderEscrow.OrderEscrowZeroOrderId.selector));
        vm.prank(DEBTOR);
        escrow.fund(bytes32(0), CREDITOR, 1, WINDOW);
    }

    function test_fund_revertsWhenOrderExists() public {
        _fund(OID, 1);
        vm.expectRevert(_err(IOrderEscrow.OrderEscrowOrderExists.selector, OID));
        _fund(OID, 1);
    }

    function test_fund_revertsOnZeroCreditor() public {
        vm.expectRevert(abi.encodeWithSelector(IOrderEscrow.OrderEscrowInvalidCreditor.selector, address(0)));
        vm.prank(DEBTOR);
        escrow.fund(OID, address(0), 1, WINDOW);
    }

    function test_fund_revertsWhenCreditorIsDebtor() public {
        vm.expectRevert(abi.encodeWithSelector(IOrderEscrow.OrderEscrowInvalidCreditor.selector, DEBTOR));
        vm.prank(DEBTOR);
        escrow.fund(OID, DEBTOR, 1, WINDOW);
    }

    function test_fund_revertsOnZeroAmount() public {
        vm.expectRevert(abi.encodeWithSelector(IOrderEscrow.OrderEscrowZeroAmount.selector));
        vm.prank(DEBTOR);
        escrow.fund(OID, CREDITOR, 0, WINDOW);
    }

    function test_fund_revertsOnWindowTooLong() public {
        vm.expectRevert(
            abi.encodeWithSelector(IOrderEscrow.OrderEscrowWindowTooLong.selector, uint64(91 days), uint64(90 days))
        );
        vm.prank(DEBTOR);
        escrow.fund(OID, CREDITOR, 1, 91 days);
    }

    function test_fund_revertsWhenPaused() public {
        vm.prank(ADMIN);
        escrow.pause();
        vm.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
        _fund(OID, 1);
    }

    // ───────────── release ─────────────

    function test_release_byDebtorInFullCloses() public {
        _fund(OID, 120 * D);
        uint256 before = token.balanceOf(CREDITOR);
        vm.expectEmit(address(escrow));
        emit IOrderEscrow.OrderReleased(OID, CREDITOR, 120 * D, 0);
        vm.expectEmit(address(escrow));
        emit IOrderEscrow.OrderClosed(OID);
        vm.prank(DEBTOR);
        escrow.release(OID, 120 * D);
        assertEq(token.balanceOf(CREDITOR), before + 120 * D, "creditor paid");
        assertEq(uint256(escrow.orderOf(OID).status), uint256(IOrderEscrow.OrderStatus.CLOSED), "closed");
        _assertConserved(OID);
    }

    function test_release_byOperatorPartially() public {
        _fund(OID, 120 * D);
        vm.expectEmit(address(escrow));
        emit IOrderEscrow.OrderReleased(OID, CREDITOR, 20 * D, 100 * D);
        vm.prank(OPERATOR);
        escrow.release(OID, 20 * D);
        IOrderEscrow.Order memory o = escrow.orderOf(OID);
        assertEq(o.remaining, 100 * D, "remaining");
        assertEq(o.released, 20 * D, "released");
        assertEq(uint256(o.status), uint256(IOrderEscrow.OrderStatus.FUNDED), "still open");
        _assertConserved(OID);
    }

    function test_release_debtorMayConcedeDispute() public {
        _fund(OID, 50 * D);
        vm.startPrank(DEBTOR);
        escrow.dispute(OID);
        escrow.release(OID, 50 * D);
        vm.stopPrank();
        assertEq(uint256(escrow.orderOf(OID).status), uint256(IOrderEscrow.OrderStatus.CLOSED), "closed");
    }

    function test_release_revertsForCreditor() public {
        _fund(OID, 1);
        vm.expectRevert(abi.encodeWithSelector(IOrderEscrow.OrderEscrowUnauthorized.selector, OID, CREDITOR));
        vm.prank(CREDITOR);
        escrow.release(OID, 1);
    }

    function test_release_revertsForStranger() public {
        _fund(OID, 1);
        vm.expectRevert(abi.encodeWithSelector(IOrderEscrow.OrderEscrowUnauthorized.selector, OID, STRANGER));
        vm.prank(STRANGER);
        escrow.release(OID, 1);
    }

    function test_release_revertsBeyondRemaining() public {
        _fund(OID, 10 * D);
        vm.expectRevert(
            abi.encodeWithSelector(IOrderEscrow.OrderEscrowExceedsRemaining.selector, OID, 10 * D, 10 * D + 1)
        );
        vm.prank(DEBTOR);
        escrow.release(OID, 10 * D + 1);
    }

    function test_release_revertsOnZeroAmount() public {
        _fund(OID, 10 * D);
        vm.expectRevert(abi.encodeWithSelector(IOrderEscrow.OrderEscrowZeroAmount.selector));
        vm.prank(DEBTOR);
        escrow.release(OID, 0);
    }

    function test_release_revertsForUnknownOrder() public {
        vm.expectRevert(_err(IOrderEscrow.OrderEscrowUnknownOrder.selector, OID));
        vm.prank(DEBTOR);
        escrow.release(OID, 1);
    }

    function test_release_revertsWhenClosed() public {
        _fund(OID, 1);
        vm.prank(DEBTOR);
        escrow.release(OID, 1);
        vm.expectRevert(_err(IOrderEscrow.OrderEscrowOrderClosed.selector, OID));
        vm.prank(DEBTOR);
        escrow.release(OID, 1);
    }

    function test_release_revertsWhenPaused() public {
        _fund(OID, 1);
        vm.prank(ADMIN);
        escrow.pause();
        vm.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
        vm.prank(DEBTOR);
        escrow.release(OID, 1);
    }

    // ───────────── refund ─────────────

    function test_refund_byCreditorReturnsToDebtor() public {
        _fund(OID, 80 * D);
        uint256 before = token.balanceOf(DEBTOR);
        vm.expectEmit(address(escrow));
        emit IOrderEscrow.OrderRefunded(OID, DEBTOR, 80 * D, 0);
        vm.expectEmit(address(escrow));
        emit IOrderEscrow.OrderClosed(OID);
        vm.prank(CREDITOR);
        escrow.refund(OID, 80 * D);
        assertEq(token.balanceOf(DEBTOR), before + 80 * D, "debtor refunded");
        assertEq(escrow.orderOf(OID).refunded, 80 * D, "refunded");
        _assertConserved(OID);
    }

    function test_refund_byOperatorAfterPartialRelease() public {
        _fund(OID, 80 * D);
        vm.prank(DEBTOR);
        escrow.release(OID, 30 * D);
        vm.prank(OPERATOR);
        escrow.refund(OID, 50 * D);
        IOrderEscrow.Order memory o = escrow.orderOf(OID);
        assertEq(o.released, 30 * D, "released");
        assertEq(o.refunded, 50 * D, "refunded");
        assertEq(uint256(o.status), uint256(IOrderEscrow.OrderStatus.CLOSED), "closed");
        _assertConserved(OID);
    }

    function test_refund_revertsForDebtor() public {
        _fund(OID, 1);
        vm.expectRevert(abi.encodeWithSelector(IOrderEscrow.OrderEscrowUnauthorized.selector, OID, DEBTOR));
        vm.prank(DEBTOR);
        escrow.refund(OID, 1);
    }

    function test_refund_revertsBeyondRemaining() public {
        _fund(OID, 5);
        vm.expectRevert(abi.encodeWithSelector(IOrderEscrow.OrderEscrowExceedsRemaining.selector, OID, 5, 6));
        vm.prank(CREDITOR);
        escrow.refund(OID, 6);
    }

    function test_refund_revertsOnZeroAmount() public {
        _fund(OID, 5);
        vm.expectRevert(abi.encodeWithSelector(IOrderEscrow.OrderEscrowZeroAmount.selector));
        vm.prank(CREDITOR);
        escrow.refund(OID, 0);
    }

    function test_refund_revertsForUnknownOrder() public {
        vm.expectRevert(_err(IOrderEscrow.OrderEscrowUnknownOrder.selector, OID));
        vm.prank(CREDITOR);
        escrow.refund(OID, 1);
    }

    function test_refund_revertsWhenClosed() public {
        _fund(OID, 1);
        vm.prank(CREDITOR);
        escrow.refund(OID, 1);
        vm.expectRevert(_err(IOrderEscrow.OrderEscrowOrderClosed.selector, OID));
        vm.prank(CREDITOR);
        escrow.refund(OID, 1);
    }

    function test_refund_revertsWhenPaused() public {
        _fund(OID, 1);
        vm.prank(ADMIN);
        escrow.pause();
        vm.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
        vm.prank(CREDITOR);
        escrow.refund(OID, 1);
    }

    // ───────────── dispute ─────────────

    function test_dispute_byDebtorBeforeDeadline() public {
        _fund(OID, 10 * D);
        vm.warp(t0 + WINDOW - 1);
        vm.expectEmit(address(escrow));
        emit IOrderEscrow.OrderDisputed(OID, DEBTOR);
        vm.prank(DEBTOR);
        escrow.dispute(OID);
        assertEq(uint256(escrow.orderOf(OID).status), uint256(IOrderEscrow.OrderStatus.DISPUTED), "disputed");
    }

    function test_dispute_allowedWhilePaused() public {
        _fund(OID, 10 * D);
        vm.prank(ADMIN);
        escrow.pause();
        vm.prank(DEBTOR);
        escrow.dispute(OID);
        assertEq(uint256(escrow.orderOf(OID).status), uint256(IOrderEscrow.OrderStatus.DISPUTED), "disputed");
    }

    function test_dispute_revertsForCreditor() public {
        _fund(OID, 10 * D);
        vm.expectRevert(abi.encodeWithSelector(IOrderEscrow.OrderEscrowUnauthorized.selector, OID, CREDITOR));
        vm.prank(CREDITOR);
        escrow.dispute(OID);
    }

    function test_dispute_revertsAtDeadline() public {
        _fund(OID, 10 * D);
        vm.warp(t0 + WINDOW);
        vm.expectRevert(abi.encodeWithSelector(IOrderEscrow.OrderEscrowWindowClosed.selector, OID, t0 + WINDOW));
        vm.prank(DEBTOR);
        escrow.dispute(OID);
    }

    function test_dispute_revertsWhenAlreadyDisputed() public {
        _fund(OID, 10 * D);
        vm.startPrank(DEBTOR);
        escrow.dispute(OID);
        vm.expectRevert(_err(IOrderEscrow.OrderEscrowDisputed.selector, OID));
        escrow.dispute(OID);
        vm.stopPrank();
    }

    function test_dispute_revertsForUnknownOrder() public {
        vm.expectRevert(_err(IOrderEscrow.OrderEscrowUnknownOrder.selector, OID));
        vm.prank(DEBTOR);
        escrow.dispute(OID);
    }

    function test_dispute_revertsWhenClosed() public {
        _fund(OID, 1);
        vm.startPrank(DEBTOR);
        escrow.release(OID, 1);
        vm.expectRevert(_err(IOrderEscrow.OrderEscrowOrderClosed.selector, OID));
        escrow.dispute(OID);
        vm.stopPrank();
    }

    // ───────────── resolveDispute ─────────────

    function test_resolveDispute_splitsAndCloses() public {
        _fund(OID, 100 * D);
        vm.prank(DEBTOR);
        escrow.dispute(OID);
        uint256 creditorBefore = token.balanceOf(CREDITOR);
        uint256 debtorBefore = token.balanceOf(DEBTOR);
        vm.expectEmit(address(escrow));
        emit IOrderEscrow.DisputeResolved(OID, 70 * D, 30 * D);
        vm.expectEmit(address(escrow));
        emit IOrderEscrow.OrderClosed(OID);
        vm.prank(OPERATOR);
        escrow.resolveDispute(OID, 70 * D, 30 * D);
        assertEq(token.balanceOf(CREDITOR), creditorBefore + 70 * D, "creditor share");
        assertEq(token.balanceOf(DEBTOR), debtorBefore + 30 * D, "debtor share");
        IOrderEscrow.Order memory o = escrow.orderOf(OID);
        assertEq(o.remaining, 0, "emptied");
        assertEq(uint256(o.status), uint256(IOrderEscrow.OrderStatus.CLOSED), "closed");
        _assertConserved(OID);
    }

    function test_resolveDispute_splitsWhatRemainsAfterConcession() public {
        _fund(OID, 100 * D);
        vm.prank(DEBTOR);
        escrow.dispute(OID);
        vm.prank(CREDITOR);
        escrow.refund(OID, 40 * D); // the creditor concedes part
        vm.prank(OPERATOR);
        escrow.resolveDispute(OID, 60 * D, 0);
        _assertConserved(OID);
    }

    function test_resolveDispute_revertsOnMismatch() public {
        _fund(OID, 100 * D);
        vm.prank(DEBTOR);
        escrow.dispute(OID);
        vm.expectRevert(
            abi.encodeWithSelector(IOrderEscrow.OrderEscrowResolutionMismatch.selector, OID, 100 * D, 99 * D)
        );
        vm.prank(OPERATOR);
        escrow.resolveDispute(OID, 70 * D, 29 * D);
    }

    function test_resolveDispute_revertsWhenNotDisputed() public {
        _fund(OID, 100 * D);
        vm.expectRevert(_err(IOrderEscrow.OrderEscrowNotDisputed.selector, OID));
        vm.prank(OPERATOR);
        escrow.resolveDispute(OID, 100 * D, 0);
    }

    function test_resolveDispute_revertsForNonOperator() public {
        _fund(OID, 100 * D);
        vm.prank(DEBTOR);
        escrow.dispute(OID);
        vm.expectRevert(_unauthorized(DEBTOR, OPERATOR_ROLE));
        vm.prank(DEBTOR);
        escrow.resolveDispute(OID, 0, 100 * D);
    }

    function test_resolveDispute_revertsWhenPaused() public {
        _fund(OID, 100 * D);
        vm.prank(DEBTOR);
        escrow.dispute(OID);
        vm.prank(ADMIN);
        escrow.pause();
        vm.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
        vm.prank(OPERATOR);
        escrow.resolveDispute(OID, 100 * D, 0);
    }

    // ───────────── claim ─────────────

    function test_claim_anyonePaysCreditorAfterWindow() public {
        _fund(OID, 100 * D);
        vm.prank(DEBTOR);
        escrow.release(OID, 25 * D);
        vm.warp(t0 + WINDOW);
        uint256 before = token.balanceOf(CREDITOR);
        vm.expectEmit(address(escrow));
        emit IOrderEscrow.OrderClaimed(OID, CREDITOR, STRANGER, 75 * D);
        vm.expectEmit(address(escrow));
        emit IOrderEscrow.OrderClosed(OID);
        vm.prank(STRANGER);
        escrow.claim(OID);
        assertEq(token.balanceOf(CREDITOR), before + 75 * D, "creditor paid the rest");
        _assertConserved(OID);
    }

    function test_claim_immediateWithZeroWindow() public {
        vm.prank(DEBTOR);
        escrow.fund(OID, CREDITOR, 5, 0);
        escrow.claim(OID);
        assertEq(uint256(escrow.orderOf(OID).status), uint256(IOrderEscrow.OrderStatus.CLOSED), "closed");
    }

    function test_claim_revertsBeforeWindow() public {
        _fund(OID, 1);
        vm.warp(t0 + WINDOW - 1);
        vm.expectRevert(abi.encodeWithSelector(IOrderEscrow.OrderEscrowClaimTooEarly.selector, OID, t0 + WINDOW));
        escrow.claim(OID);
    }

    function test_claim_revertsWhenDisputed() public {
        _fund(OID, 1);
        vm.prank(DEBTOR);
        escrow.dispute(OID);
        vm.warp(t0 + WINDOW);
        vm.expectRevert(_err(IOrderEscrow.OrderEscrowDisputed.selector, OID));
        escrow.claim(OID);
    }

    function test_claim_revertsForUnknownOrder() public {
        vm.expectRevert(_err(IOrderEscrow.OrderEscrowUnknownOrder.selector, OID));
        escrow.claim(OID);
    }

    function test_claim_revertsWhenClosed() public {
        _fund(OID, 1);
        vm.warp(t0 + WINDOW);
        escrow.claim(OID);
        vm.expectRevert(_err(IOrderEscrow.OrderEscrowOrderClosed.selector, OID));
        escrow.claim(OID);
    }

    function test_claim_revertsWhenPaused() public {
        _fund(OID, 1);
        vm.warp(t0 + WINDOW);
        vm.prank(ADMIN);
        escrow.pause();
        vm.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
        escrow.claim(OID);
    }

    // ───────────── views and admin ─────────────

    function test_orderOf_unknownIsEmpty() public view {
        IOrderEscrow.Order memory o = escrow.orderOf(OID);
        assertEq(uint256(o.status), uint256(IOrderEscrow.OrderStatus.NONE), "none");
        assertEq(o.debtor, address(0), "no debtor");
        assertEq(o.amount, 0, "no amount");
    }

    function test_totalRemaining_sumsOpenOrders() public {
        _fund(OID, 10 * D);
        _fund(keccak256("order-2"), 5 * D);
        vm.prank(DEBTOR);
        escrow.release(OID, 4 * D);
        assertEq(escrow.totalRemaining(), 11 * D, "6 + 5");
        assertEq(token.balanceOf(address(escrow)), 11 * D, "held");
    }

    function test_pause_unpause_byAdminOnly() public {
        vm.expectRevert(_unauthorized(OPERATOR, ADMIN_ROLE));
        vm.prank(OPERATOR);
        escrow.pause();
        vm.startPrank(ADMIN);
        vm.expectEmit(address(escrow));
        emit Pausable.Paused(ADMIN);
        escrow.pause();
        vm.expectEmit(address(escrow));
        emit Pausable.Unpaused(ADMIN);
        escrow.unpause();
        vm.stopPrank();
        vm.expectRevert(_unauthorized(OPERATOR, ADMIN_ROLE));
        vm.prank(OPERATOR);
        escrow.unpause();
    }

    function test_sweepSurplus_sendsOnlyTheSurplus() public {
        _fund(OID, 10 * D);
        vm.prank(STRANGER);
        require(token.transfer(address(escrow), 3 * D), "transfer");
        vm.expectEmit(address(escrow));
        emit IOrderEscrow.SurplusSwept(ADMIN, 3 * D);
        vm.prank(ADMIN);
        escrow.sweepSurplus(ADMIN);
        assertEq(token.balanceOf(ADMIN), 3 * D, "swept");
        _assertConserved(OID);
    }

    function test_sweepSurplus_revertsWithoutSurplus() public {
        _fund(OID, 10 * D);
        vm.expectRevert(abi.encodeWithSelector(IOrderEscrow.OrderEscrowNoSurplus.selector));
        vm.prank(ADMIN);
        escrow.sweepSurplus(ADMIN);
    }

    function test_sweepSurplus_revertsOnZeroRecipient() public {
        vm.expectRevert(abi.encodeWithSelector(IOrderEscrow.OrderEscrowZeroAddress.selector));
        vm.prank(ADMIN);
        escrow.sweepSurplus(address(0));
    }

    function test_sweepSurplus_revertsForNonAdmin() public {
        vm.expectRevert(_unauthorized(OPERATOR, ADMIN_ROLE));
        vm.prank(OPERATOR);
        escrow.sweepSurplus(OPERATOR);
    }

    // ───────────── fuzz ─────────────

    function testFuzz_partialReleasesAndRefundsConserve(uint256 amount, uint256 rel, uint256 ref) public {
        amount = bound(amount, 1, 1e12 * D);
        token.mint(DEBTOR, amount);
        rel = bound(rel, 0, amount);
        ref = bound(ref, 0, amount - rel);
        _fund(OID, amount);
        if (rel > 0) {
            vm.prank(DEBTOR);
            escrow.release(OID, rel);
        }
        if (ref > 0) {
            vm.prank(CREDITOR);
            escrow.refund(OID, ref);
        }
        IOrderEscrow.Order memory o = escrow.orderOf(OID);
        assertEq(o.remaining, amount - rel - ref, "remaining");
        assertEq(o.status == IOrderEscrow.OrderStatus.CLOSED, o.remaining == 0, "closed exactly when nothing remains");
        _assertConserved(OID);
        if (o.remaining > 0) {
            vm.warp(t0 + WINDOW);
            escrow.claim(OID);
            _assertConserved(OID);
            assertEq(escrow.totalRemaining(), 0, "nothing stuck");
        }
    }
}
