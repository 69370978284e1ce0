// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {IClearingHouse} from "../../contracts/interfaces/IClearingHouse.sol";
import {ClearingHouseBase} from "./utils/ClearingHouseBase.sol";
import {Vm} from "./utils/Vm.sol";

/// @notice settleCycle: effects, events, every refusal with its values, and a
/// differential check that it accepts, refuses, emits and ends exactly as
/// commitCycle followed by a full releaseCycle.
contract ClearingHouseSettleTest is ClearingHouseBase {
    int256 internal constant ID = int256(D);
    uint64 internal t0;

    /// @dev Outcomes the differential run reached, by error selector (0 = settled).
    mapping(bytes4 outcome => uint256) internal seen;

    function setUp() public override {
        super.setUp();
        t0 = uint64(block.timestamp);
    }

    // ───────────── effects and events ─────────────

    function test_settleCycle_movesBalancesAndRecordsCycle() public {
        int256 totalBefore = house.totalBalances();
        vm.expectEmit(address(house));
        emit IClearingHouse.MemberDebited(1, ALICE, 300 * D, 4700 * ID);
        vm.expectEmit(address(house));
        emit IClearingHouse.CreditRecorded(1, BOB, 200 * D);
        vm.expectEmit(address(house));
        emit IClearingHouse.CreditRecorded(1, CAROL, 100 * D);
        vm.expectEmit(address(house));
        emit IClearingHouse.CycleCommitted(1, ROOT, 3, 300 * D, 300 * D);
        vm.expectEmit(address(house));
        emit IClearingHouse.CreditReleased(1, BOB, 200 * D, 1200 * ID);
        vm.expectEmit(address(house));
        emit IClearingHouse.CreditReleased(1, CAROL, 100 * D, 100 * ID);
        vm.expectEmit(address(house));
        emit IClearingHouse.CycleReleased(1, 300 * D, 0);
        vm.expectEmit(address(house));
        emit IClearingHouse.CycleSettled(1);
        _settle(1, _addrs(ALICE, BOB, CAROL), _ints(-300 * ID, 200 * ID, 100 * ID));

        assertEq(house.balanceOf(ALICE), 4700 * ID, "debtor debited");
        assertEq(house.balanceOf(BOB), 1200 * ID, "creditor credited at once");
        assertEq(house.balanceOf(CAROL), 100 * ID, "creditor credited at once");
        assertEq(house.totalBalances(), totalBefore, "sum of balances unchanged");
        assertEq(house.totalEscrowed(), 0, "no escrow left behind");
        assertEq(house.refundedDebit(1, ALICE), 0, "no refund bookkeeping");
        assertEq(house.cycleOf(1).deltasHash, bytes32(0), "no deltas hash: nothing to refund");
        assertEq(house.pendingCredit(1, BOB), 0, "no pending credit stored");
        assertEq(house.pendingCredit(1, CAROL), 0, "no pending credit stored");

        IClearingHouse.Cycle memory c = house.cycleOf(1);
        assertEq(c.root, ROOT, "root");
        assertEq(uint256(c.obligationCount), 3, "count");
        assertEq(c.grossValue, 300 * D, "gross");
        assertEq(c.escrowed, 0, "cycle escrow");
        assertEq(uint256(c.committedAt), uint256(t0), "committedAt");
        assertEq(uint256(c.claimableAt), 0, "nothing to claim");
        assertEq(uint256(c.heldUntil), 0, "not held");
        assertEq(uint256(c.status), uint256(IClearingHouse.CycleStatus.SETTLED), "status");
        _assertSolvent();
    }

    /// An auditor's replay cannot tell settleCycle from commit + full release:
    /// the very same log entries, in the same order, with the same data.
    function test_settleCycle_emitsExactlyTheEventsOfCommitAndFullRelease() public {
        // Creditor first, a debtor drawing credit, a zero delta: the interesting orderings.
        address[] memory ms = _addrs(ALICE, BOB, CAROL, DAVE);
        int256[] memory ds = _ints(400 * ID, -250 * ID, -150 * ID, 0);

        uint256 snap = vm.snapshotState();
        vm.recordLogs();
        _commit(1, ms, ds);
        _release(1, ALICE, 400 * D);
        Vm.Log[] memory viaCommit = vm.getRecordedLogs();
        int256[4] memory balancesViaCommit = _balances();
        vm.revertToState(snap);

        vm.recordLogs();
        _settle(1, ms, ds);
        Vm.Log[] memory viaSettle = vm.getRecordedLogs();

        _assertSameLogs(viaCommit, viaSettle);
        // CreditRecorded, 2 × MemberDebited, CycleCommitted, CreditReleased, CycleReleased, CycleSettled.
        assertEq(viaSettle.length, 7, "seven events");
        int256[4] memory balances = _balances();
        for (uint256 i; i < 4; ++i) {
            assertEq(balances[i], balancesViaCommit[i], "same balances");
        }
        assertEq(house.creditDrawn(), 150 * D, "carol draws credit");
        _assertSolvent();
    }

    function test_settleCycle_withoutDebitEmitsOnlyCommittedAndSettled() public {
        vm.recordLogs();
        vm.prank(OPERATOR);
        house.settleCycle(7, ROOT, 2, 50 * D, _addrs(ALICE), new int256[](1));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 2, "two events, as commitCycle of an empty cycle");
        assertEq(logs[0].topics[0], IClearingHouse.CycleCommitted.selector, "committed");
        assertEq(logs[1].topics[0], IClearingHouse.CycleSettled.selector, "settled");
        assertEq(uint256(house.cycleOf(7).status), uint256(IClearingHouse.CycleStatus.SETTLED), "settled");
        assertEq(house.balanceOf(ALICE), 5000 * ID, "zero delta skipped");
    }

    function test_settleCycle_verifyObligationWorksAgainstRoot() public {
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
        house.settleCycle(1, root, 4, 340 * D, _addrs(ALICE, BOB, CAROL), _ints(-300 * ID, 200 * ID, 100 * ID));

        assertEq(house.cycleOf(1).root, root, "root stored");
        assertTrue(house.verifyObligation(1, "o-1", ALICE, BOB, 120 * D, _proof(leaves[1], n23)), "o-1");
        assertTrue(house.verifyObligation(1, "o-2", ALICE, CAROL, 100 * D, _proof(leaves[0], n23)), "o-2");
        assertTrue(house.verifyObligation(1, "o-3", BOB, ALICE, 20 * D, _proof(leaves[3], n01)), "o-3");
        assertTrue(house.verifyObligation(1, "o-4", ALICE, BOB, 100 * D, _proof(leaves[2], n01)), "o-4");
        assertFalse(house.verifyObligation(1, "o-1", ALICE, BOB, 121 * D, _proof(leaves[1], n23)), "amount");
        assertFalse(house.verifyObligation(2, "o-1", ALICE, BOB, 120 * D, _proof(leaves[1], n23)), "other cycle");
    }

    function test_settleCycle_idNeverCommitsOrSettlesAgain() public {
        _settle(1, _addrs(ALICE, BOB), _ints(-100 * ID, 100 * ID));
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseCycleExists.selector, uint64(1)));
        _settle(1, _addrs(ALICE, BOB), _ints(-100 * ID, 100 * ID));
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseCycleExists.selector, uint64(1)));
        _commit(1, _addrs(ALICE, BOB), _ints(-100 * ID, 100 * ID));
        // ...and a committed id cannot be settled either.
        _commitSimple(2);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseCycleExists.selector, uint64(2)));
        _settle(2, _addrs(ALICE, BOB), _ints(-100 * ID, 100 * ID));
        assertEq(house.balanceOf(ALICE), 4600 * ID, "settled once, committed once");
    }

    function test_settleCycle_settledCycleCannotBeReleasedHeldRefundedOrClaimed() public {
        _settle(1, _addrs(ALICE, BOB), _ints(-100 * ID, 100 * ID));
        bytes memory settled = abi.encodeWithSelector(IClearingHouse.ClearingHouseCycleSettled.selector, uint64(1));
        vm.expectRevert(settled);
        _release(1, BOB, 1);
        vm.expectRevert(settled);
        vm.prank(OPERATOR);
        house.holdCycle(1, t0 + 1 days);
        vm.expectRevert(settled);
        vm.prank(OPERATOR);
        house.refundCycle(1, _addrs(ALICE, BOB), _ints(-100 * ID, 100 * ID), _addrs(BOB), _uints(1), _uints(1, 0));
        vm.warp(t0 + 365 days);
        vm.expectRevert(settled);
        house.claim(1, BOB);
    }

    function test_settleCycle_leavesOpenCyclesAlone() public {
        _commitSimple(1);
        _settle(2, _addrs(ALICE, DAVE), _ints(-50 * ID, 50 * ID));
        assertEq(house.totalEscrowed(), 300 * D, "other cycle's escrow untouched");
        assertEq(house.cycleOf(1).escrowed, 300 * D, "cycle 1 still escrowed");
        _release(1, BOB, 200 * D);
        _release(1, CAROL, 100 * D);
        assertEq(house.totalEscrowed(), 0, "released as usual");
        assertEq(house.balanceOf(ALICE), 4650 * ID, "both cycles paid");
        _assertSolvent();
    }

    function test_settleCycle_repaysCreditorDebt() public {
        _settle(1, _addrs(BOB, CAROL), _ints(300 * ID, -300 * ID));
        assertEq(house.balanceOf(CAROL), -300 * ID, "carol drew credit");
        assertEq(house.creditDrawn(), 300 * D, "drawn");
        _settle(2, _addrs(ALICE, CAROL), _ints(-300 * ID, 300 * ID));
        assertEq(house.balanceOf(CAROL), int256(0), "debt repaid");
        assertEq(house.creditDrawn(), 0, "drawn repaid");
        _assertSolvent();
    }

    function test_settleCycle_suspendedCreditorMayReceiveAndZeroDeltaIsSkipped() public {
        vm.prank(RISK);
        house.suspendMember(BOB);
        _settle(1, _addrs(ALICE, BOB, CAROL), _ints(-100 * ID, 100 * ID, 0));
        assertEq(house.balanceOf(BOB), 1100 * ID, "suspended creditor credited");
        assertEq(house.balanceOf(CAROL), int256(0), "zero delta untouched");
    }

    /// The pool is checked after the debits and before any credit, as
    /// commitCycle does: credits that would repay debt later in the same call
    /// cannot cover a debtor's draw beyond the pool.
    function test_settleCycle_poolCheckSeesDebitsBeforeCredits() public {
        _settle(1, _addrs(BOB, CAROL), _ints(300 * ID, -300 * ID)); // carol owes 300
        vm.prank(LENDER);
        house.poolWithdraw(9700 * D, LENDER); // pool 300, fully drawn
        address[] memory ms = _addrs(ALICE, CAROL);
        int256[] memory ds = _ints(-5100 * ID, 5100 * ID); // alice draws 100, carol's 300 would be repaid

        bytes memory err =
            abi.encodeWithSelector(IClearingHouse.ClearingHouseInsufficientPool.selector, 400 * D, 300 * D);
        vm.expectRevert(err);
        _commit(2, ms, ds);
        vm.expectRevert(err);
        _settle(2, ms, ds);
    }

    // ───────────── refusals (the commitCycle checks, with their values) ─────────────

    function test_settleCycle_revertsForNonOperator() public {
        vm.expectRevert(_unauthorized(RISK, OPERATOR_ROLE));
        vm.prank(RISK);
        house.settleCycle(1, ROOT, 1, 1, _none(), new int256[](0));
        vm.expectRevert(_unauthorized(ALICE, OPERATOR_ROLE));
        vm.prank(ALICE);
        house.settleCycle(1, ROOT, 2, 100 * D, _addrs(ALICE, BOB), _ints(-100 * ID, 100 * ID));
    }

    function test_settleCycle_revertsWhenPaused() public {
        vm.prank(ADMIN);
        house.pause();
        vm.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
        _settle(1, _addrs(ALICE, BOB), _ints(-100 * ID, 100 * ID));
    }

    function test_settleCycle_revertsOnZeroId() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseZeroCycleId.selector));
        _settle(0, _addrs(ALICE, BOB), _ints(-100 * ID, 100 * ID));
    }

    function test_settleCycle_revertsOnLengthMismatch() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseLengthMismatch.selector, 3, 2));
        _settle(1, _addrs(ALICE, BOB, CAROL), _ints(-1, 1));
    }

    function test_settleCycle_revertsWhenMembersUnsorted() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseMembersNotSorted.selector, 1));
        _settle(1, _addrs(BOB, ALICE), _ints(-1, 1));
    }

    function test_settleCycle_revertsOnDuplicateMember() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseMembersNotSorted.selector, 2));
        _settle(1, _addrs(ALICE, BOB, BOB), _ints(-2, 1, 1));
    }

    function test_settleCycle_revertsOnZeroAddressMember() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseMembersNotSorted.selector, 0));
        _settle(1, _addrs(address(0), ALICE), _ints(1, -1));
    }

    function test_settleCycle_revertsForNonMember() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseNotMember.selector, EVE));
        _settle(1, _addrs(ALICE, EVE), _ints(-1, 1));
    }

    function test_settleCycle_revertsForSuspendedDebtor() public {
        vm.prank(RISK);
        house.suspendMember(ALICE);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseMemberSuspended.selector, ALICE));
        _settle(1, _addrs(ALICE, BOB), _ints(-100 * ID, 100 * ID));
    }

    function test_settleCycle_revertsBeyondHeadroom() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IClearingHouse.ClearingHouseInsufficientHeadroom.selector, ALICE, 6000 * D, 6000 * D + 1
            )
        );
        _settle(1, _addrs(ALICE, BOB), _ints(-6000 * ID - 1, 6000 * ID + 1));
        // Exactly the headroom is fine.
        _settle(1, _addrs(ALICE, BOB), _ints(-6000 * ID, 6000 * ID));
        assertEq(house.balanceOf(ALICE), -1000 * ID, "at the limit");
        assertEq(house.balanceOf(BOB), 7000 * ID, "credited");
        _assertSolvent();
    }

    function test_settleCycle_revertsBeyondHeadroomOfIndebtedMember() public {
        _settle(1, _addrs(BOB, CAROL), _ints(300 * ID, -300 * ID));
        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.ClearingHouseInsufficientHeadroom.selector, CAROL, 200 * D, 201 * D)
        );
        _settle(2, _addrs(BOB, CAROL), _ints(201 * ID, -201 * ID));
    }

    function test_settleCycle_revertsWhenNetNotZero() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseNetNotZero.selector, -100 * ID));
        _settle(1, _addrs(ALICE, BOB), _ints(-300 * ID, 200 * ID));
    }

    function test_settleCycle_revertsWhenDebitExceedsGross() public {
        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.ClearingHouseDebitExceedsGross.selector, 300 * D, 300 * D - 1)
        );
        vm.prank(OPERATOR);
        house.settleCycle(1, ROOT, 3, 300 * D - 1, _addrs(ALICE, BOB, CAROL), _ints(-300 * ID, 200 * ID, 100 * ID));
    }

    function test_settleCycle_revertsWhenPoolTooSmall() public {
        vm.prank(LENDER);
        house.poolWithdraw(9800 * D, LENDER);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseInsufficientPool.selector, 300 * D, 200 * D));
        _settle(1, _addrs(BOB, CAROL), _ints(300 * ID, -300 * ID));
    }

    function test_settleCycle_revertsOnMinInt() public {
        // −type(int256).min has no int256: checked negation panics with 0x11, as in commitCycle.
        vm.expectRevert(abi.encodeWithSignature("Panic(uint256)", 0x11));
        _settle(1, _addrs(ALICE, BOB), _ints(type(int256).min, type(int256).max));
    }

    // ───────────── differential: settleCycle ≡ commitCycle + full releaseCycle ─────────────

    /// Any random cycle (valid or not, from a random state) gets the same
    /// outcome, revert data, events and balances from both paths.
    function testFuzz_settleCycle_equalsCommitAndFullRelease(uint256 seed) public {
        _commitVersusSettle(seed);
    }

    /// The differential run is not vacuous: it reaches success and every refusal.
    function test_settleCycle_differentialReachesEveryOutcome() public {
        for (uint256 seed; seed < 400; ++seed) {
            uint256 snap = vm.snapshotState();
            bytes4 outcome = _commitVersusSettle(seed);
            vm.revertToState(snap);
            ++seen[outcome];
        }
        assertGe(seen[bytes4(0)], 20, "settled");
        bytes4[10] memory refusals = [
            IClearingHouse.ClearingHouseZeroCycleId.selector,
            IClearingHouse.ClearingHouseCycleExists.selector,
            IClearingHouse.ClearingHouseLengthMismatch.selector,
            IClearingHouse.ClearingHouseMembersNotSorted.selector,
            IClearingHouse.ClearingHouseNotMember.selector,
            IClearingHouse.ClearingHouseMemberSuspended.selector,
            IClearingHouse.ClearingHouseInsufficientHeadroom.selector,
            IClearingHouse.ClearingHouseNetNotZero.selector,
            IClearingHouse.ClearingHouseDebitExceedsGross.selector,
            IClearingHouse.ClearingHouseInsufficientPool.selector
        ];
        for (uint256 i; i < refusals.length; ++i) {
            assertGe(seen[refusals[i]], 1, "refusal reached");
        }
    }

    /// @dev Randomizes the state, then runs one random cycle through commit
    /// (+ full release if it committed) and, from the same state, through
    /// settle; asserts they agree. Returns the revert selector (0 if settled).
    function _commitVersusSettle(uint256 seed) private returns (bytes4) {
        _randomState(seed);
        (uint64 id, uint256 gross, address[] memory ms, int256[] memory ds) = _randomCycle(seed);
        int256 totalBefore = house.totalBalances();
        uint256 escrowBefore = house.totalEscrowed();

        uint256 snap = vm.snapshotState();
        Outcome memory viaCommit =
            _run(abi.encodeCall(IClearingHouse.commitCycle, (id, ROOT, 3, gross, ms, ds)), id, ms, ds);
        vm.revertToState(snap);
        Outcome memory viaSettle =
            _run(abi.encodeCall(IClearingHouse.settleCycle, (id, ROOT, 3, gross, ms, ds)), id, ms, ds);

        assertEq(viaSettle.ok, viaCommit.ok, "same outcome");
        assertEq(keccak256(viaSettle.out), keccak256(viaCommit.out), "same revert data");
        if (!viaSettle.ok) return bytes4(viaSettle.out);
        _assertSameLogs(viaCommit.logs, viaSettle.logs);
        for (uint256 i; i < 4; ++i) {
            assertEq(viaSettle.balances[i], viaCommit.balances[i], "same balances");
        }
        assertEq(house.creditDrawn(), viaCommit.drawn, "same credit drawn");
        assertEq(house.totalBalances(), totalBefore, "zero-sum");
        assertEq(house.totalEscrowed(), escrowBefore, "no escrow");
        _assertSolvent();
        return bytes4(0);
    }

    struct Outcome {
        bool ok;
        bytes out;
        Vm.Log[] logs;
        int256[4] balances;
        uint256 drawn;
    }

    /// @dev One operator call (a commit is followed by its full release).
    function _run(bytes memory data, uint64 id, address[] memory ms, int256[] memory ds)
        private
        returns (Outcome memory o)
    {
        vm.recordLogs();
        vm.prank(OPERATOR);
        (o.ok, o.out) = address(house).call(data);
        if (o.ok && bytes4(data) == IClearingHouse.commitCycle.selector) _releaseAll(id, ms, ds);
        o.logs = vm.getRecordedLogs();
        o.balances = _balances();
        o.drawn = house.creditDrawn();
    }

    /// @dev Sometimes: an earlier cycle 5, a member in debt, a member
    /// suspended, a smaller pool.
    function _randomState(uint256 seed) private {
        if (_rand(seed, 100) % 8 == 0) _commit(5, _addrs(ALICE, DAVE), _ints(-1, 1));
        if (_rand(seed, 101) % 3 == 0) {
            int256 debt = int256(_rand(seed, 102) % (500 * D + 1));
            _settle(6, _addrs(BOB, CAROL), _ints(debt, -debt));
        }
        if (_rand(seed, 103) % 4 == 0) {
            vm.prank(RISK);
            house.suspendMember(_member(_rand(seed, 104)));
        }
        if (_rand(seed, 105) % 4 == 0) {
            uint256 undrawn = house.poolTotal() - house.creditDrawn();
            vm.prank(LENDER);
            house.poolWithdraw(1 + _rand(seed, 106) % undrawn, LENDER);
        }
    }

    /// @dev A random cycle that is mostly valid, with each kind of defect now and then.
    function _randomCycle(uint256 seed)
        private
        view
        returns (uint64 id, uint256 gross, address[] memory ms, int256[] memory ds)
    {
        uint256 r = _rand(seed, 200);
        id = r % 16 == 0 ? 0 : (r % 16 == 1 ? 5 : 1);

        address[6] memory candidates = [address(0), ALICE, BOB, CAROL, DAVE, EVE];
        ms = new address[](7);
        uint256 n;
        for (uint256 i; i < candidates.length; ++i) {
            uint256 pick = _rand(seed, 210 + i) % 32;
            bool rare = i == 0 || i == 5; // the zero address and the non-member
            if (rare ? pick == 0 : pick < 24) ms[n++] = candidates[i];
        }
        if (n >= 2 && r % 13 == 0) (ms[0], ms[1]) = (ms[1], ms[0]); // out of order
        if (n >= 1 && r % 17 == 0) ms[n] = ms[n - 1]; // a duplicate
        if (n >= 1 && r % 17 == 0) ++n;
        assembly ("memory-safe") {
            mstore(ms, n) // shrink to the members picked
        }

        ds = new int256[](n);
        int256 sum;
        for (uint256 i; i + 1 < n; ++i) {
            uint256 x = _rand(seed, 220 + i);
            if (x % 2 == 0) {
                // A debit up to ~112% of the member's headroom.
                IClearingHouse.Member memory m = house.memberOf(ms[i]);
                uint256 headroom = uint256(m.balance + int256(m.creditLimit));
                ds[i] = -int256((x >> 8) % (headroom + headroom / 8 + 2));
            } else {
                ds[i] = int256((x >> 8) % (3000 * D));
            }
            sum += ds[i];
        }
        if (n > 0) ds[n - 1] = -sum + (r % 19 == 0 ? int256(1 + (r >> 8) % D) : int256(0));

        gross = _gross(ds) + (r >> 16) % (100 * D);
        if (r % 11 == 0 && _gross(ds) > 0) gross = _gross(ds) - 1;
        if (n > 0 && r % 23 == 0) {
            assembly ("memory-safe") {
                mstore(ds, sub(n, 1)) // one delta short
            }
        }
    }

    function _releaseAll(uint64 id, address[] memory ms, int256[] memory ds) private {
        if (house.cycleOf(id).escrowed == 0) return; // settled by the commit itself
        address[] memory creditors = new address[](ms.length);
        uint256[] memory amounts = new uint256[](ms.length);
        for (uint256 i; i < ms.length; ++i) {
            creditors[i] = ms[i];
            amounts[i] = ds[i] > 0 ? uint256(ds[i]) : 0;
        }
        vm.prank(OPERATOR);
        house.releaseCycle(id, creditors, amounts);
    }

    function _assertSameLogs(Vm.Log[] memory a, Vm.Log[] memory b) private pure {
        assertEq(b.length, a.length, "same number of events");
        for (uint256 i; i < a.length; ++i) {
            assertEq(b[i].emitter, a[i].emitter, "same emitter");
            assertEq(b[i].topics.length, a[i].topics.length, "same topic count");
            for (uint256 j; j < a[i].topics.length; ++j) {
                assertEq(b[i].topics[j], a[i].topics[j], "same topic");
            }
            assertEq(keccak256(b[i].data), keccak256(a[i].data), "same data");
        }
    }

    function _balances() private view returns (int256[4] memory b) {
        (b[0], b[1], b[2], b[3]) =
        (house.balanceOf(ALICE), house.balanceOf(BOB), house.balanceOf(CAROL), house.balanceOf(DAVE));
    }

    function _member(uint256 r) private pure returns (address) {
        return address(uint160(uint160(ALICE) + r % 4));
    }

    function _rand(uint256 seed, uint256 salt) private pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed, salt)));
    }
}
