// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC5267} from "@openzeppelin/contracts/interfaces/IERC5267.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title IClearingHouse
/// @notice Multilateral net settlement for member platforms, one ERC-20
/// settlement token per deployment. This interface is the specification: the
/// implementation inherits this documentation.
///
/// Accounting model
/// ----------------
/// Every member has one signed internal balance. It may fall below zero, down
/// to `-creditLimit`; that debt is funded by a liquidity pool that lenders
/// deposit into. Cycles are committed by the operator with each member's net
/// delta: debtors are debited at once and the total debit moves into the
/// cycle's escrow, from which creditors are paid (in full, in part, pro rata,
/// later, or by anyone after the claim delay) or which is refunded to debtors.
/// A cycle that would be released in full at once can instead be settled in
/// one call ({settleCycle}): same checks and the same events as a commit
/// followed by a full release, without the per-member escrow bookkeeping.
///
/// Invariants (checked by the Foundry invariant suite after every call):
/// - I1  Σ member balances + poolTotal + totalEscrowed == token.balanceOf(house)
///       (less any surplus sent to the house by plain transfer, which only
///       {sweepSurplus} can move);
/// - I2  creditDrawn == Σ max(0, −balance) ≤ poolTotal;
/// - I3  every balance ≥ −creditLimit of its member;
/// - I4  a cycle id is committed (or settled) at most once, and its deltas sum to zero;
/// - I5  per cycle, escrowed == Σ pendingCredit ≤ Σ cycleDebit;
/// - I6  only OPERATOR_ROLE commits, settles, releases, holds or refunds; members
///       withdraw only free, non-negative balance; while paused no funds move
///       except by the admin's recovery path, which pays owners, never the admin.
///
/// Token assumptions
/// -----------------
/// The settlement token is a plain ERC-20: a transfer of `x` moves exactly `x`
/// (no fee on transfer, no rebasing, no balance changes outside transfers),
/// it has no hooks that call back into the caller (no ERC-777 style
/// re-entrancy), and it reverts or returns false on failure (both handled by
/// SafeERC20). Amounts are integers in the token's smallest unit, of any size
/// a uint256 holds as long as signed balances fit in an int256.
///
/// Signed obligations (EIP-712, EIP-5267)
/// --------------------------------------
/// A debtor signs each obligation a creditor submits for it as EIP-712 typed
/// data under this contract's domain: name "ClearingHouse", version "1", the
/// chain's id and this contract's address (no salt). {IERC5267-eip712Domain}
/// returns that domain, so wallets and auditors can read it from the chain;
/// the service's `GET /eip712` answers the same domain and the types.
interface IClearingHouse is IERC5267 {
    // ───────────────────────────── Types ─────────────────────────────

    /// @notice Lifecycle of a committed cycle. NONE means never committed.
    enum CycleStatus {
        NONE,
        COMMITTED,
        SETTLED
    }

    /// @notice A member platform's on-chain position.
    /// @param admitted Whether the risk role admitted the member (never undone).
    /// @param suspended A suspended member cannot be debited in a cycle; it may
    /// still deposit (to repay), withdraw free balance and receive credits.
    /// @param creditLimit How far below zero the balance may go.
    /// @param balance Signed balance in token units; negative is debt funded by the pool.
    struct Member {
        bool admitted;
        bool suspended;
        uint256 creditLimit;
        int256 balance;
    }

    /// @notice A committed settlement cycle.
    /// @param root Merkle root of the cycle's obligations (see {obligationLeaf}).
    /// @param grossValue Σ amounts of the cycle's obligations before netting.
    /// @param escrowed What is still in the cycle's escrow, == Σ pendingCredit.
    /// @param obligationCount Number of obligations under `root`.
    /// @param committedAt Block timestamp of the commit.
    /// @param claimableAt From this time anyone may {claim} pending credit.
    /// @param heldUntil Release and claim are blocked until this time (0 = never held).
    /// @param status NONE, COMMITTED or SETTLED (escrow reached zero, or settled by {settleCycle}).
    struct Cycle {
        bytes32 root;
        uint256 grossValue;
        uint256 escrowed;
        uint32 obligationCount;
        uint64 committedAt;
        uint64 claimableAt;
        uint64 heldUntil;
        CycleStatus status;
    }

