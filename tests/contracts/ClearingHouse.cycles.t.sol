// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {IClearingHouse} from "../../contracts/interfaces/IClearingHouse.sol";
import {ClearingHouseBase} from "./utils/ClearingHouseBase.sol";

/// @notice Cycle lifecycle: commit, release (per creditor and pro rata), hold,
/// refund, claim, and obligation proofs.
contract ClearingHouseCyclesTest is ClearingHouseBase {
    int256 internal constant ID = int256(D);
    uint64 internal t0;

    function setUp() public override {
        super.setUp();
        t0 = uint64(block.timestamp);
    }

    // ───────────── commitCycle ─────────────

    function test_commitCycle_debitsEscrowsAndRecords() public {
        vm.expectEmit(address(house));
        emit IClearingHouse.MemberDebited(1, ALICE, 300 * D, 4700 * ID);
        vm.expectEmit(address(house));
        emit IClearingHouse.CreditRecorded(1, BOB, 200 * D);
        vm.expectEmit(address(house));
        emit IClearingHouse.CreditRecorded(1, CAROL, 100 * D);
        vm.expectEmit(address(house));
        emit IClearingHouse.CycleCommitted(1, ROOT, 3, 300 * D, 300 * D);
        _commitSimple(1);

        assertEq(house.balanceOf(ALICE), 4700 * ID, "debtor debited");
        assertEq(house.balanceOf(BOB), 1000 * ID, "creditor unchanged until release");
        assertEq(house.refundedDebit(1, ALICE), 0, "nothing refunded yet");
        assertEq(_refundable(1, _simpleMembers(), _simpleDeltas(), ALICE), 300 * D, "refundable debit");
        assertEq(house.pendingCredit(1, BOB), 200 * D, "bob pending");
        assertEq(house.pendingCredit(1, CAROL), 100 * D, "carol pending");
        assertEq(house.totalEscrowed(), 300 * D, "escrowed");

        IClearingHouse.Cycle memory c = house.cycleOf(1);
        assertEq(c.root, ROOT, "root");
        assertEq(uint256(c.obligationCount), 3, "count");
        assertEq(c.grossValue, 300 * D, "gross");
        assertEq(c.escrowed, 300 * D, "cycle escrow");
        assertEq(uint256(c.committedAt), uint256(t0), "committedAt");
        assertEq(uint256(c.claimableAt), uint256(t0) + 3 days, "claimableAt");
        assertEq(uint256(c.heldUntil), 0, "not held");
        assertEq(uint256(c.status), uint256(IClearingHouse.CycleStatus.COMMITTED), "status");
        assertEq(c.deltasHash, _deltasHash(_simpleMembers(), _simpleDeltas()), "deltasHash of the committed lists");
        _assertSolvent();
    }

    function test_commitCycle_debtorMayDrawCredit() public {
        _commit(1, _addrs(ALICE, BOB), _ints(-5500 * ID, 5500 * ID));
        assertEq(house.balanceOf(ALICE), -500 * ID, "alice in debt");
        assertEq(house.creditDrawn(), 500 * D, "credit drawn");
        _assertSolvent();
    }

    function test_commitCycle_zeroDeltaIsSkipped() public {
        _commit(1, _addrs(ALICE, BOB, CAROL), _ints(-100 * ID, 0, 100 * ID));
        assertEq(house.pendingCredit(1, BOB), 0, "no credit");
        assertEq(house.refundedDebit(1, BOB), 0, "no debit");
        assertEq(
            house.cycleOf(1).deltasHash,
            _deltasHash(_addrs(ALICE, BOB, CAROL), _ints(-100 * ID, 0, 100 * ID)),
            "the zero delta is part of the hashed lists"
        );
        assertEq(house.pendingCredit(1, CAROL), 100 * D, "carol");
    }

    function test_commitCycle_withoutDebitSettlesAtOnce() public {
        vm.expectEmit(address(house));
        emit IClearingHouse.CycleCommitted(7, ROOT, 2, 50 * D, 0);
        vm.expectEmit(address(house));
        emit IClearingHouse.CycleSettled(7);
        vm.prank(OPERATOR);
        house.commitCycle(7, ROOT, 2, 50 * D, _none(), new int256[](0));
        assertEq(uint256(house.cycleOf(7).status), uint256(IClearingHouse.CycleStatus.SETTLED), "settled");
        assertEq(house.cycleOf(7).deltasHash, bytes32(0), "nothing to refund, no hash");
        // ...and still commits only once.
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseCycleExists.selector, uint64(7)));
        vm.prank(OPERATOR);
        house.commitCycle(7, ROOT, 2, 50 * D, _none(), new int256[](0));
    }

    function test_commitCycle_suspendedCreditorMayReceive() public {
        vm.prank(RISK);
        house.suspendMember(BOB);
        _commitSimple(1);
        assertEq(house.pendingCredit(1, BOB), 200 * D, "suspended creditor credited");
    }

    function test_commitCycle_revertsForNonOperator() public {
        vm.expectRevert(_unauthorized(RISK, OPERATOR_ROLE));
        vm.prank(RISK);
        house.commitCycle(1, ROOT, 1, 1, _none(), new int256[](0));
    }

    function test_commitCycle_revertsWhenPaused() public {
        vm.prank(ADMIN);
        house.pause();
        vm.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
        _commitSimple(1);
    }

    function test_commitCycle_revertsOnZeroId() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseZeroCycleId.selector));
        _commitSimple(0);
    }

    function test_commitCycle_revertsWhenCommittedTwice() public {
        _commitSimple(1);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseCycleExists.selector, uint64(1)));
        _commitSimple(1);
    }

    function test_commitCycle_revertsOnLengthMismatch() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseLengthMismatch.selector, 3, 2));
        _commit(1, _addrs(ALICE, BOB, CAROL), _ints(-1, 1));
    }

    function test_commitCycle_revertsWhenMembersUnsorted() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseMembersNotSorted.selector, 1));
        _commit(1, _addrs(BOB, ALICE), _ints(-1, 1));
    }

    function test_commitCycle_revertsOnDuplicateMember() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseMembersNotSorted.selector, 2));
        _commit(1, _addrs(ALICE, BOB, BOB), _ints(-2, 1, 1));
    }

    function test_commitCycle_revertsOnZeroAddressMember() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseMembersNotSorted.selector, 0));
        _commit(1, _addrs(address(0), ALICE), _ints(1, -1));
    }

    function test_commitCycle_revertsForNonMember() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseNotMember.selector, EVE));
        _commit(1, _addrs(ALICE, EVE), _ints(-1, 1));
    }

    function test_commitCycle_revertsForSuspendedDebtor() public {
        vm.prank(RISK);
        house.suspendMember(ALICE);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseMemberSuspended.selector, ALICE));
        _commitSimple(1);
    }

    function test_commitCycle_revertsBeyondHeadroom() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IClearingHouse.ClearingHouseInsufficientHeadroom.selector, ALICE, 6000 * D, 6000 * D + 1
            )
        );
        _commit(1, _addrs(ALICE, BOB), _ints(-6000 * ID - 1, 6000 * ID + 1));
        // Exactly the headroom is fine.
        _commit(1, _addrs(ALICE, BOB), _ints(-6000 * ID, 6000 * ID));
        assertEq(house.balanceOf(ALICE), -1000 * ID, "at the limit");
    }

    function test_commitCycle_revertsBeyondHeadroomOfIndebtedMember() public {
        _commit(1, _addrs(BOB, CAROL), _ints(300 * ID, -300 * ID));
        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.ClearingHouseInsufficientHeadroom.selector, CAROL, 200 * D, 201 * D)
        );
        _commit(2, _addrs(BOB, CAROL), _ints(201 * ID, -201 * ID));
    }

    function test_commitCycle_revertsWhenNetNotZero() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseNetNotZero.selector, -100 * ID));
        _commit(1, _addrs(ALICE, BOB), _ints(-300 * ID, 200 * ID));
    }

    function test_commitCycle_revertsWhenDebitExceedsGross() public {
        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.ClearingHouseDebitExceedsGross.selector, 300 * D, 300 * D - 1)
        );
        vm.prank(OPERATOR);
        house.commitCycle(1, ROOT, 3, 300 * D - 1, _addrs(ALICE, BOB, CAROL), _ints(-300 * ID, 200 * ID, 100 * ID));
    }

    function test_commitCycle_revertsWhenPoolTooSmall() public {
        vm.prank(LENDER);
        house.poolWithdraw(9800 * D, LENDER);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseInsufficientPool.selector, 300 * D, 200 * D));
        _commit(1, _addrs(BOB, CAROL), _ints(300 * ID, -300 * ID));
    }

    function test_commitCycle_revertsOnMinInt() public {
        // −type(int256).min has no int256: checked negation panics with 0x11.
        vm.expectRevert(abi.encodeWithSignature("Panic(uint256)", 0x11));
        _commit(1, _addrs(ALICE, BOB), _ints(type(int256).min, type(int256).max));
    }

    /// Limits are at most 2^128 − 1, so an int256-sized debit is a headroom
    /// refusal with its exact values, even for the largest limit the house stores.
    function test_commitCycle_revertsOnMaxIntDebitEvenAtLargestLimit() public {
        vm.prank(RISK);
        house.setCreditLimit(ALICE, type(uint128).max);
        // Headroom 5000 collateral + 2^128 − 1 of line (availableOf caps it by the pool, the check does not).
        uint256 headroom = 5000 * D + type(uint128).max;
        vm.expectRevert(
            abi.encodeWithSelector(
                IClearingHouse.ClearingHouseInsufficientHeadroom.selector, ALICE, headroom, uint256(type(int256).max)
            )
        );
        _commit(1, _addrs(ALICE, BOB), _ints(-type(int256).max, type(int256).max));
        // Within the line, the pool is what stops it.
        vm.expectRevert(
            abi.encodeWithSelector(
                IClearingHouse.ClearingHouseInsufficientPool.selector, uint256(type(uint128).max), 10_000 * D
            )
        );
        _commit(1, _addrs(ALICE, BOB), _ints(-int256(headroom), int256(headroom)));
    }

    // ───────────── releaseCycle ─────────────

    function test_releaseCycle_fullReleaseSettles() public {
        _commitSimple(1);
        vm.expectEmit(address(house));
        emit IClearingHouse.CreditReleased(1, BOB, 200 * D, 1200 * ID);
        vm.expectEmit(address(house));
        emit IClearingHouse.CreditReleased(1, CAROL, 100 * D, 100 * ID);
        vm.expectEmit(address(house));
        emit IClearingHouse.CycleReleased(1, 300 * D, 0);
        vm.expectEmit(address(house));
        emit IClearingHouse.CycleSettled(1);
        vm.prank(OPERATOR);
        house.releaseCycle(1, _addrs(BOB, CAROL), _uints(200 * D, 100 * D));

        assertEq(house.balanceOf(BOB), 1200 * ID, "bob paid");
        assertEq(house.balanceOf(CAROL), 100 * ID, "carol paid");
        assertEq(house.pendingCredit(1, BOB), 0, "bob pending");
        assertEq(house.totalEscrowed(), 0, "escrow empty");
        IClearingHouse.Cycle memory c = house.cycleOf(1);
        assertEq(c.escrowed, 0, "cycle escrow");
        assertEq(uint256(c.status), uint256(IClearingHouse.CycleStatus.SETTLED), "settled");
        _assertSolvent();
    }

    function test_releaseCycle_partial() public {
        _commitSimple(1);
        vm.expectEmit(address(house));
        emit IClearingHouse.CycleReleased(1, 50 * D, 250 * D);
        _release(1, BOB, 50 * D);
        assertEq(house.pendingCredit(1, BOB), 150 * D, "pending left");
        assertEq(house.cycleOf(1).escrowed, 250 * D, "escrow left");
        assertEq(uint256(house.cycleOf(1).status), uint256(IClearingHouse.CycleStatus.COMMITTED), "still open");
        _assertSolvent();
    }

    function test_releaseCycle_skipsZeroAmounts() public {
        _commitSimple(1);
        vm.prank(OPERATOR);
        house.releaseCycle(1, _addrs(BOB, CAROL), _uints(0, 100 * D));
        assertEq(house.pendingCredit(1, BOB), 200 * D, "bob untouched");
        assertEq(house.pendingCredit(1, CAROL), 0, "carol paid");
    }

    function test_releaseCycle_repaysCreditorDebt() public {
        _commit(1, _addrs(BOB, CAROL), _ints(300 * ID, -300 * ID));
        _commit(2, _addrs(ALICE, CAROL), _ints(-300 * ID, 300 * ID));
        assertEq(house.creditDrawn(), 300 * D, "drawn");
        _release(2, CAROL, 300 * D);
        assertEq(house.balanceOf(CAROL), int256(0), "debt repaid");
        assertEq(house.creditDrawn(), 0, "drawn repaid");
        _assertSolvent();
    }

    function test_releaseCycle_revertsBeyondPending() public {
        _commitSimple(1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IClearingHouse.ClearingHouseExceedsPending.selector, uint64(1), BOB, 200 * D, 200 * D + 1
            )
        );
        _release(1, BOB, 200 * D + 1);
    }

    function test_releaseCycle_revertsOnRepeatedCreditorBeyondPending() public {
        _commitSimple(1);
        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.ClearingHouseExceedsPending.selector, uint64(1), BOB, 50 * D, 100 * D)
        );
        vm.prank(OPERATOR);
        house.releaseCycle(1, _addrs(BOB, BOB), _uints(150 * D, 100 * D));
    }

    function test_releaseCycle_revertsForNonCreditor() public {
        _commitSimple(1);
        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.ClearingHouseExceedsPending.selector, uint64(1), ALICE, 0, 1)
        );
        _release(1, ALICE, 1);
    }

    function test_releaseCycle_revertsOnLengthMismatch() public {
        _commitSimple(1);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseLengthMismatch.selector, 1, 2));
        vm.prank(OPERATOR);
        house.releaseCycle(1, _addrs(BOB), _uints(1, 1));
    }

    function test_releaseCycle_revertsForUnknownCycle() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseUnknownCycle.selector, uint64(9)));
        _release(9, BOB, 1);
    }

    function test_releaseCycle_revertsWhenSettled() public {
        _commitSimple(1);
        vm.prank(OPERATOR);
        house.releaseCycle(1, _addrs(BOB, CAROL), _uints(200 * D, 100 * D));
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseCycleSettled.selector, uint64(1)));
        _release(1, BOB, 1);
    }

    function test_releaseCycle_revertsWhileHeld() public {
        _commitSimple(1);
        vm.prank(OPERATOR);
        house.holdCycle(1, t0 + 1 days);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseCycleHeld.selector, uint64(1), t0 + 1 days));
        _release(1, BOB, 1);
        vm.warp(t0 + 1 days);
        _release(1, BOB, 1);
        assertEq(house.pendingCredit(1, BOB), 200 * D - 1, "released once the hold passed");
    }

    function test_releaseCycle_revertsForNonOperator() public {
        _commitSimple(1);
        vm.expectRevert(_unauthorized(BOB, OPERATOR_ROLE));
        vm.prank(BOB);
        house.releaseCycle(1, _addrs(BOB), _uints(1));
    }

    function test_releaseCycle_revertsWhenPaused() public {
        _commitSimple(1);
        vm.prank(ADMIN);
        house.pause();
        vm.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
        _release(1, BOB, 1);
    }

    // ───────────── releaseCycleProRata ─────────────

    function test_releaseCycleProRata_roundsDownAgainstCreditor() public {
        // Raw units so that the halves are not whole: Bob 201, Carol 101.
        _commit(1, _addrs(ALICE, BOB, CAROL), _ints(-302, 201, 101));
        vm.expectEmit(address(house));
        emit IClearingHouse.CreditReleased(1, BOB, 100, 1000 * ID + 100);
        vm.expectEmit(address(house));
        emit IClearingHouse.CreditReleased(1, CAROL, 50, 50);
        vm.expectEmit(address(house));
        emit IClearingHouse.CycleReleased(1, 150, 152);
        vm.prank(OPERATOR);
        house.releaseCycleProRata(1, _addrs(BOB, CAROL), 5000);
        assertEq(house.pendingCredit(1, BOB), 101, "bob keeps the rounding");
        assertEq(house.pendingCredit(1, CAROL), 51, "carol keeps the rounding");

        // 100% releases the rest and settles.
        vm.expectEmit(address(house));
        emit IClearingHouse.CycleSettled(1);
        vm.prank(OPERATOR);
        house.releaseCycleProRata(1, _addrs(BOB, CAROL), 10_000);
        assertEq(uint256(house.cycleOf(1).status), uint256(IClearingHouse.CycleStatus.SETTLED), "settled");
        _assertSolvent();
    }

    function test_releaseCycleProRata_skipsSharesRoundingToZero() public {
        _commit(1, _addrs(ALICE, BOB, CAROL), _ints(-10_001, 10_000, 1));
        vm.prank(OPERATOR);
        house.releaseCycleProRata(1, _addrs(BOB, CAROL, DAVE), 1);
        assertEq(house.pendingCredit(1, BOB), 9999, "1 bp of 10000");
        assertEq(house.pendingCredit(1, CAROL), 1, "1 bp of 1 rounds to 0");
    }

    function test_releaseCycleProRata_revertsOnZeroBps() public {
        _commitSimple(1);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseInvalidBps.selector, uint16(0)));
        vm.prank(OPERATOR);
        house.releaseCycleProRata(1, _addrs(BOB), 0);
    }

    function test_releaseCycleProRata_revertsAboveFullBps() public {
        _commitSimple(1);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseInvalidBps.selector, uint16(10_001)));
        vm.prank(OPERATOR);
        house.releaseCycleProRata(1, _addrs(BOB), 10_001);
    }

    function test_releaseCycleProRata_revertsWhileHeld() public {
        _commitSimple(1);
        vm.prank(OPERATOR);
        house.holdCycle(1, t0 + 1 hours);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseCycleHeld.selector, uint64(1), t0 + 1 hours));
        vm.prank(OPERATOR);
        house.releaseCycleProRata(1, _addrs(BOB), 5000);
    }

    function test_releaseCycleProRata_revertsForUnknownCycle() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseUnknownCycle.selector, uint64(3)));
        vm.prank(OPERATOR);
        house.releaseCycleProRata(3, _addrs(BOB), 5000);
    }

    function test_releaseCycleProRata_revertsForNonOperator() public {
        _commitSimple(1);
        vm.expectRevert(_unauthorized(STRANGER, OPERATOR_ROLE));
        vm.prank(STRANGER);
        house.releaseCycleProRata(1, _addrs(BOB), 5000);
    }

    function test_releaseCycleProRata_revertsWhenPaused() public {
        _commitSimple(1);
        vm.prank(ADMIN);
        house.pause();
        vm.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
        vm.prank(OPERATOR);
        house.releaseCycleProRata(1, _addrs(BOB), 5000);
    }

    // ───────────── holdCycle ─────────────

    function test_holdCycle_setsHoldAndPushesClaimable() public {
        _commitSimple(1);
        uint64 until = t0 + 10 days;
        vm.expectEmit(address(house));
        emit IClearingHouse.CycleHeld(1, until, until);
        vm.prank(OPERATOR);
        house.holdCycle(1, until);
        IClearingHouse.Cycle memory c = house.cycleOf(1);
        assertEq(uint256(c.heldUntil), uint256(until), "heldUntil");
        assertEq(uint256(c.claimableAt), uint256(until), "claimableAt pushed");
    }

    function test_holdCycle_shortHoldKeepsClaimable() public {
        _commitSimple(1);
        vm.expectEmit(address(house));
        emit IClearingHouse.CycleHeld(1, t0 + 1 days, t0 + 3 days);
        vm.prank(OPERATOR);
        house.holdCycle(1, t0 + 1 days);
        assertEq(uint256(house.cycleOf(1).claimableAt), uint256(t0) + 3 days, "claimableAt kept");
    }

    function test_holdCycle_allowedWhilePaused() public {
        _commitSimple(1);
        vm.prank(ADMIN);
        house.pause();
        vm.prank(OPERATOR);
        house.holdCycle(1, t0 + 1 days);
        assertEq(uint256(house.cycleOf(1).heldUntil), uint256(t0) + 1 days, "held");
    }

    function test_holdCycle_revertsInPast() public {
        _commitSimple(1);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseHoldInPast.selector, t0, t0));
        vm.prank(OPERATOR);
        house.holdCycle(1, t0);
    }

    function test_holdCycle_revertsBeyondMaxHold() public {
        _commitSimple(1);
        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.ClearingHouseHoldTooLong.selector, t0 + 30 days + 1, t0 + 30 days)
        );
        vm.prank(OPERATOR);
        house.holdCycle(1, t0 + 30 days + 1);
    }

    function test_holdCycle_revertsForUnknownCycle() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseUnknownCycle.selector, uint64(2)));
        vm.prank(OPERATOR);
        house.holdCycle(2, t0 + 1);
    }

    function test_holdCycle_revertsWhenSettled() public {
        _commit(1, _addrs(ALICE, BOB), _ints(-1, 1));
        _release(1, BOB, 1);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseCycleSettled.selector, uint64(1)));
        vm.prank(OPERATOR);
        house.holdCycle(1, t0 + 1);
    }

    function test_holdCycle_revertsForNonOperator() public {
        _commitSimple(1);
        vm.expectRevert(_unauthorized(ADMIN, OPERATOR_ROLE));
        vm.prank(ADMIN);
        house.holdCycle(1, t0 + 1);
    }

    // ───────────── refundCycle ─────────────

    function test_refundCycle_fullRefundRestoresDebtorAndSettles() public {
        _commitSimple(1);
        vm.expectEmit(address(house));
        emit IClearingHouse.CreditCancelled(1, BOB, 200 * D);
        vm.expectEmit(address(house));
        emit IClearingHouse.CreditCancelled(1, CAROL, 100 * D);
        vm.expectEmit(address(house));
        emit IClearingHouse.DebitRefunded(1, ALICE, 300 * D, 5000 * ID);
        vm.expectEmit(address(house));
        emit IClearingHouse.CycleRefunded(1, 300 * D, 0);
        vm.expectEmit(address(house));
        emit IClearingHouse.CycleSettled(1);
        vm.prank(OPERATOR);
        house.refundCycle(
            1, _simpleMembers(), _simpleDeltas(), _addrs(BOB, CAROL), _uints(200 * D, 100 * D), _uints(300 * D, 0, 0)
        );

        assertEq(house.balanceOf(ALICE), 5000 * ID, "alice whole again");
        assertEq(house.refundedDebit(1, ALICE), 300 * D, "refunded so far");
        assertEq(_refundable(1, _simpleMembers(), _simpleDeltas(), ALICE), 0, "debit consumed");
        assertEq(house.pendingCredit(1, BOB), 0, "bob cancelled");
        assertEq(house.totalEscrowed(), 0, "escrow empty");
        assertEq(uint256(house.cycleOf(1).status), uint256(IClearingHouse.CycleStatus.SETTLED), "settled");
        _assertSolvent();
    }

    function test_refundCycle_afterPartialReleaseRefundsTheRest() public {
        _commitSimple(1);
        _release(1, BOB, 200 * D);
        _refundSimple(1, _addrs(CAROL), _uints(100 * D), _uints(100 * D, 0, 0));
        assertEq(house.balanceOf(ALICE), 4800 * ID, "alice paid only what reached bob");
        assertEq(house.refundedDebit(1, ALICE), 100 * D, "refunded so far");
        assertEq(_refundable(1, _simpleMembers(), _simpleDeltas(), ALICE), 200 * D, "refundable debit left");
        assertEq(uint256(house.cycleOf(1).status), uint256(IClearingHouse.CycleStatus.SETTLED), "settled");
        _assertSolvent();
    }

    function test_refundCycle_allowedWhileHeld() public {
        _commitSimple(1);
        vm.prank(OPERATOR);
        house.holdCycle(1, t0 + 5 days);
        _refundSimple(1, _addrs(BOB), _uints(200 * D), _uints(200 * D, 0, 0));
        assertEq(house.cycleOf(1).escrowed, 100 * D, "escrow left");
        _assertSolvent();
    }

    function test_refundCycle_repaysDebtorCredit() public {
        _commit(1, _addrs(BOB, CAROL), _ints(300 * ID, -300 * ID));
        vm.prank(OPERATOR);
        house.refundCycle(
            1, _addrs(BOB, CAROL), _ints(300 * ID, -300 * ID), _addrs(BOB), _uints(300 * D), _uints(0, 300 * D)
        );
        assertEq(house.balanceOf(CAROL), int256(0), "debt gone");
        assertEq(house.creditDrawn(), 0, "drawn gone");
        _assertSolvent();
    }

    function test_refundCycle_revertsBeyondPending() public {
        _commitSimple(1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IClearingHouse.ClearingHouseExceedsPending.selector, uint64(1), BOB, 200 * D, 200 * D + 1
            )
        );
        _refundSimple(1, _addrs(BOB), _uints(200 * D + 1), _uints(200 * D + 1, 0, 0));
    }

    function test_refundCycle_revertsBeyondDebit() public {
        _commitSimple(1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IClearingHouse.ClearingHouseExceedsDebit.selector, uint64(1), ALICE, 300 * D, 300 * D + 1
            )
        );
        _refundSimple(1, _addrs(BOB, CAROL), _uints(200 * D, 100 * D), _uints(300 * D + 1, 0, 0));
    }

    function test_refundCycle_revertsForNonDebtor() public {
        _commitSimple(1);
        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.ClearingHouseExceedsDebit.selector, uint64(1), BOB, 0, 100 * D)
        );
        _refundSimple(1, _addrs(CAROL), _uints(100 * D), _uints(0, 100 * D, 0));
    }

    /// Two debtors: what is pending could pay Carol more than she has left to be refunded.
    function test_refundCycle_revertsBeyondRemainingDebitAfterEarlierRefund() public {
        address[] memory ms = _addrs(ALICE, BOB, CAROL);
        int256[] memory ds = _ints(-200 * ID, 300 * ID, -100 * ID);
        _commit(1, ms, ds);
        vm.prank(OPERATOR);
        house.refundCycle(1, ms, ds, _addrs(BOB), _uints(60 * D), _uints(0, 0, 60 * D));
        assertEq(house.refundedDebit(1, CAROL), 60 * D, "refunded so far");
        assertEq(_refundable(1, ms, ds, CAROL), 40 * D, "left");
        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.ClearingHouseExceedsDebit.selector, uint64(1), CAROL, 40 * D, 41 * D)
        );
        vm.prank(OPERATOR);
        house.refundCycle(1, ms, ds, _addrs(BOB), _uints(41 * D), _uints(0, 0, 41 * D));
        // Exactly what is left is fine.
        vm.prank(OPERATOR);
        house.refundCycle(1, ms, ds, _addrs(BOB), _uints(40 * D), _uints(0, 0, 40 * D));
        assertEq(house.balanceOf(CAROL), int256(0), "carol's debit fully refunded");
        _assertSolvent();
    }

    function test_refundCycle_revertsWhenListsDifferFromCommit() public {
        _commitSimple(1);
        bytes memory mismatch = abi.encodeWithSelector(IClearingHouse.ClearingHouseDeltasMismatch.selector, uint64(1));
        // A debit claimed larger than committed, to refund more than was paid.
        vm.expectRevert(mismatch);
        vm.prank(OPERATOR);
        house.refundCycle(
            1,
            _simpleMembers(),
            _ints(-400 * ID, 300 * ID, 100 * ID),
            _addrs(BOB),
            _uints(200 * D),
            _uints(200 * D, 0, 0)
        );
        // Another member in the debtor's place.
        vm.expectRevert(mismatch);
        vm.prank(OPERATOR);
        house.refundCycle(
            1, _addrs(ALICE, BOB, DAVE), _simpleDeltas(), _addrs(BOB), _uints(200 * D), _uints(200 * D, 0, 0)
        );
        // A sub-list.
        vm.expectRevert(mismatch);
        vm.prank(OPERATOR);
        house.refundCycle(
            1, _addrs(ALICE, BOB), _ints(-300 * ID, 200 * ID), _addrs(BOB), _uints(200 * D), _uints(200 * D, 0)
        );
    }

    function test_refundCycle_revertsOnDeltasLengthMismatch() public {
        _commitSimple(1);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseLengthMismatch.selector, 3, 2));
        vm.prank(OPERATOR);
        house.refundCycle(1, _simpleMembers(), _ints(-300 * ID, 200 * ID), _addrs(BOB), _uints(1), _uints(1, 0, 0));
    }

    function test_refundCycle_revertsOnMismatchedTotals() public {
        _commitSimple(1);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseRefundMismatch.selector, 200 * D, 100 * D));
        _refundSimple(1, _addrs(BOB), _uints(200 * D), _uints(100 * D, 0, 0));
    }

    function test_refundCycle_revertsOnCreditorLengthMismatch() public {
        _commitSimple(1);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseLengthMismatch.selector, 2, 1));
        _refundSimple(1, _addrs(BOB, CAROL), _uints(1), _uints(1, 0, 0));
    }

    function test_refundCycle_revertsWhenRefundedNotParallelToMembers() public {
        _commitSimple(1);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseLengthMismatch.selector, 3, 1));
        _refundSimple(1, _addrs(BOB), _uints(1), _uints(1));
    }

    function test_refundCycle_revertsForUnknownCycle() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseUnknownCycle.selector, uint64(4)));
        vm.prank(OPERATOR);
        house.refundCycle(4, _none(), new int256[](0), _none(), _noUints(), _noUints());
    }

    function test_refundCycle_revertsWhenSettled() public {
        _commit(1, _addrs(ALICE, BOB), _ints(-1, 1));
        _release(1, BOB, 1);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseCycleSettled.selector, uint64(1)));
        vm.prank(OPERATOR);
        house.refundCycle(1, _addrs(ALICE, BOB), _ints(-1, 1), _none(), _noUints(), _uints(0, 0));
    }

    function test_refundCycle_revertsForNonOperator() public {
        _commitSimple(1);
        vm.expectRevert(_unauthorized(ALICE, OPERATOR_ROLE));
        vm.prank(ALICE);
        house.refundCycle(1, _simpleMembers(), _simpleDeltas(), _addrs(BOB), _uints(1), _uints(1, 0, 0));
    }

    function test_refundCycle_revertsWhenPaused() public {
        _commitSimple(1);
        vm.prank(ADMIN);
        house.pause();
        vm.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
        _refundSimple(1, _addrs(BOB), _uints(1), _uints(1, 0, 0));
    }

    // ───────────── claim ─────────────

    function test_claim_anyonePaysCreditorAfterDelay() public {
        _commitSimple(1);
        vm.warp(t0 + 3 days);
        vm.expectEmit(address(house));
        emit IClearingHouse.CreditReleased(1, BOB, 200 * D, 1200 * ID);
        vm.expectEmit(address(house));
        emit IClearingHouse.CycleReleased(1, 200 * D, 100 * D);
        vm.prank(STRANGER);
        house.claim(1, BOB);
        assertEq(house.balanceOf(BOB), 1200 * ID, "bob paid");

        vm.expectEmit(address(house));
        emit IClearingHouse.CycleSettled(1);
        vm.prank(STRANGER);
        house.claim(1, CAROL);
        assertEq(uint256(house.cycleOf(1).status), uint256(IClearingHouse.CycleStatus.SETTLED), "settled");
        _assertSolvent();
    }

    function test_claim_worksAfterOperatorIsGone() public {
        _commitSimple(1);
        vm.prank(ADMIN);
        house.revokeRole(OPERATOR_ROLE, OPERATOR);
        vm.warp(t0 + 3 days);
        vm.prank(BOB);
        house.claim(1, BOB);
        vm.prank(CAROL);
        house.claim(1, CAROL);
        assertEq(house.totalEscrowed(), 0, "nothing stuck");
    }

    function test_claim_paysRemainderAfterPartialRelease() public {
        _commitSimple(1);
        _release(1, BOB, 150 * D);
        vm.warp(t0 + 3 days);
        house.claim(1, BOB);
        assertEq(house.balanceOf(BOB), 1200 * ID, "bob paid in full");
    }

    function test_claim_revertsBeforeDelay() public {
        _commitSimple(1);
        vm.warp(t0 + 3 days - 1);
        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.ClearingHouseClaimTooEarly.selector, uint64(1), t0 + 3 days)
        );
        house.claim(1, BOB);
    }

    function test_claim_revertsWhileHeld() public {
        _commitSimple(1);
        vm.prank(OPERATOR);
        house.holdCycle(1, t0 + 10 days);
        vm.warp(t0 + 5 days);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseCycleHeld.selector, uint64(1), t0 + 10 days));
        house.claim(1, BOB);
        vm.warp(t0 + 10 days);
        house.claim(1, BOB);
        assertEq(house.pendingCredit(1, BOB), 0, "claimed after the hold");
    }

    function test_claim_revertsWithNothingPending() public {
        _commitSimple(1);
        vm.warp(t0 + 3 days);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseNothingToClaim.selector, uint64(1), DAVE));
        house.claim(1, DAVE);
    }

    function test_claim_revertsForUnknownCycle() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseUnknownCycle.selector, uint64(5)));
        house.claim(5, BOB);
    }

    function test_claim_revertsWhenSettled() public {
        _commit(1, _addrs(ALICE, BOB), _ints(-1, 1));
        _release(1, BOB, 1);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseCycleSettled.selector, uint64(1)));
        house.claim(1, BOB);
    }

    function test_claim_revertsWhenPaused() public {
        _commitSimple(1);
        vm.warp(t0 + 3 days);
        vm.prank(ADMIN);
        house.pause();
        vm.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
        house.claim(1, BOB);
    }

    // ───────────── obligation proofs ─────────────

    function test_obligationLeaf_isDoubleHashedAbiEncoding() public view {
        bytes32 expected =
            keccak256(bytes.concat(keccak256(abi.encode(uint64(9), bytes32("o-1"), ALICE, BOB, uint256(120 * D)))));
        assertEq(house.obligationLeaf(9, bytes32("o-1"), ALICE, BOB, 120 * D), expected, "leaf");
    }

    function test_verifyObligation_acceptsEveryLeafAndRejectsTampering() public {
        bytes32[4] memory leaves = [
            house.obligationLeaf(1, "o-1", ALICE, BOB, 120 * D),
            house.obligationLeaf(1, "o-2", ALICE, CAROL, 100 * D),
            house.obligationLeaf(1, "o-3", BOB, ALICE, 20 * D),
            house.obligationLeaf(1, "o-4", ALICE, BOB, 100 * D)
        ];
        bytes32 n01 = _hashPair(leaves[0], leaves[1]);
        bytes32 n23 = _hashPair(leaves[2], leaves[3]);
        bytes32 root = _hashPair(n01, n23);
        vm.prank(OPERATOR);
        house.commitCycle(1, root, 4, 340 * D, _addrs(ALICE, BOB, CAROL), _ints(-300 * ID, 200 * ID, 100 * ID));

        assertTrue(house.verifyObligation(1, "o-1", ALICE, BOB, 120 * D, _proof(leaves[1], n23)), "o-1");
        assertTrue(house.verifyObligation(1, "o-2", ALICE, CAROL, 100 * D, _proof(leaves[0], n23)), "o-2");
        assertTrue(house.verifyObligation(1, "o-3", BOB, ALICE, 20 * D, _proof(leaves[3], n01)), "o-3");
        assertTrue(house.verifyObligation(1, "o-4", ALICE, BOB, 100 * D, _proof(leaves[2], n01)), "o-4");

        assertFalse(house.verifyObligation(1, "o-1", ALICE, BOB, 121 * D, _proof(leaves[1], n23)), "amount");
        assertFalse(house.verifyObligation(1, "o-1", BOB, ALICE, 120 * D, _proof(leaves[1], n23)), "direction");
        assertFalse(house.verifyObligation(2, "o-1", ALICE, BOB, 120 * D, _proof(leaves[1], n23)), "other cycle");
        assertFalse(house.verifyObligation(1, "o-1", ALICE, BOB, 120 * D, _proof(leaves[2], n23)), "bad proof");
    }

    function test_verifyObligation_falseForUnknownCycle() public view {
        bytes32[] memory empty = new bytes32[](0);
        assertFalse(house.verifyObligation(3, bytes32(0), address(0), address(0), 0, empty), "unknown");
    }
}
