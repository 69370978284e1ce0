// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AssetVault} from "../../../contracts/AssetVault.sol";
import {IAssetVault} from "../../../contracts/interfaces/IAssetVault.sol";
import {TestCollectible} from "../../../contracts/test/TestCollectible.sol";
import {TestGameItems} from "../../../contracts/test/TestGameItems.sol";
import {Test} from "../utils/Test.sol";
import {AssetVaultHandler} from "./AssetVaultHandler.sol";

/// @notice AssetVault invariants V1-V4 (see {IAssetVault}) under random sequences.
contract AssetVaultInvariantTest is Test {
    AssetVaultHandler internal handler;
    AssetVault internal vault;
    TestCollectible internal nft;
    TestGameItems internal items;

    function setUp() public {
        vm.warp(1_700_000_000);
        handler = new AssetVaultHandler();
        vault = handler.vault();
        nft = handler.nft();
        items = handler.items();
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// V1 and V3: every pledged ERC-721 is the vault's; units == Σ positions per collection.
    function invariant_pledgedTokensAreOwnedAndCounted() public view {
        address[] memory ms = handler.members();
        for (uint256 i; i < ms.length; ++i) {
            IAssetVault.Position[] memory ps = vault.positionsOf(ms[i]);
            uint256 nftUnits;
            uint256 itemUnits;
            for (uint256 k; k < ps.length; ++k) {
                if (ps[k].standard == IAssetVault.Standard.ERC721) {
                    assertEq(nft.ownerOf(ps[k].id), address(vault), "V1 vault owns the nft");
                    assertEq(ps[k].amount, 1, "one nft");
                    nftUnits += 1;
                } else {
                    assertTrue(ps[k].amount > 0, "no empty position");
                    itemUnits += ps[k].amount;
                }
                assertEq(vault.pledgedOf(ms[i], ps[k].collection, ps[k].id), ps[k].amount, "slot index");
            }
            assertEq(vault.unitsOf(ms[i], address(nft)), nftUnits, "V3 nft units");
            assertEq(vault.unitsOf(ms[i], address(items)), itemUnits, "V3 item units");
            assertEq(vault.collectionsOf(ms[i]).length, (nftUnits > 0 ? 1 : 0) + (itemUnits > 0 ? 1 : 0), "list");
            assertLe(vault.collateralValueOf(ms[i]), vault.seizableValueOf(ms[i]), "LTV <= 100%");
        }
    }

    /// V2: per ERC-1155 id, the vault holds what members pledged (exactly: strays are refused).
    function invariant_pledgedItemsAreHeld() public view {
        address[] memory ms = handler.members();
        for (uint256 id = 1; id <= handler.IDS(); ++id) {
            uint256 pledged;
            for (uint256 i; i < ms.length; ++i) {
                pledged += vault.pledgedOf(ms[i], address(items), id);
            }
            assertEq(items.balanceOf(address(vault), id), pledged, "V2 vault holds the pledged units");
        }
    }

    /// V4 and the unpledge rule: no stray accepted, no insolvent unpledge, seizures exact.
    function invariant_ghostsStayZero() public view {
        assertEq(handler.ghostAcceptedStrays(), 0, "V4 stray accepted");
        assertEq(handler.ghostInsolventUnpledges(), 0, "unpledge leaving the debt uncovered, or in default");
        assertEq(handler.ghostSeizeMismatches(), 0, "seize value or leftovers");
    }
}