    // ───────────────────────────── Events ─────────────────────────────
    // Every balance change carries the member, the amount and the resulting
    // balance, so an auditor can rebuild every balance and every cycle's net
    // deltas from the log alone.

    /// @notice `member` was admitted with `creditLimit`.
    event MemberAdmitted(address indexed member, uint256 creditLimit);
    /// @notice `member` was suspended: it can no longer be debited in a cycle.
    event MemberSuspended(address indexed member);
    /// @notice `member` was resumed.
    event MemberResumed(address indexed member);
    /// @notice `member`'s credit limit changed from `previousLimit` to `creditLimit`.
    event CreditLimitSet(address indexed member, uint256 previousLimit, uint256 creditLimit);
    /// @notice `payer` deposited `amount` to `member`, whose balance is now `balance`.
    event Deposited(address indexed member, address indexed payer, uint256 amount, int256 balance);
    /// @notice `member` withdrew `amount` to `to`; its balance is now `balance`.
    event Withdrawn(address indexed member, address indexed to, uint256 amount, int256 balance);
    /// @notice `lender` added `amount` to the pool, now `poolTotal`.
    event PoolDeposited(address indexed lender, uint256 amount, uint256 poolTotal);
    /// @notice `lender` took `amount` out of the pool to `to`; the pool is now `poolTotal`.
    event PoolWithdrawn(address indexed lender, address indexed to, uint256 amount, uint256 poolTotal);
    /// @notice Cycle `cycleId` was committed with `escrowed` moved from debtors into its escrow.
    event CycleCommitted(
        uint64 indexed cycleId, bytes32 root, uint32 obligationCount, uint256 grossValue, uint256 escrowed
    );
    /// @notice `member` paid `amount` into cycle `cycleId`'s escrow; its balance is now `balance`.
    event MemberDebited(uint64 indexed cycleId, address indexed member, uint256 amount, int256 balance);
    /// @notice `creditor` is owed `amount` from cycle `cycleId`'s escrow (its positive net delta).
    event CreditRecorded(uint64 indexed cycleId, address indexed creditor, uint256 amount);
    /// @notice `amount` of `creditor`'s pending credit in `cycleId` reached its balance, now `balance`.
    event CreditReleased(uint64 indexed cycleId, address indexed creditor, uint256 amount, int256 balance);
    /// @notice A release (or claim) paid `released` out of `cycleId`'s escrow, leaving `escrowed`.
    event CycleReleased(uint64 indexed cycleId, uint256 released, uint256 escrowed);
    /// @notice Release of `cycleId` is blocked until `heldUntil`; anyone may claim from `claimableAt`.
    event CycleHeld(uint64 indexed cycleId, uint64 heldUntil, uint64 claimableAt);
    /// @notice `amount` of `creditor`'s pending credit in `cycleId` was cancelled.
    event CreditCancelled(uint64 indexed cycleId, address indexed creditor, uint256 amount);
    /// @notice `amount` of `debtor`'s debit in `cycleId` came back to its balance, now `balance`.
    event DebitRefunded(uint64 indexed cycleId, address indexed debtor, uint256 amount, int256 balance);
    /// @notice A refund returned `refunded` from `cycleId`'s escrow to debtors, leaving `escrowed`.
    event CycleRefunded(uint64 indexed cycleId, uint256 refunded, uint256 escrowed);
    /// @notice `cycleId`'s escrow reached zero.
    event CycleSettled(uint64 indexed cycleId);
    /// @notice While paused, the admin paid `member`'s whole positive balance `amount` to the member.
    event MemberRecovered(address indexed member, uint256 amount);
    /// @notice While paused, the admin paid `amount` of `lender`'s pool deposit to the lender.
    event LenderRecovered(address indexed lender, uint256 amount, uint256 poolTotal);
    /// @notice `amount` of unaccounted tokens (sent by plain transfer) went to `to`.
    event SurplusSwept(address indexed to, uint256 amount);
    /// @notice Cycles committed from now on become claimable `claimDelay` seconds after commit.
    event ClaimDelaySet(uint64 claimDelay);
    /// @notice {holdCycle} may now hold a cycle at most `maxHoldPeriod` seconds ahead.
    event MaxHoldPeriodSet(uint64 maxHoldPeriod);

