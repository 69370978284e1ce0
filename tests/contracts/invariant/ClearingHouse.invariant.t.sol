// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {ClearingHouse} from "../../../contracts/ClearingHouse.sol";
import {IClearingHouse} from "../../../contracts/interfaces/IClearingHouse.sol";
import {SettlementToken} from "../../../contracts/test/SettlementToken.sol";
import {Test} from "../utils/Test.sol";
import {ClearingHouseHandler} from "./ClearingHouseHandler.sol";

/// @notice The on-chain invariants I1–I9 of {IClearingHouse}, after every call of
/// random sequences driven by {ClearingHouseHandler}.
contract ClearingHouseInvariantTest is Test {
    ClearingHouseHandler internal handler;
    ClearingHouse internal house;
    SettlementToken internal token;

    function setUp() public {
        vm.warp(1_700_000_000);
        handler = new ClearingHouseHandler();
        house = handler.house();
        token = handler.token();
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    // Each invariant_* function is a campaign of its own (runs × depth calls),
    // so the checks are grouped into two campaigns to keep the suite fast;
    // every check still fails with its own message.

    /// Money: I1 solvency, I2 credit covered by the pool, I7 shares and share
    /// price, and the auditor's replay of every balance, the pool and the shares.
    function invariant_accounting() public view {
        _assertI1Solvency();
        _assertI2CreditDrawnCoveredByPool();
        _assertI7SharesAndPrice();
        _assertEventsReconstructState();
    }

    /// Rules: I3 (only interest breaches a limit), I4, I5, I6 (cycles and
    /// access), I8 (waterfall order and recovery), I9 (defaulters never debited).
    function invariant_rules() public view {
        _assertI3OnlyInterestBreachesCreditLimit();
        _assertI4CycleCommitsOnce();
        _assertI5CycleEscrowEqualsPendingCredits();
        _assertI6AccessPauseAndSettle();
        _assertI8WaterfallOrder();
        _assertI9DefaultersNeverDebited();
        _assertI10AdvancesRepaidFirst();
    }

    /// I10: totalAdvanced is Σ outstanding principal (and what the events add up
    /// to); every advance is covered by the credit that repays it; a release
    /// always repaid the advance before the creditor.
    function _assertI10AdvancesRepaidFirst() internal view {
        assertEq(handler.ghostAdvanceOutOfOrder(), 0, "I10 a release paid the creditor before the pool");
        address[] memory members = handler.members();
        uint64[] memory ids = handler.cycleIds();
        uint256 principalSum;
        for (uint256 i; i < ids.length; ++i) {
            for (uint256 j; j < members.length; ++j) {
                (uint256 principal, uint256 fee) = house.advanceOf(ids[i], members[j]);
                principalSum += principal;
                assertLe(principal + fee, house.pendingCredit(ids[i], members[j]), "I10 advance covered by its credit");
            }
        }
        assertEq(principalSum, house.totalAdvanced(), "I10 totalAdvanced == sum of principal");
        assertEq(handler.replayedAdvanced(), house.totalAdvanced(), "I10 advances from events");
    }

    /// I1: Σ member balances + pool + escrow == tokens held (beyond unswept plain
    /// transfers), through interest, defaults and write-downs; the pool total
    /// is also what its events add up to.
    function _assertI1Solvency() internal view {
        address[] memory members = handler.members();
        int256 sum;
        for (uint256 i; i < members.length; ++i) {
            sum += house.balanceOf(members[i]);
        }
        assertEq(sum, house.totalBalances(), "totalBalances == sum of balances");
        int256 accounted =
            sum + int256(house.poolTotal()) + int256(house.totalEscrowed()) - int256(house.totalAdvanced());
        assertEq(uint256(accounted) + handler.ghostSurplus(), token.balanceOf(address(house)), "I1 solvency");
        assertEq(handler.replayedPoolTotal(), house.poolTotal(), "I1 pool total from events");
    }

    /// I2: creditDrawn == Σ max(0, −balance) ≤ poolTotal.
    function _assertI2CreditDrawnCoveredByPool() internal view {
        address[] memory members = handler.members();
        uint256 debt;
        for (uint256 i; i < members.length; ++i) {
            int256 b = house.balanceOf(members[i]);
            if (b < 0) debt += uint256(-b);
        }
        assertEq(house.creditDrawn(), debt, "creditDrawn == sum of debts");
        assertLe(house.creditDrawn() + house.totalAdvanced(), house.poolTotal(), "I2 drawn + advanced <= pool");
    }

    /// I3: a debit never takes a balance below −creditLimit; only interest can,
    /// so no balance is below −creditLimit by more than the interest ever charged to it.
    function _assertI3OnlyInterestBreachesCreditLimit() internal view {
        assertEq(handler.ghostDebitsBelowLimit(), 0, "I3 a debit took a balance below -creditLimit");
        address[] memory members = handler.members();
        for (uint256 i; i < members.length; ++i) {
            IClearingHouse.Member memory m = house.memberOf(members[i]);
            int256 floor = -int256(m.creditLimit) - int256(handler.interestCharged(members[i]))
                - int256(handler.recourseCharged(members[i]));
            assertGe(m.balance, floor, "I3 balance >= -limit - interest charged");
        }
    }

    /// I4: a cycle id commits at most once, and its committed deltas sum to zero (from events).
    function _assertI4CycleCommitsOnce() internal view {
        assertEq(handler.ghostDoubleCommits(), 0, "I4 cycle committed twice");
        uint64[] memory ids = handler.cycleIds();
        for (uint256 i; i < ids.length; ++i) {
            assertLe(handler.ghostCommits(ids[i]), 1, "I4 commits per id");
            assertEq(handler.replayedNet(ids[i]), int256(0), "I4 deltas sum to zero");
        }
    }

    /// I5: per cycle, escrowed == Σ pending ≤ Σ (committed debit − refunded), the
    /// committed lists hash to the cycle's deltasHash; Σ escrowed == totalEscrowed;
    /// settled exactly when empty.
    function _assertI5CycleEscrowEqualsPendingCredits() internal view {
        address[] memory members = handler.members();
        uint64[] memory ids = handler.cycleIds();
        uint256 escrowTotal;
        for (uint256 i; i < ids.length; ++i) {
            IClearingHouse.Cycle memory c = house.cycleOf(ids[i]);
            uint256 pending;
            for (uint256 j; j < members.length; ++j) {
                pending += house.pendingCredit(ids[i], members[j]);
            }
            (address[] memory ms, int256[] memory ds) = handler.committedLists(ids[i]);
            uint256 debits;
            for (uint256 j; j < ms.length; ++j) {
                uint256 refunded = house.refundedDebit(ids[i], ms[j]);
                if (ds[j] < 0) {
                    assertLe(refunded, uint256(-ds[j]), "I5 refunded <= committed debit");
                    debits += uint256(-ds[j]) - refunded;
                } else {
                    assertEq(refunded, 0, "I5 nothing refunded to a non-debtor");
                }
            }
            if (ms.length != 0 && c.escrowed != 0) {
                assertEq(c.deltasHash, keccak256(abi.encode(ms, ds)), "deltasHash of the committed lists");
            }
            assertEq(c.escrowed, pending, "I5 escrow == sum of pending");
            assertLe(c.escrowed, debits, "I5 escrow <= sum of refundable debits");
            assertEq(c.status == IClearingHouse.CycleStatus.SETTLED, c.escrowed == 0, "settled iff empty");
            escrowTotal += c.escrowed;
        }
        assertEq(escrowTotal, house.totalEscrowed(), "sum of escrows == totalEscrowed");
        assertEq(handler.ghostOverReleases(), 0, "released more than pending");
        assertEq(handler.ghostTamperedRefunds(), 0, "a refund with other lists than committed succeeded");
    }

    /// I6: only the right roles move cycles, defaults and rates; members withdraw
    /// only free balance; while paused no funds move except by the recovery path;
    /// settleCycle moves each balance by exactly its delta (less the interest
    /// and the default recovery it triggers) and never touches the escrow.
    function _assertI6AccessPauseAndSettle() internal view {
        assertEq(handler.ghostUnauthorizedSuccesses(), 0, "I6 the wrong caller succeeded");
        assertEq(handler.ghostOverWithdrawals(), 0, "I6 withdrew beyond free balance");
        assertEq(handler.ghostPausedMovements(), 0, "I6 funds moved while paused");
        assertEq(handler.ghostSettleMismatches(), 0, "settle moved a balance by other than its delta");
        assertEq(handler.ghostRateAboveCap(), 0, "a rate model above the cap was accepted");
    }

    /// I7: Σ sharesOf + queued shares == totalShares (and so do the events); the
    /// queue holds exactly the queued shares and is paid in order; lenders'
    /// assets never add up to more than the pool; the share price never falls
    /// except by a write-down, and a write-down never raises it.
    function _assertI7SharesAndPrice() internal view {
        address[] memory lenders = handler.lenders();
        uint256 shares;
        uint256 assets;
        for (uint256 i; i < lenders.length; ++i) {
            shares += house.sharesOf(lenders[i]);
            assets += house.lenderBalance(lenders[i]);
            assertEq(handler.replayedShares(lenders[i]), house.sharesOf(lenders[i]), "shares from events");
        }
        (uint256 head, uint256 tail) = house.withdrawalQueue();
        uint256 queued;
        for (uint256 id = head; id < tail; ++id) {
            queued += house.withdrawalRequest(id).shares;
        }
        uint256 total = house.totalShares();
        assertEq(queued, house.queuedShares(), "queue == queuedShares");
        assertEq(shares + house.queuedShares(), total, "I7 sum of shares + queued == totalShares");
        assertEq(handler.replayedTotalShares(), total, "totalShares from events");
        assertEq(handler.replayedQueuedShares(), house.queuedShares(), "queued shares from events");
        // Every holder's assets round down; the virtual shares own the rest (and 1 unit per holder of rounding).
        uint256 pool = house.poolTotal();
        assets += house.convertToAssets(queued);
        assertLe(assets, pool, "lenders' assets <= pool");
        uint256 virtualPart = Math.mulDiv(pool + 1, 1e6, total + 1e6, Math.Rounding.Ceil);
        assertLe(pool - assets, virtualPart + lenders.length + 1, "the pool is the lenders' (but rounding)");
        assertEq(handler.ghostPriceFalls(), 0, "I7 share price fell without a write-down");
        assertEq(handler.ghostWriteDownRaises(), 0, "I7 a write-down raised the share price");
        assertEq(handler.ghostQueueOutOfOrder(), 0, "queue paid out of order");
        assertEq(handler.ghostForeignCancels(), 0, "a lender cancelled another's request");
        // The last loss: (pool' + 1)(S + 1e6) < (pool + 1)(S' + 1e6); a loss never raises the price.
        if (handler.ghostLossAllocations() != 0) {
            uint256 sBefore = handler.ghostSharesBeforeLoss();
            uint256 sAfter = handler.ghostSharesAfterLoss();
            assertEq(sAfter, sBefore, "a write-down burns no share");
            assertLe(handler.ghostPoolAfterLoss() + 1, handler.ghostPoolBeforeLoss(), "a loss lowers the pool");
        }
    }

    /// I8: lenders bear a loss only after the defaulter's receivables in every
    /// unheld committed cycle are exhausted and only for a member in debt;
    /// every waterfall replays as four ordered steps that add up to the loss;
    /// what lenders are owed is owed by a defaulter whose balance is zero
    /// (any credit beyond zero would have repaid them first).
    function _assertI8WaterfallOrder() internal view {
        assertEq(handler.ghostWaterfallOutOfOrder(), 0, "I8 lenders bore a loss before the defaulter's assets");
        assertEq(handler.waterfallMismatches(), 0, "I8 waterfall steps out of order or not adding up");
        address[] memory members = handler.members();
        for (uint256 i; i < members.length; ++i) {
            IClearingHouse.Member memory m = house.memberOf(members[i]);
            assertEq(
                m.owedToPool,
                handler.writtenDown(members[i]) - handler.defaultRecovered(members[i]),
                "owed == written down - recovered (from events)"
            );
            if (m.owedToPool == 0) continue;
            assertTrue(m.defaulted, "I8 only a defaulter owes the pool");
            assertEq(m.balance, int256(0), "I8 a defaulter that owes the pool holds nothing");
        }
    }

    /// I9: a defaulted member is suspended, accrues no interest and is never
    /// debited (no cycle debit, no withdrawal, no interest) until cured, and a
    /// cure needs everything repaid.
    function _assertI9DefaultersNeverDebited() internal view {
        assertEq(handler.ghostDefaulterDebited(), 0, "I9 a defaulter's balance fell");
        assertEq(handler.ghostDefaulterInterest(), 0, "I9 interest charged to a defaulter");
        assertEq(handler.ghostDefaulterEscapes(), 0, "I9 a defaulter withdrew, resumed or was cured unpaid");
        assertEq(handler.ghostRefusedCures(), 0, "a repaid defaulter could not be cured");
        address[] memory members = handler.members();
        for (uint256 i; i < members.length; ++i) {
            IClearingHouse.Member memory m = house.memberOf(members[i]);
            if (!m.defaulted) continue;
            assertTrue(m.suspended, "I9 a defaulter is suspended");
            assertEq(house.interestOwedOf(members[i]), 0, "I9 a defaulter owes no interest");
            assertEq(house.availableOf(members[i]), 0, "I9 a defaulter has nothing to pay with");
        }
    }

    /// Auditability: balances, cycle escrows and every reported balance agree with the event replay.
    function _assertEventsReconstructState() internal view {
        assertEq(handler.replayMismatches(), 0, "an event reported a balance the replay disagrees with");
        address[] memory members = handler.members();
        for (uint256 i; i < members.length; ++i) {
            assertEq(handler.replayedBalance(members[i]), house.balanceOf(members[i]), "balance from events");
        }
        uint64[] memory ids = handler.cycleIds();
        for (uint256 i; i < ids.length; ++i) {
            uint256 escrowed = house.cycleOf(ids[i]).escrowed;
            assertEq(handler.replayedEscrow(ids[i]), escrowed, "escrow from debit events");
            assertEq(handler.replayedPending(ids[i]), escrowed, "escrow from credit events");
        }
    }

    /// The handler is not vacuous: a plain pseudo-random walk makes every
    /// action take effect at least once, and no intrusion ever does.
    function test_handlerReachesEveryAction() public {
        for (uint256 i; i < 1500; ++i) {
            uint256 r = uint256(keccak256(abi.encode(i)));
            _step(r % 33, r >> 8, r >> 64);
        }
        // Pauses are rare in the walk; exercise the recovery path explicitly.
        if (!house.paused()) handler.togglePause(0);
        for (uint256 i; i < 4; ++i) {
            handler.recoverMember(i);
            handler.recoverLender(i);
        }
        handler.togglePause(0);
        string[32] memory mustAct = [
            "deposit",
            "depositByDefaulter",
            "withdraw",
            "poolDeposit",
            "poolWithdraw",
            "poolRedeem",
            "requestWithdrawal",
            "cancelWithdrawal",
            "processWithdrawals",
            "accrueInterest",
            "setInterestRateModel",
            "commit",
            "settle",
            "release",
            "releaseProRata",
            "refund",
            "hold",
            "claim",
            "declareDefault",
            "allocateDefaultLoss",
            "cureDefault",
            "toggleSuspension",
            "setCreditLimit",
            "togglePause",
            "recoverMember",
            "recoverLender",
            "sweep",
            "donate",
            "warp",
            "intruderRisk",
            "intruderRelease",
            "advance"
        ];
        for (uint256 i; i < mustAct.length; ++i) {
            bytes32 name = keccak256(bytes(mustAct[i]));
            if (name == keccak256("donate") || name == keccak256("warp") || name == keccak256("intruderRisk")) {
                assertGe(handler.calls(mustAct[i]), 1, mustAct[i]);
            } else if (name == keccak256("intruderRelease")) {
                assertGe(handler.calls(mustAct[i]), 1, mustAct[i]);
                assertEq(handler.effective(mustAct[i]), 0, "intruder release had effect");
            } else {
                assertGe(handler.effective(mustAct[i]), 1, mustAct[i]);
            }
        }
        assertEq(handler.effective("intruderCommit"), 0, "intruder commit had effect");
        assertEq(handler.effective("intruderRisk"), 0, "intruder default or rate call had effect");
        assertGe(handler.ghostLossAllocations(), 1, "lenders bore a loss at least once");
        assertGe(handler.waterfallsReplayed(), 1, "a waterfall was replayed");
        invariant_accounting();
        invariant_rules();
    }

    function _step(uint256 k, uint256 a, uint256 b) internal {
        if (k == 0) handler.deposit(a, b);
        else if (k == 1) handler.withdraw(a, b % (5000 * 1e6));
        else if (k == 2) handler.poolDeposit(a, b);
        else if (k == 3) handler.poolWithdraw(a, b % (5000 * 1e6));
        else if ((k == 4 || k == 5) && b % 5 == 4) handler.settle(a, b % 8 == 0);
        else if (k == 4 || k == 5) handler.commit(a, b % 8 == 0);
        else if (k == 6) handler.release(a, b, b % (2000 * 1e6));
        else if (k == 7) handler.releaseProRata(a, uint16(b));
        else if (k == 8) handler.refund(a, b, b >> 8, b >> 16);
        else if (k == 9) handler.hold(a, b);
        else if (k == 10) handler.claim(a, b, b >> 8);
        else if (k == 11) handler.warp(b);
        else if (k == 12) handler.intruderCommit(a, b);
        else if (k == 13) handler.intruderRelease(a, b);
        else if (k == 14) handler.toggleSuspension(a);
        else if (k == 15) handler.setCreditLimit(a, b);
        else if (k == 16) handler.togglePause(a);
        else if (k == 17) handler.recoverMember(a);
        else if (k == 18) handler.recoverLender(a);
        else if (k == 19) handler.poolRedeem(a, b);
        else if (k == 20) handler.requestWithdrawal(a, b);
        else if (k == 21) handler.cancelWithdrawal(a, b);
        else if (k == 22) handler.processWithdrawals(b);
        else if (k == 23) handler.accrueInterest(a);
        else if (k == 24) handler.setInterestRateModel(a, b);
        else if (k == 25) handler.declareDefault(a, b);
        else if (k == 26) handler.allocateDefaultLoss(a);
        else if (k == 27) handler.cureDefault(a, b);
        else if (k == 28) handler.depositByDefaulter(a, b);
        else if (k == 29) handler.intruderRisk(a, b);
        else if (k == 32) handler.advance(a, b, b >> 8, b >> 16);
        else if (b % 2 == 0) handler.donate(b);
        else handler.sweep();
    }
}
