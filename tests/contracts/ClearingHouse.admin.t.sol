// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {ClearingHouse} from "../../contracts/ClearingHouse.sol";
import {IClearingHouse} from "../../contracts/interfaces/IClearingHouse.sol";
import {ClearingHouseBase} from "./utils/ClearingHouseBase.sol";
import {ReentrantToken} from "./utils/ReentrantToken.sol";

/// @notice Pause, settings, the paused-only recovery path, surplus sweeping,
/// and the reentrancy guard against a token that breaks its assumptions.
contract ClearingHouseAdminTest is ClearingHouseBase {
    bytes32 internal constant ADMIN_ROLE = 0x00;

    // ───────────── pause / unpause ─────────────

    function test_pause_stopsAndEmits() public {
        vm.expectEmit(address(house));
        emit Pausable.Paused(ADMIN);
        vm.prank(ADMIN);
        house.pause();
        assertTrue(house.paused(), "paused");
    }

    function test_pause_revertsForNonAdmin() public {
        vm.expectRevert(_unauthorized(OPERATOR, ADMIN_ROLE));
        vm.prank(OPERATOR);
        house.pause();
    }

    function test_pause_revertsWhenPaused() public {
        vm.startPrank(ADMIN);
        house.pause();
        vm.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
        house.pause();
        vm.stopPrank();
    }

    function test_unpause_resumesAndEmits() public {
        vm.startPrank(ADMIN);
        house.pause();
        vm.expectEmit(address(house));
        emit Pausable.Unpaused(ADMIN);
        house.unpause();
        vm.stopPrank();
        assertFalse(house.paused(), "unpaused");
        vm.prank(BOB);
        house.withdraw(1, BOB);
    }

    function test_unpause_revertsWhenNotPaused() public {
        vm.expectRevert(abi.encodeWithSelector(Pausable.ExpectedPause.selector));
        vm.prank(ADMIN);
        house.unpause();
    }

    function test_unpause_revertsForNonAdmin() public {
        vm.prank(ADMIN);
        house.pause();
        vm.expectRevert(_unauthorized(RISK, ADMIN_ROLE));
        vm.prank(RISK);
        house.unpause();
    }

    // ───────────── settings ─────────────

    function test_setClaimDelay_appliesToNewCycles() public {
        vm.expectEmit(address(house));
        emit IClearingHouse.ClaimDelaySet(1 hours);
        vm.prank(ADMIN);
        house.setClaimDelay(1 hours);
        assertEq(uint256(house.claimDelay()), 1 hours, "delay");
        _commitSimple(1);
        assertEq(uint256(house.cycleOf(1).claimableAt), block.timestamp + 1 hours, "claimableAt");
    }

    function test_setClaimDelay_revertsBeyondCap() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IClearingHouse.ClearingHouseDelayTooLong.selector, uint64(365 days + 1), uint64(365 days)
            )
        );
        vm.prank(ADMIN);
        house.setClaimDelay(365 days + 1);
    }

    function test_setClaimDelay_revertsForNonAdmin() public {
        vm.expectRevert(_unauthorized(OPERATOR, ADMIN_ROLE));
        vm.prank(OPERATOR);
        house.setClaimDelay(1);
    }

    function test_setMaxHoldPeriod_boundsHolds() public {
        vm.expectEmit(address(house));
        emit IClearingHouse.MaxHoldPeriodSet(1 days);
        vm.prank(ADMIN);
        house.setMaxHoldPeriod(1 days);
        assertEq(uint256(house.maxHoldPeriod()), 1 days, "period");
        _commitSimple(1);
        uint64 nowTime = uint64(block.timestamp);
        vm.expectRevert(
            abi.encodeWithSelector(
                IClearingHouse.ClearingHouseHoldTooLong.selector, nowTime + 1 days + 1, nowTime + 1 days
            )
        );
        vm.prank(OPERATOR);
        house.holdCycle(1, nowTime + 1 days + 1);
    }

    function test_setMaxHoldPeriod_revertsBeyondCap() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IClearingHouse.ClearingHouseDelayTooLong.selector, uint64(400 days), uint64(365 days)
            )
        );
        vm.prank(ADMIN);
        house.setMaxHoldPeriod(400 days);
    }

    function test_setMaxHoldPeriod_revertsForNonAdmin() public {
        vm.expectRevert(_unauthorized(RISK, ADMIN_ROLE));
        vm.prank(RISK);
        house.setMaxHoldPeriod(1);
    }

    // ───────────── recoverMember ─────────────

    function test_recoverMember_paysMemberNotAdmin() public {
        vm.prank(ADMIN);
        house.pause();
        uint256 adminBefore = token.balanceOf(ADMIN);
        uint256 bobBefore = token.balanceOf(BOB);
        vm.expectEmit(address(house));
        emit IClearingHouse.MemberRecovered(BOB, 1000 * D);
        vm.prank(ADMIN);
        house.recoverMember(BOB);
        assertEq(house.balanceOf(BOB), int256(0), "balance emptied");
        assertEq(token.balanceOf(BOB), bobBefore + 1000 * D, "paid to the member");
        assertEq(token.balanceOf(ADMIN), adminBefore, "admin got nothing");
        _assertSolvent();
    }

    function test_recoverMember_revertsWithNothingToRecover() public {
        vm.prank(ADMIN);
        house.pause();
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseNothingToRecover.selector, DAVE));
        vm.prank(ADMIN);
        house.recoverMember(DAVE);
    }

    function test_recoverMember_revertsForMemberInDebt() public {
        _commit(1, _addrs(BOB, CAROL), _ints(100 * int256(D), -100 * int256(D)));
        vm.prank(ADMIN);
        house.pause();
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseNothingToRecover.selector, CAROL));
        vm.prank(ADMIN);
        house.recoverMember(CAROL);
    }

    function test_recoverMember_revertsWhenNotPaused() public {
        vm.expectRevert(abi.encodeWithSelector(Pausable.ExpectedPause.selector));
        vm.prank(ADMIN);
        house.recoverMember(BOB);
    }

    function test_recoverMember_revertsForNonAdmin() public {
        vm.prank(ADMIN);
        house.pause();
        vm.expectRevert(_unauthorized(OPERATOR, ADMIN_ROLE));
        vm.prank(OPERATOR);
        house.recoverMember(BOB);
    }

    // ───────────── recoverLender ─────────────

    function test_recoverLender_paysUndrawnPartToLender() public {
        _commit(1, _addrs(BOB, CAROL), _ints(500 * int256(D), -500 * int256(D)));
        vm.prank(ADMIN);
        house.pause();
        uint256 before = token.balanceOf(LENDER);
        vm.expectEmit(address(house));
        // The price is still exactly 1e6 shares per unit: 9500 units cost 9500e6 shares.
        emit IClearingHouse.LenderRecovered(LENDER, 9500 * D, 9500 * D * SHARE, 500 * D);
        vm.prank(ADMIN);
        house.recoverLender(LENDER);
        assertEq(token.balanceOf(LENDER), before + 9500 * D, "paid to the lender");
        assertEq(house.sharesOf(LENDER), 500 * D * SHARE, "shares of the drawn part stay");
        // 500e12 shares × (500e6 + 1) / (500e12 + 1e6) = 500e6 exactly.
        assertEq(house.lenderBalance(LENDER), 500 * D, "drawn part stays lent");
        assertEq(house.poolTotal(), 500 * D, "pool");
        _assertSolvent();
    }

    function test_recoverLender_revertsWithNothingToRecover() public {
        vm.prank(ADMIN);
        house.pause();
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseNothingToRecover.selector, LENDER2));
        vm.prank(ADMIN);
        house.recoverLender(LENDER2);
    }

    function test_recoverLender_revertsWhenNotPaused() public {
        vm.expectRevert(abi.encodeWithSelector(Pausable.ExpectedPause.selector));
        vm.prank(ADMIN);
        house.recoverLender(LENDER);
    }

    function test_recoverLender_revertsForNonAdmin() public {
        vm.prank(ADMIN);
        house.pause();
        vm.expectRevert(_unauthorized(LENDER, ADMIN_ROLE));
        vm.prank(LENDER);
        house.recoverLender(LENDER);
    }

    // ───────────── sweepSurplus ─────────────

    function test_sweepSurplus_sendsOnlyTheSurplus() public {
        _commitSimple(1);
        vm.prank(EVE);
        token.transfer(address(house), 77 * D); // by mistake
        uint256 before = token.balanceOf(STRANGER);
        vm.expectEmit(address(house));
        emit IClearingHouse.SurplusSwept(STRANGER, 77 * D);
        vm.prank(ADMIN);
        house.sweepSurplus(STRANGER);
        assertEq(token.balanceOf(STRANGER), before + 77 * D, "surplus out");
        _assertSolvent(); // accounted funds untouched, equality restored
    }

    function test_sweepSurplus_allowedWhilePaused() public {
        token.mint(address(house), 5);
        vm.startPrank(ADMIN);
        house.pause();
        house.sweepSurplus(ADMIN);
        vm.stopPrank();
        _assertSolvent();
    }

    function test_sweepSurplus_revertsWithoutSurplus() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseNoSurplus.selector));
        vm.prank(ADMIN);
        house.sweepSurplus(ADMIN);
    }

    function test_sweepSurplus_revertsOnZeroRecipient() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseZeroAddress.selector));
        vm.prank(ADMIN);
        house.sweepSurplus(address(0));
    }

    function test_sweepSurplus_revertsForNonAdmin() public {
        token.mint(address(house), 5);
        vm.expectRevert(_unauthorized(OPERATOR, ADMIN_ROLE));
        vm.prank(OPERATOR);
        house.sweepSurplus(OPERATOR);
    }

    // ───────────── reentrancy ─────────────

    function test_reentrancy_guardBlocksHostileToken() public {
        ReentrantToken hostile = new ReentrantToken();
        ClearingHouse h = new ClearingHouse(hostile, ADMIN);
        vm.prank(ADMIN);
        h.grantRole(RISK_ROLE, RISK);
        vm.prank(RISK);
        h.admitMember(BOB, 0);
        hostile.mint(BOB, 100);
        vm.startPrank(BOB);
        hostile.approve(address(h), 100);
        h.deposit(100);
        vm.stopPrank();

        // The transfer in withdraw calls back into withdraw.
        hostile.arm(address(h), abi.encodeCall(IClearingHouse.withdraw, (10, BOB)));
        vm.expectRevert(abi.encodeWithSelector(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector));
        vm.prank(BOB);
        h.withdraw(10, BOB);
        assertEq(h.balanceOf(BOB), int256(100), "nothing moved");
    }
}