    // ───────────────────────────── Errors ─────────────────────────────

    /// @notice `member` has not been admitted.
    error ClearingHouseNotMember(address member);
    /// @notice `member` is already admitted.
    error ClearingHouseAlreadyMember(address member);
    /// @notice `member` is suspended (cannot be debited, or is already suspended).
    error ClearingHouseMemberSuspended(address member);
    /// @notice `member` is not suspended, so it cannot be resumed.
    error ClearingHouseMemberNotSuspended(address member);
    /// @notice `member` can pay at most `available` (balance + creditLimit) but `needed` was asked.
    error ClearingHouseInsufficientHeadroom(address member, uint256 available, uint256 needed);
    /// @notice `member` has `balance` but asked to withdraw `requested`.
    error ClearingHouseInsufficientBalance(address member, int256 balance, uint256 requested);
    /// @notice Credit drawn would be `drawn`, above the pool's `pool`.
    error ClearingHouseInsufficientPool(uint256 drawn, uint256 pool);
    /// @notice `lender` has `deposited` in the pool but asked for `requested`.
    error ClearingHouseInsufficientLenderBalance(address lender, uint256 deposited, uint256 requested);
    /// @notice Only `available` of the pool is undrawn but `requested` was asked.
    error ClearingHouseInsufficientLiquidity(uint256 available, uint256 requested);
    /// @notice A cycle's deltas sum to `sum`, not zero.
    error ClearingHouseNetNotZero(int256 sum);
    /// @notice A cycle's total debit `debit` exceeds its declared `grossValue`.
    error ClearingHouseDebitExceedsGross(uint256 debit, uint256 grossValue);
    /// @notice `cycleId` was committed before.
    error ClearingHouseCycleExists(uint64 cycleId);
    /// @notice Cycle id 0 is reserved.
    error ClearingHouseZeroCycleId();
    /// @notice `cycleId` was never committed.
    error ClearingHouseUnknownCycle(uint64 cycleId);
    /// @notice `cycleId`'s escrow is already empty.
    error ClearingHouseCycleSettled(uint64 cycleId);
    /// @notice `cycleId` is held until `heldUntil`.
    error ClearingHouseCycleHeld(uint64 cycleId, uint64 heldUntil);
    /// @notice `creditor` has only `pending` in `cycleId` but `requested` was asked.
    error ClearingHouseExceedsPending(uint64 cycleId, address creditor, uint256 pending, uint256 requested);
    /// @notice `debtor` has only `debit` left to refund in `cycleId` but `requested` was asked.
    error ClearingHouseExceedsDebit(uint64 cycleId, address debtor, uint256 debit, uint256 requested);
    /// @notice A refund cancels `cancelled` of credit but returns `refunded` to debtors.
    error ClearingHouseRefundMismatch(uint256 cancelled, uint256 refunded);
    /// @notice Two parallel arrays have lengths `a` and `b`.
    error ClearingHouseLengthMismatch(uint256 a, uint256 b);
    /// @notice `members[index]` is not strictly greater than `members[index - 1]` (or is zero).
    error ClearingHouseMembersNotSorted(uint256 index);
    /// @notice An amount was zero where it must be positive.
    error ClearingHouseZeroAmount();
    /// @notice An address was zero.
    error ClearingHouseZeroAddress();
    /// @notice `bps` is outside 1..10000.
    error ClearingHouseInvalidBps(uint16 bps);
    /// @notice `until` is not in the future (now is `nowTime`).
    error ClearingHouseHoldInPast(uint64 until, uint64 nowTime);
    /// @notice `until` is later than the latest allowed hold `maxUntil`.
    error ClearingHouseHoldTooLong(uint64 until, uint64 maxUntil);
    /// @notice `cycleId` becomes claimable only at `claimableAt`.
    error ClearingHouseClaimTooEarly(uint64 cycleId, uint64 claimableAt);
    /// @notice `creditor` has nothing pending in `cycleId`.
    error ClearingHouseNothingToClaim(uint64 cycleId, address creditor);
    /// @notice `member` owes `debt`, more than the new `creditLimit`.
    error ClearingHouseLimitBelowDebt(address member, uint256 debt, uint256 creditLimit);
    /// @notice A delay or period `value` exceeds the hard cap `max`.
    error ClearingHouseDelayTooLong(uint64 value, uint64 max);
    /// @notice `account` has nothing the recovery path could pay out.
    error ClearingHouseNothingToRecover(address account);
    /// @notice The house holds no tokens beyond what it accounts for.
    error ClearingHouseNoSurplus();

