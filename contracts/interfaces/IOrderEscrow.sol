// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title IOrderEscrow
/// @notice Per-order escrow for tier-C members, who get no credit: the debtor
/// prepays each order; the funds go to the creditor on release (by the debtor
/// or the operator), back to the debtor on refund (by the creditor or the
/// operator), by the operator's ruling after a dispute, or to the creditor by
/// anyone's {claim} once the dispute window passed undisputed. This interface
/// is the specification; the implementation inherits its documentation.
///
/// Invariants (checked by the Foundry invariant suite):
/// - E1  Σ remaining over all orders == totalRemaining == token.balanceOf(escrow)
///       (less surplus sent by plain transfer, which only {sweepSurplus} moves);
/// - E2  for every order, released + refunded + remaining == amount;
/// - E3  an order id is funded once; a closed order never moves again.
///
/// Token assumptions: as in {IClearingHouse}: a plain ERC-20 with no fee on
/// transfer, no rebasing and no hooks that re-enter.
interface IOrderEscrow {
    /// @notice NONE: never funded. FUNDED: open. DISPUTED: only the operator's
    /// ruling (or a concession by either side) moves it. CLOSED: remaining is 0.
    enum OrderStatus {
        NONE,
        FUNDED,
        DISPUTED,
        CLOSED
    }

    /// @notice One prepaid order.
    /// @param debtor Who paid and may dispute; gets refunds.
    /// @param disputeDeadline Disputes are possible before it; claims from it on.
    /// @param status See {OrderStatus}.
    /// @param creditor Who is paid on release or claim.
    /// @param amount What was funded.
    /// @param remaining What is still in escrow.
    /// @param released Σ paid to the creditor so far.
    /// @param refunded Σ returned to the debtor so far.
    struct Order {
        address debtor;
        uint64 disputeDeadline;
        OrderStatus status;
        address creditor;
        uint256 amount;
        uint256 remaining;
        uint256 released;
        uint256 refunded;
    }

    /// @notice `debtor` prepaid `amount` for `orderId` to `creditor`; disputes possible until `disputeDeadline`.
    event OrderFunded(
        bytes32 indexed orderId,
        address indexed debtor,
        address indexed creditor,
        uint256 amount,
        uint64 disputeDeadline
    );
    /// @notice `amount` of `orderId` went to `creditor`, leaving `remaining`.
    event OrderReleased(bytes32 indexed orderId, address indexed creditor, uint256 amount, uint256 remaining);
    /// @notice `amount` of `orderId` went back to `debtor`, leaving `remaining`.
    event OrderRefunded(bytes32 indexed orderId, address indexed debtor, uint256 amount, uint256 remaining);
    /// @notice `debtor` disputed `orderId`.
    event OrderDisputed(bytes32 indexed orderId, address indexed debtor);
    /// @notice The operator ruled on `orderId`: `toCreditor` to the creditor, `toDebtor` to the debtor.
    event DisputeResolved(bytes32 indexed orderId, uint256 toCreditor, uint256 toDebtor);
    /// @notice After the window, `caller` paid the whole `amount` left in `orderId` to `creditor`.
    event OrderClaimed(bytes32 indexed orderId, address indexed creditor, address indexed caller, uint256 amount);
    /// @notice `orderId`'s escrow reached zero.
    event OrderClosed(bytes32 indexed orderId);
    /// @notice `amount` of unaccounted tokens (sent by plain transfer) went to `to`.
    event SurplusSwept(address indexed to, uint256 amount);

    /// @notice Order id 0 is reserved.
    error OrderEscrowZeroOrderId();
    /// @notice `orderId` was funded before.
    error OrderEscrowOrderExists(bytes32 orderId);
    /// @notice `orderId` was never funded.
    error OrderEscrowUnknownOrder(bytes32 orderId);
    /// @notice `orderId` is closed.
    error OrderEscrowOrderClosed(bytes32 orderId);
    /// @notice An amount was zero where it must be positive.
    error OrderEscrowZeroAmount();
    /// @notice An address was zero.
    error OrderEscrowZeroAddress();
    /// @notice `creditor` is zero or the debtor itself.
    error OrderEscrowInvalidCreditor(address creditor);
    /// @notice `window` exceeds the cap `max`.
    error OrderEscrowWindowTooLong(uint64 window, uint64 max);
    /// @notice `caller` may not do this to `orderId`.
    error OrderEscrowUnauthorized(bytes32 orderId, address caller);
    /// @notice `orderId` has only `remaining` but `requested` was asked.
    error OrderEscrowExceedsRemaining(bytes32 orderId, uint256 remaining, uint256 requested);
    /// @notice `orderId`'s dispute window closed at `disputeDeadline`.
    error OrderEscrowWindowClosed(bytes32 orderId, uint64 disputeDeadline);
    /// @notice `orderId` is under dispute.
    error OrderEscrowDisputed(bytes32 orderId);
    /// @notice `orderId` is not under dispute.
    error OrderEscrowNotDisputed(bytes32 orderId);
    /// @notice A ruling on `orderId` splits `total`, not the `remaining` in escrow.
    error OrderEscrowResolutionMismatch(bytes32 orderId, uint256 remaining, uint256 total);
    /// @notice `orderId` can be claimed only from `disputeDeadline`.
    error OrderEscrowClaimTooEarly(bytes32 orderId, uint64 disputeDeadline);
    /// @notice The escrow holds no tokens beyond what it accounts for.
    error OrderEscrowNoSurplus();

