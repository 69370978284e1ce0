// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {OrderEscrow} from "../../../contracts/OrderEscrow.sol";
import {IOrderEscrow} from "../../../contracts/interfaces/IOrderEscrow.sol";
import {SettlementToken} from "../../../contracts/test/SettlementToken.sol";
import {Test} from "../utils/Test.sol";

/// @notice Drives random order lifecycles by three parties (each both debtor
/// and creditor), the operator and a stranger; ghost counters record any
/// move the design forbids.
contract OrderEscrowHandler is Test {
    uint256 internal constant D = 1e6;
    address internal constant ADMIN = address(0xA0);
    address internal constant OPERATOR = address(0xA1);
    address internal constant STRANGER = address(0xA3);
    uint256 public constant INITIAL = 1e9 * D; // per party

    SettlementToken public token;
    OrderEscrow public escrow;

    address[] internal _parties;
    bytes32[] internal _orders;

    uint256 public ghostDoubleFunds;
    uint256 public ghostUnauthorizedMoves;
    uint256 public ghostClosedMoves;
    uint256 public ghostEarlyClaims;
    uint256 public ghostPausedMovements;
    uint256 public ghostSurplus;
    uint256 public ghostSwept;
    mapping(string action => uint256) public calls;
    mapping(string action => uint256) public effective;

    constructor() {
        token = new SettlementToken();
        escrow = new OrderEscrow(token, ADMIN);
        vm.startPrank(ADMIN);
        escrow.grantRole(escrow.OPERATOR_ROLE(), OPERATOR);
        vm.stopPrank();
        for (uint160 i; i < 3; ++i) {
            address p = address(0x1000 + i);
            _parties.push(p);
            token.mint(p, INITIAL);
            vm.prank(p);
            token.approve(address(escrow), type(uint256).max);
        }
        token.mint(STRANGER, INITIAL);
    }

    modifier action(string memory name, bool exempt) {
        ++calls[name];
        bool wasPaused = escrow.paused();
        uint256 held = token.balanceOf(address(escrow));
        _;
        uint256 nowHeld = token.balanceOf(address(escrow));
        if (nowHeld != held) ++effective[name];
        if (wasPaused && !exempt && nowHeld != held) ++ghostPausedMovements;
    }

    function fund(uint256 seed, uint256 amount, uint64 window, bool reuse) external action("fund", false) {
        address debtor = _parties[seed % 3];
        address creditor = _parties[(seed / 3 + 1 + seed % 3) % 3]; // never the debtor
        amount = bound(amount, 1, 10_000 * D);
        window = uint64(bound(window, 0, 3 days));
        bytes32 id =
            (reuse && _orders.length > 0) ? _orders[seed % _orders.length] : keccak256(abi.encode(_orders.length));
        bool known = escrow.orderOf(id).status != IOrderEscrow.OrderStatus.NONE;
        vm.prank(debtor);
        try escrow.fund(id, creditor, amount, window) {
            if (known) ++ghostDoubleFunds;
            else _orders.push(id);
        } catch {}
    }

    function release(uint256 orderSeed, uint256 amount, uint256 callerSeed) external action("release", false) {
        (bool ok, bytes32 id) = _order(orderSeed);
        if (!ok) return;
        IOrderEscrow.Order memory o = escrow.orderOf(id);
        address caller = _caller(o, callerSeed);
        amount = bound(amount, 1, o.remaining + 10);
        vm.prank(caller);
        try escrow.release(id, amount) {
            if (caller != o.debtor && caller != OPERATOR) ++ghostUnauthorizedMoves;
            if (o.status == IOrderEscrow.OrderStatus.CLOSED) ++ghostClosedMoves;
        } catch {}
    }

    function refund(uint256 orderSeed, uint256 amount, uint256 callerSeed) external action("refund", false) {
        (bool ok, bytes32 id) = _order(orderSeed);
        if (!ok) return;
        IOrderEscrow.Order memory o = escrow.orderOf(id);
        address caller = _caller(o, callerSeed);
        amount = bound(amount, 1, o.remaining + 10);
        vm.prank(caller);
        try escrow.refund(id, amount) {
            if (caller != o.creditor && caller != OPERATOR) ++ghostUnauthorizedMoves;
            if (o.status == IOrderEscrow.OrderStatus.CLOSED) ++ghostClosedMoves;
        } catch {}
    }

    function dispute(uint256 orderSeed, uint256 callerSeed) external action("dispute", false) {
        (bool ok, bytes32 id) = _order(orderSeed);
        if (!ok) return;
        IOrderEscrow.Order memory o = escrow.orderOf(id);
        address caller = callerSeed % 4 == 0 ? _caller(o, callerSeed >> 2) : o.debtor;
        vm.prank(caller);
        try escrow.dispute(id) {
            if (caller != o.debtor) ++ghostUnauthorizedMoves;
            if (block.timestamp >= o.disputeDeadline) ++ghostEarlyClaims; // disputed after the window
        } catch {}
    }

    function resolve(uint256 orderSeed, uint256 split, uint256 callerSeed) external action("resolve", false) {
        (bool ok, bytes32 id) = _order(orderSeed);
        if (!ok) return;
        IOrderEscrow.Order memory o = escrow.orderOf(id);
        address caller = callerSeed % 4 == 0 ? _caller(o, callerSeed >> 2) : OPERATOR;
        uint256 toCreditor = bound(split, 0, o.remaining);
        vm.prank(caller);
        try escrow.resolveDispute(id, toCreditor, o.remaining - toCreditor) {
            if (caller != OPERATOR) ++ghostUnauthorizedMoves;
            if (o.status != IOrderEscrow.OrderStatus.DISPUTED) ++ghostClosedMoves;
        } catch {}
    }

    function claim(uint256 orderSeed) external action("claim", false) {
        (bool ok, bytes32 id) = _order(orderSeed);
        if (!ok) return;
        IOrderEscrow.Order memory o = escrow.orderOf(id);
        vm.prank(STRANGER);
        try escrow.claim(id) {
            if (block.timestamp < o.disputeDeadline || o.status != IOrderEscrow.OrderStatus.FUNDED) {
                ++ghostEarlyClaims;
            }
        } catch {}
    }

    function warp(uint256 forSeconds) external action("warp", false) {
        vm.warp(block.timestamp + bound(forSeconds, 1, 2 days));
    }

    function togglePause(uint256 seed) external action("togglePause", false) {
        // Pause rarely and resume soon, so most sequences run unpaused.
        bool paused = escrow.paused(); // read before the prank, which the next call consumes
        if (paused ? seed % 2 != 0 : seed % 16 != 0) return;
        vm.prank(ADMIN);
        if (paused) escrow.unpause();
        else escrow.pause();
    }

    function donate(uint256 amount) external action("donate", true) {
        amount = bound(amount, 1, 100 * D);
        vm.prank(STRANGER);
        require(token.transfer(address(escrow), amount), "transfer");
        ghostSurplus += amount;
    }

    function sweep() external action("sweep", true) {
        uint256 surplus = ghostSurplus;
        vm.prank(ADMIN);
        try escrow.sweepSurplus(ADMIN) {
            ghostSwept += surplus;
            ghostSurplus = 0;
        } catch {}
    }

    function parties() external view returns (address[] memory) {
        return _parties;
    }

    function orders() external view returns (bytes32[] memory) {
        return _orders;
    }

    function _order(uint256 seed) private view returns (bool, bytes32) {
        if (_orders.length == 0) return (false, bytes32(0));
        return (true, _orders[seed % _orders.length]);
    }

    /// @dev Mostly the party entitled to act, sometimes anyone else.
    function _caller(IOrderEscrow.Order memory o, uint256 seed) private pure returns (address) {
        uint256 k = seed % 5;
        if (k == 0) return o.debtor;
        if (k == 1) return o.creditor;
        if (k == 2) return OPERATOR;
        if (k == 3) return STRANGER;
        return ADMIN;
    }
}