    // ───────────────────────────── Members (RISK_ROLE) ─────────────────────────────

    /// @notice Admits `member` with a credit line of `creditLimit`.
    /// @param member The member platform's address.
    /// @param creditLimit How far below zero its balance may go (0 = no credit).
    /// Requirements:
    /// - caller has RISK_ROLE;
    /// - `member` is not zero and not yet admitted;
    /// - `creditLimit` ≤ type(int256).max.
    /// Emits {MemberAdmitted}.
    function admitMember(address member, uint256 creditLimit) external;

    /// @notice Suspends `member`: it can no longer be a debtor in a cycle.
    /// @dev It keeps its balance, may still deposit, withdraw free balance and receive credits.
    /// @param member An admitted, not suspended member.
    /// Requirements: caller has RISK_ROLE; `member` admitted and not suspended.
    /// Emits {MemberSuspended}.
    function suspendMember(address member) external;

    /// @notice Lifts `member`'s suspension.
    /// @param member A suspended member.
    /// Requirements: caller has RISK_ROLE; `member` admitted and suspended.
    /// Emits {MemberResumed}.
    function resumeMember(address member) external;

    /// @notice Sets `member`'s credit limit.
    /// @param member An admitted member.
    /// @param creditLimit The new limit.
    /// Requirements:
    /// - caller has RISK_ROLE; `member` admitted;
    /// - the member's current debt ≤ `creditLimit` (else {ClearingHouseLimitBelowDebt});
    /// - `creditLimit` ≤ type(int256).max.
    /// Emits {CreditLimitSet}.
    function setCreditLimit(address member, uint256 creditLimit) external;

    /// @notice `member`'s whole position.
    function memberOf(address member) external view returns (Member memory);

    /// @notice `member`'s signed balance (negative = debt funded by the pool).
    function balanceOf(address member) external view returns (int256);

    /// @notice What `member` could pay into a cycle right now:
    /// max(0, balance) + min(creditLimit − debt, poolTotal − creditDrawn).
    /// @dev 0 for a member that is not admitted or is suspended.
    function availableOf(address member) external view returns (uint256);

    // ───────────────────────────── Collateral ─────────────────────────────

    /// @notice Deposits `amount` tokens from the caller to the caller's balance.
    /// @param amount Token units, pulled with transferFrom (approve first).
    /// Requirements: not paused; `amount` > 0; caller admitted (a suspended
    /// member may deposit, e.g. to repay debt).
    /// Emits {Deposited}.
    function deposit(uint256 amount) external;

    /// @notice Deposits `amount` tokens from the caller to `member`'s balance.
    /// @param member An admitted member.
    /// @param amount Token units, pulled from the caller.
    /// Requirements: not paused; `amount` > 0; `member` admitted.
    /// Emits {Deposited}.
    function depositFor(address member, uint256 amount) external;

    /// @notice Withdraws `amount` of the caller's free balance to `to`.
    /// @param amount Token units; at most the caller's balance, which must stay ≥ 0.
    /// @param to Recipient of the tokens.
    /// Requirements: not paused; `amount` > 0; `to` not zero; balance ≥ `amount`
    /// (else {ClearingHouseInsufficientBalance}). Suspended members may withdraw.
    /// Emits {Withdrawn}.
    function withdraw(uint256 amount, address to) external;

    // ───────────────────────────── Pool ─────────────────────────────

    /// @notice Lends `amount` tokens to the credit pool.
    /// Requirements: not paused; `amount` > 0. Anyone may lend.
    /// Emits {PoolDeposited}.
    function poolDeposit(uint256 amount) external;

    /// @notice Takes `amount` of the caller's pool deposit back, to `to`.
    /// Requirements: not paused; `amount` > 0; `to` not zero;
    /// `amount` ≤ the caller's deposit ({ClearingHouseInsufficientLenderBalance})
    /// and ≤ poolTotal − creditDrawn ({ClearingHouseInsufficientLiquidity}).
    /// Emits {PoolWithdrawn}.
    function poolWithdraw(uint256 amount, address to) external;

