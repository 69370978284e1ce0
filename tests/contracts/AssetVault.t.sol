// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC721Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IERC1155Receiver} from "@openzeppelin/contracts/token/ERC1155/IERC1155Receiver.sol";
import {IERC721Receiver} from "@openzeppelin/contracts/token/ERC721/IERC721Receiver.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

import {AssetVault} from "../../contracts/AssetVault.sol";
import {IAssetVault} from "../../contracts/interfaces/IAssetVault.sol";
import {IClearingHouse} from "../../contracts/interfaces/IClearingHouse.sol";
import {TestCollectible} from "../../contracts/test/TestCollectible.sol";
import {TestGameItems} from "../../contracts/test/TestGameItems.sol";
import {ClearingHouseBase} from "./utils/ClearingHouseBase.sol";
import {ReentrantCollectible} from "./utils/ReentrantCollectible.sol";

/// @notice AssetVault: listing and valuation, pledges of ERC-721 and ERC-1155,
/// collateral value (LTV rounded down, stale collections 0), the unpledge rule
/// (owes nothing, never in default), seizure of a defaulter's pledges, and the
/// refusal of tokens sent outside a pledge.
contract AssetVaultTest is ClearingHouseBase {
    address internal constant SEIZER = address(0x3004);
    address internal constant POOL = address(0x5001);
    uint64 internal constant MAX_AGE = 1 days;

    AssetVault internal vault;
    TestCollectible internal nft;
    TestGameItems internal items;
    bytes32 internal VAULT_RISK;
    bytes32 internal SEIZER_ROLE;

    function setUp() public override {
        super.setUp();
        vault = new AssetVault(house, ADMIN);
        nft = new TestCollectible();
        items = new TestGameItems();
        VAULT_RISK = vault.RISK_ROLE();
        SEIZER_ROLE = vault.SEIZER_ROLE();
        vm.startPrank(ADMIN);
        vault.grantRole(VAULT_RISK, RISK);
        vault.grantRole(SEIZER_ROLE, SEIZER);
        vm.stopPrank();
        vm.startPrank(RISK);
        vault.setCollection(address(nft), 1000 * D, 5000, MAX_AGE);
        vault.setCollection(address(items), 10 * D, 8000, MAX_AGE);
        vm.stopPrank();
        address[3] memory owners = [ALICE, CAROL, EVE];
        for (uint256 i; i < owners.length; ++i) {
            nft.mint(owners[i], 100 + i);
            items.mint(owners[i], 1, 100);
            items.mint(owners[i], 2, 100);
            vm.startPrank(owners[i]);
            nft.setApprovalForAll(address(vault), true);
            items.setApprovalForAll(address(vault), true);
            vm.stopPrank();
        }
    }

    // ───────────── helpers ─────────────

    function _err(bytes4 selector, address a) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(selector, a);
    }

    /// @dev Carol pays 100 to Bob in a settled cycle: she owes the house 100.
    function _carolOwes() internal {
        _settle(1, _addrs(BOB, CAROL), _ints(100 * int256(D), -100 * int256(D)));
        assertEq(house.balanceOf(CAROL), -100 * int256(D), "carol owes");
    }

    function _default(address member) internal {
        vm.prank(RISK);
        house.declareDefault(member, "test");
    }

    // ───────────── constructor ─────────────

    function test_constructor_revertsOnZeroAddresses() public {
        vm.expectRevert(IAssetVault.AssetVaultZeroAddress.selector);
        new AssetVault(IClearingHouse(address(0)), ADMIN);
        vm.expectRevert(IAssetVault.AssetVaultZeroAddress.selector);
        new AssetVault(house, address(0));
    }

    function test_constructor_setsHouseAndAdmin() public view {
        assertEq(address(vault.house()), address(house), "house");
        assertTrue(vault.hasRole(vault.DEFAULT_ADMIN_ROLE(), ADMIN), "admin");
    }

    function test_supportsReceiverInterfaces() public view {
        assertTrue(vault.supportsInterface(type(IERC721Receiver).interfaceId), "721 receiver");
        assertTrue(vault.supportsInterface(type(IERC1155Receiver).interfaceId), "1155 receiver");
        assertTrue(vault.supportsInterface(type(IAccessControl).interfaceId), "access control");
        assertFalse(vault.supportsInterface(0xdeadbeef), "other");
    }

    // ───────────── setCollection / updateValue ─────────────

    function test_setCollection_storesAndEmits() public {
        address c = address(0xC011);
        vm.expectEmit(address(vault));
        emit IAssetVault.CollectionSet(c, 7, 10_000, 3600, uint64(block.timestamp));
        vm.prank(RISK);
        vault.setCollection(c, 7, 10_000, 3600);
        IAssetVault.Collection memory col = vault.collectionOf(c);
        assertEq(col.unitValue, 7, "value");
        assertEq(col.ltvBps, 10_000, "ltv");
        assertEq(col.maxAgeSeconds, 3600, "max age");
        assertEq(col.valuedAt, block.timestamp, "valued at");
        assertTrue(col.listed, "listed");
        assertFalse(vault.isStale(c), "fresh");
        assertTrue(vault.isStale(address(0xC012)), "unlisted is stale");
    }

    function test_setCollection_reverts() public {
        vm.expectRevert(_unauthorized(STRANGER, VAULT_RISK));
        vm.prank(STRANGER);
        vault.setCollection(address(nft), 1, 1, 1);

        vm.startPrank(RISK);
        vm.expectRevert(IAssetVault.AssetVaultZeroAddress.selector);
        vault.setCollection(address(0), 1, 1, 1);
        uint256 tooBig = uint256(type(uint96).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(IAssetVault.AssetVaultValueTooLarge.selector, tooBig));
        vault.setCollection(address(nft), tooBig, 1, 1);
        vm.expectRevert(abi.encodeWithSelector(IAssetVault.AssetVaultInvalidLtv.selector, uint16(10_001)));
        vault.setCollection(address(nft), 1, 10_001, 1);
        vm.expectRevert(abi.encodeWithSelector(IAssetVault.AssetVaultInvalidMaxAge.selector, uint64(0)));
        vault.setCollection(address(nft), 1, 1, 0);
        vm.stopPrank();
    }

    function test_updateValue_refreshesAndEmits() public {
        vm.warp(block.timestamp + MAX_AGE + 1);
        assertTrue(vault.isStale(address(nft)), "stale");
        vm.expectEmit(address(vault));
        emit IAssetVault.ValuationUpdated(address(nft), 900 * D, uint64(block.timestamp));
        vm.prank(RISK);
        vault.updateValue(address(nft), 900 * D);
        assertFalse(vault.isStale(address(nft)), "fresh again");
        assertEq(vault.collectionOf(address(nft)).unitValue, 900 * D, "value");
        assertEq(vault.collectionOf(address(nft)).ltvBps, 5000, "ltv kept");
    }

    function test_updateValue_reverts() public {
        vm.expectRevert(_unauthorized(STRANGER, VAULT_RISK));
        vm.prank(STRANGER);
        vault.updateValue(address(nft), 1);
        vm.startPrank(RISK);
        vm.expectRevert(_err(IAssetVault.AssetVaultCollectionNotListed.selector, address(0xC012)));
        vault.updateValue(address(0xC012), 1);
        uint256 tooBig = uint256(type(uint96).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(IAssetVault.AssetVaultValueTooLarge.selector, tooBig));
        vault.updateValue(address(nft), tooBig);
        vm.stopPrank();
    }

    // ───────────── pledge ─────────────

    function test_pledge721_pullsRecordsAndEmits() public {
        vm.expectEmit(address(vault));
        emit IAssetVault.Pledged(ALICE, address(nft), 100, 1, 1);
        vm.prank(ALICE);
        vault.pledge721(address(nft), 100);
        assertEq(nft.ownerOf(100), address(vault), "vault owns");
        assertEq(vault.unitsOf(ALICE, address(nft)), 1, "units");
        assertEq(vault.pledgedOf(ALICE, address(nft), 100), 1, "pledged");
        assertEq(vault.collectionsOf(ALICE).length, 1, "one collection");
        IAssetVault.Position[] memory p = vault.positionsOf(ALICE);
        assertEq(p.length, 1, "one position");
        assertTrue(p[0].standard == IAssetVault.Standard.ERC721, "721");
        assertEq(vault.collateralValueOf(ALICE), 500 * D, "1000 x 50%");
        assertEq(vault.seizableValueOf(ALICE), 1000 * D, "full value");
    }

    function test_pledge1155_pullsRecordsAndEmits() public {
        vm.expectEmit(address(vault));
        emit IAssetVault.Pledged(ALICE, address(items), 1, 30, 30);
        vm.prank(ALICE);
        vault.pledge1155(address(items), 1, 30);
        vm.expectEmit(address(vault));
        emit IAssetVault.Pledged(ALICE, address(items), 2, 5, 35);
        vm.prank(ALICE);
        vault.pledge1155(address(items), 2, 5);
        vm.prank(ALICE);
        vault.pledge1155(address(items), 1, 10);
        assertEq(items.balanceOf(address(vault), 1), 40, "vault holds id 1");
        assertEq(items.balanceOf(ALICE, 1), 60, "alice keeps the rest");
        assertEq(vault.unitsOf(ALICE, address(items)), 45, "units per collection");
        assertEq(vault.pledgedOf(ALICE, address(items), 1), 40, "id 1");
        assertEq(vault.positionsOf(ALICE).length, 2, "two positions");
        assertEq(vault.collateralValueOf(ALICE), 45 * 10 * D * 8000 / 10_000, "45 x 10 x 80%");
    }

    function test_pledge_revertsForUnlistedCollection() public {
        TestCollectible other = new TestCollectible();
        other.mint(ALICE, 1);
        vm.expectRevert(_err(IAssetVault.AssetVaultCollectionNotListed.selector, address(other)));
        vm.prank(ALICE);
        vault.pledge721(address(other), 1);
    }

    function test_pledge_revertsForNonMember() public {
        vm.expectRevert(_err(IAssetVault.AssetVaultNotMember.selector, EVE));
        vm.prank(EVE);
        vault.pledge721(address(nft), 102);
        vm.expectRevert(_err(IAssetVault.AssetVaultNotMember.selector, EVE));
        vm.prank(EVE);
        vault.pledge1155(address(items), 1, 1);
    }

    function test_pledge_revertsForDefaultedMember() public {
        _default(CAROL);
        vm.expectRevert(_err(IAssetVault.AssetVaultMemberDefaulted.selector, CAROL));
        vm.prank(CAROL);
        vault.pledge721(address(nft), 101);
    }

    function test_pledge1155_revertsOnZeroAmount() public {
        vm.expectRevert(IAssetVault.AssetVaultZeroAmount.selector);
        vm.prank(ALICE);
        vault.pledge1155(address(items), 1, 0);
    }

    function test_pledge1155_revertsAboveUint128Units() public {
        uint256 big = uint256(type(uint128).max);
        items.mint(ALICE, 9, big);
        vm.prank(ALICE);
        vault.pledge1155(address(items), 9, big - 1);
        vm.expectRevert(abi.encodeWithSelector(IAssetVault.AssetVaultAmountTooLarge.selector, uint256(2)));
        vm.prank(ALICE);
        vault.pledge1155(address(items), 1, 2);
        vm.prank(ALICE);
        vault.pledge1155(address(items), 1, 1);
        assertEq(vault.unitsOf(ALICE, address(items)), big, "units at the cap");
        // The value still fits: 2^128 × 10e6 × 8000 / 10000.
        assertEq(vault.collateralValueOf(ALICE), big * 10 * D * 8000 / 10_000, "no overflow");
    }

    function test_pledge_revertsBeyondMaxCollections() public {
        uint256 max = vault.MAX_COLLECTIONS();
        vm.startPrank(RISK);
        TestGameItems[] memory cols = new TestGameItems[](max + 1);
        for (uint256 i; i <= max; ++i) {
            cols[i] = new TestGameItems();
            vault.setCollection(address(cols[i]), 1, 1, 1);
        }
        vm.stopPrank();
        vm.startPrank(ALICE);
        for (uint256 i; i <= max; ++i) {
            cols[i].mint(ALICE, 1, 1);
            cols[i].setApprovalForAll(address(vault), true);
            if (i == max) {
                vm.expectRevert(abi.encodeWithSelector(IAssetVault.AssetVaultTooManyCollections.selector, ALICE, max));
            }
            vault.pledge1155(address(cols[i]), 1, 1);
        }
        vm.stopPrank();
        assertEq(vault.collectionsOf(ALICE).length, max, "capped");
    }

    function test_pledge_revertsBeyondMaxPositions() public {
        uint256 max = vault.MAX_POSITIONS();
        vm.startPrank(ALICE);
        for (uint256 id = 10; id <= 10 + max; ++id) {
            items.mint(ALICE, id, 1);
            if (id == 10 + max) {
                vm.expectRevert(abi.encodeWithSelector(IAssetVault.AssetVaultTooManyPositions.selector, ALICE, max));
            }
            vault.pledge1155(address(items), id, 1);
        }
        vm.stopPrank();
        assertEq(vault.positionsOf(ALICE).length, max, "capped");
    }

    function test_pledge_revertsWithoutApproval() public {
        vm.prank(ALICE);
        nft.setApprovalForAll(address(vault), false);
        vm.expectRevert(
            abi.encodeWithSelector(IERC721Errors.ERC721InsufficientApproval.selector, address(vault), uint256(100))
        );
        vm.prank(ALICE);
        vault.pledge721(address(nft), 100);
    }

    // ───────────── direct transfers ─────────────

    function test_directTransfers_areRefused() public {
        vm.expectRevert(
            abi.encodeWithSelector(IAssetVault.AssetVaultUnexpectedToken.selector, address(nft), ALICE, uint256(100))
        );
        vm.prank(ALICE);
        nft.safeTransferFrom(ALICE, address(vault), 100);

        vm.expectRevert(
            abi.encodeWithSelector(IAssetVault.AssetVaultUnexpectedToken.selector, address(items), ALICE, uint256(1))
        );
        vm.prank(ALICE);
        items.safeTransferFrom(ALICE, address(vault), 1, 1, "");

        vm.expectRevert(
            abi.encodeWithSelector(IAssetVault.AssetVaultUnexpectedToken.selector, address(items), ALICE, uint256(1))
        );
        vm.prank(ALICE);
        items.safeBatchTransferFrom(ALICE, address(vault), _uints(1), _uints(1), "");

        vm.expectRevert(
            abi.encodeWithSelector(IAssetVault.AssetVaultUnexpectedToken.selector, address(nft), address(this), 1)
        );
        nft.mint(address(vault), 1);
    }

    /// A hook called by a collection other than the one being pulled is refused too.
    function test_hook_refusesOtherCaller() public {
        vm.expectRevert(
            abi.encodeWithSelector(IAssetVault.AssetVaultUnexpectedToken.selector, STRANGER, address(vault), 100)
        );
        vm.prank(STRANGER);
        vault.onERC721Received(address(vault), ALICE, 100, "");
    }

    // ───────────── collateral value ─────────────

    function test_collateralValue_roundsDownPerCollection() public {
        vm.startPrank(RISK);
        vault.setCollection(address(nft), 3, 3333, MAX_AGE);
        vault.setCollection(address(items), 3, 3333, MAX_AGE);
        vm.stopPrank();
        vm.prank(ALICE);
        vault.pledge721(address(nft), 100); // 3 × 0.3333 = 0.9999 → 0
        assertEq(vault.collateralValueOf(ALICE), 0, "rounded down to 0");
        vm.prank(ALICE);
        vault.pledge1155(address(items), 1, 7); // 21 × 0.3333 = 6.9993 → 6
        assertEq(vault.collateralValueOf(ALICE), 6, "per collection floor");
        assertEq(vault.seizableValueOf(ALICE), 3 + 21, "no LTV");
    }

    function testFuzz_collateralValue_isLtvOfValueRoundedDown(uint96 unitValue, uint16 ltv, uint128 amount) public {
        ltv = uint16(bound(ltv, 0, 10_000));
        amount = uint128(bound(amount, 1, type(uint128).max));
        vm.prank(RISK);
        vault.setCollection(address(items), unitValue, ltv, MAX_AGE);
        items.mint(ALICE, 7, amount);
        vm.prank(ALICE);
        vault.pledge1155(address(items), 7, amount);
        uint256 full = uint256(amount) * unitValue;
        uint256 value = vault.collateralValueOf(ALICE);
        assertEq(value, full * ltv / 10_000, "floor");
        assertLe(value * 10_000, full * ltv, "never above");
        assertEq(vault.seizableValueOf(ALICE), full, "seizable");
    }

    function test_collateralValue_staleCountsZero() public {
        vm.startPrank(ALICE);
        vault.pledge721(address(nft), 100);
        vault.pledge1155(address(items), 1, 10);
        vm.stopPrank();
        uint256 t = block.timestamp;
        vm.warp(t + MAX_AGE);
        assertEq(vault.collateralValueOf(ALICE), 500 * D + 80 * D, "fresh at the bound");
        vm.warp(t + MAX_AGE + 1);
        assertEq(vault.collateralValueOf(ALICE), 0, "both stale");
        assertEq(vault.seizableValueOf(ALICE), 0, "nothing to credit");
        vm.prank(RISK);
        vault.updateValue(address(items), 20 * D);
        assertEq(vault.collateralValueOf(ALICE), 160 * D, "only the refreshed one");
    }

    // ───────────── unpledge ─────────────

    function test_unpledge721_returnsTokenAndDropsCollection() public {
        vm.prank(ALICE);
        vault.pledge721(address(nft), 100);
        vm.expectEmit(address(vault));
        emit IAssetVault.Unpledged(ALICE, address(nft), 100, 1, 0);
        vm.prank(ALICE);
        vault.unpledge721(address(nft), 100);
        assertEq(nft.ownerOf(100), ALICE, "back to alice");
        assertEq(vault.unitsOf(ALICE, address(nft)), 0, "units");
        assertEq(vault.collectionsOf(ALICE).length, 0, "no collection");
        assertEq(vault.positionsOf(ALICE).length, 0, "no position");
        assertEq(vault.collateralValueOf(ALICE), 0, "no value");
    }

    function test_unpledge1155_partialThenFull() public {
        vm.startPrank(ALICE);
        vault.pledge1155(address(items), 1, 30);
        vault.pledge1155(address(items), 2, 20);
        vault.pledge721(address(nft), 100);
        vm.expectEmit(address(vault));
        emit IAssetVault.Unpledged(ALICE, address(items), 1, 10, 40);
        vault.unpledge1155(address(items), 1, 10);
        assertEq(vault.pledgedOf(ALICE, address(items), 1), 20, "partial");
        vault.unpledge1155(address(items), 1, 20); // swap-and-pop of the first position
        assertEq(vault.pledgedOf(ALICE, address(items), 1), 0, "gone");
        assertEq(vault.pledgedOf(ALICE, address(items), 2), 20, "moved position intact");
        assertEq(vault.pledgedOf(ALICE, address(nft), 100), 1, "nft intact");
        assertEq(vault.positionsOf(ALICE).length, 2, "two left");
        vault.unpledge1155(address(items), 2, 20);
        vm.stopPrank();
        assertEq(items.balanceOf(ALICE, 1), 100, "all of id 1 back");
        assertEq(items.balanceOf(ALICE, 2), 100, "all of id 2 back");
        address[] memory cols = vault.collectionsOf(ALICE);
        assertEq(cols.length, 1, "only the nft collection");
        assertEq(cols[0], address(nft), "nft");
    }

    function test_unpledge_revertsOnInsufficientPledge() public {
        vm.prank(ALICE);
        vault.pledge1155(address(items), 1, 5);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAssetVault.AssetVaultInsufficientPledge.selector, ALICE, address(items), uint256(1), uint256(5), 6
            )
        );
        vm.prank(ALICE);
        vault.unpledge1155(address(items), 1, 6);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAssetVault.AssetVaultInsufficientPledge.selector, CAROL, address(nft), uint256(100), uint256(0), 1
            )
        );
        vm.prank(CAROL);
        vault.unpledge721(address(nft), 100);
        vm.expectRevert(IAssetVault.AssetVaultZeroAmount.selector);
        vm.prank(ALICE);
        vault.unpledge1155(address(items), 1, 0);
    }

    function test_unpledge_revertsOnWrongStandard() public {
        vm.prank(ALICE);
        vault.pledge721(address(nft), 100);
        vm.expectRevert(abi.encodeWithSelector(IAssetVault.AssetVaultWrongStandard.selector, address(nft), 100));
        vm.prank(ALICE);
        vault.unpledge1155(address(nft), 100, 1);
    }

    function test_unpledge_allowedWhileOwingWithinTheLine() public {
        vm.prank(CAROL);
        vault.pledge721(address(nft), 101);
        _carolOwes(); // owes 100, line 500: solvent without the NFT
        vm.prank(CAROL);
        vault.unpledge721(address(nft), 101);
        assertEq(nft.ownerOf(101), CAROL, "back: the line alone covers her debt");
    }

    function test_unpledge_revertsWhenTheDebtNeedsIt_thenAllowedOnceRepaid() public {
        vm.prank(ADMIN);
        house.setAssetVault(address(vault), SEIZER);
        vm.prank(CAROL);
        vault.pledge721(address(nft), 101); // 1000 × 50% = 500 on top of her 500 line
        _settle(1, _addrs(BOB, CAROL), _ints(800 * int256(D), -800 * int256(D)));
        assertEq(house.balanceOf(CAROL), -800 * int256(D), "beyond the line, within line + pledge");
        vm.expectRevert(
            abi.encodeWithSelector(IAssetVault.AssetVaultUndercollateralised.selector, CAROL, 800 * D, 500 * D)
        );
        vm.prank(CAROL);
        vault.unpledge721(address(nft), 101);
        assertEq(nft.ownerOf(101), address(vault), "still pledged");

        vm.startPrank(CAROL);
        house.deposit(300 * D); // owes 500 == her line: solvent without it
        vault.unpledge721(address(nft), 101);
        vm.stopPrank();
        assertEq(nft.ownerOf(101), CAROL, "back once the line covers the debt");
    }

    function test_unpledge_revertsForDefaultedMember() public {
        vm.prank(ALICE);
        vault.pledge1155(address(items), 1, 5);
        _default(ALICE); // positive balance, but in default
        vm.expectRevert(_err(IAssetVault.AssetVaultMemberDefaulted.selector, ALICE));
        vm.prank(ALICE);
        vault.unpledge1155(address(items), 1, 5);
    }

    // ───────────── seize ─────────────

    function test_seize_movesEverythingAndReturnsValue() public {
        vm.startPrank(CAROL);
        vault.pledge721(address(nft), 101);
        vault.pledge1155(address(items), 1, 30);
        vault.pledge1155(address(items), 2, 20);
        vm.stopPrank();
        _carolOwes();
        _default(CAROL);
        assertEq(vault.seizableValueOf(CAROL), 1000 * D + 500 * D, "preview");

        vm.expectEmit(address(vault));
        emit IAssetVault.CollectionSeized(CAROL, address(nft), POOL, 1, 1000 * D);
        vm.expectEmit(address(vault));
        emit IAssetVault.CollectionSeized(CAROL, address(items), POOL, 50, 500 * D);
        vm.expectEmit(address(vault));
        emit IAssetVault.AssetsSeized(CAROL, POOL, 1500 * D);
        vm.prank(SEIZER);
        uint256 value = vault.seize(CAROL, POOL);

        assertEq(value, 1500 * D, "unitValue x units, no LTV");
        assertEq(nft.ownerOf(101), POOL, "nft to the pool");
        assertEq(items.balanceOf(POOL, 1), 30, "id 1 to the pool");
        assertEq(items.balanceOf(POOL, 2), 20, "id 2 to the pool");
        assertEq(items.balanceOf(address(vault), 1), 0, "vault empty");
        assertEq(vault.positionsOf(CAROL).length, 0, "no positions");
        assertEq(vault.collectionsOf(CAROL).length, 0, "no collections");
        assertEq(vault.unitsOf(CAROL, address(items)), 0, "no units");
        assertEq(vault.pledgedOf(CAROL, address(items), 1), 0, "no pledge");
        assertEq(vault.collateralValueOf(CAROL), 0, "no value");
    }

    function test_seize_staleCollectionCreditsZero() public {
        vm.startPrank(CAROL);
        vault.pledge721(address(nft), 101);
        vault.pledge1155(address(items), 1, 30);
        vm.stopPrank();
        vm.warp(block.timestamp + MAX_AGE + 1);
        vm.prank(RISK);
        vault.updateValue(address(items), 10 * D);
        _default(CAROL);
        vm.expectEmit(address(vault));
        emit IAssetVault.CollectionSeized(CAROL, address(nft), POOL, 1, 0);
        vm.prank(SEIZER);
        uint256 value = vault.seize(CAROL, POOL);
        assertEq(value, 300 * D, "stale nft counts 0");
        assertEq(nft.ownerOf(101), POOL, "but still moves");
    }

    function test_seize_ofNothingReturnsZero() public {
        _default(DAVE);
        vm.expectEmit(address(vault));
        emit IAssetVault.AssetsSeized(DAVE, POOL, 0);
        vm.prank(SEIZER);
        assertEq(vault.seize(DAVE, POOL), 0, "nothing");
    }

    function test_seize_reverts() public {
        vm.prank(CAROL);
        vault.pledge721(address(nft), 101);
        vm.expectRevert(_unauthorized(STRANGER, SEIZER_ROLE));
        vm.prank(STRANGER);
        vault.seize(CAROL, POOL);
        vm.expectRevert(_err(IAssetVault.AssetVaultMemberNotDefaulted.selector, CAROL));
        vm.prank(SEIZER);
        vault.seize(CAROL, POOL);
        _default(CAROL);
        vm.expectRevert(IAssetVault.AssetVaultZeroAddress.selector);
        vm.prank(SEIZER);
        vault.seize(CAROL, address(0));
        // A recipient that refuses ERC-1155 / ERC-721 makes the whole seizure revert.
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721InvalidReceiver.selector, address(house)));
        vm.prank(SEIZER);
        vault.seize(CAROL, address(house));
        assertEq(nft.ownerOf(101), address(vault), "still pledged");
    }

    // ───────────── reentrancy ─────────────

    function test_pledge_reentryFromCollectionIsBlocked() public {
        ReentrantCollectible evil = new ReentrantCollectible();
        vm.prank(RISK);
        vault.setCollection(address(evil), 1, 10_000, MAX_AGE);
        evil.mint(ALICE, 1);
        evil.mint(ALICE, 2);
        vm.prank(ALICE);
        evil.setApprovalForAll(address(vault), true);
        evil.arm(address(vault), abi.encodeCall(IAssetVault.unpledge721, (address(evil), 1)));
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        vm.prank(ALICE);
        vault.pledge721(address(evil), 1);
        assertEq(evil.ownerOf(1), ALICE, "nothing moved");
        assertEq(vault.unitsOf(ALICE, address(evil)), 0, "nothing recorded");
    }

    function test_unpledge_reentryFromCollectionIsBlocked() public {
        ReentrantCollectible evil = new ReentrantCollectible();
        vm.prank(RISK);
        vault.setCollection(address(evil), 1, 10_000, MAX_AGE);
        evil.mint(ALICE, 1);
        vm.startPrank(ALICE);
        evil.setApprovalForAll(address(vault), true);
        vault.pledge721(address(evil), 1);
        vm.stopPrank();
        evil.arm(address(vault), abi.encodeCall(IAssetVault.unpledge721, (address(evil), 1)));
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        vm.prank(ALICE);
        vault.unpledge721(address(evil), 1);
        assertEq(evil.ownerOf(1), address(vault), "still pledged");
    }
}
