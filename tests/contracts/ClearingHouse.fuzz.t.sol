// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IClearingHouse} from "../../contracts/interfaces/IClearingHouse.sol";
import {ClearingHouseBase} from "./utils/ClearingHouseBase.sol";

/// @notice Property tests over random amounts.
contract ClearingHouseFuzzTest is ClearingHouseBase {
    uint256 internal constant MAX = 1e12 * D; // far beyond any real position

    // ───────────── collateral ─────────────

    function testFuzz_depositWithdrawRoundTrip(uint256 amount, uint256 part) public {
        amount = bound(amount, 1, MAX);
        part = bound(part, 1, amount);
        token.mint(DAVE, amount);
        uint256 before = token.balanceOf(DAVE);

        vm.startPrank(DAVE);
        house.deposit(amount);
        house.withdraw(part, DAVE);
        assertEq(house.balanceOf(DAVE), int256(amount - part), "balance after partial withdraw");
        if (amount > part) house.withdraw(amount - part, DAVE);
        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.ClearingHouseInsufficientBalance.selector, DAVE, int256(0), 1)
        );
        house.withdraw(1, DAVE);
        vm.stopPrank();

        assertEq(house.balanceOf(DAVE), int256(0), "emptied");
        assertEq(token.balanceOf(DAVE), before, "round trip is exact");
        _assertSolvent();
    }

    function testFuzz_withdrawNeverBeyondFreeBalance(uint256 debt, uint256 request) public {
        debt = bound(debt, 1, 500 * D);
        request = bound(request, 1, MAX);
        _commit(1, _addrs(BOB, CAROL), _ints(int256(debt), -int256(debt)));
        vm.expectRevert(
            abi.encodeWithSelector(
                IClearingHouse.ClearingHouseInsufficientBalance.selector, CAROL, -int256(debt), request
            )
        );
        vm.prank(CAROL);
        house.withdraw(request, CAROL);
    }

    function testFuzz_poolWithdrawKeepsDrawnCovered(uint256 drawn, uint256 request) public {
        drawn = bound(drawn, 1, 500 * D);
        request = bound(request, 1, 10_000 * D);
        _commit(1, _addrs(BOB, CAROL), _ints(int256(drawn), -int256(drawn)));
        uint256 undrawn = 10_000 * D - drawn;
        if (request > undrawn) {
            vm.expectRevert(
                abi.encodeWithSelector(IClearingHouse.ClearingHouseInsufficientLiquidity.selector, undrawn, request)
            );
        }
        vm.prank(LENDER);
        house.poolWithdraw(request, LENDER);
        assertLe(house.creditDrawn(), house.poolTotal(), "drawn covered");
        _assertSolvent();
    }

    // ───────────── commit ─────────────

    function testFuzz_headroomBoundary(uint256 collateral, uint256 limit) public {
        collateral = bound(collateral, 0, MAX);
        limit = bound(limit, 0, 10_000 * D); // the pool funds at most 10,000
        vm.prank(RISK);
        house.setCreditLimit(DAVE, limit);
        if (collateral > 0) {
            token.mint(DAVE, collateral);
            vm.prank(DAVE);
            house.deposit(collateral);
        }
        uint256 available = collateral + limit;
        vm.assume(available > 0);
        assertEq(house.availableOf(DAVE), available, "availableOf");

        vm.expectRevert(
            abi.encodeWithSelector(
                IClearingHouse.ClearingHouseInsufficientHeadroom.selector, DAVE, available, available + 1
            )
        );
        _commit(1, _addrs(ALICE, DAVE), _ints(int256(available + 1), -int256(available + 1)));

        _commit(1, _addrs(ALICE, DAVE), _ints(int256(available), -int256(available)));
        assertEq(house.balanceOf(DAVE), -int256(limit), "exactly at the limit");
        assertEq(house.creditDrawn(), limit, "drawn");
        assertEq(house.availableOf(DAVE), 0, "nothing left");
        _assertSolvent();
    }

    function testFuzz_commitRandomDeltasSumToZero(uint256 seed, uint256 count) public {
        (address[] memory members, int256[] memory deltas, int256[] memory before) = _randomFundedCycle(seed, count);
        uint256 n = members.length;

        _commit(1, members, deltas);

        uint256 debit;
        uint256 pending;
        for (uint256 i; i < n; ++i) {
            if (deltas[i] < 0) {
                debit += uint256(-deltas[i]);
                assertEq(house.balanceOf(members[i]), before[i] + deltas[i], "debtor debited");
                assertEq(_refundable(1, members, deltas, members[i]), uint256(-deltas[i]), "refundable debit");
                assertGe(house.balanceOf(members[i]), -int256(house.memberOf(members[i]).creditLimit), "I3");
            } else {
                assertEq(house.balanceOf(members[i]), before[i], "creditor waits for release");
                pending += house.pendingCredit(1, members[i]);
            }
        }
        assertEq(house.cycleOf(1).escrowed, debit, "escrow == debit");
        assertEq(pending, debit, "escrow == pending credits (I5)");
        _assertSolvent();

        // Full release lands every member exactly at before + delta.
        address[] memory creditors = new address[](n);
        uint256[] memory amounts = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            creditors[i] = members[i];
            amounts[i] = deltas[i] > 0 ? uint256(deltas[i]) : 0;
        }
        if (debit > 0) {
            vm.prank(OPERATOR);
            house.releaseCycle(1, creditors, amounts);
        }
        for (uint256 i; i < n; ++i) {
            assertEq(house.balanceOf(members[i]), before[i] + deltas[i], "net position applied");
        }
        assertEq(uint256(house.cycleOf(1).status), uint256(IClearingHouse.CycleStatus.SETTLED), "settled");
        _assertSolvent();
    }

    function testFuzz_settleRandomDeltasMovesBalancesExactly(uint256 seed, uint256 count) public {
        (address[] memory members, int256[] memory deltas, int256[] memory before) = _randomFundedCycle(seed, count);
        int256 totalBefore = house.totalBalances();

        _settle(1, members, deltas);

        uint256 debt;
        for (uint256 i; i < members.length; ++i) {
            int256 balance = house.balanceOf(members[i]);
            assertEq(balance, before[i] + deltas[i], "balance moved exactly by its delta");
            assertGe(balance, -int256(house.memberOf(members[i]).creditLimit), "I3");
            assertEq(house.refundedDebit(1, members[i]), 0, "no refund bookkeeping");
            assertEq(house.pendingCredit(1, members[i]), 0, "no pending credit");
            if (balance < 0) debt += uint256(-balance);
        }
        assertEq(house.totalBalances(), totalBefore, "sum of balances unchanged");
        // Recomputed from every member's balance, not the house's own counters.
        int256 sum = house.balanceOf(ALICE) + house.balanceOf(BOB) + house.balanceOf(CAROL) + house.balanceOf(DAVE);
        for (uint256 i; i < members.length; ++i) {
            sum += house.balanceOf(members[i]);
        }
        assertEq(sum, house.totalBalances(), "totalBalances == sum of balances");
        assertEq(
            uint256(sum + int256(house.poolTotal()) + int256(house.totalEscrowed())),
            token.balanceOf(address(house)),
            "sum of balances + pool + escrow == tokens held"
        );
        assertEq(house.creditDrawn(), debt, "creditDrawn == sum of debts (I2)");
        assertEq(house.totalEscrowed(), 0, "no escrow");
        assertEq(house.cycleOf(1).escrowed, 0, "cycle escrow");
        assertEq(uint256(house.cycleOf(1).status), uint256(IClearingHouse.CycleStatus.SETTLED), "settled");
        _assertSolvent(); // Σ balances + pool + escrow == tokens held
    }

    function testFuzz_commitRejectsNonZeroNet(uint256 paid, uint256 received) public {
        paid = bound(paid, 1, 6000 * D); // within Alice's headroom
        received = bound(received, 1, MAX);
        vm.assume(paid != received);
        int256 sum = int256(received) - int256(paid);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseNetNotZero.selector, sum));
        _commit(1, _addrs(ALICE, BOB), _ints(-int256(paid), int256(received)));
    }

    // ───────────── release and refund ─────────────

    function testFuzz_proRataNeverOverpays(uint256 a, uint256 b, uint16 bps1, uint16 bps2) public {
        a = bound(a, 1, 3000 * D);
        b = bound(b, 1, 3000 * D);
        bps1 = uint16(bound(bps1, 1, 10_000));
        bps2 = uint16(bound(bps2, 1, 10_000));
        _commit(1, _addrs(ALICE, BOB, CAROL), _ints(-int256(a + b), int256(a), int256(b)));

        uint16[2] memory steps = [bps1, bps2];
        for (uint256 s; s < 2; ++s) {
            uint256 pa = house.pendingCredit(1, BOB);
            uint256 pb = house.pendingCredit(1, CAROL);
            if (house.cycleOf(1).status == IClearingHouse.CycleStatus.SETTLED) break;
            int256 ba = house.balanceOf(BOB);
            int256 bb = house.balanceOf(CAROL);
            vm.prank(OPERATOR);
            house.releaseCycleProRata(1, _addrs(BOB, CAROL), steps[s]);
            uint256 ra = pa * steps[s] / 10_000;
            uint256 rb = pb * steps[s] / 10_000;
            assertEq(house.balanceOf(BOB), ba + int256(ra), "bob gets floor share");
            assertEq(house.balanceOf(CAROL), bb + int256(rb), "carol gets floor share");
            assertLe(ra * 10_000, pa * steps[s], "never rounds up");
            assertEq(house.pendingCredit(1, BOB), pa - ra, "bob pending");
            assertEq(house.pendingCredit(1, CAROL), pb - rb, "carol pending");
            assertEq(
                house.cycleOf(1).escrowed,
                house.pendingCredit(1, BOB) + house.pendingCredit(1, CAROL),
                "escrow == pending (I5)"
            );
        }
        assertLe(uint256(house.balanceOf(BOB) - 1000 * int256(D)), a, "bob never over-paid");
        assertLe(uint256(house.balanceOf(CAROL)), b, "carol never over-paid");
        _assertSolvent();
    }

    function testFuzz_releaseAndRefundNeverExceedEscrow(uint256 a, uint256 b, uint256 rel, uint256 ref, uint256 extra)
        public
    {
        a = bound(a, 1, 3000 * D);
        b = bound(b, 1, 3000 * D);
        rel = bound(rel, 0, a);
        ref = bound(ref, 0, b);
        extra = bound(extra, 1, MAX);
        _commit(1, _addrs(ALICE, BOB, CAROL), _ints(-int256(a + b), int256(a), int256(b)));

        if (rel > 0) _release(1, BOB, rel);
        address[] memory ms = _addrs(ALICE, BOB, CAROL);
        int256[] memory ds = _ints(-int256(a + b), int256(a), int256(b));
        if (ref > 0) {
            vm.prank(OPERATOR);
            house.refundCycle(1, ms, ds, _addrs(CAROL), _uints(ref), _uints(ref, 0, 0));
        }
        uint256 escrow = a + b - rel - ref;
        assertEq(house.cycleOf(1).escrowed, escrow, "escrow left");
        assertEq(house.refundedDebit(1, ALICE), ref, "refunded so far");
        assertEq(_refundable(1, ms, ds, ALICE), a + b - ref, "refundable debit left");
        assertEq(house.balanceOf(ALICE), 5000 * int256(D) - int256(a + b - ref), "alice paid what was not refunded");
        _assertSolvent();
        if (escrow == 0) return;

        // Anything beyond what is pending is refused, with the values.
        uint256 bobPending = a - rel;
        vm.expectRevert(
            abi.encodeWithSelector(
                IClearingHouse.ClearingHouseExceedsPending.selector, uint64(1), BOB, bobPending, bobPending + extra
            )
        );
        _release(1, BOB, bobPending + extra);

        // And what is left is always refundable in full.
        uint256 carolPending = b - ref;
        vm.prank(OPERATOR);
        house.refundCycle(1, ms, ds, _addrs(BOB, CAROL), _uints(bobPending, carolPending), _uints(escrow, 0, 0));
        assertEq(house.totalEscrowed(), 0, "never stuck");
        assertEq(house.balanceOf(ALICE), 5000 * int256(D) - int256(rel), "alice paid only what reached bob");
        _assertSolvent();
    }

    // ───────────── pool shares ─────────────

    /// From a random price (interest earned, a loss written down, other
    /// deposits), a deposit mints floor(assets × (S + 1e6) / (P + 1)) shares,
    /// and taking everything out again at once never pays more than was put
    /// in: redeeming the shares pays at most `assets`, and withdrawing
    /// `assets` needs at least the shares minted.
    function testFuzz_shares_roundTripsNeverFavourTheLender(uint256 seed, uint256 assets) public {
        _randomPrice(seed);
        assets = bound(assets, 1, 1_000_000 * D);
        token.mint(LENDER2, assets);
        (uint256 pool, uint256 total) = (house.poolTotal(), house.totalShares());
        uint256 expected = assets * (total + SHARE) / (pool + 1);
        vm.assume(expected > 0);

        vm.prank(LENDER2);
        uint256 shares = house.poolDeposit(assets);
        assertEq(shares, expected, "minted, rounded down");
        assertLe(house.lenderBalance(LENDER2), assets, "worth at most what was put in");

        uint256 snap = vm.snapshotState();
        vm.prank(LENDER2);
        (bool ok, bytes memory out) =
            address(house).call(abi.encodeCall(IClearingHouse.poolWithdraw, (assets, LENDER2)));
        if (ok) {
            assertGe(abi.decode(out, (uint256)), shares, "withdrawing it all burns at least the shares minted");
        } else {
            assertEq(bytes4(out), IClearingHouse.ClearingHouseInsufficientShares.selector, "or is refused");
        }
        vm.revertToState(snap);

        uint256 worth = house.convertToAssets(shares);
        assertLe(worth, assets, "the shares are worth at most what was put in");
        if (worth == 0) {
            // A deposit into a nearly wiped-out pool can be worth less than a unit: nothing to redeem.
            vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseZeroAmount.selector));
        }
        vm.prank(LENDER2);
        house.poolRedeem(shares, LENDER2);
        if (worth != 0) assertEq(token.balanceOf(LENDER2), 100_000 * D + worth, "redeemed, rounded down");
        _assertSolvent();
    }

    /// The views round down both ways, so a conversion round trip never grows,
    /// and a withdrawal burns at least the exact (real-valued) shares.
    function testFuzz_shares_conversionsRoundAgainstTheUser(uint256 seed, uint256 x) public {
        _randomPrice(seed);
        (uint256 pool, uint256 total) = (house.poolTotal(), house.totalShares());
        uint256 a = bound(x, 0, 1_000_000 * D);
        uint256 s = bound(x, 0, total);
        assertLe(house.convertToAssets(house.convertToShares(a)), a, "assets -> shares -> assets never grows");
        assertLe(house.convertToShares(house.convertToAssets(s)), s, "shares -> assets -> shares never grows");
        // Withdrawing w units burns ceil(w × (S + 1e6) / (P + 1)): at least the exact share.
        uint256 w = bound(x, 1, pool - house.creditDrawn() > 0 ? pool - house.creditDrawn() : 1);
        vm.assume(pool > house.creditDrawn());
        vm.prank(LENDER);
        try house.poolWithdraw(w, LENDER) returns (uint256 burned) {
            assertGe(burned * (pool + 1), w * (total + SHARE), "burned shares cover the assets");
            assertLe((burned - 1) * (pool + 1), w * (total + SHARE), "by less than one share");
        } catch (bytes memory out) {
            assertEq(bytes4(out), IClearingHouse.ClearingHouseInsufficientShares.selector, "only if short of shares");
        }
    }

    /// @dev A random pool price: some interest earned (a year or less at up to
    /// 100% on up to Carol's 500), sometimes a loss written down (Carol
    /// defaults on part of it), sometimes another lender's deposit.
    function _randomPrice(uint256 seed) private {
        uint256 draw = 1 + _rand(seed, 0, 0) % (500 * D);
        vm.prank(ADMIN);
        house.setInterestRateModel(uint16(_rand(seed, 0, 1) % 10_001), 0);
        _settle(77, _addrs(BOB, CAROL), _ints(int256(draw), -int256(draw)));
        vm.warp(block.timestamp + 1 + _rand(seed, 0, 2) % 365 days);
        house.accrueInterest(_addrs(CAROL));
        uint256 debt = uint256(-house.balanceOf(CAROL));
        uint256 repaid = _rand(seed, 0, 3) % (debt + 1);
        if (repaid > 0) {
            vm.prank(CAROL);
            house.deposit(repaid);
        }
        if (repaid < debt && _rand(seed, 0, 4) % 2 == 0) {
            vm.startPrank(RISK);
            house.declareDefault(CAROL, "fuzz");
            house.allocateDefaultLoss(CAROL, new uint64[](0)); // the rest is written down
            vm.stopPrank();
        }
        if (_rand(seed, 0, 5) % 2 == 0) {
            uint256 more = 1 + _rand(seed, 0, 6) % (50_000 * D);
            token.mint(LENDER, more);
            vm.prank(LENDER);
            house.poolDeposit(more);
        }
    }

    /// @dev 2..12 fresh members (ascending) with random collateral and credit
    /// lines, a pool that can fund every line, and random zero-sum deltas each
    /// debtor can pay. Returns the balances before the cycle too.
    function _randomFundedCycle(uint256 seed, uint256 count)
        private
        returns (address[] memory members, int256[] memory deltas, int256[] memory before)
    {
        uint256 n = bound(count, 2, 12);
        members = new address[](n);
        deltas = new int256[](n);
        before = new int256[](n);
        token.mint(LENDER2, 2_000_000 * D);
        vm.prank(LENDER2);
        house.poolDeposit(2_000_000 * D);

        int256 sum;
        for (uint256 i; i < n; ++i) {
            address m = address(uint160(0x9000 + i)); // ascending
            members[i] = m;
            uint256 collateral = _rand(seed, i, 0) % (1_000_000 * D);
            uint256 limit = _rand(seed, i, 1) % (100_000 * D);
            vm.prank(RISK);
            house.admitMember(m, limit);
            token.mint(m, collateral + 10_000_000 * D);
            vm.prank(m);
            token.approve(address(house), type(uint256).max);
            if (collateral > 0) {
                vm.prank(m);
                house.deposit(collateral);
            }
            if (i + 1 < n) {
                // Anywhere from the whole headroom paid in to 1,000,000 received.
                uint256 span = collateral + limit + 1_000_000 * D;
                deltas[i] = int256(_rand(seed, i, 2) % (span + 1)) - int256(collateral + limit);
                sum += deltas[i];
            }
        }
        deltas[n - 1] = -sum; // the last member balances the cycle
        if (deltas[n - 1] < 0) {
            vm.prank(members[n - 1]);
            house.deposit(uint256(sum)); // give it the headroom it needs
        }
        for (uint256 i; i < n; ++i) {
            before[i] = house.balanceOf(members[i]);
        }
    }

    function _rand(uint256 seed, uint256 i, uint256 salt) private pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed, i, salt)));
    }
}
