// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {ClearingHouse} from "../../contracts/ClearingHouse.sol";
import {IClearingHouse} from "../../contracts/interfaces/IClearingHouse.sol";
import {ClearingHouseBase} from "./utils/ClearingHouseBase.sol";

/// @notice The lenders' pool as ERC-4626-style shares (1e6 virtual shares, 1
/// virtual asset): deposit, withdraw, redeem, every rounding against the one
/// it pays, the inflation attack, and the withdrawal queue. Figures at a
/// non-trivial price come from one year at 10% on Carol's 500: pool 10,050,
/// 1e16 shares. Expected shares and assets use the house's integer math:
/// shares = assets × (totalShares + 1e6) / (poolTotal + 1) and back.
contract ClearingHousePoolTest is ClearingHouseBase {
    int256 internal constant ID = int256(D);
    uint256 internal constant YEAR = 365 days;
    uint64 internal t0;

    function setUp() public override {
        super.setUp();
        t0 = uint64(block.timestamp);
    }

    // ───────────── poolDeposit ─────────────

    /// The setUp deposit: 10,000 units for 10,000e6 shares, worth exactly 10,000 back.
    function test_poolDeposit_firstDepositMintsAMillionSharesPerUnit() public {
        assertEq(house.sharesOf(LENDER), 10_000 * D * SHARE, "1e6 shares per unit");
        assertEq(house.totalShares(), 10_000 * D * SHARE, "total");
        assertEq(house.lenderBalance(LENDER), 10_000 * D, "exactly what was put in");
        ClearingHouse h = new ClearingHouse(token, ADMIN);
        vm.startPrank(LENDER2);
        token.approve(address(h), type(uint256).max);
        vm.expectEmit(address(h));
        emit IClearingHouse.PoolDeposited(LENDER2, 1, SHARE, 1);
        assertEq(h.poolDeposit(1), SHARE, "one unit, 1e6 shares");
        vm.stopPrank();
        assertEq(h.lenderBalance(LENDER2), 1, "1e6 x (1 + 1) / (1e6 + 1e6) = 1");
    }

    /// At a price above 1e-6, shares round down against the depositor.
    function test_poolDeposit_mintsSharesRoundedDown() public {
        _earnAYearOfInterest();
        uint256 expected = _toShares(1000 * D, false);
        assertEq(expected, 995_024_875_622_385, "1000e6 x (1e16 + 1e6) / (10_050e6 + 1), rounded down");
        assertEq(house.convertToShares(1000 * D), expected, "the view agrees");
        vm.expectEmit(address(house));
        emit IClearingHouse.PoolDeposited(LENDER2, 1000 * D, expected, 11_050 * D);
        vm.prank(LENDER2);
        assertEq(house.poolDeposit(1000 * D), expected, "returned");
        assertEq(house.lenderBalance(LENDER2), 1000 * D - 1, "worth 1 unit less than put in: rounding");
        assertEq(house.lenderBalance(LENDER), 10_049_999_999, "the others lost nothing to it");
        _assertSolvent();
    }

    /// Twenty-one years at 100% on a 1-unit loan from a 1-unit pool double its
    /// equity each year to 2^21 while it has 1e6 shares: one unit then buys
    /// 2e6 / (2^21 + 1) < 1 share.
    function test_poolDeposit_revertsWhenNoShareWouldBeMinted() public {
        ClearingHouse h = _freshHouse();
        vm.startPrank(LENDER2);
        token.approve(address(h), type(uint256).max);
        h.poolDeposit(1);
        vm.stopPrank();
        vm.prank(ADMIN);
        h.setInterestRateModel(10_000, 0);
        vm.prank(OPERATOR);
        h.settleCycle(1, ROOT, 1, 1, _addrs(ALICE, BOB), _ints(-1, 1)); // Alice draws the unit
        for (uint256 y = 1; y <= 21; ++y) {
            vm.warp(t0 + y * YEAR);
            h.accrueInterest(_addrs(ALICE));
        }
        assertEq(h.poolTotal(), 2 ** 21, "equity doubled 21 times");
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseZeroShares.selector, uint256(1)));
        vm.prank(LENDER2);
        h.poolDeposit(1);
        vm.prank(LENDER2);
        assertEq(h.poolDeposit(2), 1, "two units buy one share");
    }

    function test_poolDeposit_revertsOnZeroAmount() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseZeroAmount.selector));
        vm.prank(LENDER);
        house.poolDeposit(0);
    }

    function test_poolDeposit_revertsWhenPaused() public {
        vm.prank(ADMIN);
        house.pause();
        vm.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
        vm.prank(LENDER);
        house.poolDeposit(1);
    }

    // ───────────── poolWithdraw ─────────────

    /// One unit costs ceil(1 × (1e16 + 1e6) / (10_050e6 + 1)) = 995,025 shares: rounded up.
    function test_poolWithdraw_burnsSharesRoundedUp() public {
        _earnAYearOfInterest();
        uint256 burned = _toShares(1, true);
        assertEq(burned, 995_025, "rounded up");
        assertEq(house.convertToShares(1), burned - 1, "the view rounds down");
        vm.expectEmit(address(house));
        emit IClearingHouse.PoolWithdrawn(LENDER, STRANGER, 1, burned, 10_050 * D - 1);
        vm.prank(LENDER);
        assertEq(house.poolWithdraw(1, STRANGER), burned, "returned");
        assertEq(house.sharesOf(LENDER), 10_000 * D * SHARE - burned, "burned");
    }

    function test_poolWithdraw_revertsBeyondShares() public {
        _earnAYearOfInterest();
        vm.expectRevert(
            abi.encodeWithSelector(
                IClearingHouse.ClearingHouseInsufficientShares.selector, LENDER2, 0, uint256(995_025)
            )
        );
        vm.prank(LENDER2);
        house.poolWithdraw(1, LENDER2);
    }

    function test_poolWithdraw_revertsWhileWithdrawalsQueued() public {
        vm.prank(LENDER);
        house.requestWithdrawal(7);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseWithdrawalsQueued.selector, uint256(7)));
        vm.prank(LENDER);
        house.poolWithdraw(1, LENDER);
    }

    // ───────────── poolRedeem ─────────────

    function test_poolRedeem_paysAssetsForShares() public {
        uint256 before = token.balanceOf(STRANGER);
        vm.expectEmit(address(house));
        emit IClearingHouse.PoolWithdrawn(LENDER, STRANGER, 1000 * D, 1000 * D * SHARE, 9000 * D);
        vm.prank(LENDER);
        assertEq(house.poolRedeem(1000 * D * SHARE, STRANGER), 1000 * D, "returned assets");
        assertEq(token.balanceOf(STRANGER), before + 1000 * D, "paid to the recipient");
        assertEq(house.sharesOf(LENDER), 9000 * D * SHARE, "shares left");
        _assertSolvent();
    }

    function test_poolRedeem_paysAssetsRoundedDown() public {
        _earnAYearOfInterest();
        // 1000e12 × (10_050e6 + 1) / (1e16 + 1e6) = 1_004_999_999.9 → 1_004_999_999.
        vm.expectEmit(address(house));
        emit IClearingHouse.PoolWithdrawn(LENDER, LENDER, 1_004_999_999, 1000 * D * SHARE, 10_050 * D - 1_004_999_999);
        vm.prank(LENDER);
        house.poolRedeem(1000 * D * SHARE, LENDER);
    }

    /// Zero shares, or shares worth less than a unit, pay nothing: refused.
    function test_poolRedeem_revertsWhenNothingIsPaid() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseZeroAmount.selector));
        vm.prank(LENDER);
        house.poolRedeem(0, LENDER);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseZeroAmount.selector));
        vm.prank(LENDER);
        house.poolRedeem(SHARE - 1, LENDER); // (1e6 − 1) × (1e10 + 1) / (1e16 + 1e6) < 1
    }

    function test_poolRedeem_revertsBeyondShares() public {
        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.ClearingHouseInsufficientShares.selector, LENDER2, 0, SHARE)
        );
        vm.prank(LENDER2);
        house.poolRedeem(SHARE, LENDER2);
    }

    function test_poolRedeem_revertsBeyondLiquidity() public {
        _commit(1, _addrs(BOB, CAROL), _ints(500 * ID, -500 * ID));
        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.ClearingHouseInsufficientLiquidity.selector, 9500 * D, 10_000 * D)
        );
        vm.prank(LENDER);
        house.poolRedeem(10_000 * D * SHARE, LENDER);
    }

    function test_poolRedeem_revertsWhileWithdrawalsQueued() public {
        vm.prank(LENDER);
        house.requestWithdrawal(SHARE);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseWithdrawalsQueued.selector, SHARE));
        vm.prank(LENDER);
        house.poolRedeem(SHARE, LENDER);
    }

    function test_poolRedeem_revertsOnZeroRecipient() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseZeroAddress.selector));
        vm.prank(LENDER);
        house.poolRedeem(SHARE, address(0));
    }

    function test_poolRedeem_revertsWhenPaused() public {
        vm.prank(ADMIN);
        house.pause();
        vm.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
        vm.prank(LENDER);
        house.poolRedeem(SHARE, LENDER);
    }

    // ───────────── rounding against the withdrawer ─────────────

    /// Deposit then take everything out at once: never more than put in.
    function test_roundTrip_neverReturnsMoreThanPutIn() public {
        _earnAYearOfInterest();
        uint256 x = 1000 * D + 7;
        vm.startPrank(LENDER2);
        uint256 shares = house.poolDeposit(x);
        assertEq(shares, 995_024_882_587_559, "minted, rounded down");
        // Withdrawing the same assets needs 1 share more than were minted (rounded up).
        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.ClearingHouseInsufficientShares.selector, LENDER2, shares, shares + 1)
        );
        house.poolWithdraw(x, LENDER2);
        uint256 back = house.poolRedeem(shares, LENDER2);
        vm.stopPrank();
        assertEq(back, x - 1, "redeemed, rounded down: 1 less");
        assertEq(house.sharesOf(LENDER2), 0, "all out");
        assertEq(house.lenderBalance(LENDER), 10_050_000_000, "the other lender gained the unit, never lost");
        _assertSolvent();
    }

    /// The first-depositor attack: a donation by plain transfer is not pool
    /// equity (only sweepSurplus moves it), so it cannot move the price; the
    /// victim gets its full 1e6 shares per unit and the attacker loses the donation.
    function test_inflationAttack_byDonationDoesNotPay() public {
        ClearingHouse h = _freshHouse();
        address attacker = STRANGER;
        token.mint(attacker, 1_000_001 * D);
        uint256 attackerBefore = token.balanceOf(attacker);
        vm.startPrank(attacker);
        token.approve(address(h), type(uint256).max);
        h.poolDeposit(1); // 1e6 shares for 1 unit
        token.transfer(address(h), 1_000_000 * D); // the "donation"
        vm.stopPrank();
        assertEq(h.poolTotal(), 1, "a donation is not equity");
        assertEq(h.convertToShares(10_000 * D), 10_000 * D * SHARE, "the price did not move");

        vm.startPrank(LENDER2);
        token.approve(address(h), type(uint256).max);
        assertEq(h.poolDeposit(10_000 * D), 10_000 * D * SHARE, "the victim gets every share");
        vm.stopPrank();
        assertEq(h.lenderBalance(LENDER2), 10_000 * D, "and loses nothing");

        vm.prank(attacker);
        h.poolRedeem(SHARE, attacker);
        vm.prank(ADMIN);
        h.sweepSurplus(ADMIN); // the donation goes where the admin says, not to the pool
        assertEq(token.balanceOf(attacker), attackerBefore - 1_000_000 * D, "the attacker lost the donation");
        assertEq(h.lenderBalance(LENDER2), 10_000 * D, "still whole");
    }

    /// The other way to raise the price is interest, which the attacker must
    /// pay itself (it borrows from its own 1-unit pool at 100%): three years
    /// take the pool to 8. The victim then loses at most 1 unit to rounding
    /// and the attacker ends 4 units down.
    function test_inflationAttack_byInterestDoesNotPay() public {
        ClearingHouse h = _freshHouse();
        vm.startPrank(ALICE); // attacker: lender and borrower
        token.approve(address(h), type(uint256).max);
        h.poolDeposit(1);
        vm.stopPrank();
        vm.prank(ADMIN);
        h.setInterestRateModel(10_000, 0);
        vm.prank(OPERATOR);
        h.settleCycle(1, ROOT, 1, 1, _addrs(ALICE, BOB), _ints(-1, 1)); // the attacker draws the unit
        for (uint256 y = 1; y <= 3; ++y) {
            vm.warp(t0 + y * YEAR);
            h.accrueInterest(_addrs(ALICE));
        }
        assertEq(h.poolTotal(), 8, "1 + 7 of interest");
        assertEq(h.balanceOf(ALICE), -8, "paid by the attacker's own balance");

        vm.startPrank(LENDER2);
        token.approve(address(h), type(uint256).max);
        uint256 shares = h.poolDeposit(100 * D);
        vm.stopPrank();
        assertEq(shares, 22_222_222_222_222, "100e6 x 2e6 / 9, rounded down");
        assertEq(h.lenderBalance(LENDER2), 100 * D - 1, "the victim loses 1 unit to rounding");
        uint256 attackerAssets = h.lenderBalance(ALICE);
        assertEq(attackerAssets, 4, "the attacker's 1e6 shares");
        // Attacker: paid 1 into the pool and 7 of interest, holds 4 of assets.
        assertLe(attackerAssets, 1 + 7, "it does not pay");
    }

    // ───────────── the withdrawal queue ─────────────

    function test_requestWithdrawal_queuesSharesWhileDrawn() public {
        _commit(1, _addrs(BOB, CAROL), _ints(500 * ID, -500 * ID));
        vm.expectEmit(address(house));
        emit IClearingHouse.WithdrawalQueued(0, LENDER, 10_000 * D * SHARE);
        vm.prank(LENDER);
        assertEq(house.requestWithdrawal(10_000 * D * SHARE), 0, "request id 0");
        assertEq(house.sharesOf(LENDER), 0, "left the lender's position");
        assertEq(house.lenderBalance(LENDER), 0, "queued shares are not counted");
        assertEq(house.queuedShares(), 10_000 * D * SHARE, "queued");
        assertEq(house.totalShares(), 10_000 * D * SHARE, "still in the total");
        IClearingHouse.WithdrawalRequest memory r = house.withdrawalRequest(0);
        assertEq(r.lender, LENDER, "lender");
        assertEq(r.shares, 10_000 * D * SHARE, "shares");
        (uint256 head, uint256 tail) = house.withdrawalQueue();
        assertEq(head, 0, "head");
        assertEq(tail, 1, "tail");
    }

    function test_requestWithdrawal_revertsBeyondShares() public {
        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.ClearingHouseInsufficientShares.selector, LENDER2, 0, uint256(1))
        );
        vm.prank(LENDER2);
        house.requestWithdrawal(1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IClearingHouse.ClearingHouseInsufficientShares.selector,
                LENDER,
                10_000 * D * SHARE,
                10_000 * D * SHARE + 1
            )
        );
        vm.prank(LENDER);
        house.requestWithdrawal(10_000 * D * SHARE + 1);
    }

    function test_requestWithdrawal_revertsOnZeroShares() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseZeroAmount.selector));
        vm.prank(LENDER);
        house.requestWithdrawal(0);
    }

    function test_requestWithdrawal_revertsWhenPaused() public {
        vm.prank(ADMIN);
        house.pause();
        vm.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
        vm.prank(LENDER);
        house.requestWithdrawal(1);
    }

    /// With 500 drawn only 9,500 can leave: the request is paid in part, then
    /// in full once Carol repays.
    function test_processWithdrawals_partialFillThenRest() public {
        _commit(1, _addrs(BOB, CAROL), _ints(500 * ID, -500 * ID));
        vm.prank(LENDER);
        house.requestWithdrawal(10_000 * D * SHARE);
        uint256 before = token.balanceOf(LENDER);

        vm.expectEmit(address(house));
        emit IClearingHouse.WithdrawalProcessed(0, LENDER, 9500 * D * SHARE, 9500 * D, 500 * D * SHARE);
        vm.prank(STRANGER); // anyone
        assertEq(house.processWithdrawals(5), 1, "one request paid (in part)");
        assertEq(token.balanceOf(LENDER), before + 9500 * D, "paid to the lender");
        assertEq(house.poolTotal(), 500 * D, "the drawn part stays");
        assertEq(house.withdrawalRequest(0).shares, 500 * D * SHARE, "still waiting");
        (uint256 head,) = house.withdrawalQueue();
        assertEq(head, 0, "the head stays at a part-paid request");

        vm.recordLogs();
        assertEq(house.processWithdrawals(5), 0, "no liquidity: nothing paid");
        assertEq(vm.getRecordedLogs().length, 0, "no event");

        vm.prank(CAROL);
        house.deposit(500 * D);
        vm.expectEmit(address(house));
        emit IClearingHouse.WithdrawalProcessed(0, LENDER, 500 * D * SHARE, 500 * D, 0);
        assertEq(house.processWithdrawals(5), 1, "the rest");
        (head,) = house.withdrawalQueue();
        assertEq(head, 1, "done");
        assertEq(house.queuedShares(), 0, "nothing queued");
        assertEq(house.totalShares(), 0, "all burned");
        assertEq(token.balanceOf(LENDER), before + 10_000 * D, "the lender got everything back");
        _assertSolvent();
    }

    /// Requests are paid in order: the first in full before the second gets anything.
    function test_processWithdrawals_paysInOrder() public {
        vm.prank(LENDER2);
        house.poolDeposit(5000 * D);
        _commit(1, _addrs(BOB, CAROL), _ints(500 * ID, -500 * ID)); // liquidity 14,500
        vm.prank(LENDER2);
        house.requestWithdrawal(5000 * D * SHARE);
        vm.prank(LENDER);
        house.requestWithdrawal(10_000 * D * SHARE);

        vm.expectEmit(address(house));
        emit IClearingHouse.WithdrawalProcessed(0, LENDER2, 5000 * D * SHARE, 5000 * D, 0);
        vm.expectEmit(address(house));
        emit IClearingHouse.WithdrawalProcessed(1, LENDER, 9500 * D * SHARE, 9500 * D, 500 * D * SHARE);
        assertEq(house.processWithdrawals(10), 2, "two paid");
        (uint256 head, uint256 tail) = house.withdrawalQueue();
        assertEq(head, 1, "the second waits for the rest");
        assertEq(tail, 2, "tail");
        _assertSolvent();
    }

    function test_processWithdrawals_stopsAtMaxRequests() public {
        vm.prank(LENDER2);
        house.poolDeposit(5000 * D);
        vm.prank(LENDER);
        house.requestWithdrawal(SHARE);
        vm.prank(LENDER2);
        house.requestWithdrawal(SHARE);
        assertEq(house.processWithdrawals(1), 1, "one");
        assertEq(house.withdrawalRequest(1).shares, SHARE, "the second still waits");
        assertEq(house.processWithdrawals(0), 0, "zero means none");
        assertEq(house.processWithdrawals(1), 1, "then the second");
    }

    /// Cancelled requests are skipped and do not count against maxRequests.
    function test_processWithdrawals_skipsCancelled() public {
        vm.prank(LENDER2);
        house.poolDeposit(5000 * D);
        vm.prank(LENDER);
        house.requestWithdrawal(SHARE);
        vm.prank(LENDER2);
        house.requestWithdrawal(2 * SHARE);
        vm.prank(LENDER);
        house.cancelWithdrawal(0);
        assertEq(house.processWithdrawals(1), 0, "a cancelled request counts against the bound");
        (uint256 skipped,) = house.withdrawalQueue();
        assertEq(skipped, 1, "the cancelled one is behind the head");
        vm.expectEmit(address(house));
        emit IClearingHouse.WithdrawalProcessed(1, LENDER2, 2 * SHARE, 2, 0);
        assertEq(house.processWithdrawals(1), 1, "then the live one");
        (uint256 head,) = house.withdrawalQueue();
        assertEq(head, 2, "both behind the head");
        assertEq(house.sharesOf(LENDER), 10_000 * D * SHARE, "the cancelled shares came back");
    }

    /// Queued shares keep earning: a year at 10% on Carol's 500 while the lender waits.
    function test_processWithdrawals_queuedSharesEarnInterest() public {
        vm.prank(ADMIN);
        house.setInterestRateModel(1000, 0);
        _commit(1, _addrs(BOB, CAROL), _ints(500 * ID, -500 * ID));
        vm.prank(LENDER);
        house.requestWithdrawal(10_000 * D * SHARE);
        vm.warp(t0 + YEAR);
        house.accrueInterest(_addrs(CAROL)); // pool 10,050, Carol owes 550
        assertEq(house.convertToAssets(house.queuedShares()), 10_049_999_999, "the queued shares' worth grew");
        vm.prank(CAROL);
        house.deposit(550 * D);
        house.processWithdrawals(1);
        assertEq(house.poolTotal(), 1, "the virtual share's part of the rounding stays");
        assertEq(house.queuedShares(), 0, "paid");
        _assertSolvent();
    }

    function test_processWithdrawals_revertsWhenPaused() public {
        vm.prank(ADMIN);
        house.pause();
        vm.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
        house.processWithdrawals(1);
    }

    function test_cancelWithdrawal_returnsTheShares() public {
        vm.prank(LENDER);
        house.requestWithdrawal(4000 * D * SHARE);
        vm.expectEmit(address(house));
        emit IClearingHouse.WithdrawalCancelled(0, LENDER, 4000 * D * SHARE);
        vm.prank(LENDER);
        house.cancelWithdrawal(0);
        assertEq(house.sharesOf(LENDER), 10_000 * D * SHARE, "back");
        assertEq(house.queuedShares(), 0, "nothing queued");
        assertEq(house.withdrawalRequest(0).shares, 0, "finished");
        vm.prank(LENDER);
        house.poolWithdraw(1000 * D, LENDER); // instant withdrawals work again
    }

    /// A part-paid request can be cancelled: what was not paid comes back.
    function test_cancelWithdrawal_afterPartialFill() public {
        _commit(1, _addrs(BOB, CAROL), _ints(500 * ID, -500 * ID));
        vm.prank(LENDER);
        house.requestWithdrawal(10_000 * D * SHARE);
        house.processWithdrawals(1);
        vm.expectEmit(address(house));
        emit IClearingHouse.WithdrawalCancelled(0, LENDER, 500 * D * SHARE);
        vm.prank(LENDER);
        house.cancelWithdrawal(0);
        assertEq(house.sharesOf(LENDER), 500 * D * SHARE, "the unpaid part");
        assertEq(house.lenderBalance(LENDER), 500 * D, "worth the drawn 500");
    }

    function test_cancelWithdrawal_revertsForOthersFinishedOrUnknown() public {
        vm.prank(LENDER);
        house.requestWithdrawal(SHARE);
        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.ClearingHouseNotYourRequest.selector, uint256(0), LENDER2)
        );
        vm.prank(LENDER2);
        house.cancelWithdrawal(0);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseNotYourRequest.selector, uint256(7), LENDER));
        vm.prank(LENDER);
        house.cancelWithdrawal(7);
        vm.prank(LENDER);
        house.cancelWithdrawal(0);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseNotYourRequest.selector, uint256(0), LENDER));
        vm.prank(LENDER);
        house.cancelWithdrawal(0); // already cancelled
        vm.prank(LENDER);
        house.requestWithdrawal(SHARE);
        house.processWithdrawals(2); // the cancelled request 0 counts as one of the two looked at
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseNotYourRequest.selector, uint256(1), LENDER));
        vm.prank(LENDER);
        house.cancelWithdrawal(1); // already paid
    }

    function test_cancelWithdrawal_revertsWhenPaused() public {
        vm.prank(LENDER);
        house.requestWithdrawal(SHARE);
        vm.prank(ADMIN);
        house.pause();
        vm.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
        vm.prank(LENDER);
        house.cancelWithdrawal(0);
    }

    /// The recovery path pays only shares that are not queued.
    function test_recoverLender_leavesQueuedSharesAlone() public {
        vm.prank(LENDER);
        house.requestWithdrawal(4000 * D * SHARE);
        vm.prank(ADMIN);
        house.pause();
        vm.expectEmit(address(house));
        emit IClearingHouse.LenderRecovered(LENDER, 6000 * D, 6000 * D * SHARE, 4000 * D);
        vm.prank(ADMIN);
        house.recoverLender(LENDER);
        assertEq(house.queuedShares(), 4000 * D * SHARE, "still queued");
        assertEq(house.withdrawalRequest(0).shares, 4000 * D * SHARE, "request intact");
    }

    // ───────────── views ─────────────

    function test_views_convertRoundDown() public {
        _earnAYearOfInterest();
        assertEq(house.convertToAssets(1e16), 10_049_999_999, "assets rounded down");
        assertEq(house.convertToShares(10_050 * D), 10_000_000_000_004_975, "shares rounded down");
        assertEq(house.convertToAssets(0), 0, "zero");
        IClearingHouse.WithdrawalRequest memory r = house.withdrawalRequest(42);
        assertEq(r.lender, address(0), "unknown request is empty");
        assertEq(r.shares, 0, "unknown request is empty");
    }

    // ───────────── helpers ─────────────

    /// @dev A year at 10% on Carol's 500: pool 10,050 for 1e16 shares.
    function _earnAYearOfInterest() private {
        vm.prank(ADMIN);
        house.setInterestRateModel(1000, 0);
        _settle(99, _addrs(BOB, CAROL), _ints(500 * ID, -500 * ID));
        vm.warp(t0 + YEAR);
        house.accrueInterest(_addrs(CAROL));
        vm.prank(CAROL);
        house.deposit(550 * D); // repaid: everything is liquid again
        assertEq(house.poolTotal(), 10_050 * D, "pool");
        assertEq(house.totalShares(), 1e16, "shares");
    }

    function _toShares(uint256 assets, bool up) private view returns (uint256) {
        uint256 n = assets * (house.totalShares() + SHARE);
        uint256 d = house.poolTotal() + 1;
        return up ? (n + d - 1) / d : n / d;
    }

    /// @dev A fresh house with the fixture's roles and Alice (limit 1) and Bob admitted.
    function _freshHouse() private returns (ClearingHouse h) {
        h = new ClearingHouse(token, ADMIN);
        vm.startPrank(ADMIN);
        h.grantRole(OPERATOR_ROLE, OPERATOR);
        h.grantRole(RISK_ROLE, RISK);
        vm.stopPrank();
        vm.startPrank(RISK);
        h.admitMember(ALICE, 1);
        h.admitMember(BOB, 0);
        vm.stopPrank();
    }
}
