// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AssetVault} from "../../../contracts/AssetVault.sol";
import {ClearingHouse} from "../../../contracts/ClearingHouse.sol";
import {IAssetVault} from "../../../contracts/interfaces/IAssetVault.sol";
import {SettlementToken} from "../../../contracts/test/SettlementToken.sol";
import {TestCollectible} from "../../../contracts/test/TestCollectible.sol";
import {TestGameItems} from "../../../contracts/test/TestGameItems.sol";
import {Test} from "../utils/Test.sol";

/// @notice Drives random sequences against one vault over one house: pledges
/// and unpledges of both standards, members falling into debt and repaying,
/// revaluations and warps past the staleness bound, defaults and seizures, and
/// tokens sent to the vault outside a pledge. Ghost counters record anything
/// the design forbids; the invariant suite asserts they stay zero.
contract AssetVaultHandler is Test {
    uint256 internal constant D = 1e6;
    uint256 public constant IDS = 4; // ERC-1155 ids 1..IDS
    address internal constant ADMIN = address(0xA0);
    address internal constant OPERATOR = address(0xA1);
    address internal constant RISK = address(0xA2);
    address internal constant STRANGER = address(0xA3);
    address public constant POOL = address(0xA4);

    SettlementToken public token;
    ClearingHouse public house;
    AssetVault public vault;
    TestCollectible public nft;
    TestGameItems public items;

    address[] internal _members;
    uint256 internal _nextNftId = 1;
    uint64 internal _nextCycleId = 1;

    // ───────────── ghosts ─────────────
    /// @dev An unpledge that succeeded while its member owed the house or was in default.
    uint256 public ghostInsolventUnpledges;
    /// @dev A token the vault accepted outside a pledge.
    uint256 public ghostAcceptedStrays;
    /// @dev A seizure whose returned value differed from seizableValueOf just before,
    /// or that left a position behind.
    uint256 public ghostSeizeMismatches;
    uint256 public ghostSeizures;

    constructor() {
        token = new SettlementToken();
        house = new ClearingHouse(token, ADMIN);
        vault = new AssetVault(house, ADMIN);
        nft = new TestCollectible();
        items = new TestGameItems();
        _members.push(address(0xB1));
        _members.push(address(0xB2));
        _members.push(address(0xB3));

        vm.startPrank(ADMIN);
        house.grantRole(house.OPERATOR_ROLE(), OPERATOR);
        house.grantRole(house.RISK_ROLE(), RISK);
        vault.grantRole(vault.RISK_ROLE(), RISK);
        vault.grantRole(vault.SEIZER_ROLE(), address(this));
        vm.stopPrank();

        vm.startPrank(RISK);
        vault.setCollection(address(nft), 1000 * D, 5000, 1 days);
        vault.setCollection(address(items), 3 * D, 3333, 1 days);
        vm.stopPrank();

        token.mint(STRANGER, 1_000_000 * D);
        vm.startPrank(STRANGER);
        token.approve(address(house), type(uint256).max);
        house.poolDeposit(1_000_000 * D);
        vm.stopPrank();
        for (uint256 i; i < _members.length; ++i) {
            address m = _members[i];
            vm.prank(RISK);
            house.admitMember(m, 10_000 * D);
            token.mint(m, 1_000_000 * D);
            vm.startPrank(m);
            token.approve(address(house), type(uint256).max);
            nft.setApprovalForAll(address(vault), true);
            items.setApprovalForAll(address(vault), true);
            vm.stopPrank();
        }
    }

    function members() external view returns (address[] memory) {
        return _members;
    }

    function _member(uint256 seed) internal view returns (address) {
        return _members[seed % _members.length];
    }

    // ───────────── actions ─────────────

    function pledge721(uint256 memberSeed) external {
        address m = _member(memberSeed);
        uint256 id = _nextNftId++;
        nft.mint(m, id);
        vm.prank(m);
        try vault.pledge721(address(nft), id) {} catch {}
    }

    function pledge1155(uint256 memberSeed, uint256 idSeed, uint256 amount) external {
        address m = _member(memberSeed);
        uint256 id = 1 + idSeed % IDS;
        amount = bound(amount, 1, 1000);
        items.mint(m, id, amount);
        vm.prank(m);
        try vault.pledge1155(address(items), id, amount) {} catch {}
    }

    function unpledge(uint256 memberSeed, uint256 positionSeed, uint256 amount) external {
        address m = _member(memberSeed);
        IAssetVault.Position[] memory ps = vault.positionsOf(m);
        if (ps.length == 0) return;
        IAssetVault.Position memory p = ps[positionSeed % ps.length];
        bool defaulted = house.memberOf(m).defaulted;
        bool ok;
        vm.prank(m);
        if (p.standard == IAssetVault.Standard.ERC721) {
            try vault.unpledge721(p.collection, p.id) {
                ok = true;
            } catch {}
        } else {
            amount = bound(amount, 1, p.amount);
            try vault.unpledge1155(p.collection, p.id, amount) {
                ok = true;
            } catch {}
        }
        // Checked after the removal: the debt must fit the line plus the collateral left.
        int256 balance = house.balanceOf(m);
        uint256 debt = balance < 0 ? uint256(-balance) : 0;
        bool solvent = debt <= house.memberOf(m).creditLimit + vault.collateralValueOf(m);
        if (ok && (defaulted || !solvent)) ++ghostInsolventUnpledges;
    }

    /// @dev `payerSeed`'s member pays another in a settled cycle (it may fall into debt).
    function owe(uint256 payerSeed, uint256 amount) external {
        uint256 i = payerSeed % _members.length;
        uint256 j = (i + 1) % _members.length;
        amount = bound(amount, 1, 5000) * D;
        (address a, address b) = (_members[i], _members[j]);
        int256 da = -int256(amount);
        int256 db = int256(amount);
        if (a > b) (a, b, da, db) = (b, a, db, da);
        address[] memory ms = new address[](2);
        (ms[0], ms[1]) = (a, b);
        int256[] memory ds = new int256[](2);
        (ds[0], ds[1]) = (da, db);
        vm.prank(OPERATOR);
        try house.settleCycle(_nextCycleId, keccak256("root"), 1, amount, ms, ds) {
            ++_nextCycleId;
        } catch {}
    }

    function repay(uint256 memberSeed) external {
        address m = _member(memberSeed);
        int256 balance = house.balanceOf(m);
        if (balance >= 0) return;
        vm.prank(m);
        try house.deposit(uint256(-balance) + D) {} catch {}
    }

    function revalue(bool which, uint256 value) external {
        value = bound(value, 0, 10_000 * D);
        vm.prank(RISK);
        vault.updateValue(which ? address(nft) : address(items), value);
    }

    function warp(uint256 dt) external {
        vm.warp(block.timestamp + bound(dt, 1, 2 days));
    }

    function defaultAndSeize(uint256 memberSeed) external {
        address m = _member(memberSeed);
        if (!house.memberOf(m).defaulted) {
            vm.prank(RISK);
            house.declareDefault(m, "handler");
        }
        uint256 expected = vault.seizableValueOf(m);
        uint256 value = vault.seize(m, POOL);
        ++ghostSeizures;
        if (value != expected || vault.positionsOf(m).length != 0 || vault.collectionsOf(m).length != 0) {
            ++ghostSeizeMismatches;
        }
        // The defaulter repays and is cured, so later calls pledge again.
        int256 balance = house.balanceOf(m);
        if (balance < 0) {
            vm.prank(m);
            house.deposit(uint256(-balance));
        }
        vm.prank(RISK);
        house.cureDefault(m, "handler");
    }

    function strayTransfer(uint256 idSeed, bool erc721) external {
        if (erc721) {
            uint256 id = _nextNftId++;
            nft.mint(STRANGER, id);
            vm.prank(STRANGER);
            try nft.safeTransferFrom(STRANGER, address(vault), id) {
                ++ghostAcceptedStrays;
            } catch {}
        } else {
            uint256 id = 1 + idSeed % IDS;
            items.mint(STRANGER, id, 1);
            vm.prank(STRANGER);
            try items.safeTransferFrom(STRANGER, address(vault), id, 1, "") {
                ++ghostAcceptedStrays;
            } catch {}
        }
    }
}
