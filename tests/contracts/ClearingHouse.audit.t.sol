// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ClearingHouseBase} from "./utils/ClearingHouseBase.sol";
import {HouseEventLedger} from "./utils/HouseEventLedger.sol";

/// @notice An auditor rebuilds every balance and every cycle's net deltas and
/// escrow from the event log alone, and the result matches the chain.
contract ClearingHouseAuditTest is ClearingHouseBase, HouseEventLedger {
    int256 internal constant ID = int256(D);

    function setUp() public override {
        vm.recordLogs(); // from deployment on, so the replay starts at zero
        super.setUp();
        ledgerHouse = address(house);
    }

    function test_audit_eventsReconstructBalancesAndCycles() public {
        uint64 t0 = uint64(block.timestamp);
        _commit(1, _addrs(ALICE, BOB, CAROL), _ints(-300 * ID, 200 * ID, 100 * ID));
        _commit(2, _addrs(ALICE, BOB, CAROL), _ints(-100 * ID, 600 * ID, -500 * ID));
        _release(1, BOB, 150 * D);
        vm.prank(OPERATOR);
        house.releaseCycleProRata(1, _addrs(BOB, CAROL), 5000);
        vm.prank(OPERATOR);
        house.refundCycle(
            2,
            _addrs(ALICE, BOB, CAROL),
            _ints(-100 * ID, 600 * ID, -500 * ID),
            _addrs(BOB),
            _uints(300 * D),
            _uints(100 * D, 0, 200 * D)
        );
        vm.prank(OPERATOR);
        house.holdCycle(2, t0 + 4 days);

        vm.startPrank(DAVE);
        house.deposit(10 * D);
        house.withdraw(5 * D, DAVE);
        vm.stopPrank();
        vm.prank(CAROL);
        house.deposit(100 * D);

        vm.warp(t0 + 4 days);
        house.claim(2, BOB);
        house.claim(1, BOB);
        house.claim(1, CAROL);

        vm.startPrank(ADMIN);
        house.pause();
        house.recoverMember(BOB);
        house.unpause();
        vm.stopPrank();

        _replay(vm.getRecordedLogs());

        assertEq(replayedEvents, 21, "setUp and test events were all replayed");
        assertEq(replayMismatches, 0, "every reported balance matches the replay");
        address[4] memory members = [ALICE, BOB, CAROL, DAVE];
        for (uint256 i; i < members.length; ++i) {
            assertEq(replayedBalance[members[i]], house.balanceOf(members[i]), "balance from events");
        }
        for (uint64 c = 1; c <= 2; ++c) {
            assertEq(replayedNet[c], int256(0), "cycle deltas sum to zero");
            assertEq(replayedEscrow[c], house.cycleOf(c).escrowed, "escrow from debit side");
            assertEq(replayedPending[c], house.cycleOf(c).escrowed, "escrow from credit side");
        }
        assertEq(house.totalEscrowed(), 0, "everything settled");
        _assertSolvent();
    }

    /// The pool, interest and defaults replay too: every balance (through
    /// InterestCharged, PoolWrittenDown, DefaultRecovered), the pool total each
    /// event reports, every lender's shares and the queue, and the waterfall's
    /// four steps in order.
    function test_audit_eventsReconstructPoolInterestAndDefaults() public {
        uint64 t0 = uint64(block.timestamp);
        vm.prank(ADMIN);
        house.setInterestRateModel(500, 1500);
        vm.prank(LENDER2);
        house.poolDeposit(5000 * D);
        _settle(1, _addrs(BOB, CAROL), _ints(500 * ID, -500 * ID));
        _commit(2, _addrs(ALICE, CAROL), _ints(-100 * ID, 100 * ID));
        vm.prank(LENDER2);
        house.requestWithdrawal(1000 * D * SHARE);
        vm.warp(t0 + 200 days);
        house.accrueInterest(_addrs(CAROL));
        house.processWithdrawals(3);
        vm.prank(LENDER);
        house.requestWithdrawal(SHARE);
        vm.prank(LENDER);
        house.cancelWithdrawal(1);
        vm.prank(RISK);
        house.declareDefault(CAROL, "audit");
        vm.prank(RISK);
        house.allocateDefaultLoss(CAROL, _ids(2));
        vm.prank(CAROL);
        house.deposit(300 * D);
        vm.prank(LENDER);
        house.poolRedeem(1000 * D * SHARE, LENDER);
        vm.prank(LENDER2);
        house.poolWithdraw(10 * D, LENDER2);
        vm.startPrank(ADMIN);
        house.pause();
        house.recoverLender(LENDER2);
        house.unpause();
        vm.stopPrank();

        _replay(vm.getRecordedLogs());

        assertEq(replayMismatches, 0, "every reported balance and pool total matches the replay");
        assertEq(waterfallMismatches, 0, "the waterfall replays in order and adds up");
        assertEq(waterfallsReplayed, 1, "one waterfall");
        assertGe(writeDowns, 1, "the lenders bore a loss");
        assertGe(interestCharged[CAROL], 1, "interest was charged");
        assertGe(defaultRecovered[CAROL], 1, "and the deposit repaid the lenders first");
        address[4] memory members = [ALICE, BOB, CAROL, DAVE];
        for (uint256 i; i < members.length; ++i) {
            assertEq(replayedBalance[members[i]], house.balanceOf(members[i]), "balance from events");
        }
        assertEq(replayedPoolTotal, house.poolTotal(), "pool total from events");
        assertEq(replayedShares[LENDER], house.sharesOf(LENDER), "shares from events");
        assertEq(replayedShares[LENDER2], house.sharesOf(LENDER2), "shares from events");
        assertEq(replayedTotalShares, house.totalShares(), "total shares from events");
        assertEq(replayedQueuedShares, house.queuedShares(), "queued shares from events");
        assertEq(house.memberOf(CAROL).owedToPool, writtenDown[CAROL] - defaultRecovered[CAROL], "owed from events");
        _assertSolvent();
    }

    /// settleCycle's events replay like commit + full release: a creditor
    /// listed before its debtors, a debtor drawing credit, an empty cycle, and
    /// settled cycles mixed with an open one.
    function test_audit_settledCyclesReplayLikeCommitAndRelease() public {
        _settle(1, _addrs(ALICE, BOB, CAROL), _ints(400 * ID, -250 * ID, -150 * ID));
        _commit(2, _addrs(ALICE, BOB, DAVE), _ints(-300 * ID, 100 * ID, 200 * ID));
        _settle(3, _addrs(ALICE, CAROL), _ints(-150 * ID, 150 * ID));
        vm.prank(OPERATOR);
        house.settleCycle(4, ROOT, 0, 0, _none(), new int256[](0));
        _release(2, DAVE, 200 * D);

        _replay(vm.getRecordedLogs());

        assertEq(replayMismatches, 0, "every reported balance matches the replay");
        address[4] memory members = [ALICE, BOB, CAROL, DAVE];
        for (uint256 i; i < members.length; ++i) {
            assertEq(replayedBalance[members[i]], house.balanceOf(members[i]), "balance from events");
        }
        for (uint64 c = 1; c <= 4; ++c) {
            assertEq(replayedNet[c], int256(0), "cycle deltas sum to zero");
            assertEq(replayedEscrow[c], house.cycleOf(c).escrowed, "escrow from debit side");
            assertEq(replayedPending[c], house.cycleOf(c).escrowed, "escrow from credit side");
        }
        assertEq(house.cycleOf(2).escrowed, 100 * D, "cycle 2 still open");
        assertEq(house.balanceOf(CAROL), int256(0), "carol's draw repaid by cycle 3");
        _assertSolvent();
    }
}
