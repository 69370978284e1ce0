// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {IClearingHouse} from "../../contracts/interfaces/IClearingHouse.sol";
import {ClearingHouseBase} from "./utils/ClearingHouseBase.sol";
import {Vm} from "./utils/Vm.sol";

/// @notice Default: declareDefault, the waterfall (allocateDefaultLoss) with
/// its four steps in order, the lenders' write-down pro rata, recovery of
/// what they absorbed through later credits (release, refund, deposit), and
/// cureDefault; a defaulter is never debited, never withdraws, accrues no interest.
contract ClearingHouseDefaultTest is ClearingHouseBase {
    int256 internal constant ID = int256(D);
    uint256 internal constant YEAR = 365 days;
    bytes32 internal constant REASON = "repayment-deadline";
    uint64 internal t0;

    function setUp() public override {
        super.setUp();
        t0 = uint64(block.timestamp);
    }

    // ───────────── declareDefault ─────────────

    function test_declareDefault_suspendsAndMarks() public {
        _settle(1, _addrs(BOB, CAROL), _ints(500 * ID, -500 * ID));
        vm.expectEmit(address(house));
        emit IClearingHouse.MemberSuspended(CAROL);
        vm.expectEmit(address(house));
        emit IClearingHouse.MemberDefaulted(CAROL, REASON, -500 * ID);
        _declare(CAROL);
        IClearingHouse.Member memory m = house.memberOf(CAROL);
        assertTrue(m.defaulted, "defaulted");
        assertTrue(m.suspended, "suspended");
        assertEq(m.owedToPool, 0, "nothing written down yet");
        assertEq(m.balance, -500 * ID, "balance untouched");
        assertEq(house.availableOf(CAROL), 0, "nothing available");
    }

    /// Interest up to now is charged first, then no more.
    function test_declareDefault_chargesInterestDueFirst() public {
        vm.prank(ADMIN);
        house.setInterestRateModel(1000, 0);
        _settle(1, _addrs(BOB, CAROL), _ints(500 * ID, -500 * ID));
        vm.warp(t0 + YEAR);
        vm.expectEmit(address(house));
        emit IClearingHouse.InterestCharged(CAROL, 50 * D, -550 * ID, 10_050 * D);
        vm.expectEmit(address(house));
        emit IClearingHouse.MemberSuspended(CAROL);
        vm.expectEmit(address(house));
        emit IClearingHouse.MemberDefaulted(CAROL, REASON, -550 * ID);
        _declare(CAROL);
        vm.warp(t0 + 2 * YEAR);
        assertEq(house.interestOwedOf(CAROL), 0, "no more interest");
        vm.recordLogs();
        house.accrueInterest(_addrs(CAROL));
        assertEq(vm.getRecordedLogs().length, 0, "nothing charged");
        assertEq(house.balanceOf(CAROL), -550 * ID, "balance as at the default");
    }

    function test_declareDefault_ofSuspendedMemberEmitsNoSecondSuspension() public {
        vm.prank(RISK);
        house.suspendMember(BOB);
        vm.recordLogs();
        _declare(BOB);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1, "only MemberDefaulted");
        assertEq(logs[0].topics[0], IClearingHouse.MemberDefaulted.selector, "MemberDefaulted");
    }

    function test_declareDefault_revertsForNonMember() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseNotMember.selector, EVE));
        _declare(EVE);
    }

    function test_declareDefault_revertsWhenAlreadyDefaulted() public {
        _declare(CAROL);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseMemberDefaulted.selector, CAROL));
        _declare(CAROL);
    }

    function test_declareDefault_revertsForNonRisk() public {
        vm.expectRevert(_unauthorized(OPERATOR, RISK_ROLE));
        vm.prank(OPERATOR);
        house.declareDefault(CAROL, REASON);
    }

    function test_declareDefault_revertsWhenPaused() public {
        vm.prank(ADMIN);
        house.pause();
        vm.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
        _declare(CAROL);
    }

    // ───────────── allocateDefaultLoss: the waterfall ─────────────

    /// A defaulter with a positive balance has no loss: four steps of 0, no write-down.
    function test_allocateDefaultLoss_positiveBalanceLosesNothing() public {
        _declare(BOB);
        vm.recordLogs();
        vm.prank(RISK);
        uint256 lost = house.allocateDefaultLoss(BOB, _ids(1));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(lost, 0, "nothing written down");
        assertEq(logs.length, 4, "exactly the four steps");
        for (uint256 i; i < 4; ++i) {
            assertEq(logs[i].topics[0], IClearingHouse.DefaultLossAllocated.selector, "a step");
            assertEq(logs[i].topics[1], bytes32(uint256(uint160(BOB))), "member");
            assertEq(uint256(logs[i].topics[2]), i + 1, "steps 1..4 in order");
            (uint256 amount, uint256 remaining) = abi.decode(logs[i].data, (uint256, uint256));
            assertEq(amount, 0, "amount 0");
            assertEq(remaining, 0, "remaining 0");
        }
        assertEq(house.balanceOf(BOB), 1000 * ID, "collateral untouched");
        assertEq(house.poolTotal(), 10_000 * D, "pool untouched");
    }

    /// Carol owes 500 and is owed 100 in committed cycle 2 and 150 in cycle 3,
    /// which is held: the waterfall takes the 100 (step 3), skips the held
    /// cycle (and ids that are unknown), and the lenders absorb the last 400
    /// pro rata (step 4).
    function test_allocateDefaultLoss_runsTheWaterfallInOrder() public {
        _carolOwes500WithReceivables();
        vm.expectEmit(address(house));
        emit IClearingHouse.DefaultLossAllocated(CAROL, IClearingHouse.WaterfallStep.COLLATERAL, 0, 500 * D);
        vm.expectEmit(address(house));
        emit IClearingHouse.DefaultLossAllocated(CAROL, IClearingHouse.WaterfallStep.PLEDGED_ASSETS, 0, 500 * D);
        vm.expectEmit(address(house));
        emit IClearingHouse.CreditReleased(2, CAROL, 100 * D, -400 * ID);
        vm.expectEmit(address(house));
        emit IClearingHouse.CycleReleased(2, 100 * D, 0);
        vm.expectEmit(address(house));
        emit IClearingHouse.CycleSettled(2);
        vm.expectEmit(address(house));
        emit IClearingHouse.DefaultLossAllocated(CAROL, IClearingHouse.WaterfallStep.RECEIVABLES, 100 * D, 400 * D);
        vm.expectEmit(address(house));
        emit IClearingHouse.PoolWrittenDown(CAROL, 400 * D, 14_600 * D);
        vm.expectEmit(address(house));
        emit IClearingHouse.DefaultLossAllocated(CAROL, IClearingHouse.WaterfallStep.POOL_LENDERS, 400 * D, 0);
        vm.prank(RISK);
        uint256 lost = house.allocateDefaultLoss(CAROL, _ids(2, 3, 99));

        assertEq(lost, 400 * D, "written down");
        IClearingHouse.Member memory m = house.memberOf(CAROL);
        assertEq(m.balance, int256(0), "the debt left the balance");
        assertEq(m.owedToPool, 400 * D, "owed back to the lenders");
        assertEq(house.creditDrawn(), 0, "nothing drawn any more");
        assertEq(house.poolTotal(), 14_600 * D, "the pool absorbed 400");
        assertEq(house.pendingCredit(3, CAROL), 150 * D, "the held cycle was skipped");
        assertEq(uint256(house.cycleOf(2).status), uint256(IClearingHouse.CycleStatus.SETTLED), "cycle 2 emptied");
        // Pro rata: 2/3 and 1/3 of 400 (shares × (14,600e6 + 1) / (15,000e12 + 1e6), rounded down).
        assertEq(house.lenderBalance(LENDER), 9_733_333_333, "10,000 - 266.67");
        assertEq(house.lenderBalance(LENDER2), 4_866_666_666, "5,000 - 133.33");
        assertEq(house.sharesOf(LENDER), 10_000 * D * SHARE, "no share burned");
        _assertSolvent();
    }

    /// Receivables are taken only up to the loss: the rest stays pending.
    function test_allocateDefaultLoss_takesReceivablesOnlyUpToTheLoss() public {
        _settle(1, _addrs(BOB, CAROL), _ints(50 * ID, -50 * ID));
        _commit(2, _addrs(ALICE, CAROL), _ints(-100 * ID, 100 * ID));
        _declare(CAROL);
        vm.expectEmit(address(house));
        emit IClearingHouse.CreditReleased(2, CAROL, 50 * D, 0);
        vm.expectEmit(address(house));
        emit IClearingHouse.CycleReleased(2, 50 * D, 50 * D);
        vm.expectEmit(address(house));
        emit IClearingHouse.DefaultLossAllocated(CAROL, IClearingHouse.WaterfallStep.RECEIVABLES, 50 * D, 0);
        vm.expectEmit(address(house));
        emit IClearingHouse.DefaultLossAllocated(CAROL, IClearingHouse.WaterfallStep.POOL_LENDERS, 0, 0);
        vm.prank(RISK);
        assertEq(house.allocateDefaultLoss(CAROL, _ids(2)), 0, "the lenders lose nothing");
        assertEq(house.pendingCredit(2, CAROL), 50 * D, "the rest still pending");
        assertEq(house.balanceOf(CAROL), int256(0), "debt covered");
        assertEq(house.memberOf(CAROL).owedToPool, 0, "owes nothing");
        assertEq(house.poolTotal(), 10_000 * D, "pool whole");
        _assertSolvent();
    }

    /// Safe to call again: nothing more to allocate.
    function test_allocateDefaultLoss_againAllocatesNothing() public {
        _carolOwes500WithReceivables();
        vm.prank(RISK);
        house.allocateDefaultLoss(CAROL, _ids(2, 3));
        vm.prank(RISK);
        assertEq(house.allocateDefaultLoss(CAROL, _ids(2, 3)), 0, "nothing the second time");
        assertEq(house.poolTotal(), 14_600 * D, "no second write-down");
        assertEq(house.memberOf(CAROL).owedToPool, 400 * D, "owed unchanged");
    }

    /// Queued shares bear losses too, pro rata.
    function test_allocateDefaultLoss_queuedSharesBearTheLoss() public {
        _carolOwes500WithReceivables();
        vm.prank(LENDER2);
        house.requestWithdrawal(5000 * D * SHARE);
        vm.prank(RISK);
        house.allocateDefaultLoss(CAROL, _ids(2, 3));
        assertEq(house.convertToAssets(house.queuedShares()), 4_866_666_666, "the queued 5,000 lost 1/3 of 400");
    }

    function test_allocateDefaultLoss_revertsForNonDefaulter() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseMemberNotDefaulted.selector, BOB));
        vm.prank(RISK);
        house.allocateDefaultLoss(BOB, _ids(1));
    }

    function test_allocateDefaultLoss_revertsForNonRisk() public {
        _declare(CAROL);
        vm.expectRevert(_unauthorized(ADMIN, RISK_ROLE));
        vm.prank(ADMIN);
        house.allocateDefaultLoss(CAROL, _ids(1));
    }

    function test_allocateDefaultLoss_revertsWhenPaused() public {
        _declare(CAROL);
        vm.prank(ADMIN);
        house.pause();
        vm.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
        vm.prank(RISK);
        house.allocateDefaultLoss(CAROL, _ids(1));
    }

    // ───────────── recovery: later credits repay the lenders first ─────────────

    function test_recovery_throughReleaseThenDepositThenCure() public {
        _carolOwes500WithReceivables();
        vm.prank(RISK);
        house.allocateDefaultLoss(CAROL, _ids(2, 3));

        // The held cycle's 150 reaches Carol's balance and goes straight back to the pool.
        vm.warp(t0 + 1 days);
        vm.expectEmit(address(house));
        emit IClearingHouse.CreditReleased(3, CAROL, 150 * D, 150 * ID);
        vm.expectEmit(address(house));
        emit IClearingHouse.DefaultRecovered(CAROL, 150 * D, 250 * D, 0, 14_750 * D);
        _release(3, CAROL, 150 * D);
        assertEq(house.memberOf(CAROL).owedToPool, 250 * D, "still owed");

        // Cure refused while owed.
        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.ClearingHouseDefaultNotRepaid.selector, CAROL, int256(0), 250 * D)
        );
        _cure(CAROL);

        // A deposit repays the lenders first; only the rest reaches Carol's balance.
        vm.expectEmit(address(house));
        emit IClearingHouse.Deposited(CAROL, CAROL, 300 * D, 300 * ID);
        vm.expectEmit(address(house));
        emit IClearingHouse.DefaultRecovered(CAROL, 250 * D, 0, 50 * ID, 15_000 * D);
        vm.prank(CAROL);
        house.deposit(300 * D);
        assertEq(house.balanceOf(CAROL), 50 * ID, "the rest is Carol's");
        assertEq(house.poolTotal(), 15_000 * D, "the lenders are whole again");
        assertEq(house.lenderBalance(LENDER), 10_000 * D, "lender whole");
        assertEq(house.lenderBalance(LENDER2), 5000 * D, "lender2 whole");

        vm.expectEmit(address(house));
        emit IClearingHouse.DefaultCured(CAROL, "repaid");
        vm.expectEmit(address(house));
        emit IClearingHouse.MemberResumed(CAROL);
        vm.prank(RISK);
        house.cureDefault(CAROL, "repaid");
        IClearingHouse.Member memory m = house.memberOf(CAROL);
        assertFalse(m.defaulted, "cured");
        assertFalse(m.suspended, "resumed");
        // A cured member is a member again: it withdraws and can be debited.
        vm.prank(CAROL);
        house.withdraw(50 * D, CAROL);
        _commit(4, _addrs(BOB, CAROL), _ints(100 * ID, -100 * ID));
        assertEq(house.balanceOf(CAROL), -100 * ID, "debited again");
        _assertSolvent();
    }

    /// A refund of the defaulter's own debit repays the lenders first.
    function test_recovery_throughRefund() public {
        address[] memory ms = _addrs(BOB, CAROL);
        int256[] memory ds = _ints(300 * ID, -300 * ID);
        _commit(1, ms, ds); // Carol pays 300 into the escrow on credit
        _declare(CAROL);
        vm.prank(RISK);
        assertEq(house.allocateDefaultLoss(CAROL, new uint64[](0)), 300 * D, "lenders absorb 300");
        assertEq(house.poolTotal(), 9700 * D, "written down");

        vm.expectEmit(address(house));
        emit IClearingHouse.DebitRefunded(1, CAROL, 300 * D, 300 * ID);
        vm.expectEmit(address(house));
        emit IClearingHouse.DefaultRecovered(CAROL, 300 * D, 0, 0, 10_000 * D);
        vm.prank(OPERATOR);
        house.refundCycle(1, ms, ds, _addrs(BOB), _uints(300 * D), _uints(0, 300 * D));
        assertEq(house.balanceOf(CAROL), int256(0), "all of it went to the lenders");
        assertEq(house.lenderBalance(LENDER), 10_000 * D, "whole again");
        _cure(CAROL);
        assertFalse(house.memberOf(CAROL).defaulted, "cured");
        _assertSolvent();
    }

    /// Someone else's depositFor for the defaulter repays the lenders too.
    function test_recovery_throughDepositFor() public {
        _settle(1, _addrs(BOB, CAROL), _ints(200 * ID, -200 * ID));
        _declare(CAROL);
        vm.prank(RISK);
        house.allocateDefaultLoss(CAROL, new uint64[](0));
        token.mint(STRANGER, 200 * D);
        vm.prank(STRANGER);
        token.approve(address(house), 200 * D);
        vm.expectEmit(address(house));
        emit IClearingHouse.DefaultRecovered(CAROL, 200 * D, 0, 0, 10_000 * D);
        vm.prank(STRANGER);
        house.depositFor(CAROL, 200 * D);
        assertEq(house.memberOf(CAROL).owedToPool, 0, "repaid by a third party");
    }

    // ───────────── cureDefault ─────────────

    function test_cureDefault_revertsWhileInDebt() public {
        _settle(1, _addrs(BOB, CAROL), _ints(500 * ID, -500 * ID));
        _declare(CAROL);
        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.ClearingHouseDefaultNotRepaid.selector, CAROL, -500 * ID, 0)
        );
        _cure(CAROL);
        // Repaying the debt itself (nothing was written down) is enough.
        vm.prank(CAROL);
        house.deposit(500 * D);
        _cure(CAROL);
        assertFalse(house.memberOf(CAROL).defaulted, "cured");
    }

    function test_cureDefault_revertsForNonDefaulter() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseMemberNotDefaulted.selector, BOB));
        _cure(BOB);
    }

    function test_cureDefault_revertsForNonRisk() public {
        _declare(BOB);
        vm.expectRevert(_unauthorized(OPERATOR, RISK_ROLE));
        vm.prank(OPERATOR);
        house.cureDefault(BOB, "repaid");
    }

    /// cureDefault moves no funds and has no pause requirement in the spec.
    function test_cureDefault_allowedWhilePaused() public {
        _declare(BOB);
        vm.prank(ADMIN);
        house.pause();
        _cure(BOB);
        assertFalse(house.memberOf(BOB).defaulted, "cured while paused");
    }

    function test_resumeMember_revertsForDefaulter() public {
        _declare(CAROL);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseMemberDefaulted.selector, CAROL));
        vm.prank(RISK);
        house.resumeMember(CAROL);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseMemberSuspended.selector, CAROL));
        vm.prank(RISK);
        house.suspendMember(CAROL);
    }

    // ───────────── a defaulter is never debited ─────────────

    function test_defaulter_cannotBeDebitedInCommitOrSettle() public {
        _declare(ALICE); // 5,000 collateral and a 1,000 line: it could pay, but it is in default
        bytes memory err = abi.encodeWithSelector(IClearingHouse.ClearingHouseMemberSuspended.selector, ALICE);
        vm.expectRevert(err);
        _commit(1, _addrs(ALICE, BOB), _ints(-100 * ID, 100 * ID));
        vm.expectRevert(err);
        _settle(1, _addrs(ALICE, BOB), _ints(-100 * ID, 100 * ID));
        // It may still receive.
        _commit(1, _addrs(ALICE, BOB), _ints(100 * ID, -100 * ID));
        assertEq(house.pendingCredit(1, ALICE), 100 * D, "credited");
    }

    function test_defaulter_cannotWithdraw() public {
        _declare(BOB); // 1,000 of free collateral
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseMemberDefaulted.selector, BOB));
        vm.prank(BOB);
        house.withdraw(1, BOB);
        assertEq(house.balanceOf(BOB), 1000 * ID, "kept");
    }

    // ───────────── fuzz: the waterfall ─────────────

    /// Any debt, any receivables in a committed cycle and another (held or
    /// not): four DefaultLossAllocated in order 1..4, each remaining loss the
    /// previous one less the step's amount, step 3 = min(debt, unheld
    /// receivables), step 4 the rest (a PoolWrittenDown of exactly that), and
    /// the steps add up to the debt.
    function testFuzz_waterfall_stepsAddUpToTheLossInOrder(uint256 debt, uint256 r1, uint256 r2, bool held) public {
        debt = bound(debt, 1, 500 * D);
        r1 = bound(r1, 1, 1000 * D);
        r2 = bound(r2, 1, 1000 * D);
        _settle(1, _addrs(BOB, CAROL), _ints(int256(debt), -int256(debt)));
        _commit(2, _addrs(ALICE, CAROL), _ints(-int256(r1), int256(r1)));
        _commit(3, _addrs(ALICE, CAROL), _ints(-int256(r2), int256(r2)));
        if (held) {
            vm.prank(OPERATOR);
            house.holdCycle(3, t0 + 1 hours);
        }
        _declare(CAROL);
        uint256 pool = house.poolTotal();

        vm.recordLogs();
        vm.prank(RISK);
        uint256 lost = house.allocateDefaultLoss(CAROL, _ids(2, 3));
        Vm.Log[] memory logs = vm.getRecordedLogs();

        uint256 receivable = r1 + (held ? 0 : r2);
        uint256 taken = debt < receivable ? debt : receivable;
        uint256[5] memory amounts;
        uint256 step;
        uint256 remaining = debt;
        uint256 writeDown;
        for (uint256 i; i < logs.length; ++i) {
            bytes32 sig = logs[i].topics[0];
            if (sig == IClearingHouse.PoolWrittenDown.selector) {
                assertEq(step, 3, "the write-down comes after step 3");
                (writeDown,) = abi.decode(logs[i].data, (uint256, uint256));
            }
            if (sig != IClearingHouse.DefaultLossAllocated.selector) continue;
            assertEq(uint256(logs[i].topics[2]), ++step, "steps in order");
            (uint256 amount, uint256 left) = abi.decode(logs[i].data, (uint256, uint256));
            amounts[step] = amount;
            if (step > 1) assertEq(left + amount, remaining, "remaining = previous - amount");
            remaining = left;
        }
        assertEq(step, 4, "four steps");
        assertEq(remaining, 0, "nothing left uncovered");
        assertEq(amounts[1] + amounts[2], 0, "no collateral when in debt, no pledged assets yet");
        assertEq(amounts[3], taken, "receivables: at most the loss, held cycle skipped");
        assertEq(amounts[4], debt - taken, "the lenders bear the rest");
        assertEq(amounts[1] + amounts[2] + amounts[3] + amounts[4], debt, "the steps add up to the loss");
        assertEq(writeDown, amounts[4], "PoolWrittenDown == step 4");
        assertEq(lost, amounts[4], "returned");
        assertEq(house.poolTotal(), pool - amounts[4], "the pool fell by step 4");
        assertEq(house.memberOf(CAROL).owedToPool, amounts[4], "owed back");
        assertEq(house.balanceOf(CAROL), int256(0), "the loss is covered");
        uint256 fromFirst = debt < r1 ? debt : r1;
        assertEq(house.pendingCredit(2, CAROL), r1 - fromFirst, "cycle 2 first");
        assertEq(house.pendingCredit(3, CAROL), held ? r2 : r2 - (taken - fromFirst), "cycle 3 after");
        _assertSolvent();
    }

    // ───────────── helpers ─────────────

    /// @dev LENDER2 adds 5,000 (pool 15,000); Carol owes 500 (settled cycle 1),
    /// is owed 100 in committed cycle 2 and 150 in cycle 3 (held a day); she defaults.
    function _carolOwes500WithReceivables() private {
        vm.prank(LENDER2);
        house.poolDeposit(5000 * D);
        _settle(1, _addrs(BOB, CAROL), _ints(500 * ID, -500 * ID));
        _commit(2, _addrs(ALICE, CAROL), _ints(-100 * ID, 100 * ID));
        _commit(3, _addrs(ALICE, CAROL), _ints(-150 * ID, 150 * ID));
        vm.prank(OPERATOR);
        house.holdCycle(3, t0 + 1 days);
        _declare(CAROL);
    }

    function _declare(address member) private {
        vm.prank(RISK);
        house.declareDefault(member, REASON);
    }

    function _cure(address member) private {
        vm.prank(RISK);
        house.cureDefault(member, "repaid");
    }
}