    /// @notice Σ lender deposits.
    function poolTotal() external view returns (uint256);

    /// @notice Σ max(0, −balance) over members: the part of the pool lent out.
    function creditDrawn() external view returns (uint256);

    /// @notice What `lender` has in the pool.
    function lenderBalance(address lender) external view returns (uint256);

    /// @notice Σ escrowed over all cycles.
    function totalEscrowed() external view returns (uint256);

    /// @notice Σ member balances (signed).
    function totalBalances() external view returns (int256);

    /// @notice The settlement token.
    function token() external view returns (IERC20);

    // ───────────────────────────── Cycles (OPERATOR_ROLE) ─────────────────────────────

    /// @notice Commits cycle `cycleId`: records its obligations' Merkle root and
    /// moves each debtor's net debit from its balance into the cycle's escrow,
    /// recording each creditor's net credit as pending.
    /// @dev Members with a zero delta are checked (sorted, admitted) and skipped.
    /// @param cycleId Client-chosen id, not 0, never committed before.
    /// @param root Merkle root of the obligations (leaves from {obligationLeaf}).
    /// @param obligationCount Number of obligations under `root`.
    /// @param grossValue Σ obligation amounts; must be ≥ the total debit.
    /// @param members Participants, strictly ascending by address.
    /// @param deltas Net position per member: negative pays in, positive receives.
    /// Requirements:
    /// - not paused; caller has OPERATOR_ROLE;
    /// - `cycleId` ≠ 0 ({ClearingHouseZeroCycleId}) and new ({ClearingHouseCycleExists});
    /// - equal lengths ({ClearingHouseLengthMismatch});
    /// - `members` strictly ascending ({ClearingHouseMembersNotSorted}), each admitted;
    /// - each debtor not suspended and its balance after the debit ≥ −creditLimit
    ///   ({ClearingHouseInsufficientHeadroom});
    /// - Σ deltas == 0 ({ClearingHouseNetNotZero});
    /// - total debit ≤ `grossValue` ({ClearingHouseDebitExceedsGross});
    /// - creditDrawn ≤ poolTotal afterwards ({ClearingHouseInsufficientPool}).
    /// Emits {MemberDebited} per debtor, {CreditRecorded} per creditor,
    /// {CycleCommitted}, and {CycleSettled} if nothing was escrowed.
    function commitCycle(
        uint64 cycleId,
        bytes32 root,
        uint32 obligationCount,
        uint256 grossValue,
        address[] calldata members,
        int256[] calldata deltas
    ) external;

    /// @notice Settles cycle `cycleId` in one call: records its obligations'
    /// Merkle root, debits each debtor's net debit and credits each creditor's
    /// net credit straight to their balances, as {commitCycle} followed by a
    /// full {releaseCycle} would, but with no escrow in between.
    /// @dev For cycles released in full at once (deferred net settlement): it
    /// writes no {cycleDebit} or {pendingCredit} and leaves {totalEscrowed}
    /// unchanged, so it cannot be held, refunded or claimed. The checks, their
    /// order and their errors are those of {commitCycle}; in particular the pool
    /// check sees the debits before any credit, as a commit would, so a cycle
    /// settles exactly when commit-then-release would succeed. The stored cycle
    /// has `escrowed` 0, status SETTLED, `committedAt` now and `claimableAt` and
    /// `heldUntil` 0, and {verifyObligation} works against `root`. The event
    /// sequence is that of the commit followed by a full release in member
    /// order, so an event replay cannot tell the two apart. Members with a zero
    /// delta are checked (sorted, admitted) and skipped.
    /// @param cycleId Client-chosen id, not 0, never committed or settled before.
    /// @param root Merkle root of the obligations (leaves from {obligationLeaf}).
    /// @param obligationCount Number of obligations under `root`.
    /// @param grossValue Σ obligation amounts; must be ≥ the total debit.
    /// @param members Participants, strictly ascending by address.
    /// @param deltas Net position per member: negative pays, positive receives.
    /// Requirements: exactly those of {commitCycle}:
    /// - not paused; caller has OPERATOR_ROLE;
    /// - `cycleId` ≠ 0 ({ClearingHouseZeroCycleId}) and new ({ClearingHouseCycleExists});
    /// - equal lengths ({ClearingHouseLengthMismatch});
    /// - `members` strictly ascending ({ClearingHouseMembersNotSorted}), each admitted
    ///   ({ClearingHouseNotMember});
    /// - each debtor not suspended ({ClearingHouseMemberSuspended}) and its balance
    ///   after the debit ≥ −creditLimit ({ClearingHouseInsufficientHeadroom});
    /// - Σ deltas == 0 ({ClearingHouseNetNotZero});
    /// - total debit ≤ `grossValue` ({ClearingHouseDebitExceedsGross});
    /// - creditDrawn ≤ poolTotal after the debits ({ClearingHouseInsufficientPool}).
    /// Emits {MemberDebited} per debtor and {CreditRecorded} per creditor (in
    /// member order), {CycleCommitted} with `escrowed` = the total debit, then
    /// {CreditReleased} per creditor and {CycleReleased} (released = total debit,
    /// escrowed 0), and {CycleSettled}. With no debit at all it emits, as
    /// {commitCycle} does, only {CycleCommitted} and {CycleSettled}.
    function settleCycle(
        uint64 cycleId,
        bytes32 root,
        uint32 obligationCount,
        uint256 grossValue,
        address[] calldata members,
        int256[] calldata deltas
    ) external;