    /// @notice The caller (debtor) prepays `amount` for `orderId` to `creditor`.
    /// @param orderId Client-chosen, unique, not zero.
    /// @param creditor Who will be paid; not zero, not the caller.
    /// @param amount Token units pulled from the caller (approve first).
    /// @param disputeWindow Seconds during which the debtor may dispute (≤ 90 days; 0 = none).
    /// Requirements: not paused; the above ({OrderEscrowZeroOrderId},
    /// {OrderEscrowOrderExists}, {OrderEscrowInvalidCreditor},
    /// {OrderEscrowZeroAmount}, {OrderEscrowWindowTooLong}).
    /// Emits {OrderFunded}.
    function fund(bytes32 orderId, address creditor, uint256 amount, uint64 disputeWindow) external;

    /// @notice Pays `amount` of `orderId`'s escrow to its creditor (full or partial).
    /// Requirements: not paused; caller is the debtor or has OPERATOR_ROLE
    /// ({OrderEscrowUnauthorized}); order open (funded or disputed: the debtor
    /// may concede a dispute); 0 < `amount` ≤ remaining ({OrderEscrowExceedsRemaining}).
    /// Emits {OrderReleased}, and {OrderClosed} when nothing remains.
    function release(bytes32 orderId, uint256 amount) external;

    /// @notice Returns `amount` of `orderId`'s escrow to its debtor (full or partial).
    /// Requirements: not paused; caller is the creditor or has OPERATOR_ROLE;
    /// order open (the creditor may concede a dispute); 0 < `amount` ≤ remaining.
    /// Emits {OrderRefunded}, and {OrderClosed} when nothing remains.
    function refund(bytes32 orderId, uint256 amount) external;

    /// @notice The debtor disputes `orderId`, which stops {claim} until the operator rules.
    /// Requirements: caller is the debtor; order FUNDED ({OrderEscrowDisputed} if
    /// already disputed); now < disputeDeadline ({OrderEscrowWindowClosed}).
    /// Allowed while paused (it moves no funds). Emits {OrderDisputed}.
    function dispute(bytes32 orderId) external;

    /// @notice The operator's ruling on a disputed order; closes it.
    /// Requirements: not paused; caller has OPERATOR_ROLE; order DISPUTED
    /// ({OrderEscrowNotDisputed}); `toCreditor` + `toDebtor` == remaining
    /// ({OrderEscrowResolutionMismatch}).
    /// Emits {DisputeResolved} and {OrderClosed}.
    function resolveDispute(bytes32 orderId, uint256 toCreditor, uint256 toDebtor) external;

    /// @notice Anyone pays what remains of an undisputed order to its creditor
    /// once the dispute window has passed, so funds are never stuck.
    /// Requirements: not paused; order FUNDED ({OrderEscrowDisputed} if
    /// disputed); now ≥ disputeDeadline ({OrderEscrowClaimTooEarly}).
    /// Emits {OrderClaimed} and {OrderClosed}.
    function claim(bytes32 orderId) external;

    /// @notice Order `orderId` (all zero, status NONE, if unknown).
    function orderOf(bytes32 orderId) external view returns (Order memory);

    /// @notice Σ remaining over all orders.
    function totalRemaining() external view returns (uint256);

    /// @notice The escrowed token.
    function token() external view returns (IERC20);

    /// @notice Stops fund, release, refund, resolveDispute and claim.
    /// Requirements: caller has DEFAULT_ADMIN_ROLE. Emits {Paused}.
    function pause() external;

    /// @notice Resumes operation.
    /// Requirements: caller has DEFAULT_ADMIN_ROLE. Emits {Unpaused}.
    function unpause() external;

    /// @notice Sends tokens held beyond totalRemaining to `to`; never escrowed funds.
    /// Requirements: caller has DEFAULT_ADMIN_ROLE; `to` not zero; surplus > 0
    /// ({OrderEscrowNoSurplus}). Emits {SurplusSwept}.
    function sweepSurplus(address to) external;
}
