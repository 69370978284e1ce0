// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {IClearingHouse} from "../../contracts/interfaces/IClearingHouse.sol";
import {ClearingHouseBase} from "./utils/ClearingHouseBase.sol";
import {Vm} from "./utils/Vm.sol";

/// @notice Interest: the rate model, the borrow index, charges to borrowers
/// (rounded up, into the pool), when a balance is touched or by anyone's
/// accrueInterest, and what lenders earn. Expected amounts are computed with
/// the house's integer math: index' = index + index × rate × elapsed / (10000 × year)
/// (rounded down) and interest = ceil(debt × index' / snapshot) − debt.
contract ClearingHouseInterestTest is ClearingHouseBase {
    int256 internal constant ID = int256(D);
    uint256 internal constant WAD = 1e18;
    uint256 internal constant YEAR = 365 days;
    bytes32 internal constant ADMIN_ROLE = 0x00;
    uint64 internal t0;

    function setUp() public override {
        super.setUp();
        t0 = uint64(block.timestamp);
    }

    // ───────────── the rate model ─────────────

    function test_setInterestRateModel_setsEmitsAndReads() public {
        vm.expectEmit(address(house));
        emit IClearingHouse.InterestRateModelSet(200, 1800);
        _model(200, 1800);
        (uint16 base, uint16 slope) = house.interestRateModel();
        assertEq(uint256(base), 200, "base");
        assertEq(uint256(slope), 1800, "slope");
        assertEq(house.borrowRateBps(), 200, "nothing drawn: the base rate");
    }

    /// The cap is on the highest rate the model can reach (base + slope ≤ 100%);
    /// the error carries what is left for the slope once the base is set.
    function test_setInterestRateModel_revertsAboveCap() public {
        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.ClearingHouseRateTooHigh.selector, uint16(10_001), uint16(10_000))
        );
        _model(10_001, 0);
        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.ClearingHouseRateTooHigh.selector, uint16(6001), uint16(6000))
        );
        _model(4000, 6001);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseRateTooHigh.selector, uint16(1), uint16(0)));
        _model(10_000, 1);
        // The boundaries are fine.
        _model(10_000, 0);
        _model(0, 10_000);
        _model(4000, 6000);
        (uint16 base, uint16 slope) = house.interestRateModel();
        assertEq(uint256(base) + slope, 10_000, "100% a year at full utilisation");
    }

    function test_setInterestRateModel_revertsForNonAdmin() public {
        vm.expectRevert(_unauthorized(RISK, ADMIN_ROLE));
        vm.prank(RISK);
        house.setInterestRateModel(100, 100);
        vm.expectRevert(_unauthorized(OPERATOR, ADMIN_ROLE));
        vm.prank(OPERATOR);
        house.setInterestRateModel(100, 100);
    }

    /// A new model applies from now on: what accrued so far compounds at the old rate first.
    function test_setInterestRateModel_compoundsAtTheOldRateFirst() public {
        _model(1000, 0); // 10% a year
        _draw(CAROL, 500 * D);
        vm.warp(t0 + YEAR);
        _model(0, 0);
        assertEq(house.borrowIndex(), WAD + WAD / 10, "a year at 10%, then nothing");
        vm.warp(t0 + 2 * YEAR);
        _accrue(CAROL);
        assertEq(house.balanceOf(CAROL), -550 * ID, "charged for the first year only");
        assertEq(house.borrowIndex(), WAD + WAD / 10, "no growth at 0%");
    }

    /// The model may change while paused (it moves no funds).
    function test_setInterestRateModel_allowedWhilePaused() public {
        vm.prank(ADMIN);
        house.pause();
        _model(300, 0);
        (uint16 base,) = house.interestRateModel();
        assertEq(uint256(base), 300, "set while paused");
    }

    // ───────────── the rate ─────────────

    /// rate = base + slope × drawn / pool, in whole basis points (the slope part rounds down).
    function test_borrowRateBps_followsUtilisation() public {
        _model(200, 1800);
        _draw(CAROL, 500 * D); // 5% of 10,000
        assertEq(house.borrowRateBps(), 200 + 90, "200 + 1800 x 5%");
        _draw(ALICE, 5000 * D + 333 * D); // Alice spends her 5000 and draws 333: 833 of 10,000
        // 1800 × 833 / 10000 = 149.94 → 149.
        assertEq(house.borrowRateBps(), 200 + 149, "slope part rounds down to whole bps");
        vm.prank(LENDER2);
        house.poolDeposit(10_000 * D);
        // 1800 × 833 / 20000 = 74.97 → 74.
        assertEq(house.borrowRateBps(), 200 + 74, "a bigger pool lowers the rate");
    }

    // ───────────── charging interest ─────────────

    /// A year at 290 bps (200 + 1800 × 5%) on 500: exactly 14.5, into the pool.
    function test_accrueInterest_chargesAYearExactly() public {
        _model(200, 1800);
        _draw(CAROL, 500 * D);
        vm.warp(t0 + YEAR);
        uint256 index = WAD + _growth(WAD, 290, YEAR);
        assertEq(index, WAD + 29e15, "index grew by 2.9%");
        uint256 interest = _interest(500 * D, WAD, index);
        assertEq(interest, 14_500_000, "14.5 TUSD");
        assertEq(house.interestOwedOf(CAROL), interest, "the view agrees before the charge");

        vm.expectEmit(address(house));
        emit IClearingHouse.InterestCharged(CAROL, interest, -514_500_000, 10_014_500_000);
        _accrue(CAROL);

        assertEq(house.borrowIndex(), index, "index");
        assertEq(house.balanceOf(CAROL), -514_500_000, "charged to the balance");
        assertEq(house.creditDrawn(), 514_500_000, "drawn grows with the debt");
        assertEq(house.poolTotal(), 10_014_500_000, "the pool earned it");
        assertEq(house.interestOwedOf(CAROL), 0, "nothing more owed now");
        // 1e16 shares × (10_014.5e6 + 1) / (1e16 + 1e6), rounded down.
        assertEq(house.lenderBalance(LENDER), 10_014_499_999, "the lender earned it (less 1 of rounding)");
        assertEq(house.lenderBalance(LENDER), _assetsOf(house.sharesOf(LENDER)), "same integer math");
        _assertSolvent();
    }

    /// Interest compounds at each accrual: two half years at 10%.
    function test_accrueInterest_compoundsAtEachAccrual() public {
        _model(1000, 0);
        _draw(CAROL, 500 * D);
        vm.warp(t0 + YEAR / 2);
        _accrue(CAROL);
        uint256 i1 = WAD + _growth(WAD, 1000, YEAR / 2);
        uint256 c1 = _interest(500 * D, WAD, i1);
        assertEq(c1, 25 * D, "half a year at 10%");
        assertEq(house.balanceOf(CAROL), -int256(500 * D + c1), "first charge");

        vm.warp(t0 + YEAR);
        _accrue(CAROL);
        uint256 i2 = i1 + _growth(i1, 1000, YEAR / 2);
        uint256 c2 = _interest(500 * D + c1, i1, i2);
        assertEq(house.borrowIndex(), i2, "compounded index");
        assertEq(c2, 26_250_000, "5% of 525");
        assertEq(house.balanceOf(CAROL), -int256(500 * D + c1 + c2), "second charge on the grown debt");
        _assertSolvent();
    }

    /// A 1-unit debt for a day at 10% owes 0.000274 units: it is charged 1, rounded up against the borrower.
    function test_interest_roundsUpAgainstTheBorrower() public {
        _model(1000, 0);
        _draw(CAROL, 1);
        vm.warp(t0 + 1 days);
        uint256 index = WAD + _growth(WAD, 1000, 1 days);
        assertEq(index, WAD + 273_972_602_739_726, "a day at 10%, rounded down");
        assertEq(_interest(1, WAD, index), 1, "rounded up");
        vm.expectEmit(address(house));
        emit IClearingHouse.InterestCharged(CAROL, 1, -2, 10_000 * D + 1);
        _accrue(CAROL);
    }

    function test_accrueInterest_chargesNothingTwiceInOneBlock() public {
        _model(1000, 0);
        _draw(CAROL, 500 * D);
        vm.warp(t0 + 30 days);
        _accrue(CAROL);
        int256 once = house.balanceOf(CAROL);
        vm.recordLogs();
        _accrue(CAROL);
        assertEq(vm.getRecordedLogs().length, 0, "no event");
        assertEq(house.balanceOf(CAROL), once, "no second charge");
    }

    /// Two lenders share the interest pro rata to their shares.
    function test_accrueInterest_lendersEarnProRata() public {
        vm.prank(LENDER2);
        house.poolDeposit(5000 * D);
        _model(1000, 0);
        _draw(CAROL, 500 * D);
        vm.warp(t0 + YEAR);
        _accrue(CAROL);
        assertEq(house.poolTotal(), 15_050 * D, "50 of interest");
        uint256 a = house.lenderBalance(LENDER);
        uint256 b = house.lenderBalance(LENDER2);
        assertEq(a, _assetsOf(10_000 * D * SHARE), "lender: its shares at the new price");
        assertEq(b, _assetsOf(5000 * D * SHARE), "lender2: its shares at the new price");
        assertEq(a, 10_033_333_333, "10,000 + 2/3 of 50, rounded down");
        assertEq(b, 5_016_666_666, "5,000 + 1/3 of 50, rounded down");
        assertLe(a + b, house.poolTotal(), "never more than the pool");
    }

    function test_accrueInterest_skipsNonDebtorsNonMembersAndDefaulters() public {
        _model(1000, 0);
        _draw(CAROL, 500 * D);
        vm.prank(RISK);
        house.declareDefault(CAROL, "test");
        vm.warp(t0 + YEAR);
        vm.recordLogs();
        vm.prank(STRANGER);
        house.accrueInterest(_addrs(ALICE, BOB, CAROL, EVE));
        assertEq(vm.getRecordedLogs().length, 0, "nobody charged");
        assertEq(house.balanceOf(CAROL), -500 * ID, "the defaulter accrues nothing");
        assertEq(house.interestOwedOf(CAROL), 0, "and owes nothing");
        assertEq(house.interestOwedOf(ALICE), 0, "no debt, no interest");
        assertEq(house.interestOwedOf(EVE), 0, "not a member");
    }

    function test_accrueInterest_revertsWhenPaused() public {
        vm.prank(ADMIN);
        house.pause();
        vm.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
        _accrue(CAROL);
    }

    function test_interest_noIndexGrowthWithoutDebt() public {
        _model(1000, 1000);
        vm.warp(t0 + YEAR);
        vm.prank(LENDER2);
        house.poolDeposit(1 * D);
        assertEq(house.borrowIndex(), WAD, "nothing drawn: the index does not move");
    }

    /// A new borrower's clock starts at the index of its first draw.
    function test_interest_newDebtStartsAtTheCurrentIndex() public {
        _model(1000, 0);
        _draw(CAROL, 500 * D);
        vm.warp(t0 + YEAR);
        _draw(ALICE, 5000 * D + 200 * D); // the commit accrues: index 1.1e18
        assertEq(house.borrowIndex(), WAD + WAD / 10, "index at Alice's first draw");
        assertEq(house.interestOwedOf(ALICE), 0, "Alice owes nothing for the past year");
        vm.warp(t0 + 2 * YEAR);
        uint256 index = WAD + WAD / 10;
        // Utilisation is irrelevant at slope 0: a year at 10% on Alice's 200 since her draw.
        uint256 later = index + _growth(index, 1000, YEAR);
        assertEq(house.interestOwedOf(ALICE), _interest(200 * D, index, later), "one year on 200");
        assertEq(house.interestOwedOf(ALICE), 20 * D, "10% of 200");
    }

    // ───────────── charged whenever the balance is touched ─────────────

    function test_interest_chargedBeforeADeposit() public {
        _model(1000, 0);
        _draw(CAROL, 500 * D);
        vm.warp(t0 + YEAR);
        vm.expectEmit(address(house));
        emit IClearingHouse.InterestCharged(CAROL, 50 * D, -550 * ID, 10_050 * D);
        vm.expectEmit(address(house));
        emit IClearingHouse.Deposited(CAROL, CAROL, 100 * D, -450 * ID);
        vm.prank(CAROL);
        house.deposit(100 * D);
        _assertSolvent();
    }

    /// The headroom check sees the balance after interest.
    function test_interest_chargedBeforeADebit() public {
        _model(1000, 0);
        _draw(CAROL, 300 * D);
        vm.warp(t0 + YEAR);
        // Headroom is measured before the charge (what availableOf showed: 500 − 300 = 200),
        // so interest accrued since it was read never fails the cycle; the 30 is charged, then the debit.
        assertEq(house.availableOf(CAROL), 200 * D, "headroom as read");
        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.ClearingHouseInsufficientHeadroom.selector, CAROL, 200 * D, 201 * D)
        );
        _commit(2, _addrs(BOB, CAROL), _ints(201 * ID, -201 * ID));

        vm.expectEmit(address(house));
        emit IClearingHouse.InterestCharged(CAROL, 30 * D, -330 * ID, 10_030 * D);
        vm.expectEmit(address(house));
        emit IClearingHouse.MemberDebited(2, CAROL, 200 * D, -530 * ID);
        _commit(2, _addrs(BOB, CAROL), _ints(200 * ID, -200 * ID));
        assertEq(house.availableOf(CAROL), 0, "the interest took it past the limit");
        _assertSolvent();
    }

    function test_interest_chargedBeforeACredit() public {
        _model(1000, 0);
        _draw(CAROL, 500 * D);
        _commit(2, _addrs(ALICE, CAROL), _ints(-100 * ID, 100 * ID));
        vm.warp(t0 + YEAR);
        vm.expectEmit(address(house));
        emit IClearingHouse.InterestCharged(CAROL, 50 * D, -550 * ID, 10_050 * D);
        vm.expectEmit(address(house));
        emit IClearingHouse.CreditReleased(2, CAROL, 100 * D, -450 * ID);
        _release(2, CAROL, 100 * D);
        _assertSolvent();
    }

    function test_interest_chargedBeforeARefund() public {
        _model(1000, 0);
        address[] memory ms = _addrs(BOB, CAROL);
        int256[] memory ds = _ints(500 * ID, -500 * ID);
        _commit(1, ms, ds);
        vm.warp(t0 + YEAR);
        vm.expectEmit(address(house));
        emit IClearingHouse.InterestCharged(CAROL, 50 * D, -550 * ID, 10_050 * D);
        vm.expectEmit(address(house));
        emit IClearingHouse.DebitRefunded(1, CAROL, 200 * D, -350 * ID);
        vm.prank(OPERATOR);
        house.refundCycle(1, ms, ds, _addrs(BOB), _uints(200 * D), _uints(0, 200 * D));
        _assertSolvent();
    }

    /// Interest may take a balance below −creditLimit (a breach the service follows up);
    /// the limit cannot then be set below the debt.
    function test_interest_mayTakeABalanceBelowTheLimit() public {
        _model(1000, 0);
        _draw(CAROL, 500 * D); // the whole line
        vm.warp(t0 + YEAR);
        _accrue(CAROL);
        assertEq(house.balanceOf(CAROL), -550 * ID, "50 beyond the 500 limit");
        assertEq(house.availableOf(CAROL), 0, "nothing available");
        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.ClearingHouseLimitBelowDebt.selector, CAROL, 550 * D, 549 * D)
        );
        vm.prank(RISK);
        house.setCreditLimit(CAROL, 549 * D);
        _assertSolvent();
    }

    // ───────────── contract bugs (these fail until fixed; see /tmp/forge-bugs.md) ─────────────

    /// BUG 1: `_debitMember` computes the headroom `limit − debt` in an
    /// `unchecked` block whose proof assumed I3 (balance ≥ −limit); interest
    /// breaks that assumption, the subtraction wraps, and any debit passes.
    /// A debit must never take a balance below −creditLimit (I3).
    function test_commitCycle_refusesDebitBeyondLimitAfterInterest() public {
        _overLimitByInterest();
        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.ClearingHouseInsufficientHeadroom.selector, CAROL, 0, 4000 * D)
        );
        _commit(2, _addrs(BOB, CAROL), _ints(4000 * ID, -4000 * ID));
        assertEq(house.balanceOf(CAROL), -550 * ID, "no debit beyond the limit");
    }

    function test_settleCycle_refusesDebitBeyondLimitAfterInterest() public {
        _overLimitByInterest();
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseInsufficientHeadroom.selector, CAROL, 0, 1));
        _settle(2, _addrs(BOB, CAROL), _ints(1, -1));
        assertEq(house.balanceOf(CAROL), -550 * ID, "no debit beyond the limit");
    }

    /// BUG 2: recoverLender lowers the pool without accruing the index first,
    /// so the period before it is priced at the utilisation after it.
    function test_recoverLender_accruesAtTheOldUtilisationFirst() public {
        _model(0, 10_000); // 100% × utilisation
        _draw(CAROL, 500 * D); // 5% of the pool: 500 bps
        vm.warp(t0 + YEAR);
        uint256 owed = house.interestOwedOf(CAROL);
        assertEq(owed, 25 * D, "a year at 500 bps on 500");
        vm.startPrank(ADMIN);
        house.pause();
        house.recoverLender(LENDER); // pays the 9,500 undrawn: utilisation 100% from now on
        house.unpause();
        vm.stopPrank();
        _accrue(CAROL); // same block: nothing accrued since the recovery
        assertEq(house.balanceOf(CAROL), -int256(500 * D + owed), "the past year at the past utilisation");
    }

    // ───────────── fuzz ─────────────

    /// A flat rate, any debt, any elapsed time (one accrual): the index grows
    /// by rate × elapsed / year rounded down; the charge is the exact interest
    /// the index implies, rounded up (never below it, less than 1 above), and
    /// within one unit of debt × rate × elapsed / (10000 × year) (exactly ≥ it
    /// when the index's growth is exact).
    function testFuzz_interest_roundsUpAndFollowsTheFormula(uint256 debt, uint256 rate, uint256 elapsed) public {
        debt = bound(debt, 1, 10_000 * D);
        rate = bound(rate, 1, 10_000);
        elapsed = bound(elapsed, 1, 2 * YEAR);
        vm.prank(LENDER2);
        house.poolDeposit(10_000 * D); // the pool can fund any debt here
        vm.prank(RISK);
        house.setCreditLimit(DAVE, debt);
        _model(uint16(rate), 0);
        _draw(DAVE, debt);
        vm.warp(t0 + elapsed);
        _accrue(DAVE);

        uint256 growth = _growth(WAD, rate, elapsed);
        assertEq(house.borrowIndex(), WAD + growth, "index");
        uint256 charged = uint256(-house.balanceOf(DAVE)) - debt;
        // exact interest against the index: debt × growth / 1e18
        assertGe(charged * WAD, debt * growth, "never below the exact interest (rounds up)");
        assertLe(charged * WAD, debt * growth + WAD - 1, "less than one unit above it");
        // against the formula: floor ≤ charged ≤ ceil of debt × rate × elapsed / (10000 × year)
        uint256 exact = debt * rate * elapsed; // scaled by 10000 × year
        assertLe(charged * 10_000 * YEAR, exact + 10_000 * YEAR - 1, "at most the formula rounded up");
        assertGe((charged + 1) * 10_000 * YEAR, exact + 1, "at least the formula rounded down");
        if ((WAD * rate * elapsed) % (10_000 * YEAR) == 0) {
            assertGe(charged * 10_000 * YEAR, exact, "exact growth: at least the formula");
        }
        assertEq(house.poolTotal(), 20_000 * D + charged, "all of it into the pool");
        _assertSolvent();
    }

    /// Whatever the rate, debt and time, a defaulter is charged nothing, touched or not.
    function testFuzz_interest_neverChargedToADefaulter(uint256 debt, uint256 rate, uint256 elapsed, uint256 paid)
        public
    {
        debt = bound(debt, 1, 500 * D);
        rate = bound(rate, 1, 10_000);
        elapsed = bound(elapsed, 1, 5 * YEAR);
        paid = bound(paid, 1, debt);
        _model(uint16(rate / 2), uint16(rate - rate / 2));
        _draw(CAROL, debt);
        vm.warp(t0 + 1 days);
        vm.prank(RISK);
        house.declareDefault(CAROL, "test"); // charged up to now, then never again
        int256 atDefault = house.balanceOf(CAROL);
        vm.warp(t0 + 1 days + elapsed);
        assertEq(house.interestOwedOf(CAROL), 0, "owes nothing");
        vm.recordLogs();
        _accrue(CAROL);
        vm.prank(CAROL);
        house.deposit(paid); // touching the balance charges nothing either
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            assertTrue(logs[i].topics[0] != IClearingHouse.InterestCharged.selector, "no InterestCharged");
        }
        assertEq(house.balanceOf(CAROL), atDefault + int256(paid), "only the deposit moved it");
        _assertSolvent();
    }

    // ───────────── helpers ─────────────

    /// @dev Carol (limit 500) draws her whole line and a year at 10% takes her to −550.
    function _overLimitByInterest() private {
        _model(1000, 0);
        _draw(CAROL, 500 * D);
        vm.warp(t0 + YEAR);
        _accrue(CAROL);
        assertEq(house.balanceOf(CAROL), -550 * ID, "50 beyond the limit by interest");
        assertEq(house.availableOf(CAROL), 0, "availableOf: nothing");
    }

    function _model(uint16 base, uint16 slope) private {
        vm.prank(ADMIN);
        house.setInterestRateModel(base, slope);
    }

    /// @dev `member` pays `amount` to Bob in a one-call cycle (drawing credit beyond its collateral).
    function _draw(address member, uint256 amount) private {
        (address a, address b) = member < BOB ? (member, BOB) : (BOB, member);
        (int256 da, int256 db) = member < BOB ? (-int256(amount), int256(amount)) : (int256(amount), -int256(amount));
        _settle(uint64(uint256(keccak256(abi.encode(member, amount, block.timestamp)))), _addrs(a, b), _ints(da, db));
    }

    function _accrue(address member) private {
        vm.prank(STRANGER);
        house.accrueInterest(_addrs(member));
    }

    /// @dev index × rate × elapsed / (10000 × year), rounded down (the house's index growth).
    function _growth(uint256 index, uint256 rate, uint256 elapsed) private pure returns (uint256) {
        return index * rate * elapsed / (10_000 * YEAR);
    }

    /// @dev ceil(debt × index / snapshot) − debt (the house's charge).
    function _interest(uint256 debt, uint256 snapshot, uint256 index) private pure returns (uint256) {
        return (debt * index + snapshot - 1) / snapshot - debt;
    }

    /// @dev shares × (poolTotal + 1) / (totalShares + 1e6), rounded down.
    function _assetsOf(uint256 shares) private view returns (uint256) {
        return shares * (house.poolTotal() + 1) / (house.totalShares() + SHARE);
    }
}