    /// @notice Pays `amounts[i]` of `creditors[i]`'s pending credit in `cycleId`
    /// from the escrow into its balance (in full or in part).
    /// @dev Zero amounts are skipped; a creditor may repeat.
    /// Requirements:
    /// - not paused; caller has OPERATOR_ROLE;
    /// - cycle committed and not settled; not held ({ClearingHouseCycleHeld});
    /// - equal lengths; each amount ≤ pending ({ClearingHouseExceedsPending}).
    /// Emits {CreditReleased} per creditor paid, {CycleReleased}, and
    /// {CycleSettled} when the escrow reaches zero.
    function releaseCycle(uint64 cycleId, address[] calldata creditors, uint256[] calldata amounts) external;

    /// @notice Releases floor(pending × bps / 10000) of each listed creditor's
    /// pending credit in `cycleId` (rounded down, against the creditor, so the
    /// escrow is never over-paid).
    /// @param bps Share in basis points, 1..10000 ({ClearingHouseInvalidBps}).
    /// Requirements and events as {releaseCycle}; creditors whose share rounds to 0 are skipped.
    function releaseCycleProRata(uint64 cycleId, address[] calldata creditors, uint16 bps) external;

    /// @notice Blocks release and claim of `cycleId` until `until`, and pushes
    /// its claimableAt to at least `until`.
    /// @dev Allowed while paused (it moves no funds). A later call replaces heldUntil.
    /// Requirements:
    /// - caller has OPERATOR_ROLE; cycle committed and not settled;
    /// - now < `until` ({ClearingHouseHoldInPast}) ≤ now + maxHoldPeriod ({ClearingHouseHoldTooLong}).
    /// Emits {CycleHeld}.
    function holdCycle(uint64 cycleId, uint64 until) external;

    /// @notice Cancels pending credit and returns the same total to debtors'
    /// balances: whatever has not been released is refundable, even while held.
    /// @param creditors Creditors whose pending credit is cancelled by `cancelled[i]`.
    /// @param debtors Debtors who get `refunded[i]` back, each ≤ its remaining cycleDebit.
    /// Requirements:
    /// - not paused; caller has OPERATOR_ROLE; cycle committed and not settled;
    /// - equal lengths pairwise; each cancel ≤ pending ({ClearingHouseExceedsPending});
    ///   each refund ≤ remaining debit ({ClearingHouseExceedsDebit});
    /// - Σ cancelled == Σ refunded ({ClearingHouseRefundMismatch}).
    /// Emits {CreditCancelled} and {DebitRefunded} per entry, {CycleRefunded},
    /// and {CycleSettled} when the escrow reaches zero.
    function refundCycle(
        uint64 cycleId,
        address[] calldata creditors,
        uint256[] calldata cancelled,
        address[] calldata debtors,
        uint256[] calldata refunded
    ) external;

