// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ClearingHouse} from "../../../contracts/ClearingHouse.sol";
import {IClearingHouse} from "../../../contracts/interfaces/IClearingHouse.sol";
import {SettlementToken} from "../../../contracts/test/SettlementToken.sol";
import {Test} from "../utils/Test.sol";
import {ClearingHouseHandler} from "./ClearingHouseHandler.sol";

/// @notice The on-chain invariants of docs/architecture.md, after every call of random
/// sequences driven by {ClearingHouseHandler}.
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

    /// I1: Σ member balances + pool + escrow == tokens held (beyond unswept plain transfers).
    function invariant_solvency() public view {
        address[] memory members = handler.members();
        int256 sum;
        for (uint256 i; i < members.length; ++i) {
            sum += house.balanceOf(members[i]);
        }
        assertEq(sum, house.totalBalances(), "totalBalances == sum of balances");
        int256 accounted = sum + int256(house.poolTotal()) + int256(house.totalEscrowed());
        assertEq(uint256(accounted) + handler.ghostSurplus(), token.balanceOf(address(house)), "I1 solvency");
    }

    /// I2: creditDrawn == Σ max(0, −balance) ≤ poolTotal, and the pool is exactly the lenders' deposits.
    function invariant_creditDrawnCoveredByPool() public view {
        address[] memory members = handler.members();
        uint256 debt;
        for (uint256 i; i < members.length; ++i) {
            int256 b = house.balanceOf(members[i]);
            if (b < 0) debt += uint256(-b);
        }
        assertEq(house.creditDrawn(), debt, "creditDrawn == sum of debts");
        assertLe(house.creditDrawn(), house.poolTotal(), "I2 drawn <= pool");
        address[] memory lenders = handler.lenders();
        uint256 lent;
        for (uint256 i; i < lenders.length; ++i) {
            lent += house.lenderBalance(lenders[i]);
        }
        assertEq(house.poolTotal(), lent, "pool == sum of lender deposits");
    }

    /// I3: no balance below −creditLimit.
    function invariant_balancesAboveMinusCreditLimit() public view {
        address[] memory members = handler.members();
        for (uint256 i; i < members.length; ++i) {
            IClearingHouse.Member memory m = house.memberOf(members[i]);
            assertGe(m.balance, -int256(m.creditLimit), "I3 balance >= -limit");
        }
    }

    /// I4: a cycle id commits at most once, and its committed deltas sum to zero (from events).
    function invariant_cycleCommitsOnce() public view {
        assertEq(handler.ghostDoubleCommits(), 0, "I4 cycle committed twice");
        uint64[] memory ids = handler.cycleIds();
        for (uint256 i; i < ids.length; ++i) {
            assertLe(handler.ghostCommits(ids[i]), 1, "I4 commits per id");
            assertEq(handler.replayedNet(ids[i]), int256(0), "I4 deltas sum to zero");
        }
    }

    /// I5: per cycle, escrowed == Σ pending ≤ Σ remaining debits; Σ escrowed == totalEscrowed;
    /// settled exactly when empty.
    function invariant_cycleEscrowEqualsPendingCredits() public view {
        address[] memory members = handler.members();
        uint64[] memory ids = handler.cycleIds();
        uint256 escrowTotal;
        for (uint256 i; i < ids.length; ++i) {
            IClearingHouse.Cycle memory c = house.cycleOf(ids[i]);
            uint256 pending;
            uint256 debits;
            for (uint256 j; j < members.length; ++j) {
                pending += house.pendingCredit(ids[i], members[j]);
                debits += house.cycleDebit(ids[i], members[j]);
            }
            assertEq(c.escrowed, pending, "I5 escrow == sum of pending");
            assertLe(c.escrowed, debits, "I5 escrow <= sum of refundable debits");
            assertEq(c.status == IClearingHouse.CycleStatus.SETTLED, c.escrowed == 0, "settled iff empty");
            escrowTotal += c.escrowed;
        }
        assertEq(escrowTotal, house.totalEscrowed(), "sum of escrows == totalEscrowed");
        assertEq(handler.ghostOverReleases(), 0, "released more than pending");
    }

    /// I6a: a member withdraws only free, non-negative balance.
    function invariant_noWithdrawalBeyondFreeBalance() public view {
        assertEq(handler.ghostOverWithdrawals(), 0, "I6 withdrew beyond free balance");
    }

    /// settleCycle moves each member's balance by exactly its delta and never touches the escrow.
    function invariant_settleMovesExactlyTheDeltas() public view {
        assertEq(handler.ghostSettleMismatches(), 0, "settle moved a balance by other than its delta");
    }

    /// I6b: only the operator role commits, settles, releases or refunds.
    function invariant_onlyOperatorCommitsOrReleases() public view {
        assertEq(handler.ghostUnauthorizedSuccesses(), 0, "I6 non-operator moved a cycle");
    }

    /// I6c: while paused, no funds move except by the admin's recovery path.
    function invariant_pausedMovesNoFunds() public view {
        assertEq(handler.ghostPausedMovements(), 0, "I6 funds moved while paused");
    }

    /// Auditability: balances, cycle escrows and every reported balance agree with the event replay.
    function invariant_eventsReconstructState() public view {
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
        for (uint256 i; i < 600; ++i) {
            uint256 r = uint256(keccak256(abi.encode(i)));
            uint256 a = r >> 8;
            uint256 b = r >> 64;
            uint256 k = r % 20;
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
            else if (b % 2 == 0) handler.donate(b);
            else handler.sweep();
        }
        // Pauses are rare in the walk; exercise the recovery path explicitly.
        if (!house.paused()) handler.togglePause(0);
        for (uint256 i; i < 4; ++i) {
            handler.recoverMember(i);
            handler.recoverLender(i);
        }
        handler.togglePause(0);
        string[19] memory mustAct = [
            "deposit",
            "withdraw",
            "poolDeposit",
            "poolWithdraw",
            "commit",
            "settle",
            "release",
            "releaseProRata",
            "refund",
            "hold",
            "claim",
            "toggleSuspension",
            "setCreditLimit",
            "togglePause",
            "recoverMember",
            "recoverLender",
            "sweep",
            "donate",
            "warp"
        ];
        for (uint256 i; i < mustAct.length; ++i) {
            if (
                keccak256(bytes(mustAct[i])) == keccak256("donate") || keccak256(bytes(mustAct[i])) == keccak256("warp")
            ) {
                assertGe(handler.calls(mustAct[i]), 1, mustAct[i]);
                continue;
            }
            assertGe(handler.effective(mustAct[i]), 1, mustAct[i]);
        }
        assertEq(handler.effective("intruderCommit"), 0, "intruder commit had effect");
        assertEq(handler.effective("intruderRelease"), 0, "intruder release had effect");
        invariant_solvency();
        invariant_creditDrawnCoveredByPool();
        invariant_balancesAboveMinusCreditLimit();
        invariant_cycleCommitsOnce();
        invariant_cycleEscrowEqualsPendingCredits();
        invariant_eventsReconstructState();
        invariant_pausedMovesNoFunds();
        invariant_settleMovesExactlyTheDeltas();
        invariant_onlyOperatorCommitsOrReleases();
    }
}
