// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AssetVault} from "../../contracts/AssetVault.sol";
import {IClearingHouse} from "../../contracts/interfaces/IClearingHouse.sol";
import {TestCollectible} from "../../contracts/test/TestCollectible.sol";
import {ClearingHouseBase} from "./utils/ClearingHouseBase.sol";

/// @dev Receivable advances (I10) and pledged assets counted by the house
/// (headroom, waterfall step 2). Cycle 1 is `_commitSimple`: Alice pays 300,
/// Bob is owed 200 and Carol 100.
contract ClearingHouseFinancingTest is ClearingHouseBase {
    int256 internal constant ID = int256(D);
    address internal constant LIQUIDATOR = address(0x5001);
    uint64 internal constant MAX_AGE = 7 days;

    AssetVault internal vault;
    TestCollectible internal nft;

    function setUp() public override {
        super.setUp();
        vault = new AssetVault(house, ADMIN);
        nft = new TestCollectible();
        vm.startPrank(ADMIN);
        vault.grantRole(vault.RISK_ROLE(), RISK);
        vault.grantRole(vault.SEIZER_ROLE(), address(house));
        vm.stopPrank();
        vm.prank(RISK);
        vault.setCollection(address(nft), 400 * D, 5000, MAX_AGE); // counts 200 per token
        nft.mint(CAROL, 7);
        vm.prank(CAROL);
        nft.setApprovalForAll(address(vault), true);
        token.mint(LIQUIDATOR, 100_000 * D);
        vm.prank(LIQUIDATOR);
        token.approve(address(house), type(uint256).max);
    }

    function _advance(uint64 cycleId, address creditor, uint256 principal, uint256 fee) internal {
        vm.prank(OPERATOR);
        house.advanceReceivable(cycleId, creditor, principal, fee);
    }

    function _linkVault() internal {
        vm.prank(ADMIN);
        house.setAssetVault(address(vault), LIQUIDATOR);
    }

    function _owed(uint64 cycleId, address creditor) internal view returns (uint256) {
        (uint256 principal, uint256 fee) = house.advanceOf(cycleId, creditor);
        return principal + fee;
    }

    // ───────────── advances ─────────────

    function test_advance_paysThePrincipalFromTheUndrawnPool() public {
        _commitSimple(1);
        vm.expectEmit(address(house));
        emit IClearingHouse.ReceivableAdvanced(1, BOB, 150 * D, 10 * D, 1150 * ID, 150 * D);
        _advance(1, BOB, 150 * D, 10 * D);

        assertEq(house.balanceOf(BOB), 1150 * ID, "principal in the balance");
        assertEq(house.totalAdvanced(), 150 * D, "outstanding");
        assertEq(_owed(1, BOB), 160 * D, "principal + fee assigned");
        assertEq(house.poolTotal(), 10_000 * D, "equity unchanged until repaid");
        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.ClearingHouseInsufficientLiquidity.selector, 9850 * D, 9851 * D)
        );
        vm.prank(LENDER);
        house.poolWithdraw(9851 * D, LENDER);
        _assertSolvent();
    }

    function test_release_repaysTheAdvanceBeforeTheCreditor() public {
        _commitSimple(1);
        _advance(1, BOB, 150 * D, 10 * D);
        vm.expectEmit(address(house));
        emit IClearingHouse.AdvanceRepaid(1, BOB, 150 * D, 10 * D, 0, 10_010 * D);
        vm.expectEmit(address(house));
        emit IClearingHouse.CreditReleased(1, BOB, 40 * D, 1190 * ID);
        _release(1, BOB, 200 * D);

        assertEq(house.totalAdvanced(), 0, "repaid");
        assertEq(house.poolTotal(), 10_010 * D, "the fee is the lenders'");
        assertEq(_owed(1, BOB), 0, "nothing owed");
        _assertSolvent();
    }

    function test_partialReleases_payThePoolUntilRepaid() public {
        _commitSimple(1);
        _advance(1, BOB, 150 * D, 10 * D);
        _release(1, BOB, 100 * D);
        assertEq(house.balanceOf(BOB), 1150 * ID, "all of it to the pool");
        (uint256 principal, uint256 fee) = house.advanceOf(1, BOB);
        assertEq(principal, 50 * D, "principal left");
        assertEq(fee, 10 * D, "fee left");
        assertEq(house.totalAdvanced(), 50 * D, "outstanding");

        vm.expectEmit(address(house));
        emit IClearingHouse.AdvanceRepaid(1, BOB, 50 * D, 10 * D, 0, 10_010 * D);
        _release(1, BOB, 100 * D);
        assertEq(house.balanceOf(BOB), 1190 * ID, "the rest to Bob");
        _assertSolvent();
    }

    function test_proRataAndClaim_repayFirstToo() public {
        _commitSimple(1);
        _advance(1, BOB, 150 * D, 10 * D);
        vm.prank(OPERATOR);
        house.releaseCycleProRata(1, _addrs(BOB), 5000); // 100 of 200
        assertEq(_owed(1, BOB), 60 * D, "100 went to the pool");
        vm.warp(block.timestamp + house.claimDelay());
        house.claim(1, BOB);
        assertEq(house.balanceOf(BOB), 1190 * ID, "40 reached Bob");
        assertEq(house.totalAdvanced(), 0, "repaid");
        _assertSolvent();
    }

    function test_refund_chargesRecourseToTheCreditor() public {
        _commitSimple(1);
        _advance(1, BOB, 150 * D, 10 * D);
        vm.expectEmit(address(house));
        emit IClearingHouse.CreditCancelled(1, BOB, 200 * D);
        vm.expectEmit(address(house));
        emit IClearingHouse.AdvanceRecourse(1, BOB, 150 * D, 10 * D, 990 * ID, 10_010 * D);
        _refundSimple(1, _addrs(BOB), _uints(200 * D), _uints(200 * D, 0, 0));

        assertEq(house.balanceOf(BOB), 990 * ID, "principal and fee charged back");
        assertEq(house.totalAdvanced(), 0, "closed");
        _assertSolvent();
    }

    function test_partialRefund_chargesOnlyWhatTheCreditLeftCannotRepay() public {
        _commitSimple(1);
        _advance(1, BOB, 150 * D, 10 * D);
        _refundSimple(1, _addrs(BOB), _uints(100 * D), _uints(100 * D, 0, 0));
        assertEq(house.balanceOf(BOB), 1090 * ID, "60 charged: 100 left repays the rest");
        assertEq(_owed(1, BOB), 100 * D, "owed == pending");
        _release(1, BOB, 100 * D);
        assertEq(house.balanceOf(BOB), 1090 * ID, "the last 100 all to the pool");
        assertEq(house.poolTotal(), 10_010 * D, "principal back and the fee");
        _assertSolvent();
    }

    function test_recourse_mayTakeTheCreditorBelowItsLine() public {
        // Dave: no line, no collateral; owed 300 by Alice, advanced 250, withdraws it.
        _commit(1, _addrs(ALICE, DAVE), _ints(-300 * ID, 300 * ID));
        _advance(1, DAVE, 250 * D, 20 * D);
        vm.prank(DAVE);
        house.withdraw(250 * D, DAVE);
        vm.prank(OPERATOR);
        house.refundCycle(
            1, _addrs(ALICE, DAVE), _ints(-300 * ID, 300 * ID), _addrs(DAVE), _uints(300 * D), _uints(300 * D, 0)
        );
        assertEq(house.balanceOf(DAVE), -270 * ID, "owes the pool what it was advanced");
        assertEq(house.creditDrawn(), 270 * D, "as drawn credit");
        _assertSolvent();
    }

    function test_advance_reverts() public {
        _commitSimple(1);
        vm.expectRevert(_unauthorized(STRANGER, OPERATOR_ROLE));
        vm.prank(STRANGER);
        house.advanceReceivable(1, BOB, 1, 0);

        vm.startPrank(OPERATOR);
        vm.expectRevert(IClearingHouse.ClearingHouseZeroAmount.selector);
        house.advanceReceivable(1, BOB, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseUnknownCycle.selector, 9));
        house.advanceReceivable(9, BOB, 1, 0);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseNotMember.selector, EVE));
        house.advanceReceivable(1, EVE, 1, 0);
        vm.expectRevert(
            abi.encodeWithSelector(
                IClearingHouse.ClearingHouseAdvanceExceedsCredit.selector, 1, BOB, 200 * D, 200 * D + 1
            )
        );
        house.advanceReceivable(1, BOB, 190 * D, 10 * D + 1);
        house.advanceReceivable(1, BOB, 190 * D, 10 * D);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseAdvanceExists.selector, 1, BOB));
        house.advanceReceivable(1, BOB, 1, 0);
        house.holdCycle(1, uint64(block.timestamp + 1 days));
        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.ClearingHouseCycleHeld.selector, 1, uint64(block.timestamp + 1 days))
        );
        house.advanceReceivable(1, CAROL, 1, 0);
        vm.stopPrank();

        vm.prank(RISK);
        house.suspendMember(CAROL);
        vm.warp(block.timestamp + 1 days);
        vm.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingHouseMemberSuspended.selector, CAROL));
        vm.prank(OPERATOR);
        house.advanceReceivable(1, CAROL, 1, 0);
    }

    function test_advance_revertsBeyondTheUndrawnPool() public {
        _commit(1, _addrs(ALICE, DAVE), _ints(-6000 * ID, 6000 * ID)); // Alice draws 1000 of her line
        vm.prank(LENDER);
        house.poolWithdraw(8500 * D, LENDER); // undrawn 10000 − 1000 − 8500 = 500
        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.ClearingHouseInsufficientLiquidity.selector, 500 * D, 501 * D)
        );
        _advance(1, DAVE, 501 * D, 0);
        _advance(1, DAVE, 500 * D, 0);
        _assertSolvent();
    }

    function test_advancesCountAgainstThePoolAtCommit() public {
        _commit(1, _addrs(ALICE, DAVE), _ints(-5000 * ID, 5000 * ID));
        _advance(1, DAVE, 4990 * D, 0);
        vm.prank(LENDER);
        house.poolWithdraw(5000 * D, LENDER); // undrawn 10
        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.ClearingHouseInsufficientPool.selector, 5001 * D, 5000 * D)
        );
        _settle(2, _addrs(ALICE, BOB), _ints(-11 * ID, 11 * ID));
        assertEq(house.availableOf(ALICE), 10 * D, "headroom capped by the undrawn pool");
    }

    function testFuzz_advance_conservesEveryUnit(uint256 principal, uint256 fee, uint16 bps, bool refund) public {
        _commitSimple(1);
        principal = bound(principal, 1, 200 * D);
        fee = bound(fee, 0, 200 * D - principal);
        bps = uint16(bound(bps, 1, 10_000));
        _advance(1, BOB, principal, fee);
        int256 bobBefore = house.balanceOf(BOB);
        vm.prank(OPERATOR);
        house.releaseCycleProRata(1, _addrs(BOB), bps);
        _assertSolvent();
        uint256 pending = house.pendingCredit(1, BOB);
        if (refund) {
            _refundSimple(1, _addrs(BOB), _uints(pending), _uints(pending, 0, 0));
        } else if (pending != 0) {
            _release(1, BOB, pending);
        }
        _assertSolvent();
        assertEq(house.totalAdvanced(), 0, "every advance closed");
        assertEq(house.poolTotal(), 10_000 * D + fee, "the pool earns exactly the fee");
        // Bob ends with his 200 less the fee, however the credit left the escrow.
        uint256 released = 200 * D - (refund ? pending : 0);
        assertEq(house.balanceOf(BOB), 1000 * ID + int256(released) - int256(fee), "creditor's net");
        assertGe(bobBefore, 1000 * ID, "the advance reached Bob first");
    }

    // ───────────── pledges in headroom ─────────────

    function test_setAssetVault_emitsAndGuards() public {
        vm.expectRevert(_unauthorized(STRANGER, bytes32(0)));
        vm.prank(STRANGER);
        house.setAssetVault(address(vault), LIQUIDATOR);
        vm.expectRevert(IClearingHouse.ClearingHouseZeroAddress.selector);
        vm.prank(ADMIN);
        house.setAssetVault(address(vault), address(0));
        vm.expectEmit(address(house));
        emit IClearingHouse.AssetVaultSet(address(vault), LIQUIDATOR);
        _linkVault();
        (address v, address l) = house.assetVault();
        assertEq(v, address(vault), "vault");
        assertEq(l, LIQUIDATOR, "liquidator");
    }

    function test_headroom_countsPledgesOnlyWithTheVault() public {
        vm.prank(CAROL);
        vault.pledge721(address(nft), 7);
        assertEq(house.availableOf(CAROL), 500 * D, "not linked: the line only");
        _linkVault();
        assertEq(house.availableOf(CAROL), 700 * D, "line + 400 x 50%");

        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.ClearingHouseInsufficientHeadroom.selector, CAROL, 700 * D, 701 * D)
        );
        _settle(1, _addrs(BOB, CAROL), _ints(701 * ID, -701 * ID));
        _settle(1, _addrs(BOB, CAROL), _ints(700 * ID, -700 * ID));
        assertEq(house.balanceOf(CAROL), -700 * ID, "beyond the line, within line + pledge");
        _assertSolvent();
    }

    function test_headroom_staleValuationCountsNothing() public {
        _linkVault();
        vm.prank(CAROL);
        vault.pledge721(address(nft), 7);
        vm.warp(block.timestamp + MAX_AGE + 1);
        assertEq(house.availableOf(CAROL), 500 * D, "stale: the line only");
        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.ClearingHouseInsufficientHeadroom.selector, CAROL, 500 * D, 501 * D)
        );
        _settle(1, _addrs(BOB, CAROL), _ints(501 * ID, -501 * ID));
    }

    // ───────────── the waterfall with all four steps ─────────────

    /// @dev Carol: 200 collateral, an NFT valued 400 (counts 200), a receivable of
    /// 300 in cycle 2 advanced 250 + fee 20, then a debit of 1100 in cycle 3.
    function test_waterfall_collateralPledgeFinancedReceivableThenLenders() public {
        _linkVault();
        vm.startPrank(CAROL);
        house.deposit(200 * D);
        vault.pledge721(address(nft), 7);
        vm.stopPrank();
        _commit(2, _addrs(BOB, CAROL), _ints(-300 * ID, 300 * ID));
        _advance(2, CAROL, 250 * D, 20 * D);
        assertEq(house.availableOf(CAROL), 1150 * D, "450 + line 500 + pledge 200");
        _settle(3, _addrs(ALICE, CAROL), _ints(1100 * ID, -1100 * ID));
        assertEq(house.balanceOf(CAROL), -650 * ID, "collateral and advance spent first");

        vm.prank(RISK);
        house.declareDefault(CAROL, "test");
        uint64[] memory cycles = new uint64[](1);
        cycles[0] = 2;

        vm.expectEmit(address(house));
        emit IClearingHouse.DefaultLossAllocated(CAROL, IClearingHouse.WaterfallStep.COLLATERAL, 0, 650 * D);
        vm.expectEmit(address(house));
        emit IClearingHouse.PledgesSold(CAROL, LIQUIDATOR, 400 * D, -250 * ID);
        vm.expectEmit(address(house));
        emit IClearingHouse.DefaultLossAllocated(CAROL, IClearingHouse.WaterfallStep.PLEDGED_ASSETS, 400 * D, 250 * D);
        vm.expectEmit(address(house));
        emit IClearingHouse.AdvanceRepaid(2, CAROL, 250 * D, 20 * D, 0, 10_020 * D);
        vm.expectEmit(address(house));
        emit IClearingHouse.CreditReleased(2, CAROL, 30 * D, -220 * ID);
        vm.expectEmit(address(house));
        emit IClearingHouse.DefaultLossAllocated(CAROL, IClearingHouse.WaterfallStep.RECEIVABLES, 30 * D, 220 * D);
        vm.expectEmit(address(house));
        emit IClearingHouse.PoolWrittenDown(CAROL, 220 * D, 9800 * D);
        vm.expectEmit(address(house));
        emit IClearingHouse.DefaultLossAllocated(CAROL, IClearingHouse.WaterfallStep.POOL_LENDERS, 220 * D, 0);
        vm.prank(RISK);
        uint256 writtenDown = house.allocateDefaultLoss(CAROL, cycles);

        assertEq(writtenDown, 220 * D, "lenders bear the rest");
        assertEq(nft.ownerOf(7), LIQUIDATOR, "the pledge went to the liquidator");
        assertEq(vault.collateralValueOf(CAROL), 0, "nothing pledged any more");
        assertEq(house.totalAdvanced(), 0, "the advance was repaid before the loss counted");
        assertEq(house.balanceOf(CAROL), 0, "written off");
        _assertSolvent();
    }

    function test_waterfall_pledgesWorthMoreThanTheLossLeaveTheSurplusToTheMember() public {
        _linkVault();
        vm.prank(CAROL);
        vault.pledge721(address(nft), 7);
        _settle(1, _addrs(BOB, CAROL), _ints(100 * ID, -100 * ID));
        vm.prank(RISK);
        house.declareDefault(CAROL, "test");
        vm.prank(RISK);
        assertEq(house.allocateDefaultLoss(CAROL, new uint64[](0)), 0, "lenders bear nothing");
        assertEq(house.balanceOf(CAROL), 300 * ID, "400 paid, 100 owed");
        assertEq(token.balanceOf(LIQUIDATOR), 100_000 * D - 400 * D, "the liquidator paid the valuation");
        _assertSolvent();
    }

    function test_waterfall_withoutDebtSellsNothing() public {
        _linkVault();
        vm.prank(CAROL);
        vault.pledge721(address(nft), 7);
        vm.prank(RISK);
        house.declareDefault(CAROL, "test");
        vm.prank(RISK);
        house.allocateDefaultLoss(CAROL, new uint64[](0));
        assertEq(nft.ownerOf(7), address(vault), "still pledged");
    }

    function test_waterfall_revertsWholeWhenTheLiquidatorCannotPay() public {
        _linkVault();
        vm.prank(CAROL);
        vault.pledge721(address(nft), 7);
        _settle(1, _addrs(BOB, CAROL), _ints(600 * ID, -600 * ID));
        vm.prank(LIQUIDATOR);
        token.approve(address(house), 0);
        vm.prank(RISK);
        house.declareDefault(CAROL, "test");
        vm.expectRevert();
        vm.prank(RISK);
        house.allocateDefaultLoss(CAROL, new uint64[](0));
        assertEq(nft.ownerOf(7), address(vault), "nothing moved");
        assertEq(house.balanceOf(CAROL), -600 * ID, "nothing credited");
    }
}
