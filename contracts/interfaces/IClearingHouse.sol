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
/// - I1  Σ member balances + poolTotal + totalEscrowed − totalAdvanced ==
///       token.balanceOf(house) (less any surplus sent to the house by plain
///       transfer, which only {sweepSurplus} can move), through interest,
///       advances, defaults and write-downs;
/// - I2  creditDrawn == Σ max(0, −balance), and creditDrawn + totalAdvanced ≤ poolTotal;
/// - I3  a debit never takes a balance below −(creditLimit + pledged collateral
///       value at that moment); only interest, a fall in the pledges' value
///       and an advance's recourse can;
/// - I4  a cycle id is committed (or settled) at most once, and its deltas sum to zero;
/// - I5  per cycle, escrowed == Σ pendingCredit ≤ Σ (committed debit − refunded);
/// - I6  only OPERATOR_ROLE commits, settles, releases, holds or refunds; members
///       withdraw only free, non-negative balance; while paused no funds move
///       except by the admin's recovery path, which pays owners, never the admin;
/// - I7  Σ sharesOf + queued shares == totalShares; the share price
///       (poolTotal + 1) / (totalShares + 1e6) never falls except by a
///       write-down, and a write-down never raises it;
/// - I8  a loss reaches pool lenders (step 4) only after the defaulter's free
///       collateral, pledged assets and the receivables named are exhausted,
///       and whatever reaches the defaulter later repays the lenders first;
/// - I9  a defaulted member is never debited again (no cycle debit, no
///       withdrawal, no interest) until the risk role cures it, except the
///       recourse of an advance it took before;
/// - I10 totalAdvanced == Σ advances' outstanding principal; an advance on
///       (cycle, creditor) is repaid from that creditor's credit in the cycle
///       before any of it reaches the creditor's balance, and when the credit
///       left cannot repay it (a cancellation) the creditor's balance is
///       charged the rest at once (recourse).
///
/// The pool (ERC-4626-style shares)
/// --------------------------------
/// Lenders deposit the settlement token for shares. poolTotal is the pool's
/// equity: what lenders put in, plus interest charged to borrowers, less
/// losses written down. Shares convert with virtual offsets (1e6 virtual
/// shares, 1 virtual asset, as Morpho Blue does) and every conversion rounds
/// against the one it pays: a deposit mints shares rounded down, a withdrawal
/// burns shares rounded up, a redemption pays assets rounded down. Only the
/// undrawn part (poolTotal − creditDrawn) can leave; a lender who finds it
/// short queues its shares ({requestWithdrawal}), and anyone pays the queue in
/// order as liquidity returns ({processWithdrawals}). Queued shares keep
/// earning interest and bearing losses until paid.
///
/// Interest
/// --------
/// Borrowers (members with a negative balance) pay interest on what they draw
/// at an annual rate that rises with utilisation u = creditDrawn / poolTotal:
/// rate = baseRateBps + slopeRateBps × u. A global borrow index compounds at
/// every call that touches balances; a member's interest is charged to its
/// balance (rounded up, against the borrower) whenever its balance is touched
/// or anyone calls {accrueInterest}, and goes to the pool, so lenders earn it.
/// Interest may take a balance below −creditLimit: that is a breach the
/// service follows up (repayment deadline, then default).
///
/// Default and the waterfall
/// -------------------------
/// The risk role declares a member in default ({declareDefault}); from then
/// on it is suspended, accrues no interest and can never be debited. Its loss
/// (its debt to the pool) is then covered in a fixed order by
/// {allocateDefaultLoss}, each step a {DefaultLossAllocated} event:
/// 1. its free collateral (its positive balance: a debit always spends free
///    collateral before drawing credit, so a member that owes has none left);
/// 2. its pledged assets: the asset vault ({setAssetVault}) moves them to the
///    liquidator, a standing buyer that pays their full valuation (no
///    loan-to-value) in tokens into the defaulter's balance ({PledgesSold});
/// 3. its receivables pending in the committed cycles named (released into its
///    balance, at most what is still lost; held cycles are skipped; a
///    receivable it financed repays its advance first, so only the rest counts);
/// 4. the pool's lenders, pro rata: poolTotal falls, so the share price does.
/// What lenders absorbed is owed back to them: anything later credited to
/// the defaulter (a release, a refund, a deposit) repays them first
/// ({DefaultRecovered}). A defaulter that has repaid everything is restored by
/// the risk role ({cureDefault}).
///
/// Pledged assets
/// --------------
/// With an asset vault set ({setAssetVault}), a member's headroom counts its
/// pledged collateral value ({IAssetVault-collateralValueOf}: units × value ×
/// loan-to-value, stale valuations 0) on top of its credit limit:
/// available = max(0, balance) + min(max(0, creditLimit + pledged − debt),
/// undrawn pool). A debit reads the vault only when the limit alone does not
/// cover it, so a cycle within the lines makes no external call. The vault is
/// trusted (set by the admin, audited alongside) and its reads are views.
///
/// Receivable advances (supply-chain finance)
/// ------------------------------------------
/// The operator may pay a creditor early from the pool against its pending
/// credit in a committed, unheld cycle ({advanceReceivable}): `principal`
/// leaves the undrawn pool into the creditor's balance, and `principal + fee`
/// is assigned to the pool from that credit. Every release or claim of that
/// credit repays the advance first, principal then fee ({AdvanceRepaid}); the
/// fee is the lenders' income. If a refund cancels so much of the credit that
/// what is left cannot repay the advance, the creditor's balance is charged
/// the difference at once ({AdvanceRecourse}), even below its credit limit.
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
    /// @param creditLimit How far below zero a debit may take the balance (≤ 2^128 − 1).
    /// @param balance Signed balance in token units; negative is debt funded by the pool.
    /// @param defaulted Declared in default: suspended, never debited, no interest, until cured.
    /// @param owedToPool What lenders absorbed for this member in a write-down and have not recovered.
    struct Member {
        bool admitted;
        bool suspended;
        uint256 creditLimit;
        int256 balance;
        bool defaulted;
        uint256 owedToPool;
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
    /// @param deltasHash keccak256(abi.encode(members, deltas)) of a commit: each debtor's debit
    /// is read from that list when refunding, instead of a storage slot per debtor (0 for {settleCycle}).
    struct Cycle {
        bytes32 root;
        uint256 grossValue;
        uint256 escrowed;
        uint32 obligationCount;
        uint64 committedAt;
        uint64 claimableAt;
        uint64 heldUntil;
        CycleStatus status;
        bytes32 deltasHash;
    }

    /// @notice A queued pool withdrawal: `shares` of `lender` still waiting (0 once paid or cancelled).
    struct WithdrawalRequest {
        address lender;
        uint256 shares;
    }

    /// @notice The steps of the default waterfall, in the order they bear a loss.
    enum WaterfallStep {
        NONE,
        COLLATERAL,
        PLEDGED_ASSETS,
        RECEIVABLES,
        POOL_LENDERS
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
    /// @notice `lender` added `assets` to the pool for `shares`; the pool is now `poolTotal`.
    event PoolDeposited(address indexed lender, uint256 assets, uint256 shares, uint256 poolTotal);
    /// @notice `lender` burned `shares` for `assets` paid to `to`; the pool is now `poolTotal`.
    event PoolWithdrawn(address indexed lender, address indexed to, uint256 assets, uint256 shares, uint256 poolTotal);
    /// @notice `lender` queued `shares` for withdrawal as request `requestId`.
    event WithdrawalQueued(uint256 indexed requestId, address indexed lender, uint256 shares);
    /// @notice Request `requestId` was paid `assets` for `shares` (to its lender); `sharesLeft` still wait.
    event WithdrawalProcessed(
        uint256 indexed requestId, address indexed lender, uint256 shares, uint256 assets, uint256 sharesLeft
    );
    /// @notice `lender` cancelled request `requestId`; its `shares` came back to it.
    event WithdrawalCancelled(uint256 indexed requestId, address indexed lender, uint256 shares);
    /// @notice `member` was charged `amount` of interest, now in the pool (`poolTotal`); its balance is `balance`.
    event InterestCharged(address indexed member, uint256 amount, int256 balance, uint256 poolTotal);
    /// @notice Borrowers now pay `baseRateBps` + `slopeRateBps` × utilisation a year.
    event InterestRateModelSet(uint16 baseRateBps, uint16 slopeRateBps);
    /// @notice The risk role declared `member` in default for `reason`, with balance `balance`.
    event MemberDefaulted(address indexed member, bytes32 reason, int256 balance);
    /// @notice Waterfall `step` covered `amount` of `member`'s loss; `remainingLoss` is still uncovered.
    event DefaultLossAllocated(
        address indexed member, WaterfallStep indexed step, uint256 amount, uint256 remainingLoss
    );
    /// @notice Lenders absorbed `amount` of `member`'s loss: the pool fell to `poolTotal`.
    event PoolWrittenDown(address indexed member, uint256 amount, uint256 poolTotal);
    /// @notice `amount` credited to defaulted `member` went back to the pool (now `poolTotal`);
    /// `stillOwed` remains and the member's balance is now `balance`.
    event DefaultRecovered(
        address indexed member, uint256 amount, uint256 stillOwed, int256 balance, uint256 poolTotal
    );
    /// @notice The risk role restored `member`, which repaid everything, for `reason`.
    event DefaultCured(address indexed member, bytes32 reason);
    /// @notice Cycle `cycleId` was committed with `escrowed` moved from debtors into its escrow.
    event CycleCommitted(
        uint64 indexed cycleId, bytes32 root, uint32 obligationCount, uint256 grossValue, uint256 escrowed
    );
    /// @notice `member` paid `amount` into cycle `cycleId`'s escrow; its balance is now `balance`.
    event MemberDebited(uint64 indexed cycleId, address indexed member, uint256 amount, int256 balance);
    /// @notice `creditor` is owed `amount` from cycle `cycleId`'s escrow (its positive net delta).
    event CreditRecorded(uint64 indexed cycleId, address indexed creditor, uint256 amount);
    /// @notice `amount` of `creditor`'s pending credit in `cycleId` reached its balance, now `balance`
    /// (after any {AdvanceRepaid} took its part of the same release: the two sum to what left the pending credit).
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
    /// @notice The pool paid `creditor` `principal` now against its credit in `cycleId`, which owes the pool
    /// `principal + fee`; its balance is now `balance` and advances outstanding total `totalAdvanced`.
    event ReceivableAdvanced(
        uint64 indexed cycleId,
        address indexed creditor,
        uint256 principal,
        uint256 fee,
        int256 balance,
        uint256 totalAdvanced
    );
    /// @notice `creditor`'s credit released in `cycleId` repaid `principal` and `fee` of its advance to the
    /// pool (now `poolTotal`) before reaching its balance; `owedLeft` of the advance remains.
    event AdvanceRepaid(
        uint64 indexed cycleId,
        address indexed creditor,
        uint256 principal,
        uint256 fee,
        uint256 owedLeft,
        uint256 poolTotal
    );
    /// @notice The credit left in `cycleId` could not repay `creditor`'s advance: its balance (now
    /// `balance`) was charged `principal` and `fee` for the pool (now `poolTotal`).
    event AdvanceRecourse(
        uint64 indexed cycleId,
        address indexed creditor,
        uint256 principal,
        uint256 fee,
        int256 balance,
        uint256 poolTotal
    );
    /// @notice Defaulted `member`'s pledged assets went to `liquidator`, which paid their valuation `value`
    /// into the member's balance (now `balance`).
    event PledgesSold(address indexed member, address indexed liquidator, uint256 value, int256 balance);
    /// @notice Headroom now counts pledges in `vault`; seized pledges are sold to `liquidator`.
    event AssetVaultSet(address indexed vault, address indexed liquidator);
    /// @notice While paused, the admin paid `member`'s whole positive balance `amount` to the member.
    event MemberRecovered(address indexed member, uint256 amount);
    /// @notice While paused, the admin paid `lender` `amount` for `shares` of its pool position.
    event LenderRecovered(address indexed lender, uint256 amount, uint256 shares, uint256 poolTotal);
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
    /// @notice `member` can pay at most `available` (balance + creditLimit + pledged value) but `needed` was asked.
    error ClearingHouseInsufficientHeadroom(address member, uint256 available, uint256 needed);
    /// @notice `member` has `balance` but asked to withdraw `requested`.
    error ClearingHouseInsufficientBalance(address member, int256 balance, uint256 requested);
    /// @notice Credit drawn plus advances would be `drawn`, above the pool's `pool`.
    error ClearingHouseInsufficientPool(uint256 drawn, uint256 pool);
    /// @notice `lender` has `shares` in the pool but `requested` shares were needed.
    error ClearingHouseInsufficientShares(address lender, uint256 shares, uint256 requested);
    /// @notice Depositing `assets` would mint no share.
    error ClearingHouseZeroShares(uint256 assets);
    /// @notice `queuedShares` wait in the withdrawal queue: queue too ({requestWithdrawal}).
    error ClearingHouseWithdrawalsQueued(uint256 queuedShares);
    /// @notice Request `requestId` is not `caller`'s, or is already paid or cancelled.
    error ClearingHouseNotYourRequest(uint256 requestId, address caller);
    /// @notice A rate of `bps` a year is above the cap `max`.
    error ClearingHouseRateTooHigh(uint16 bps, uint16 max);
    /// @notice `creditLimit` is above the largest limit `max` the house stores.
    error ClearingHouseLimitTooLarge(uint256 creditLimit, uint256 max);
    /// @notice `member` is in default.
    error ClearingHouseMemberDefaulted(address member);
    /// @notice `member` is not in default.
    error ClearingHouseMemberNotDefaulted(address member);
    /// @notice Defaulted `member` still has `balance` and owes the pool `owedToPool`: it cannot be cured yet.
    error ClearingHouseDefaultNotRepaid(address member, int256 balance, uint256 owedToPool);
    /// @notice The members and deltas given for `cycleId` are not those it was committed with.
    error ClearingHouseDeltasMismatch(uint64 cycleId);
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
    /// @notice `creditor` already has an advance on its credit in `cycleId`.
    error ClearingHouseAdvanceExists(uint64 cycleId, address creditor);
    /// @notice An advance would assign `owed` of `creditor`'s credit in `cycleId`, more than its `pending`.
    error ClearingHouseAdvanceExceedsCredit(uint64 cycleId, address creditor, uint256 pending, uint256 owed);

    // ───────────────────────────── Members (RISK_ROLE) ─────────────────────────────

    /// @notice Admits `member` with a credit line of `creditLimit`.
    /// @param member The member platform's address.
    /// @param creditLimit How far below zero its balance may go (0 = no credit).
    /// Requirements:
    /// - caller has RISK_ROLE;
    /// - `member` is not zero and not yet admitted;
    /// - `creditLimit` ≤ type(uint128).max ({ClearingHouseLimitTooLarge}).
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
    /// Requirements: caller has RISK_ROLE; `member` admitted, suspended and not
    /// in default ({ClearingHouseMemberDefaulted}: {cureDefault} restores a defaulter).
    /// Emits {MemberResumed}.
    function resumeMember(address member) external;

    /// @notice Sets `member`'s credit limit.
    /// @param member An admitted member.
    /// @param creditLimit The new limit.
    /// Requirements:
    /// - caller has RISK_ROLE; `member` admitted;
    /// - the member's current debt ≤ `creditLimit` (else {ClearingHouseLimitBelowDebt});
    /// - `creditLimit` ≤ type(uint128).max ({ClearingHouseLimitTooLarge}).
    /// Emits {CreditLimitSet}.
    function setCreditLimit(address member, uint256 creditLimit) external;

    /// @notice `member`'s whole position.
    function memberOf(address member) external view returns (Member memory);

    /// @notice `member`'s signed balance (negative = debt funded by the pool).
    function balanceOf(address member) external view returns (int256);

    /// @notice What `member` could pay into a cycle right now:
    /// max(0, balance) + min(max(0, creditLimit + pledged − debt), poolTotal − creditDrawn − totalAdvanced),
    /// where pledged is its collateral value in the asset vault (0 without one).
    /// @dev 0 for a member that is not admitted or is suspended.
    function availableOf(address member) external view returns (uint256);

    // ───────────────────────────── Collateral ─────────────────────────────

    /// @notice Deposits `amount` tokens from the caller to the caller's balance.
    /// @param amount Token units, pulled with transferFrom (approve first).
    /// Requirements: not paused; `amount` > 0; caller admitted (a suspended or
    /// defaulted member may deposit, e.g. to repay debt).
    /// Emits {Deposited} (the whole amount reaches the balance); then, for a defaulter
    /// that owes the pool, {DefaultRecovered} for the part that moves on to the lenders.
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
    /// Requirements: not paused; `amount` > 0; `to` not zero; caller not in
    /// default ({ClearingHouseMemberDefaulted}); balance ≥ `amount`
    /// (else {ClearingHouseInsufficientBalance}). Suspended members may withdraw.
    /// Emits {Withdrawn}.
    function withdraw(uint256 amount, address to) external;

    // ───────────────────────────── Pool ─────────────────────────────

    /// @notice Lends `assets` tokens to the credit pool for shares.
    /// @return shares Minted to the caller: assets × (totalShares + 1e6) / (poolTotal + 1), rounded down.
    /// Requirements: not paused; `assets` > 0; at least one share ({ClearingHouseZeroShares}). Anyone may lend.
    /// Emits {PoolDeposited}.
    function poolDeposit(uint256 assets) external returns (uint256 shares);

    /// @notice Takes `assets` of the caller's pool position out, to `to`.
    /// @return shares Burned from the caller, rounded up.
    /// Requirements: not paused; `assets` > 0; `to` not zero; no withdrawal queued
    /// ({ClearingHouseWithdrawalsQueued}); shares ≤ the caller's ({ClearingHouseInsufficientShares});
    /// `assets` ≤ poolTotal − creditDrawn ({ClearingHouseInsufficientLiquidity}).
    /// Emits {PoolWithdrawn}.
    function poolWithdraw(uint256 assets, address to) external returns (uint256 shares);

    /// @notice Burns `shares` of the caller's for assets (rounded down), paid to `to`.
    /// Requirements: as {poolWithdraw}, and the assets must be > 0 ({ClearingHouseZeroAmount}).
    /// Emits {PoolWithdrawn}.
    function poolRedeem(uint256 shares, address to) external returns (uint256 assets);

    /// @notice Queues `shares` of the caller's for withdrawal when liquidity returns.
    /// @dev The shares leave the caller's position at once and wait in the queue,
    /// still earning interest and bearing losses, until paid or cancelled.
    /// Requirements: not paused; `shares` > 0 and ≤ the caller's ({ClearingHouseInsufficientShares}).
    /// Emits {WithdrawalQueued}.
    function requestWithdrawal(uint256 shares) external returns (uint256 requestId);

    /// @notice Takes the rest of queued request `requestId` back into the caller's position.
    /// Requirements: not paused; the request is the caller's and not finished ({ClearingHouseNotYourRequest}).
    /// Emits {WithdrawalCancelled}.
    function cancelWithdrawal(uint256 requestId) external;

    /// @notice Pays queued withdrawals in order from the undrawn part of the pool,
    /// looking at most at `maxRequests` of them (cancelled ones count, so the gas
    /// of a call is bounded); the last one paid may be paid in part.
    /// @dev Anyone may call (a keeper, the service, a lender). Assets round down.
    /// Requirements: not paused. Emits {WithdrawalProcessed} per request paid.
    /// @return processed How many requests were paid (in full or in part).
    function processWithdrawals(uint256 maxRequests) external returns (uint256 processed);

    /// @notice Charges each listed member the interest accrued on its debt since it was last charged.
    /// @dev Anyone may call; members without debt, not admitted or in default are skipped.
    /// Requirements: not paused. Emits {InterestCharged} per member charged.
    function accrueInterest(address[] calldata members) external;

    /// @notice The pool's equity: lenders' deposits + interest charged − losses − withdrawals.
    function poolTotal() external view returns (uint256);

    /// @notice Σ max(0, −balance) over members: the part of the pool lent out.
    function creditDrawn() external view returns (uint256);

    /// @notice What `lender`'s shares (not counting queued ones) are worth now, rounded down.
    function lenderBalance(address lender) external view returns (uint256);

    /// @notice `lender`'s shares, not counting queued ones.
    function sharesOf(address lender) external view returns (uint256);

    /// @notice All shares, queued ones included.
    function totalShares() external view returns (uint256);

    /// @notice Shares waiting in the withdrawal queue.
    function queuedShares() external view returns (uint256);

    /// @notice Assets `shares` are worth now, rounded down.
    function convertToAssets(uint256 shares) external view returns (uint256);

    /// @notice Shares `assets` buy now, rounded down.
    function convertToShares(uint256 assets) external view returns (uint256);

    /// @notice Queued request `requestId` (lender and shares still waiting).
    function withdrawalRequest(uint256 requestId) external view returns (WithdrawalRequest memory);

    /// @notice The queue's bounds: requests `head` ≤ id < `tail` may still wait.
    function withdrawalQueue() external view returns (uint256 head, uint256 tail);

    /// @notice Borrowers' annual rate now, in basis points (base + slope × utilisation).
    function borrowRateBps() external view returns (uint256);

    /// @notice The rate model: annual base and slope at full utilisation, in basis points.
    function interestRateModel() external view returns (uint16 baseRateBps, uint16 slopeRateBps);

    /// @notice The borrow index (1e18 at deployment), as of the last call that touched balances.
    function borrowIndex() external view returns (uint256);

    /// @notice Interest `member` would be charged if touched now (0 in default or without debt).
    function interestOwedOf(address member) external view returns (uint256);

    /// @notice Σ escrowed over all cycles.
    function totalEscrowed() external view returns (uint256);

    /// @notice Σ outstanding principal of receivable advances: pool money now in creditors' balances.
    function totalAdvanced() external view returns (uint256);

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
    /// - each debtor not suspended and its balance after the debit ≥ −(creditLimit + pledged value)
    ///   ({ClearingHouseInsufficientHeadroom}), measured before the debtor's interest
    ///   is charged: interest accrued since the headroom was read never fails a cycle;
    /// - Σ deltas == 0 ({ClearingHouseNetNotZero});
    /// - total debit ≤ `grossValue` ({ClearingHouseDebitExceedsGross});
    /// - creditDrawn + totalAdvanced ≤ poolTotal afterwards ({ClearingHouseInsufficientPool}).
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
    ///   after the debit ≥ −(creditLimit + pledged value) ({ClearingHouseInsufficientHeadroom});
    /// - Σ deltas == 0 ({ClearingHouseNetNotZero});
    /// - total debit ≤ `grossValue` ({ClearingHouseDebitExceedsGross});
    /// - creditDrawn + totalAdvanced ≤ poolTotal after the debits ({ClearingHouseInsufficientPool}).
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
    /// Emits {AdvanceRepaid} first for a financed credit, {CreditReleased} per creditor paid, {CycleReleased}, and
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
    /// @dev Debtors' debits are not stored per debtor (that would cost a fresh
    /// storage slot each per cycle): the caller repeats the committed lists,
    /// checked against the cycle's `deltasHash`, and each refund is bounded by
    /// the debtor's committed debit less what was refunded before ({refundedDebit}).
    /// @param members The members the cycle was committed with, in the same order.
    /// @param deltas The deltas the cycle was committed with.
    /// @param creditors Creditors whose pending credit is cancelled by `cancelled[i]`.
    /// @param cancelled Credit cancelled per creditor.
    /// @param refunded Per member of `members`: what comes back to it (0 for non-debtors).
    /// Requirements:
    /// - not paused; caller has OPERATOR_ROLE; cycle committed and not settled;
    /// - `members` and `deltas` hash to the cycle's `deltasHash` ({ClearingHouseDeltasMismatch});
    /// - equal lengths pairwise; each cancel ≤ pending ({ClearingHouseExceedsPending});
    ///   each refund ≤ the remaining debit ({ClearingHouseExceedsDebit});
    /// - Σ cancelled == Σ refunded ({ClearingHouseRefundMismatch}).
    /// Emits {CreditCancelled} (and {AdvanceRecourse} when a financed credit can no longer
    /// repay its advance) and {DebitRefunded} per entry, {CycleRefunded},
    /// and {CycleSettled} when the escrow reaches zero.
    function refundCycle(
        uint64 cycleId,
        address[] calldata members,
        int256[] calldata deltas,
        address[] calldata creditors,
        uint256[] calldata cancelled,
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

    /// @notice What `debtor` has been refunded from `cycleId` so far; what it could
    /// still be refunded is its committed debit (from the cycle's deltas) less this.
    function refundedDebit(uint64 cycleId, address debtor) external view returns (uint256);

    /// @notice Pays `creditor` `principal` from the undrawn pool now, against its
    /// pending credit in `cycleId`, which then owes the pool `principal + fee`
    /// (see "Receivable advances"). The service prices it (haircut by the
    /// debtor's tier, discount for the days to release) and passes the result.
    /// Requirements:
    /// - not paused; caller has OPERATOR_ROLE; `principal` > 0 ({ClearingHouseZeroAmount});
    /// - cycle committed, not settled, not held;
    /// - `creditor` admitted and not suspended ({ClearingHouseNotMember}, {ClearingHouseMemberSuspended});
    /// - no advance yet on (`cycleId`, `creditor`) ({ClearingHouseAdvanceExists});
    /// - `principal + fee` ≤ its pending credit ({ClearingHouseAdvanceExceedsCredit});
    /// - `principal` ≤ poolTotal − creditDrawn − totalAdvanced ({ClearingHouseInsufficientLiquidity}).
    /// Emits {ReceivableAdvanced} (and {InterestCharged} if the creditor owed interest).
    function advanceReceivable(uint64 cycleId, address creditor, uint256 principal, uint256 fee) external;

    /// @notice What `creditor`'s advance on its credit in `cycleId` still owes the pool (0, 0 if none).
    function advanceOf(uint64 cycleId, address creditor) external view returns (uint256 principal, uint256 fee);

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

    // ───────────────────────────── Default (RISK_ROLE) ─────────────────────────────

    /// @notice Declares `member` in default: suspended, charged its interest up
    /// to now and then no more, never debited again until cured.
    /// @param reason A short reason code (e.g. "repayment-deadline", "cycle-debit", or an operator's).
    /// Requirements: not paused; caller has RISK_ROLE; `member` admitted
    /// ({ClearingHouseNotMember}) and not already in default ({ClearingHouseMemberDefaulted}).
    /// Emits {InterestCharged} if any was due, {MemberSuspended} if it was not
    /// suspended, and {MemberDefaulted}.
    function declareDefault(address member, bytes32 reason) external;

    /// @notice Covers defaulted `member`'s loss (its debt) by the waterfall, in
    /// order: free collateral, pledged assets, its receivables pending in
    /// `cycleIds` (committed and not held; others are skipped), then the pool's
    /// lenders pro rata. Safe to call again: a member without debt allocates 0.
    /// @return writtenDown What the lenders absorbed (step 4).
    /// Requirements: not paused; caller has RISK_ROLE; `member` in default
    /// ({ClearingHouseMemberNotDefaulted}).
    /// Emits {DefaultLossAllocated} for each of the four steps (amount 0 when a
    /// step had nothing), {PledgesSold} when pledges are seized,
    /// {AdvanceRepaid}/{CreditReleased}/{CycleReleased}/{CycleSettled} for
    /// receivables taken, and {PoolWrittenDown} when lenders bear a loss.
    /// Step 2 calls the vault's {IAssetVault-seize} and pulls the value from the
    /// liquidator last, after every effect; if the liquidator cannot pay, the
    /// whole call reverts and nothing moves.
    function allocateDefaultLoss(address member, uint64[] calldata cycleIds) external returns (uint256 writtenDown);

    /// @notice Restores defaulted `member`, which repaid everything (balance ≥ 0 and
    /// nothing owed to the pool): no longer in default nor suspended.
    /// Requirements: caller has RISK_ROLE; `member` in default; balance ≥ 0 and
    /// owedToPool 0 ({ClearingHouseDefaultNotRepaid}).
    /// Emits {DefaultCured} and {MemberResumed}.
    function cureDefault(address member, bytes32 reason) external;

    // ───────────────────────────── Admin (DEFAULT_ADMIN_ROLE) ─────────────────────────────

    /// @notice Counts pledges in `vault` (an {IAssetVault} of this house) in
    /// headroom, and sells a defaulter's seized pledges to `liquidator`, which
    /// must have approved the house for the token (step 2 of the waterfall).
    /// Setting the zero vault stops counting pledges.
    /// Requirements: caller has DEFAULT_ADMIN_ROLE; `liquidator` not zero when
    /// `vault` is set ({ClearingHouseZeroAddress}). Emits {AssetVaultSet}.
    function setAssetVault(address vault, address liquidator) external;

    /// @notice The asset vault and the liquidator set by {setAssetVault}.
    function assetVault() external view returns (address vault, address liquidator);

    /// @notice Sets the borrowers' annual rate: `baseRateBps` + `slopeRateBps` × utilisation.
    /// @dev Interest accrued so far is compounded at the old rate first.
    /// Requirements: caller has DEFAULT_ADMIN_ROLE; `baseRateBps` ≤ MAX_RATE_BPS (10000) and
    /// `slopeRateBps` ≤ MAX_RATE_BPS − `baseRateBps`, so the rate never passes 100% a year
    /// ({ClearingHouseRateTooHigh} with the value and its cap).
    /// Emits {InterestRateModelSet}.
    function setInterestRateModel(uint16 baseRateBps, uint16 slopeRateBps) external;

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

    /// @notice Recovery path: redeems `lender`'s shares (not queued ones), up to
    /// the undrawn part of the pool, paying `lender` itself.
    /// Requirements: caller has DEFAULT_ADMIN_ROLE; paused; something payable
    /// ({ClearingHouseNothingToRecover}). Emits {LenderRecovered}.
    function recoverLender(address lender) external;

    /// @notice Sends tokens held beyond the accounted total (plain transfers by
    /// mistake) to `to`. Never touches accounted funds. Allowed while paused.
    /// Requirements: caller has DEFAULT_ADMIN_ROLE; `to` not zero; surplus > 0
    /// ({ClearingHouseNoSurplus}). Emits {SurplusSwept}.
    function sweepSurplus(address to) external;
}
