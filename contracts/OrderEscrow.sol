// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IOrderEscrow} from "./interfaces/IOrderEscrow.sol";

/// @title OrderEscrow
/// @notice Implementation of {IOrderEscrow}; the interface is the specification.
/// @dev Every entry point is shaped checks → effects → emit → transfer.
contract OrderEscrow is IOrderEscrow, AccessControl, Pausable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Releases, refunds and rules on disputes.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @notice Longest dispute window a debtor may set.
    uint64 public constant MAX_DISPUTE_WINDOW = 90 days;

    IERC20 private immutable _token;

    mapping(bytes32 orderId => Order) private _orders;
    /// @dev Σ remaining over all orders (E1).
    uint256 private _totalRemaining;

    /// @param token_ The settlement token (see the token assumptions in {IOrderEscrow}).
    /// @param admin Receives DEFAULT_ADMIN_ROLE and grants OPERATOR_ROLE.
    constructor(IERC20 token_, address admin) {
        if (address(token_) == address(0) || admin == address(0)) revert OrderEscrowZeroAddress();
        _token = token_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @inheritdoc IOrderEscrow
    function fund(bytes32 orderId, address creditor, uint256 amount, uint64 disputeWindow)
        external
        nonReentrant
        whenNotPaused
    {
        if (orderId == bytes32(0)) revert OrderEscrowZeroOrderId();
        Order storage o = _orders[orderId];
        if (o.status != OrderStatus.NONE) revert OrderEscrowOrderExists(orderId);
        if (creditor == address(0) || creditor == msg.sender) revert OrderEscrowInvalidCreditor(creditor);
        if (amount == 0) revert OrderEscrowZeroAmount();
        if (disputeWindow > MAX_DISPUTE_WINDOW) revert OrderEscrowWindowTooLong(disputeWindow, MAX_DISPUTE_WINDOW);

        uint64 deadline = uint64(block.timestamp) + disputeWindow;
        o.debtor = msg.sender;
        o.disputeDeadline = deadline;
        o.status = OrderStatus.FUNDED;
        o.creditor = creditor;
        o.amount = amount;
        o.remaining = amount;
        _totalRemaining += amount;
        emit OrderFunded(orderId, msg.sender, creditor, amount, deadline);

        _token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IOrderEscrow
    function release(bytes32 orderId, uint256 amount) external nonReentrant whenNotPaused {
        Order storage o = _openOrder(orderId);
        if (msg.sender != o.debtor && !hasRole(OPERATOR_ROLE, msg.sender)) {
            revert OrderEscrowUnauthorized(orderId, msg.sender);
        }
        uint256 remaining = _take(orderId, o, amount);

        o.released += amount;
        address creditor = o.creditor;
        emit OrderReleased(orderId, creditor, amount, remaining);
        if (remaining == 0) _close(orderId, o);

        _token.safeTransfer(creditor, amount);
    }

    /// @inheritdoc IOrderEscrow
    function refund(bytes32 orderId, uint256 amount) external nonReentrant whenNotPaused {
        Order storage o = _openOrder(orderId);
        if (msg.sender != o.creditor && !hasRole(OPERATOR_ROLE, msg.sender)) {
            revert OrderEscrowUnauthorized(orderId, msg.sender);
        }
        uint256 remaining = _take(orderId, o, amount);

        o.refunded += amount;
        address debtor = o.debtor;
        emit OrderRefunded(orderId, debtor, amount, remaining);
        if (remaining == 0) _close(orderId, o);

        _token.safeTransfer(debtor, amount);
    }

    /// @inheritdoc IOrderEscrow
    function dispute(bytes32 orderId) external {
        Order storage o = _openOrder(orderId);
        if (msg.sender != o.debtor) revert OrderEscrowUnauthorized(orderId, msg.sender);
        if (o.status == OrderStatus.DISPUTED) revert OrderEscrowDisputed(orderId);
        uint64 deadline = o.disputeDeadline;
        if (block.timestamp >= deadline) revert OrderEscrowWindowClosed(orderId, deadline);

        o.status = OrderStatus.DISPUTED;
        emit OrderDisputed(orderId, msg.sender);
    }

    /// @inheritdoc IOrderEscrow
    function resolveDispute(bytes32 orderId, uint256 toCreditor, uint256 toDebtor)
        external
        nonReentrant
        whenNotPaused
        onlyRole(OPERATOR_ROLE)
    {
        Order storage o = _orders[orderId];
        if (o.status != OrderStatus.DISPUTED) revert OrderEscrowNotDisputed(orderId);
        uint256 remaining = o.remaining;
        uint256 total = toCreditor + toDebtor;
        if (total != remaining) revert OrderEscrowResolutionMismatch(orderId, remaining, total);

        o.remaining = 0;
        // toCreditor + toDebtor == remaining ≤ totalRemaining (E1).
        unchecked {
            _totalRemaining -= remaining;
        }
        o.released += toCreditor;
        o.refunded += toDebtor;
        emit DisputeResolved(orderId, toCreditor, toDebtor);
        _close(orderId, o);

        if (toCreditor != 0) _token.safeTransfer(o.creditor, toCreditor);
        if (toDebtor != 0) _token.safeTransfer(o.debtor, toDebtor);
    }

    /// @inheritdoc IOrderEscrow
    function claim(bytes32 orderId) external nonReentrant whenNotPaused {
        Order storage o = _openOrder(orderId);
        if (o.status == OrderStatus.DISPUTED) revert OrderEscrowDisputed(orderId);
        uint64 deadline = o.disputeDeadline;
        if (block.timestamp < deadline) revert OrderEscrowClaimTooEarly(orderId, deadline);
        uint256 amount = o.remaining; // > 0 while open

        o.remaining = 0;
        // amount == remaining ≤ totalRemaining (E1).
        unchecked {
            _totalRemaining -= amount;
        }
        o.released += amount;
        address creditor = o.creditor;
        emit OrderClaimed(orderId, creditor, msg.sender, amount);
        _close(orderId, o);

        _token.safeTransfer(creditor, amount);
    }

    /// @inheritdoc IOrderEscrow
    function orderOf(bytes32 orderId) external view returns (Order memory) {
        return _orders[orderId];
    }

    /// @inheritdoc IOrderEscrow
    function totalRemaining() external view returns (uint256) {
        return _totalRemaining;
    }

    /// @inheritdoc IOrderEscrow
    function token() external view returns (IERC20) {
        return _token;
    }

    /// @inheritdoc IOrderEscrow
    function pause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _pause();
    }

    /// @inheritdoc IOrderEscrow
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }

    /// @inheritdoc IOrderEscrow
    /// @dev Reads the token balance (a view call) before its effects; with the
    /// assumed token that call cannot re-enter, and the guard blocks it anyway.
    function sweepSurplus(address to) external nonReentrant onlyRole(DEFAULT_ADMIN_ROLE) {
        if (to == address(0)) revert OrderEscrowZeroAddress();
        uint256 held = _token.balanceOf(address(this));
        uint256 accounted = _totalRemaining;
        if (held <= accounted) revert OrderEscrowNoSurplus();
        uint256 surplus;
        // held > accounted.
        unchecked {
            surplus = held - accounted;
        }

        emit SurplusSwept(to, surplus);

        _token.safeTransfer(to, surplus);
    }

    /// @dev The order, if funded or disputed.
    function _openOrder(bytes32 orderId) private view returns (Order storage o) {
        o = _orders[orderId];
        OrderStatus status = o.status;
        if (status == OrderStatus.NONE) revert OrderEscrowUnknownOrder(orderId);
        if (status == OrderStatus.CLOSED) revert OrderEscrowOrderClosed(orderId);
    }

    /// @dev Takes 0 < `amount` ≤ remaining out of the order; returns what remains.
    function _take(bytes32 orderId, Order storage o, uint256 amount) private returns (uint256 remaining) {
        if (amount == 0) revert OrderEscrowZeroAmount();
        remaining = o.remaining;
        if (amount > remaining) revert OrderEscrowExceedsRemaining(orderId, remaining, amount);
        // amount ≤ remaining ≤ totalRemaining (E1).
        unchecked {
            remaining -= amount;
            _totalRemaining -= amount;
        }
        o.remaining = remaining;
    }

    function _close(bytes32 orderId, Order storage o) private {
        o.status = OrderStatus.CLOSED;
        emit OrderClosed(orderId);
    }
}