    /// @notice Anyone may release `creditor`'s whole remaining pending credit in
    /// `cycleId` once the cycle is claimable, so funds are never stuck if the
    /// operator disappears.
    /// Requirements:
    /// - not paused; cycle committed and not settled;
    /// - not held ({ClearingHouseCycleHeld}); now ≥ claimableAt ({ClearingHouseClaimTooEarly});
    /// - something pending ({ClearingHouseNothingToClaim}).
    /// Emits {CreditReleased}, {CycleReleased}, and {CycleSettled} when the escrow reaches zero.
    function claim(uint64 cycleId, address creditor) external;

    /// @notice Cycle `cycleId` (all zero and status NONE if unknown).
    function cycleOf(uint64 cycleId) external view returns (Cycle memory);

    /// @notice What `creditor` is still owed from `cycleId`'s escrow.
    function pendingCredit(uint64 cycleId, address creditor) external view returns (uint256);

    /// @notice What `debtor` paid into `cycleId` and could still be refunded.
    function cycleDebit(uint64 cycleId, address debtor) external view returns (uint256);

    /// @notice Whether the obligation is a leaf under `cycleId`'s committed root.
    /// @param proof Sibling hashes from leaf to root (OpenZeppelin sorted-pair Merkle tree).
    function verifyObligation(
        uint64 cycleId,
        bytes32 obligationId,
        address debtor,
        address creditor,
        uint256 amount,
        bytes32[] calldata proof
    ) external view returns (bool);

    /// @notice The Merkle leaf of an obligation:
    /// keccak256(bytes.concat(keccak256(abi.encode(cycleId, obligationId, debtor, creditor, amount)))),
    /// the OpenZeppelin StandardMerkleTree double-hashed leaf of
    /// (uint64, bytes32, address, address, uint256).
    function obligationLeaf(uint64 cycleId, bytes32 obligationId, address debtor, address creditor, uint256 amount)
        external
        pure
        returns (bytes32);

    // ───────────────────────────── Admin (DEFAULT_ADMIN_ROLE) ─────────────────────────────

    /// @notice Stops every movement of funds except the recovery path.
    /// Requirements: caller has DEFAULT_ADMIN_ROLE; not paused. Emits {Paused}.
    function pause() external;

    /// @notice Resumes normal operation.
    /// Requirements: caller has DEFAULT_ADMIN_ROLE; paused. Emits {Unpaused}.
    function unpause() external;

    /// @notice Sets the claim delay for cycles committed from now on.
    /// Requirements: caller has DEFAULT_ADMIN_ROLE; `claimDelay_` ≤ 365 days
    /// ({ClearingHouseDelayTooLong}). Emits {ClaimDelaySet}.
    function setClaimDelay(uint64 claimDelay_) external;

    /// @notice Sets how far ahead {holdCycle} may hold a cycle.
    /// Requirements: caller has DEFAULT_ADMIN_ROLE; `maxHoldPeriod_` ≤ 365 days
    /// ({ClearingHouseDelayTooLong}). Emits {MaxHoldPeriodSet}.
    function setMaxHoldPeriod(uint64 maxHoldPeriod_) external;

    /// @notice Seconds after commit from which anyone may {claim} (default 3 days).
    function claimDelay() external view returns (uint64);

    /// @notice Longest hold {holdCycle} accepts, in seconds (default 30 days).
    function maxHoldPeriod() external view returns (uint64);

    /// @notice Recovery path: pays `member`'s whole positive balance to `member`
    /// itself (never to the admin).
    /// Requirements: caller has DEFAULT_ADMIN_ROLE; paused; balance > 0
    /// ({ClearingHouseNothingToRecover}). Emits {MemberRecovered}.
    function recoverMember(address member) external;

    /// @notice Recovery path: pays `lender` its pool deposit, up to the undrawn
    /// part of the pool, to `lender` itself.
    /// Requirements: caller has DEFAULT_ADMIN_ROLE; paused; something payable
    /// ({ClearingHouseNothingToRecover}). Emits {LenderRecovered}.
    function recoverLender(address lender) external;

    /// @notice Sends tokens held beyond the accounted total (plain transfers by
    /// mistake) to `to`. Never touches accounted funds. Allowed while paused.
    /// Requirements: caller has DEFAULT_ADMIN_ROLE; `to` not zero; surplus > 0
    /// ({ClearingHouseNoSurplus}). Emits {SurplusSwept}.
    function sweepSurplus(address to) external;
}
