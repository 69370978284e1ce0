// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

import {ClearingHouse} from "../../../contracts/ClearingHouse.sol";
import {IClearingHouse} from "../../../contracts/interfaces/IClearingHouse.sol";
import {SettlementToken} from "../../../contracts/test/SettlementToken.sol";
import {Test} from "./Test.sol";

/// @notice Shared fixture: a house with roles granted, four members (ascending
/// addresses, so cycle member lists are sorted as written), one lender.
abstract contract ClearingHouseBase is Test {
    uint256 internal constant D = 1e6; // one TUSD
    /// @dev Shares per token unit while the pool has only ever taken deposits
    /// (its price is then exactly (poolTotal + 1) / (totalShares + 1e6) = 1 / 1e6):
    /// the house's virtual offsets are 1e6 shares and 1 asset.
    uint256 internal constant SHARE = 1e6;

    address internal constant ALICE = address(0x1001); // credit 1000, collateral 5000
    address internal constant BOB = address(0x1002); // no credit, collateral 1000
    address internal constant CAROL = address(0x1003); // credit 500, no collateral
    address internal constant DAVE = address(0x1004); // no credit, no collateral
    address internal constant EVE = address(0x1005); // never admitted
    address internal constant LENDER = address(0x2001); // pool 10000
    address internal constant LENDER2 = address(0x2002);
    address internal constant ADMIN = address(0x3001);
    address internal constant OPERATOR = address(0x3002);
    address internal constant RISK = address(0x3003);
    address internal constant STRANGER = address(0x4001);

    bytes32 internal constant ROOT = keccak256("root");

    SettlementToken internal token;
    ClearingHouse internal house;
    bytes32 internal OPERATOR_ROLE;
    bytes32 internal RISK_ROLE;

    function setUp() public virtual {
        vm.warp(1_700_000_000);
        token = new SettlementToken();
        house = new ClearingHouse(token, ADMIN);
        OPERATOR_ROLE = house.OPERATOR_ROLE();
        RISK_ROLE = house.RISK_ROLE();
        vm.startPrank(ADMIN);
        house.grantRole(OPERATOR_ROLE, OPERATOR);
        house.grantRole(RISK_ROLE, RISK);
        vm.stopPrank();

        vm.startPrank(RISK);
        house.admitMember(ALICE, 1000 * D);
        house.admitMember(BOB, 0);
        house.admitMember(CAROL, 500 * D);
        house.admitMember(DAVE, 0);
        vm.stopPrank();

        address[7] memory holders = [ALICE, BOB, CAROL, DAVE, EVE, LENDER, LENDER2];
        for (uint256 i; i < holders.length; ++i) {
            token.mint(holders[i], 100_000 * D);
            vm.prank(holders[i]);
            token.approve(address(house), type(uint256).max);
        }
        vm.prank(ALICE);
        house.deposit(5000 * D);
        vm.prank(BOB);
        house.deposit(1000 * D);
        vm.prank(LENDER);
        house.poolDeposit(10_000 * D);
    }

    // ───────────── helpers ─────────────

    function _commit(uint64 cycleId, address[] memory members, int256[] memory deltas) internal {
        vm.prank(OPERATOR);
        house.commitCycle(cycleId, ROOT, uint32(members.length), _gross(deltas), members, deltas);
    }

    function _settle(uint64 cycleId, address[] memory members, int256[] memory deltas) internal {
        vm.prank(OPERATOR);
        house.settleCycle(cycleId, ROOT, uint32(members.length), _gross(deltas), members, deltas);
    }

    /// @dev Alice pays 300, Bob receives 200, Carol receives 100.
    function _commitSimple(uint64 cycleId) internal {
        _commit(cycleId, _simpleMembers(), _simpleDeltas());
    }

    /// @dev The members {_commitSimple} commits with (a refund repeats them).
    function _simpleMembers() internal pure returns (address[] memory) {
        return _addrs(ALICE, BOB, CAROL);
    }

    /// @dev The deltas {_commitSimple} commits with.
    function _simpleDeltas() internal pure returns (int256[] memory) {
        return _ints(-300 * int256(D), 200 * int256(D), 100 * int256(D));
    }

    /// @dev refundCycle of a {_commitSimple} cycle: `refunded` is parallel to (ALICE, BOB, CAROL).
    function _refundSimple(
        uint64 cycleId,
        address[] memory creditors,
        uint256[] memory cancelled,
        uint256[] memory refunded
    ) internal {
        vm.prank(OPERATOR);
        house.refundCycle(cycleId, _simpleMembers(), _simpleDeltas(), creditors, cancelled, refunded);
    }

    /// @dev What `debtor` can still be refunded in `cycleId`: its committed debit
    /// (from the committed lists) less {IClearingHouse-refundedDebit}.
    function _refundable(uint64 cycleId, address[] memory members, int256[] memory deltas, address debtor)
        internal
        view
        returns (uint256)
    {
        for (uint256 i; i < members.length; ++i) {
            if (members[i] == debtor && deltas[i] < 0) {
                return uint256(-deltas[i]) - house.refundedDebit(cycleId, debtor);
            }
        }
        return 0;
    }

    /// @dev keccak256(abi.encode(members, deltas)), the cycle's stored deltasHash.
    function _deltasHash(address[] memory members, int256[] memory deltas) internal pure returns (bytes32) {
        return keccak256(abi.encode(members, deltas));
    }

    function _gross(int256[] memory deltas) internal pure returns (uint256 gross) {
        for (uint256 i; i < deltas.length; ++i) {
            if (deltas[i] > 0) gross += uint256(deltas[i]);
        }
    }

    function _release(uint64 cycleId, address creditor, uint256 amount) internal {
        vm.prank(OPERATOR);
        house.releaseCycle(cycleId, _addrs(creditor), _uints(amount));
    }

    function _unauthorized(address account, bytes32 role) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, account, role);
    }

    /// @dev Σ balances + pool + escrow must equal the tokens held (I1).
    function _assertSolvent() internal view {
        int256 sum = house.totalBalances() + int256(house.poolTotal()) + int256(house.totalEscrowed())
            - int256(house.totalAdvanced());
        assertEq(uint256(sum), token.balanceOf(address(house)), "I1 solvency");
        assertLe(house.creditDrawn() + house.totalAdvanced(), house.poolTotal(), "I2 drawn + advanced <= pool");
    }

    /// @dev OpenZeppelin's sorted-pair Merkle node.
    function _hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
    }

    function _proof(bytes32 a, bytes32 b) internal pure returns (bytes32[] memory p) {
        p = new bytes32[](2);
        (p[0], p[1]) = (a, b);
    }

    function _addrs(address a) internal pure returns (address[] memory r) {
        r = new address[](1);
        r[0] = a;
    }

    function _addrs(address a, address b) internal pure returns (address[] memory r) {
        r = new address[](2);
        (r[0], r[1]) = (a, b);
    }

    function _addrs(address a, address b, address c) internal pure returns (address[] memory r) {
        r = new address[](3);
        (r[0], r[1], r[2]) = (a, b, c);
    }

    function _addrs(address a, address b, address c, address d) internal pure returns (address[] memory r) {
        r = new address[](4);
        (r[0], r[1], r[2], r[3]) = (a, b, c, d);
    }

    function _ints(int256 a, int256 b) internal pure returns (int256[] memory r) {
        r = new int256[](2);
        (r[0], r[1]) = (a, b);
    }

    function _ints(int256 a, int256 b, int256 c) internal pure returns (int256[] memory r) {
        r = new int256[](3);
        (r[0], r[1], r[2]) = (a, b, c);
    }

    function _ints(int256 a, int256 b, int256 c, int256 d) internal pure returns (int256[] memory r) {
        r = new int256[](4);
        (r[0], r[1], r[2], r[3]) = (a, b, c, d);
    }

    function _uints(uint256 a) internal pure returns (uint256[] memory r) {
        r = new uint256[](1);
        r[0] = a;
    }

    function _uints(uint256 a, uint256 b) internal pure returns (uint256[] memory r) {
        r = new uint256[](2);
        (r[0], r[1]) = (a, b);
    }

    function _uints(uint256 a, uint256 b, uint256 c) internal pure returns (uint256[] memory r) {
        r = new uint256[](3);
        (r[0], r[1], r[2]) = (a, b, c);
    }

    function _ids(uint64 a) internal pure returns (uint64[] memory r) {
        r = new uint64[](1);
        r[0] = a;
    }

    function _ids(uint64 a, uint64 b) internal pure returns (uint64[] memory r) {
        r = new uint64[](2);
        (r[0], r[1]) = (a, b);
    }

    function _ids(uint64 a, uint64 b, uint64 c) internal pure returns (uint64[] memory r) {
        r = new uint64[](3);
        (r[0], r[1], r[2]) = (a, b, c);
    }

    function _none() internal pure returns (address[] memory) {
        return new address[](0);
    }

    function _noUints() internal pure returns (uint256[] memory) {
        return new uint256[](0);
    }
}
