// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {IClearingHouse} from "../../contracts/interfaces/IClearingHouse.sol";
import {ClearingHouseBase} from "./utils/ClearingHouseBase.sol";

/// @notice Member collateral (deposit, depositFor, withdraw) and the lenders' pool.
contract ClearingHouseCollateralTest is ClearingHouseBase {
    // ───────────── deposit ─────────────

    function test_deposit_creditsBalanceAndPullsTokens() public {
        uint256 before = token.balanceOf(DAVE);
        vm.expectEmit(address(house));
        emit IClearingHouse.Deposited(DAVE, DAVE, 70 * D, int256(70 * D));
        vm.prank(DAVE);
        house.deposit(70 * D);
        assertEq(house.balanceOf(DAVE), int256(70 * D), "balance");
        assertEq(token.balanceOf(DAVE), before - 70 * D, "tokens pulled");
        assertEq(house.totalBalances(), int256(6070 * D), "total balances");
        _assertSolvent();
    }

    function test_deposit_revertsOnZeroAmount() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseZeroAmount.selector));
        vm.prank(ALICE);
        house.deposit(0);
    }

    function test_deposit_revertsForNonMember() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseNotMember.selector, EVE));
        vm.prank(EVE);
        house.deposit(1);
    }

    function test_deposit_revertsWhenPaused() public {
        vm.prank(ADMIN);
        house.pause();
        vm.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
        vm.prank(ALICE);
        house.deposit(1);
    }

    function test_deposit_revertsWithoutAllowance() public {
        vm.prank(DAVE);
        token.approve(address(house), 5);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(house), 5, 6));
        vm.prank(DAVE);
        house.deposit(6);
    }

    function test_deposit_bySuspendedMemberRepaysDebt() public {
        _commit(1, _addrs(BOB, CAROL), _ints(300 * int256(D), -300 * int256(D)));
        assertEq(house.creditDrawn(), 300 * D, "drawn");
        vm.prank(RISK);
        house.suspendMember(CAROL);
        vm.prank(CAROL);
        house.deposit(200 * D);
        assertEq(house.balanceOf(CAROL), -100 * int256(D), "debt left");
        assertEq(house.creditDrawn(), 100 * D, "drawn shrinks with the debt");
        _assertSolvent();
    }

    // ───────────── depositFor ─────────────

    function test_depositFor_creditsMemberPullsFromPayer() public {
        uint256 payerBefore = token.balanceOf(STRANGER);
        token.mint(STRANGER, 10 * D);
        vm.prank(STRANGER);
        token.approve(address(house), 10 * D);
        vm.expectEmit(address(house));
        emit IClearingHouse.Deposited(DAVE, STRANGER, 10 * D, int256(10 * D));
        vm.prank(STRANGER);
        house.depositFor(DAVE, 10 * D);
        assertEq(house.balanceOf(DAVE), int256(10 * D), "member credited");
        assertEq(token.balanceOf(STRANGER), payerBefore, "payer paid");
        _assertSolvent();
    }

    function test_depositFor_revertsForNonMember() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseNotMember.selector, EVE));
        vm.prank(ALICE);
        house.depositFor(EVE, 1);
    }

    function test_depositFor_revertsOnZeroAmount() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseZeroAmount.selector));
        vm.prank(ALICE);
        house.depositFor(BOB, 0);
    }

    function test_depositFor_revertsWhenPaused() public {
        vm.prank(ADMIN);
        house.pause();
        vm.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
        vm.prank(ALICE);
        house.depositFor(BOB, 1);
    }

    // ───────────── withdraw ─────────────

    function test_withdraw_paysFreeBalanceToRecipient() public {
        uint256 before = token.balanceOf(STRANGER);
        vm.expectEmit(address(house));
        emit IClearingHouse.Withdrawn(BOB, STRANGER, 400 * D, int256(600 * D));
        vm.prank(BOB);
        house.withdraw(400 * D, STRANGER);
        assertEq(house.balanceOf(BOB), int256(600 * D), "balance");
        assertEq(token.balanceOf(STRANGER), before + 400 * D, "paid to recipient");
        _assertSolvent();
    }

    function test_withdraw_wholeBalance() public {
        vm.prank(BOB);
        house.withdraw(1000 * D, BOB);
        assertEq(house.balanceOf(BOB), int256(0), "emptied");
    }

    function test_withdraw_revertsBeyondBalance() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IClearingHouse.ClearingHouseInsufficientBalance.selector, BOB, int256(1000 * D), 1000 * D + 1
            )
        );
        vm.prank(BOB);
        house.withdraw(1000 * D + 1, BOB);
    }

    function test_withdraw_revertsWhileInDebt() public {
        _commit(1, _addrs(BOB, CAROL), _ints(300 * int256(D), -300 * int256(D)));
        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.ClearingHouseInsufficientBalance.selector, CAROL, -300 * int256(D), 1)
        );
        vm.prank(CAROL);
        house.withdraw(1, CAROL);
    }

    function test_withdraw_cannotTouchCredit() public {
        // Alice has 5000 collateral and a 1000 line: only the 5000 is withdrawable.
        vm.expectRevert(
            abi.encodeWithSelector(
                IClearingHouse.ClearingHouseInsufficientBalance.selector, ALICE, int256(5000 * D), 5001 * D
            )
        );
        vm.prank(ALICE);
        house.withdraw(5001 * D, ALICE);
    }

    function test_withdraw_revertsForNonMemberWithNothing() public {
        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.ClearingHouseInsufficientBalance.selector, EVE, int256(0), 1)
        );
        vm.prank(EVE);
        house.withdraw(1, EVE);
    }

    function test_withdraw_revertsOnZeroAmount() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseZeroAmount.selector));
        vm.prank(BOB);
        house.withdraw(0, BOB);
    }

    function test_withdraw_revertsOnZeroRecipient() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseZeroAddress.selector));
        vm.prank(BOB);
        house.withdraw(1, address(0));
    }

    function test_withdraw_revertsWhenPaused() public {
        vm.prank(ADMIN);
        house.pause();
        vm.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
        vm.prank(BOB);
        house.withdraw(1, BOB);
    }

    function test_withdraw_allowedWhileSuspended() public {
        vm.prank(RISK);
        house.suspendMember(BOB);
        vm.prank(BOB);
        house.withdraw(1000 * D, BOB);
        assertEq(house.balanceOf(BOB), int256(0), "suspended member withdrew");
    }

    // ───────────── pool ─────────────

    function test_poolDeposit_addsToPoolAndLender() public {
        vm.expectEmit(address(house));
        // shares = 3000e6 × (10_000e12 + 1e6) / (10_000e6 + 1) = 3000e12, exactly (price 1e6 shares per unit).
        emit IClearingHouse.PoolDeposited(LENDER2, 3000 * D, 3000 * D * SHARE, 13_000 * D);
        vm.prank(LENDER2);
        uint256 shares = house.poolDeposit(3000 * D);
        assertEq(shares, 3000 * D * SHARE, "returned shares");
        assertEq(house.sharesOf(LENDER2), 3000 * D * SHARE, "shares");
        assertEq(house.totalShares(), 13_000 * D * SHARE, "total shares");
        assertEq(house.poolTotal(), 13_000 * D, "pool");
        // 3000e12 × (13_000e6 + 1) / (13_000e12 + 1e6) = 3000e6 exactly: no rounding loss at this price.
        assertEq(house.lenderBalance(LENDER2), 3000 * D, "lender");
        _assertSolvent();
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

    function test_poolWithdraw_paysLender() public {
        uint256 before = token.balanceOf(STRANGER);
        vm.expectEmit(address(house));
        emit IClearingHouse.PoolWithdrawn(LENDER, STRANGER, 4000 * D, 4000 * D * SHARE, 6000 * D);
        vm.prank(LENDER);
        uint256 burned = house.poolWithdraw(4000 * D, STRANGER);
        assertEq(burned, 4000 * D * SHARE, "burned shares");
        assertEq(house.sharesOf(LENDER), 6000 * D * SHARE, "shares left");
        assertEq(house.poolTotal(), 6000 * D, "pool");
        assertEq(house.lenderBalance(LENDER), 6000 * D, "lender");
        assertEq(token.balanceOf(STRANGER), before + 4000 * D, "paid");
        _assertSolvent();
    }

    /// One unit costs ceil(1 × (10_000e12 + 1e6) / (10_000e6 + 1)) = 1e6 shares, which LENDER2 lacks.
    function test_poolWithdraw_revertsBeyondLenderDeposit() public {
        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.ClearingHouseInsufficientShares.selector, LENDER2, uint256(0), SHARE)
        );
        vm.prank(LENDER2);
        house.poolWithdraw(1, LENDER2);
    }

    function test_poolWithdraw_revertsBeyondUndrawnPool() public {
        // Carol draws 500 of credit.
        _commit(1, _addrs(BOB, CAROL), _ints(500 * int256(D), -500 * int256(D)));
        assertEq(house.creditDrawn(), 500 * D, "drawn");
        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.ClearingHouseInsufficientLiquidity.selector, 9500 * D, 10_000 * D)
        );
        vm.prank(LENDER);
        house.poolWithdraw(10_000 * D, LENDER);
        vm.prank(LENDER);
        house.poolWithdraw(9500 * D, LENDER);
        assertEq(house.poolTotal(), 500 * D, "only the drawn part stays");
        _assertSolvent();
    }

    function test_poolWithdraw_revertsOnZeroAmount() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseZeroAmount.selector));
        vm.prank(LENDER);
        house.poolWithdraw(0, LENDER);
    }

    function test_poolWithdraw_revertsOnZeroRecipient() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseZeroAddress.selector));
        vm.prank(LENDER);
        house.poolWithdraw(1, address(0));
    }

    function test_poolWithdraw_revertsWhenPaused() public {
        vm.prank(ADMIN);
        house.pause();
        vm.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
        vm.prank(LENDER);
        house.poolWithdraw(1, LENDER);
    }

    // ───────────── views ─────────────

    function test_views_reflectState() public {
        assertEq(house.poolTotal(), 10_000 * D, "pool");
        assertEq(house.lenderBalance(LENDER), 10_000 * D, "lender");
        assertEq(house.creditDrawn(), 0, "drawn");
        assertEq(house.totalEscrowed(), 0, "escrowed");
        assertEq(house.totalBalances(), int256(6000 * D), "balances");
        _commitSimple(1);
        assertEq(house.totalEscrowed(), 300 * D, "escrowed after commit");
        assertEq(house.totalBalances(), int256(5700 * D), "balances after commit");
        _assertSolvent();
    }
}
