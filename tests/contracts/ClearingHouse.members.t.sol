// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {ClearingHouse} from "../../contracts/ClearingHouse.sol";
import {IClearingHouse} from "../../contracts/interfaces/IClearingHouse.sol";
import {ClearingHouseBase} from "./utils/ClearingHouseBase.sol";

/// @notice Constructor, roles, member admission and the member views.
contract ClearingHouseMembersTest is ClearingHouseBase {
    // ───────────── constructor and roles ─────────────

    function test_constructor_setsTokenAdminAndDefaults() public view {
        assertEq(address(house.token()), address(token), "token");
        assertTrue(house.hasRole(house.DEFAULT_ADMIN_ROLE(), ADMIN), "admin role");
        assertEq(uint256(house.claimDelay()), 3 days, "claim delay");
        assertEq(uint256(house.maxHoldPeriod()), 30 days, "max hold");
        assertEq(OPERATOR_ROLE, keccak256("OPERATOR_ROLE"), "operator role id");
        assertEq(RISK_ROLE, keccak256("RISK_ROLE"), "risk role id");
    }

    function test_constructor_emitsDefaults() public {
        vm.expectEmit();
        emit IClearingHouse.ClaimDelaySet(3 days);
        vm.expectEmit();
        emit IClearingHouse.MaxHoldPeriodSet(30 days);
        vm.expectEmit();
        emit IClearingHouse.InterestRateModelSet(0, 0);
        ClearingHouse h = new ClearingHouse(token, ADMIN);
        (uint16 base, uint16 slope) = h.interestRateModel();
        assertEq(uint256(base), 0, "no base rate");
        assertEq(uint256(slope), 0, "no slope");
        assertEq(h.borrowIndex(), 1e18, "index starts at 1e18");
        assertEq(h.totalShares(), 0, "no shares");
    }

    function test_constructor_revertsOnZeroToken() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseZeroAddress.selector));
        new ClearingHouse(IERC20(address(0)), ADMIN);
    }

    function test_constructor_revertsOnZeroAdmin() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseZeroAddress.selector));
        new ClearingHouse(token, address(0));
    }

    function test_roles_adminGrantsOthersButNoOneElseCan() public {
        vm.expectRevert(_unauthorized(OPERATOR, house.DEFAULT_ADMIN_ROLE()));
        vm.prank(OPERATOR);
        house.grantRole(OPERATOR_ROLE, STRANGER);
        assertFalse(house.hasRole(OPERATOR_ROLE, STRANGER), "stranger not operator");
        assertTrue(house.hasRole(OPERATOR_ROLE, OPERATOR), "operator granted");
    }

    // ───────────── admitMember ─────────────

    function test_admitMember_recordsAndEmits() public {
        vm.expectEmit(address(house));
        emit IClearingHouse.MemberAdmitted(EVE, 42 * D);
        vm.prank(RISK);
        house.admitMember(EVE, 42 * D);
        IClearingHouse.Member memory m = house.memberOf(EVE);
        assertTrue(m.admitted, "admitted");
        assertFalse(m.suspended, "not suspended");
        assertEq(m.creditLimit, 42 * D, "limit");
        assertEq(m.balance, int256(0), "balance");
        assertFalse(m.defaulted, "not in default");
        assertEq(m.owedToPool, 0, "owes the pool nothing");
    }

    function test_admitMember_revertsForNonRisk() public {
        vm.expectRevert(_unauthorized(OPERATOR, RISK_ROLE));
        vm.prank(OPERATOR);
        house.admitMember(EVE, 0);
    }

    function test_admitMember_revertsOnZeroAddress() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseZeroAddress.selector));
        vm.prank(RISK);
        house.admitMember(address(0), 0);
    }

    function test_admitMember_revertsWhenAlreadyMember() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseAlreadyMember.selector, ALICE));
        vm.prank(RISK);
        house.admitMember(ALICE, 0);
    }

    function test_admitMember_revertsWhenLimitAboveUint128() public {
        uint256 tooBig = uint256(type(uint128).max) + 1;
        vm.expectRevert(
            abi.encodeWithSelector(
                IClearingHouse.ClearingHouseLimitTooLarge.selector, tooBig, uint256(type(uint128).max)
            )
        );
        vm.prank(RISK);
        house.admitMember(EVE, tooBig);
        vm.expectRevert(
            abi.encodeWithSelector(
                IClearingHouse.ClearingHouseLimitTooLarge.selector, type(uint256).max, uint256(type(uint128).max)
            )
        );
        vm.prank(RISK);
        house.admitMember(EVE, type(uint256).max);
    }

    function test_admitMember_acceptsLargestLimit() public {
        vm.prank(RISK);
        house.admitMember(EVE, type(uint128).max);
        assertEq(house.memberOf(EVE).creditLimit, type(uint128).max, "2^128 - 1 is stored exactly");
        assertEq(house.availableOf(EVE), 10_000 * D, "the pool caps what it can draw");
    }

    // ───────────── suspendMember / resumeMember ─────────────

    function test_suspendMember_marksAndEmits() public {
        vm.expectEmit(address(house));
        emit IClearingHouse.MemberSuspended(BOB);
        vm.prank(RISK);
        house.suspendMember(BOB);
        assertTrue(house.memberOf(BOB).suspended, "suspended");
    }

    function test_suspendMember_revertsForNonRisk() public {
        vm.expectRevert(_unauthorized(STRANGER, RISK_ROLE));
        vm.prank(STRANGER);
        house.suspendMember(BOB);
    }

    function test_suspendMember_revertsForNonMember() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseNotMember.selector, EVE));
        vm.prank(RISK);
        house.suspendMember(EVE);
    }

    function test_suspendMember_revertsWhenAlreadySuspended() public {
        vm.startPrank(RISK);
        house.suspendMember(BOB);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseMemberSuspended.selector, BOB));
        house.suspendMember(BOB);
        vm.stopPrank();
    }

    function test_resumeMember_clearsAndEmits() public {
        vm.startPrank(RISK);
        house.suspendMember(BOB);
        vm.expectEmit(address(house));
        emit IClearingHouse.MemberResumed(BOB);
        house.resumeMember(BOB);
        vm.stopPrank();
        assertFalse(house.memberOf(BOB).suspended, "resumed");
    }

    function test_resumeMember_revertsForNonRisk() public {
        vm.expectRevert(_unauthorized(OPERATOR, RISK_ROLE));
        vm.prank(OPERATOR);
        house.resumeMember(BOB);
    }

    function test_resumeMember_revertsForNonMember() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseNotMember.selector, EVE));
        vm.prank(RISK);
        house.resumeMember(EVE);
    }

    function test_resumeMember_revertsWhenNotSuspended() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseMemberNotSuspended.selector, BOB));
        vm.prank(RISK);
        house.resumeMember(BOB);
    }

    // ───────────── setCreditLimit ─────────────

    function test_setCreditLimit_updatesAndEmits() public {
        vm.expectEmit(address(house));
        emit IClearingHouse.CreditLimitSet(BOB, 0, 250 * D);
        vm.prank(RISK);
        house.setCreditLimit(BOB, 250 * D);
        assertEq(house.memberOf(BOB).creditLimit, 250 * D, "limit");
    }

    function test_setCreditLimit_revertsForNonRisk() public {
        vm.expectRevert(_unauthorized(ADMIN, RISK_ROLE));
        vm.prank(ADMIN);
        house.setCreditLimit(BOB, 1);
    }

    function test_setCreditLimit_revertsForNonMember() public {
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseNotMember.selector, EVE));
        vm.prank(RISK);
        house.setCreditLimit(EVE, 1);
    }

    function test_setCreditLimit_revertsBelowDebt() public {
        // Carol (no collateral, limit 500) pays 400: debt 400.
        _commit(1, _addrs(BOB, CAROL), _ints(400 * int256(D), -400 * int256(D)));
        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.ClearingHouseLimitBelowDebt.selector, CAROL, 400 * D, 400 * D - 1)
        );
        vm.prank(RISK);
        house.setCreditLimit(CAROL, 400 * D - 1);
        // Exactly the debt is fine.
        vm.prank(RISK);
        house.setCreditLimit(CAROL, 400 * D);
        assertEq(house.memberOf(CAROL).creditLimit, 400 * D, "limit == debt");
    }

    function test_setCreditLimit_revertsWhenLimitAboveUint128() public {
        uint256 tooBig = uint256(type(uint128).max) + 1;
        vm.expectRevert(
            abi.encodeWithSelector(
                IClearingHouse.ClearingHouseLimitTooLarge.selector, tooBig, uint256(type(uint128).max)
            )
        );
        vm.prank(RISK);
        house.setCreditLimit(BOB, tooBig);
        assertEq(house.memberOf(BOB).creditLimit, 0, "unchanged");
        vm.prank(RISK);
        house.setCreditLimit(BOB, type(uint128).max);
        assertEq(house.memberOf(BOB).creditLimit, type(uint128).max, "the largest limit is fine");
    }

    // ───────────── views ─────────────

    function test_memberOf_unknownIsEmpty() public view {
        IClearingHouse.Member memory m = house.memberOf(EVE);
        assertFalse(m.admitted, "admitted");
        assertEq(m.creditLimit, 0, "limit");
        assertEq(m.balance, int256(0), "balance");
    }

    function test_balanceOf_readsSignedBalance() public {
        assertEq(house.balanceOf(ALICE), int256(5000 * D), "alice");
        _commit(1, _addrs(BOB, CAROL), _ints(300 * int256(D), -300 * int256(D)));
        assertEq(house.balanceOf(CAROL), -300 * int256(D), "carol in debt");
    }

    function test_availableOf_isBalancePlusUnusedLine() public view {
        assertEq(house.availableOf(ALICE), 6000 * D, "5000 collateral + 1000 line");
        assertEq(house.availableOf(BOB), 1000 * D, "collateral only");
        assertEq(house.availableOf(CAROL), 500 * D, "line only");
        assertEq(house.availableOf(DAVE), 0, "nothing");
    }

    function test_availableOf_subtractsDebt() public {
        _commit(1, _addrs(BOB, CAROL), _ints(300 * int256(D), -300 * int256(D)));
        assertEq(house.availableOf(CAROL), 200 * D, "500 line - 300 debt");
    }

    function test_availableOf_cappedByUndrawnPool() public {
        vm.prank(RISK);
        house.setCreditLimit(DAVE, 50_000 * D);
        assertEq(house.availableOf(DAVE), 10_000 * D, "pool caps the line");
    }

    function test_availableOf_zeroWhenSuspendedOrUnknown() public {
        vm.prank(RISK);
        house.suspendMember(ALICE);
        assertEq(house.availableOf(ALICE), 0, "suspended");
        assertEq(house.availableOf(EVE), 0, "unknown");
    }
}
