// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IERC5267} from "@openzeppelin/contracts/interfaces/IERC5267.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IAssetVault} from "./interfaces/IAssetVault.sol";
import {IClearingHouse} from "./interfaces/IClearingHouse.sol";

/// @title ClearingHouse
/// @notice Implementation of {IClearingHouse}; the interface is the specification.
/// @dev Every entry point is shaped checks → effects → emit → transfer. Cycle
/// operations move only internal balances; their one external call is a view
/// of the trusted asset vault, made only for a debit beyond the credit limit.
contract ClearingHouse is IClearingHouse, AccessControl, Pausable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// @notice Commits, releases, holds and refunds cycles.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @notice Admits, suspends and resumes members and sets credit limits.
    bytes32 public constant RISK_ROLE = keccak256("RISK_ROLE");
    /// @notice Hard cap on the claim delay and the hold period, so no setting can lock funds for long.
    uint64 public constant MAX_DELAY = 365 days;

    /// @notice Highest annual borrow rate the model may reach (base + slope), in basis points.
    uint16 public constant MAX_RATE_BPS = 10_000;

    uint256 private constant BPS = 10_000;
    uint256 private constant WAD = 1e18;
    uint256 private constant YEAR = 365 days;
    /// @dev Virtual shares and assets (Morpho Blue's offsets): the first
    /// depositor cannot inflate the share price against the next.
    uint256 private constant VIRTUAL_SHARES = 1e6;
    uint256 private constant VIRTUAL_ASSETS = 1;

    /// @dev A member in two storage slots: the balance, and the rest packed,
    /// so a cycle reads two cold slots per member instead of three. The
    /// interest index fits 96 bits for decades even at MAX_RATE_BPS (it starts
    /// at 1e18 and SafeCast reverts rather than wraps past 7.9e28).
    struct MemberSlot {
        int256 balance;
        uint128 creditLimit;
        uint96 interestIndex;
        bool admitted;
        bool suspended;
        bool defaulted;
    }

    /// @dev What an advance on one (cycle, creditor) credit still owes the pool.
    struct Advance {
        uint128 principal;
        uint128 fee;
    }

    IERC20 private immutable _token;

    mapping(address member => MemberSlot) private _members;
    mapping(address member => uint256) private _owedToPool;
    mapping(address lender => uint256) private _shares;
    mapping(uint256 requestId => WithdrawalRequest) private _requests;
    mapping(uint64 cycleId => Cycle) private _cycles;
    mapping(uint64 cycleId => mapping(address creditor => uint256)) private _pendingCredits;
    mapping(uint64 cycleId => mapping(address debtor => uint256)) private _refundedDebits;
    mapping(uint64 cycleId => mapping(address creditor => Advance)) private _advances;

    /// @dev The pool's equity (lenders' assets).
    uint256 private _poolTotal;
    /// @dev Σ max(0, −balance); changed only in {_setBalance}.
    uint256 private _creditDrawn;
    uint256 private _totalEscrowed;
    /// @dev Σ balance; changed only in {_setBalance}.
    int256 private _totalBalances;
    uint256 private _totalShares;
    uint256 private _queuedShares;
    uint256 private _queueHead;
    uint256 private _queueTail;
    uint64 private _claimDelay;
    uint64 private _maxHoldPeriod;
    uint16 private _baseRateBps;
    uint16 private _slopeRateBps;
    uint192 private _borrowIndex;
    uint64 private _lastAccrual;
    /// @dev Σ outstanding advance principal (pool money in creditors' balances).
    uint256 private _totalAdvanced;
    IAssetVault private _vault;
    address private _liquidator;

    /// @param token_ The settlement token (see the token assumptions in {IClearingHouse}).
    /// @param admin Receives DEFAULT_ADMIN_ROLE and grants the other roles.
    constructor(IERC20 token_, address admin) {
        if (address(token_) == address(0) || admin == address(0)) revert ClearingHouseZeroAddress();
        _token = token_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _claimDelay = 3 days;
        emit ClaimDelaySet(3 days);
        _maxHoldPeriod = 30 days;
        emit MaxHoldPeriodSet(30 days);
        _borrowIndex = uint192(WAD);
        _lastAccrual = uint64(block.timestamp);
        emit InterestRateModelSet(0, 0);
    }

    /// @inheritdoc IERC5267
    /// @dev The domain debtors sign obligations under, written out rather than
    /// inherited from OpenZeppelin's EIP712: the house verifies no signature
    /// itself, so it needs the domain, not the hashing code (about 330 bytes).
    function eip712Domain()
        external
        view
        returns (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        )
    {
        return (hex"0f", "ClearingHouse", "1", block.chainid, address(this), bytes32(0), new uint256[](0));
    }

    // ───────────────────────────── Members ─────────────────────────────

    /// @inheritdoc IClearingHouse
    function admitMember(address member, uint256 creditLimit) external onlyRole(RISK_ROLE) {
        if (member == address(0)) revert ClearingHouseZeroAddress();
        MemberSlot storage m = _members[member];
        if (m.admitted) revert ClearingHouseAlreadyMember(member);

        m.admitted = true;
        m.creditLimit = _limit(creditLimit);
        emit MemberAdmitted(member, creditLimit);
    }

    /// @inheritdoc IClearingHouse
    function suspendMember(address member) external onlyRole(RISK_ROLE) {
        MemberSlot storage m = _members[member];
        if (!m.admitted) revert ClearingHouseNotMember(member);
        if (m.suspended) revert ClearingHouseMemberSuspended(member);

        m.suspended = true;
        emit MemberSuspended(member);
    }

    /// @inheritdoc IClearingHouse
    function resumeMember(address member) external onlyRole(RISK_ROLE) {
        MemberSlot storage m = _members[member];
        if (!m.admitted) revert ClearingHouseNotMember(member);
        if (!m.suspended) revert ClearingHouseMemberNotSuspended(member);
        if (m.defaulted) revert ClearingHouseMemberDefaulted(member);

        m.suspended = false;
        emit MemberResumed(member);
    }

    /// @inheritdoc IClearingHouse
    function setCreditLimit(address member, uint256 creditLimit) external onlyRole(RISK_ROLE) {
        MemberSlot storage m = _members[member];
        if (!m.admitted) revert ClearingHouseNotMember(member);
        uint256 debt = _debtOf(m.balance);
        if (debt > creditLimit) revert ClearingHouseLimitBelowDebt(member, debt, creditLimit);

        uint256 previous = m.creditLimit;
        m.creditLimit = _limit(creditLimit);
        emit CreditLimitSet(member, previous, creditLimit);
    }

    /// @inheritdoc IClearingHouse
    function memberOf(address member) external view returns (Member memory) {
        MemberSlot storage m = _members[member];
        return Member({
            admitted: m.admitted,
            suspended: m.suspended,
            creditLimit: m.creditLimit,
            balance: m.balance,
            defaulted: m.defaulted,
            owedToPool: _owedToPool[member]
        });
    }

    /// @inheritdoc IClearingHouse
    function balanceOf(address member) external view returns (int256) {
        return _members[member].balance;
    }

    /// @inheritdoc IClearingHouse
    function availableOf(address member) external view returns (uint256) {
        MemberSlot storage m = _members[member];
        if (!m.admitted || m.suspended) return 0;
        int256 balance = m.balance;
        // casting to uint256 is safe because balance > 0 in that branch
        // forge-lint: disable-next-line(unsafe-typecast)
        uint256 free = balance > 0 ? uint256(balance) : 0;
        uint256 cover = m.creditLimit + _pledgedValue(member);
        uint256 debt = _debtOf(balance);
        return free + Math.min(cover > debt ? cover - debt : 0, _undrawn());
    }

    // ───────────────────────────── Collateral ─────────────────────────────

    /// @inheritdoc IClearingHouse
    function deposit(uint256 amount) external nonReentrant whenNotPaused {
        _deposit(msg.sender, amount);
    }

    /// @inheritdoc IClearingHouse
    function depositFor(address member, uint256 amount) external nonReentrant whenNotPaused {
        _deposit(member, amount);
    }

    /// @inheritdoc IClearingHouse
    function withdraw(uint256 amount, address to) external nonReentrant whenNotPaused {
        if (amount == 0) revert ClearingHouseZeroAmount();
        if (to == address(0)) revert ClearingHouseZeroAddress();
        MemberSlot storage m = _members[msg.sender];
        if (m.defaulted) revert ClearingHouseMemberDefaulted(msg.sender);
        int256 balance = m.balance;
        // casting to uint256 is safe because balance ≥ 0 once the left operand is false
        // forge-lint: disable-next-line(unsafe-typecast)
        if (balance < 0 || uint256(balance) < amount) {
            revert ClearingHouseInsufficientBalance(msg.sender, balance, amount);
        }

        int256 newBalance;
        // 0 < amount ≤ balance ≤ type(int256).max: the cast is exact and the result is ≥ 0.
        unchecked {
            // forge-lint: disable-next-line(unsafe-typecast)
            newBalance = balance - int256(amount);
        }
        _setBalance(m, balance, newBalance);
        emit Withdrawn(msg.sender, to, amount, newBalance);

        _token.safeTransfer(to, amount);
    }

    // ───────────────────────────── Pool ─────────────────────────────

    /// @inheritdoc IClearingHouse
    function poolDeposit(uint256 assets) external nonReentrant whenNotPaused returns (uint256 shares) {
        if (assets == 0) revert ClearingHouseZeroAmount();
        _accrueIndex();
        uint256 pool = _poolTotal;
        shares = _toShares(assets, pool, Math.Rounding.Floor);
        if (shares == 0) revert ClearingHouseZeroShares(assets);

        _shares[msg.sender] += shares;
        _totalShares += shares;
        pool += assets;
        _poolTotal = pool;
        emit PoolDeposited(msg.sender, assets, shares, pool);

        _token.safeTransferFrom(msg.sender, address(this), assets);
    }

    /// @inheritdoc IClearingHouse
    function poolWithdraw(uint256 assets, address to) external nonReentrant whenNotPaused returns (uint256 shares) {
        if (assets == 0) revert ClearingHouseZeroAmount();
        _accrueIndex();
        shares = _toShares(assets, _poolTotal, Math.Rounding.Ceil);
        _payOut(msg.sender, to, assets, shares);
    }

    /// @inheritdoc IClearingHouse
    function poolRedeem(uint256 shares, address to) external nonReentrant whenNotPaused returns (uint256 assets) {
        _accrueIndex();
        assets = _toAssets(shares, _poolTotal, Math.Rounding.Floor);
        if (assets == 0) revert ClearingHouseZeroAmount();
        _payOut(msg.sender, to, assets, shares);
    }

    /// @inheritdoc IClearingHouse
    function requestWithdrawal(uint256 shares) external nonReentrant whenNotPaused returns (uint256 requestId) {
        if (shares == 0) revert ClearingHouseZeroAmount();
        uint256 held = _shares[msg.sender];
        if (shares > held) revert ClearingHouseInsufficientShares(msg.sender, held, shares);

        // shares ≤ held.
        unchecked {
            _shares[msg.sender] = held - shares;
        }
        _queuedShares += shares;
        requestId = _queueTail++;
        _requests[requestId] = WithdrawalRequest({lender: msg.sender, shares: shares});
        emit WithdrawalQueued(requestId, msg.sender, shares);
    }

    /// @inheritdoc IClearingHouse
    function cancelWithdrawal(uint256 requestId) external nonReentrant whenNotPaused {
        WithdrawalRequest storage r = _requests[requestId];
        uint256 shares = r.shares;
        if (r.lender != msg.sender || shares == 0) revert ClearingHouseNotYourRequest(requestId, msg.sender);

        r.shares = 0;
        _queuedShares -= shares;
        _shares[msg.sender] += shares;
        emit WithdrawalCancelled(requestId, msg.sender, shares);
    }

    /// @inheritdoc IClearingHouse
    /// @dev Each request's effects complete before its transfer, and the
    /// guard blocks re-entry, so a later iteration reads settled state.
    function processWithdrawals(uint256 maxRequests) external nonReentrant whenNotPaused returns (uint256 processed) {
        _accrueIndex();
        uint256 head = _queueHead;
        uint256 end = head + Math.min(maxRequests, _queueTail - head);
        while (head < end) {
            WithdrawalRequest storage r = _requests[head];
            uint256 waiting = r.shares;
            if (waiting == 0) {
                ++head; // cancelled: it counts against maxRequests, so the loop stays bounded
                continue;
            }
            uint256 pool = _poolTotal;
            (uint256 shares, uint256 assets) = _redeemable(waiting, pool, _undrawn());
            if (shares != waiting && assets == 0) break; // the liquidity pays nothing of it yet
            address lender = r.lender;
            uint256 left = waiting - shares;
            r.shares = left;
            _queuedShares -= shares;
            _totalShares -= shares;
            _poolTotal = pool - assets;
            ++processed;
            emit WithdrawalProcessed(head, lender, shares, assets, left);
            _token.safeTransfer(lender, assets);
            if (left != 0) break;
            ++head;
        }
        _queueHead = head;
    }

    /// @inheritdoc IClearingHouse
    function accrueInterest(address[] calldata members) external nonReentrant whenNotPaused {
        uint256 index = _accrueIndex();
        for (uint256 i; i < members.length;) {
            address member = members[i];
            MemberSlot storage m = _members[member];
            if (m.admitted) _chargeInterest(member, m, index);
            // i < members.length.
            unchecked {
                ++i;
            }
        }
    }

    /// @inheritdoc IClearingHouse
    function poolTotal() external view returns (uint256) {
        return _poolTotal;
    }

    /// @inheritdoc IClearingHouse
    function creditDrawn() external view returns (uint256) {
        return _creditDrawn;
    }

    /// @inheritdoc IClearingHouse
    function lenderBalance(address lender) external view returns (uint256) {
        return _toAssets(_shares[lender], _poolTotal, Math.Rounding.Floor);
    }

    /// @inheritdoc IClearingHouse
    function sharesOf(address lender) external view returns (uint256) {
        return _shares[lender];
    }

    /// @inheritdoc IClearingHouse
    function totalShares() external view returns (uint256) {
        return _totalShares;
    }

    /// @inheritdoc IClearingHouse
    function queuedShares() external view returns (uint256) {
        return _queuedShares;
    }

    /// @inheritdoc IClearingHouse
    function convertToAssets(uint256 shares) external view returns (uint256) {
        return _toAssets(shares, _poolTotal, Math.Rounding.Floor);
    }

    /// @inheritdoc IClearingHouse
    function convertToShares(uint256 assets) external view returns (uint256) {
        return _toShares(assets, _poolTotal, Math.Rounding.Floor);
    }

    /// @inheritdoc IClearingHouse
    function withdrawalRequest(uint256 requestId) external view returns (WithdrawalRequest memory) {
        return _requests[requestId];
    }

    /// @inheritdoc IClearingHouse
    function withdrawalQueue() external view returns (uint256 head, uint256 tail) {
        return (_queueHead, _queueTail);
    }

    /// @inheritdoc IClearingHouse
    function borrowRateBps() external view returns (uint256) {
        return _rateBps(_creditDrawn, _poolTotal);
    }

    /// @inheritdoc IClearingHouse
    function interestRateModel() external view returns (uint16 baseRateBps, uint16 slopeRateBps) {
        return (_baseRateBps, _slopeRateBps);
    }

    /// @inheritdoc IClearingHouse
    function borrowIndex() external view returns (uint256) {
        return _borrowIndex;
    }

    /// @inheritdoc IClearingHouse
    function interestOwedOf(address member) external view returns (uint256) {
        MemberSlot storage m = _members[member];
        return m.defaulted ? 0 : _interestOn(m.balance, m.interestIndex, _indexNow());
    }

    /// @inheritdoc IClearingHouse
    function totalEscrowed() external view returns (uint256) {
        return _totalEscrowed;
    }

    /// @inheritdoc IClearingHouse
    function totalAdvanced() external view returns (uint256) {
        return _totalAdvanced;
    }

    /// @inheritdoc IClearingHouse
    function totalBalances() external view returns (int256) {
        return _totalBalances;
    }

    /// @inheritdoc IClearingHouse
    function token() external view returns (IERC20) {
        return _token;
    }

    // ───────────────────────────── Cycles ─────────────────────────────

    /// @inheritdoc IClearingHouse
    /// @dev One pass over the members ({_applyDeltas}): per-member checks,
    /// effects and events interleave, and the checks that need the whole batch
    /// (Σ deltas, gross, pool) run after the loop; a revert there undoes the
    /// loop's effects. `members` strictly ascending makes each member appear once.
    function commitCycle(
        uint64 cycleId,
        bytes32 root,
        uint32 obligationCount,
        uint256 grossValue,
        address[] calldata members,
        int256[] calldata deltas
    ) external nonReentrant whenNotPaused onlyRole(OPERATOR_ROLE) {
        (Cycle storage c, uint256 debit) = _debitCycle(cycleId, grossValue, members, deltas, true);

        uint64 claimableAt = uint64(block.timestamp) + _claimDelay;
        CycleStatus status = debit != 0 ? CycleStatus.COMMITTED : CycleStatus.SETTLED;
        _recordCycle(c, root, grossValue, obligationCount, claimableAt, status);
        if (debit != 0) {
            c.escrowed = debit;
            _totalEscrowed += debit;
            c.deltasHash = _deltasHash(members, deltas);
        }
        emit CycleCommitted(cycleId, root, obligationCount, grossValue, debit);
        if (debit == 0) emit CycleSettled(cycleId);
    }

    /// @inheritdoc IClearingHouse
    /// @dev The commit's pass ({_debitCycle}) without the escrow writes: all
    /// checks, the debits and their events, including the pool check on the
    /// post-debit state. A second pass ({_creditMembers}) then credits the
    /// creditors, which can only lower creditDrawn, so I2 still holds at the
    /// end. The second pass comes after {CycleCommitted} so that the event
    /// sequence is exactly commit then full release. Nothing is escrowed, so
    /// totalEscrowed is not touched and the claim delay is not read.
    function settleCycle(
        uint64 cycleId,
        bytes32 root,
        uint32 obligationCount,
        uint256 grossValue,
        address[] calldata members,
        int256[] calldata deltas
    ) external nonReentrant whenNotPaused onlyRole(OPERATOR_ROLE) {
        (Cycle storage c, uint256 debit) = _debitCycle(cycleId, grossValue, members, deltas, false);

        _recordCycle(c, root, grossValue, obligationCount, 0, CycleStatus.SETTLED);
        emit CycleCommitted(cycleId, root, obligationCount, grossValue, debit);
        if (debit != 0) {
            _creditMembers(cycleId, members, deltas);
            emit CycleReleased(cycleId, debit, 0);
        }
        emit CycleSettled(cycleId);
    }

    /// @inheritdoc IClearingHouse
    function releaseCycle(uint64 cycleId, address[] calldata creditors, uint256[] calldata amounts)
        external
        nonReentrant
        whenNotPaused
        onlyRole(OPERATOR_ROLE)
    {
        uint256 n = creditors.length;
        if (amounts.length != n) revert ClearingHouseLengthMismatch(n, amounts.length);
        Cycle storage c = _releasableCycle(cycleId);
        _accrueIndex();

        mapping(address => uint256) storage credits = _pendingCredits[cycleId];
        uint256 released;
        for (uint256 i; i < n;) {
            uint256 amount = amounts[i];
            if (amount != 0) {
                address creditor = creditors[i];
                uint256 pending = credits[creditor];
                if (amount > pending) revert ClearingHouseExceedsPending(cycleId, creditor, pending, amount);
                _releaseCredit(cycleId, credits, creditor, pending, amount);
                released += amount;
            }
            // i < n ≤ calldata length.
            unchecked {
                ++i;
            }
        }
        _afterRelease(cycleId, c, released);
    }

    /// @inheritdoc IClearingHouse
    function releaseCycleProRata(uint64 cycleId, address[] calldata creditors, uint16 bps)
        external
        nonReentrant
        whenNotPaused
        onlyRole(OPERATOR_ROLE)
    {
        if (bps == 0 || bps > BPS) revert ClearingHouseInvalidBps(bps);
        Cycle storage c = _releasableCycle(cycleId);
        _accrueIndex();

        mapping(address => uint256) storage credits = _pendingCredits[cycleId];
        uint256 n = creditors.length;
        uint256 released;
        for (uint256 i; i < n;) {
            address creditor = creditors[i];
            uint256 pending = credits[creditor];
            uint256 amount = _shareDown(pending, bps);
            if (amount != 0) {
                _releaseCredit(cycleId, credits, creditor, pending, amount);
                released += amount;
            }
            // i < n ≤ calldata length.
            unchecked {
                ++i;
            }
        }
        _afterRelease(cycleId, c, released);
    }

    /// @inheritdoc IClearingHouse
    function holdCycle(uint64 cycleId, uint64 until) external onlyRole(OPERATOR_ROLE) {
        Cycle storage c = _cycles[cycleId];
        _requireOpen(cycleId, c.status);
        uint64 nowTime = uint64(block.timestamp);
        if (until <= nowTime) revert ClearingHouseHoldInPast(until, nowTime);
        uint64 maxUntil = nowTime + _maxHoldPeriod;
        if (until > maxUntil) revert ClearingHouseHoldTooLong(until, maxUntil);

        c.heldUntil = until;
        uint64 claimableAt = c.claimableAt;
        if (until > claimableAt) {
            claimableAt = until;
            c.claimableAt = until;
        }
        emit CycleHeld(cycleId, until, claimableAt);
    }

    /// @inheritdoc IClearingHouse
    function refundCycle(
        uint64 cycleId,
        address[] calldata members,
        int256[] calldata deltas,
        address[] calldata creditors,
        uint256[] calldata cancelled,
        uint256[] calldata refunded
    ) external nonReentrant whenNotPaused onlyRole(OPERATOR_ROLE) {
        if (cancelled.length != creditors.length) {
            revert ClearingHouseLengthMismatch(creditors.length, cancelled.length);
        }
        if (refunded.length != members.length) revert ClearingHouseLengthMismatch(members.length, refunded.length);
        Cycle storage c = _refundableCycle(cycleId, members, deltas);
        _accrueIndex(); // a recourse charges interest first

        uint256 total = _cancelCredits(cycleId, creditors, cancelled);
        uint256 totalRefunded = _refundDebits(cycleId, members, deltas, refunded);
        if (total != totalRefunded) revert ClearingHouseRefundMismatch(total, totalRefunded);
        _afterRefund(cycleId, c, total);
    }

    /// @inheritdoc IClearingHouse
    function claim(uint64 cycleId, address creditor) external nonReentrant whenNotPaused {
        Cycle storage c = _releasableCycle(cycleId);
        uint64 claimableAt = c.claimableAt;
        if (block.timestamp < claimableAt) revert ClearingHouseClaimTooEarly(cycleId, claimableAt);
        mapping(address => uint256) storage credits = _pendingCredits[cycleId];
        uint256 pending = credits[creditor];
        if (pending == 0) revert ClearingHouseNothingToClaim(cycleId, creditor);

        _accrueIndex();
        _releaseCredit(cycleId, credits, creditor, pending, pending);
        _afterRelease(cycleId, c, pending);
    }

    /// @inheritdoc IClearingHouse
    function cycleOf(uint64 cycleId) external view returns (Cycle memory) {
        return _cycles[cycleId];
    }

    /// @inheritdoc IClearingHouse
    function pendingCredit(uint64 cycleId, address creditor) external view returns (uint256) {
        return _pendingCredits[cycleId][creditor];
    }

    /// @inheritdoc IClearingHouse
    function refundedDebit(uint64 cycleId, address debtor) external view returns (uint256) {
        return _refundedDebits[cycleId][debtor];
    }

    /// @inheritdoc IClearingHouse
    function advanceReceivable(uint64 cycleId, address creditor, uint256 principal, uint256 fee)
        external
        nonReentrant
        whenNotPaused
        onlyRole(OPERATOR_ROLE)
    {
        if (principal == 0) revert ClearingHouseZeroAmount();
        _releasableCycle(cycleId);
        MemberSlot storage m = _members[creditor];
        if (!m.admitted) revert ClearingHouseNotMember(creditor);
        if (m.suspended) revert ClearingHouseMemberSuspended(creditor);
        Advance storage a = _advances[cycleId][creditor];
        if (a.principal != 0 || a.fee != 0) revert ClearingHouseAdvanceExists(cycleId, creditor);
        uint256 pending = _pendingCredits[cycleId][creditor];
        uint256 owed = principal + fee;
        if (owed > pending) revert ClearingHouseAdvanceExceedsCredit(cycleId, creditor, pending, owed);
        uint256 index = _accrueIndex();
        uint256 undrawn = _undrawn();
        if (principal > undrawn) revert ClearingHouseInsufficientLiquidity(undrawn, principal);

        a.principal = principal.toUint128();
        a.fee = fee.toUint128();
        uint256 advanced = _totalAdvanced + principal;
        _totalAdvanced = advanced;
        int256 newBalance = _credit(creditor, m, principal, index);
        emit ReceivableAdvanced(cycleId, creditor, principal, fee, newBalance, advanced);
    }

    /// @inheritdoc IClearingHouse
    function advanceOf(uint64 cycleId, address creditor) external view returns (uint256 principal, uint256 fee) {
        Advance storage a = _advances[cycleId][creditor];
        return (a.principal, a.fee);
    }

    /// @inheritdoc IClearingHouse
    function verifyObligation(
        uint64 cycleId,
        bytes32 obligationId,
        address debtor,
        address creditor,
        uint256 amount,
        bytes32[] calldata proof
    ) external view returns (bool) {
        bytes32 root = _cycles[cycleId].root;
        if (root == bytes32(0)) return false;
        return MerkleProof.verifyCalldata(proof, root, _obligationLeaf(cycleId, obligationId, debtor, creditor, amount));
    }

    /// @inheritdoc IClearingHouse
    function obligationLeaf(uint64 cycleId, bytes32 obligationId, address debtor, address creditor, uint256 amount)
        external
        pure
        returns (bytes32)
    {
        return _obligationLeaf(cycleId, obligationId, debtor, creditor, amount);
    }

    // ───────────────────────────── Default ─────────────────────────────

    /// @inheritdoc IClearingHouse
    function declareDefault(address member, bytes32 reason) external nonReentrant whenNotPaused onlyRole(RISK_ROLE) {
        MemberSlot storage m = _members[member];
        if (!m.admitted) revert ClearingHouseNotMember(member);
        if (m.defaulted) revert ClearingHouseMemberDefaulted(member);

        int256 balance = _chargeInterest(member, m, _accrueIndex());
        m.defaulted = true;
        if (!m.suspended) {
            m.suspended = true;
            emit MemberSuspended(member);
        }
        emit MemberDefaulted(member, reason, balance);
    }

    /// @inheritdoc IClearingHouse
    /// @dev Steps run in their fixed order within the call; each emits its
    /// {DefaultLossAllocated} even at 0, so an indexer sees the whole order.
    function allocateDefaultLoss(address member, uint64[] calldata cycleIds)
        external
        nonReentrant
        whenNotPaused
        onlyRole(RISK_ROLE)
        returns (uint256 writtenDown)
    {
        MemberSlot storage m = _members[member];
        if (!m.defaulted) revert ClearingHouseMemberNotDefaulted(member);
        _accrueIndex(); // no interest for a defaulter, but releases below read the index

        // Step 1: free collateral. A debit spends positive balance before it
        // draws credit, so any collateral left stands against the loss already.
        int256 balance = m.balance;
        uint256 loss = _debtOf(balance);
        // casting to uint256 is safe because balance > 0 in that branch
        // forge-lint: disable-next-line(unsafe-typecast)
        uint256 collateral = balance > 0 ? uint256(balance) : 0;
        emit DefaultLossAllocated(member, WaterfallStep.COLLATERAL, Math.min(collateral, loss), loss);
        // Step 2: pledged assets, sold to the liquidator at their valuation
        // (the seizure and the payment are the call's last interactions).
        uint256 sold = loss == 0 ? 0 : _creditPledges(member, m);
        uint256 pledged = Math.min(sold, loss);
        loss -= pledged;
        emit DefaultLossAllocated(member, WaterfallStep.PLEDGED_ASSETS, pledged, loss);
        // Step 3: receivables pending in committed, unheld cycles.
        uint256 received = loss == 0 ? 0 : _takeReceivables(member, cycleIds, loss);
        loss -= received;
        emit DefaultLossAllocated(member, WaterfallStep.RECEIVABLES, received, loss);
        // Step 4: the lenders, pro rata through the share price.
        if (loss != 0) _writeDown(member, m, loss);
        emit DefaultLossAllocated(member, WaterfallStep.POOL_LENDERS, loss, 0);
        if (sold != 0) _sellPledges(member, sold);
        return loss;
    }

    /// @inheritdoc IClearingHouse
    function cureDefault(address member, bytes32 reason) external onlyRole(RISK_ROLE) {
        MemberSlot storage m = _members[member];
        if (!m.defaulted) revert ClearingHouseMemberNotDefaulted(member);
        int256 balance = m.balance;
        uint256 owed = _owedToPool[member];
        if (balance < 0 || owed != 0) revert ClearingHouseDefaultNotRepaid(member, balance, owed);

        m.defaulted = false;
        m.suspended = false;
        emit DefaultCured(member, reason);
        emit MemberResumed(member);
    }

    // ───────────────────────────── Admin ─────────────────────────────

    /// @inheritdoc IClearingHouse
    function setAssetVault(address vault, address liquidator) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (vault != address(0) && liquidator == address(0)) revert ClearingHouseZeroAddress();
        _vault = IAssetVault(vault);
        _liquidator = liquidator;
        emit AssetVaultSet(vault, liquidator);
    }

    /// @inheritdoc IClearingHouse
    function assetVault() external view returns (address vault, address liquidator) {
        return (address(_vault), _liquidator);
    }

    /// @inheritdoc IClearingHouse
    function setInterestRateModel(uint16 baseRateBps, uint16 slopeRateBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (baseRateBps > MAX_RATE_BPS) revert ClearingHouseRateTooHigh(baseRateBps, MAX_RATE_BPS);
        if (slopeRateBps > MAX_RATE_BPS - baseRateBps) {
            revert ClearingHouseRateTooHigh(slopeRateBps, MAX_RATE_BPS - baseRateBps);
        }
        _accrueIndex(); // what accrued so far, at the old rate
        _baseRateBps = baseRateBps;
        _slopeRateBps = slopeRateBps;
        emit InterestRateModelSet(baseRateBps, slopeRateBps);
    }

    /// @inheritdoc IClearingHouse
    function pause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _pause();
    }

    /// @inheritdoc IClearingHouse
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }

    /// @inheritdoc IClearingHouse
    function setClaimDelay(uint64 claimDelay_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (claimDelay_ > MAX_DELAY) revert ClearingHouseDelayTooLong(claimDelay_, MAX_DELAY);
        _claimDelay = claimDelay_;
        emit ClaimDelaySet(claimDelay_);
    }

    /// @inheritdoc IClearingHouse
    function setMaxHoldPeriod(uint64 maxHoldPeriod_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (maxHoldPeriod_ > MAX_DELAY) revert ClearingHouseDelayTooLong(maxHoldPeriod_, MAX_DELAY);
        _maxHoldPeriod = maxHoldPeriod_;
        emit MaxHoldPeriodSet(maxHoldPeriod_);
    }

    /// @inheritdoc IClearingHouse
    function claimDelay() external view returns (uint64) {
        return _claimDelay;
    }

    /// @inheritdoc IClearingHouse
    function maxHoldPeriod() external view returns (uint64) {
        return _maxHoldPeriod;
    }

    /// @inheritdoc IClearingHouse
    function recoverMember(address member) external nonReentrant whenPaused onlyRole(DEFAULT_ADMIN_ROLE) {
        MemberSlot storage m = _members[member];
        int256 balance = m.balance;
        if (balance <= 0) revert ClearingHouseNothingToRecover(member);

        // casting to uint256 is safe because balance > 0 (checked above)
        // forge-lint: disable-next-line(unsafe-typecast)
        uint256 amount = uint256(balance);

        _setBalance(m, balance, 0);
        emit MemberRecovered(member, amount);

        _token.safeTransfer(member, amount);
    }

    /// @inheritdoc IClearingHouse
    function recoverLender(address lender) external nonReentrant whenPaused onlyRole(DEFAULT_ADMIN_ROLE) {
        _accrueIndex(); // the period so far at the utilisation it had, before the pool shrinks
        uint256 held = _shares[lender];
        uint256 pool = _poolTotal;
        (uint256 shares, uint256 amount) = _redeemable(held, pool, _undrawn());
        if (amount == 0) revert ClearingHouseNothingToRecover(lender);

        // shares ≤ held ≤ totalShares and amount ≤ undrawn ≤ pool.
        unchecked {
            _shares[lender] = held - shares;
            _totalShares -= shares;
            pool -= amount;
        }
        _poolTotal = pool;
        emit LenderRecovered(lender, amount, shares, pool);

        _token.safeTransfer(lender, amount);
    }

    /// @inheritdoc IClearingHouse
    /// @dev Reads the token balance (a view call) before its effects; with the
    /// assumed token that call cannot re-enter, and the guard blocks it anyway.
    function sweepSurplus(address to) external nonReentrant onlyRole(DEFAULT_ADMIN_ROLE) {
        if (to == address(0)) revert ClearingHouseZeroAddress();
        uint256 held = _token.balanceOf(address(this));
        uint256 accounted = _accounted();
        if (held <= accounted) revert ClearingHouseNoSurplus();
        uint256 surplus;
        // held > accounted.
        unchecked {
            surplus = held - accounted;
        }

        emit SurplusSwept(to, surplus);

        _token.safeTransfer(to, surplus);
    }

    // ───────────────────────────── Internal ─────────────────────────────

    function _deposit(address member, uint256 amount) private {
        if (amount == 0) revert ClearingHouseZeroAmount();
        MemberSlot storage m = _members[member];
        if (!m.admitted) revert ClearingHouseNotMember(member);

        int256 newBalance = _credit(member, m, amount, _accrueIndex());
        emit Deposited(member, msg.sender, amount, newBalance);
        _recover(member, m, newBalance);

        _token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @dev The only writer of member balances: keeps Σ balances and
    /// creditDrawn (Σ of the negative parts) in step with each change, and
    /// starts a member's interest clock when it starts to owe (callers have
    /// accrued the index in this call).
    function _setBalance(MemberSlot storage m, int256 oldBalance, int256 newBalance) private {
        m.balance = newBalance;
        _totalBalances += newBalance - oldBalance;
        uint256 oldDebt = _debtOf(oldBalance);
        uint256 newDebt = _debtOf(newBalance);
        if (newDebt != oldDebt) _creditDrawn = _creditDrawn + newDebt - oldDebt;
        if (oldDebt == 0 && newDebt != 0) m.interestIndex = uint256(_borrowIndex).toUint96();
    }

    /// @dev Charges `member` the interest on its debt since its last charge
    /// (rounded up, against the borrower) into the pool; returns its balance
    /// after. Defaulters and members without debt are charged nothing.
    function _chargeInterest(address member, MemberSlot storage m, uint256 index) private returns (int256 balance) {
        balance = m.balance;
        if (balance >= 0 || m.defaulted) return balance;
        uint256 interest = _interestOn(balance, m.interestIndex, index);
        m.interestIndex = index.toUint96();
        if (interest == 0) return balance;

        int256 newBalance = balance - interest.toInt256();
        _setBalance(m, balance, newBalance);
        uint256 pool = _poolTotal + interest;
        _poolTotal = pool;
        emit InterestCharged(member, interest, newBalance, pool);
        return newBalance;
    }

    /// @dev Adds `amount` to `member`'s balance after charging the interest it
    /// owes (the caller accrued `index`): the one path of a deposit, a release
    /// and a refund into a balance. Returns the new balance for the caller's event.
    function _credit(address member, MemberSlot storage m, uint256 amount, uint256 index)
        private
        returns (int256 newBalance)
    {
        int256 balance = _chargeInterest(member, m, index);
        newBalance = balance + amount.toInt256();
        _setBalance(m, balance, newBalance);
    }

    /// @dev After a credit to `member` (now at `balance`): a defaulter's
    /// positive balance first repays what the lenders absorbed for it, back
    /// into the pool, so lenders are repaid before the defaulter.
    function _recover(address member, MemberSlot storage m, int256 balance) private {
        if (balance <= 0 || !m.defaulted) return;
        uint256 owed = _owedToPool[member];
        if (owed == 0) return;
        // casting to uint256 is safe because balance > 0 (checked above)
        // forge-lint: disable-next-line(unsafe-typecast)
        uint256 amount = Math.min(owed, uint256(balance));
        int256 newBalance;
        // amount ≤ balance ≤ type(int256).max, and amount ≤ owed.
        unchecked {
            // forge-lint: disable-next-line(unsafe-typecast)
            newBalance = balance - int256(amount);
            owed -= amount;
        }
        _setBalance(m, balance, newBalance);
        _owedToPool[member] = owed;
        uint256 pool = _poolTotal + amount;
        _poolTotal = pool;
        emit DefaultRecovered(member, amount, owed, newBalance, pool);
    }

    /// @dev Step 4: the lenders absorb `loss` (== the defaulter's debt): its
    /// balance returns to zero, the pool's equity falls by the same amount, so
    /// I1 holds and every share loses value pro rata; the defaulter owes it back.
    function _writeDown(address member, MemberSlot storage m, uint256 loss) private {
        _setBalance(m, m.balance, 0);
        uint256 pool = _poolTotal - loss; // loss == debt ≤ creditDrawn ≤ poolTotal (I2)
        _poolTotal = pool;
        _owedToPool[member] += loss;
        emit PoolWrittenDown(member, loss, pool);
    }

    /// @dev Step 3: releases the defaulter's pending credit in committed,
    /// unheld cycles into its balance, at most `loss` in all.
    function _takeReceivables(address member, uint64[] calldata cycleIds, uint256 loss)
        private
        returns (uint256 received)
    {
        for (uint256 i; i < cycleIds.length && received < loss;) {
            uint64 cycleId = cycleIds[i];
            Cycle storage c = _cycles[cycleId];
            if (c.status == CycleStatus.COMMITTED && block.timestamp >= c.heldUntil) {
                mapping(address => uint256) storage credits = _pendingCredits[cycleId];
                uint256 pending = credits[member];
                Advance storage a = _advances[cycleId][member];
                // A financed credit repays its advance first; only the rest covers the loss.
                uint256 take = Math.min(pending, loss - received + a.principal + a.fee);
                if (take != 0) {
                    received += _releaseCredit(cycleId, credits, member, pending, take);
                    _afterRelease(cycleId, c, take);
                }
            }
            // i < cycleIds.length.
            unchecked {
                ++i;
            }
        }
    }

    /// @dev Step 2's effects: credits the defaulter the full valuation of its
    /// pledges (the liquidator pays it in {_sellPledges}); returns it.
    function _creditPledges(address member, MemberSlot storage m) private returns (uint256 value) {
        IAssetVault vault = _vault;
        if (address(vault) == address(0)) return 0;
        value = vault.seizableValueOf(member);
        if (value == 0) return 0;
        int256 newBalance = _credit(member, m, value, _borrowIndex);
        emit PledgesSold(member, _liquidator, value, newBalance);
    }

    /// @dev Step 2's interactions, after every effect: the vault moves the
    /// pledges to the liquidator, which pays `value` for them. Both are trusted
    /// (set by the admin), valuations cannot change within the call (only the
    /// vault's risk role changes them), and the guard blocks re-entry anyway.
    function _sellPledges(address member, uint256 value) private {
        address liquidator = _liquidator;
        _vault.seize(member, liquidator);
        _token.safeTransferFrom(liquidator, address(this), value);
    }

    /// @dev Burns `shares` of `lender`'s for `assets` paid to `to`, from the undrawn pool.
    function _payOut(address lender, address to, uint256 assets, uint256 shares) private {
        if (to == address(0)) revert ClearingHouseZeroAddress();
        uint256 queued = _queuedShares;
        if (queued != 0) revert ClearingHouseWithdrawalsQueued(queued);
        uint256 held = _shares[lender];
        if (shares > held) revert ClearingHouseInsufficientShares(lender, held, shares);
        uint256 pool = _poolTotal;
        uint256 undrawn = _undrawn();
        if (assets > undrawn) revert ClearingHouseInsufficientLiquidity(undrawn, assets);

        // shares ≤ held ≤ totalShares; assets ≤ undrawn ≤ pool.
        unchecked {
            _shares[lender] = held - shares;
            _totalShares -= shares;
            pool -= assets;
        }
        _poolTotal = pool;
        emit PoolWithdrawn(lender, to, assets, shares, pool);

        _token.safeTransfer(to, assets);
    }

    /// @dev Compounds the borrow index up to now at the current utilisation;
    /// returns it. Every call that touches balances runs this first.
    function _accrueIndex() private returns (uint256 index) {
        if (block.timestamp == _lastAccrual) return _borrowIndex;
        index = _indexNow();
        _borrowIndex = index.toUint192();
        _lastAccrual = uint64(block.timestamp);
    }

    /// @dev The borrow index as an accrual now would leave it: grown by
    /// index × rate × elapsed / year (rounded down) at the current utilisation.
    function _indexNow() private view returns (uint256 index) {
        index = _borrowIndex;
        uint256 drawn = _creditDrawn;
        if (drawn == 0) return index;
        uint256 rate = _rateBps(drawn, _poolTotal);
        index += Math.mulDiv(index, rate * (block.timestamp - _lastAccrual), BPS * YEAR);
    }

    /// @dev base + slope × drawn / pool, in basis points a year (drawn ≤ pool by I2).
    function _rateBps(uint256 drawn, uint256 pool) private view returns (uint256) {
        uint256 base = _baseRateBps;
        if (pool == 0) return base;
        return base + Math.mulDiv(_slopeRateBps, drawn, pool);
    }

    /// @dev debt × index / snapshot − debt, rounded up: the interest since the snapshot.
    function _interestOn(int256 balance, uint256 snapshot, uint256 index) private pure returns (uint256) {
        if (balance >= 0 || snapshot == 0 || index <= snapshot) return 0;
        uint256 debt = _debtOf(balance);
        return Math.mulDiv(debt, index, snapshot, Math.Rounding.Ceil) - debt;
    }

    /// @dev Of `shares`, those `liquidity` can pay now and what they pay (both
    /// rounded down, so the assets stay within the liquidity): all of them if
    /// it suffices, else the shares the liquidity buys.
    function _redeemable(uint256 shares, uint256 pool, uint256 liquidity)
        private
        view
        returns (uint256 paid, uint256 assets)
    {
        paid = shares;
        assets = _toAssets(paid, pool, Math.Rounding.Floor);
        if (assets > liquidity) {
            paid = _toShares(liquidity, pool, Math.Rounding.Floor);
            assets = _toAssets(paid, pool, Math.Rounding.Floor);
        }
    }

    /// @dev What a debit may take from `balance` with `cover` (limit + pledges) below zero.
    function _headroom(int256 balance, uint256 cover) private pure returns (uint256) {
        // casting to uint256 is safe because balance ≥ 0 in that branch; both terms are < 2^255
        // forge-lint: disable-next-line(unsafe-typecast)
        if (balance >= 0) return uint256(balance) + cover;
        uint256 debt = _debtOf(balance);
        return cover > debt ? cover - debt : 0;
    }

    /// @dev `member`'s pledged collateral value (× loan-to-value), 0 without a vault.
    function _pledgedValue(address member) private view returns (uint256) {
        IAssetVault vault = _vault;
        return address(vault) == address(0) ? 0 : vault.collateralValueOf(member);
    }

    /// @dev The pool's liquidity: equity not drawn as credit nor advanced (I2 keeps it ≥ 0).
    function _undrawn() private view returns (uint256) {
        return _poolTotal - _creditDrawn - _totalAdvanced;
    }

    function _toShares(uint256 assets, uint256 pool, Math.Rounding rounding) private view returns (uint256) {
        return Math.mulDiv(assets, _totalShares + VIRTUAL_SHARES, pool + VIRTUAL_ASSETS, rounding);
    }

    function _toAssets(uint256 shares, uint256 pool, Math.Rounding rounding) private view returns (uint256) {
        return Math.mulDiv(shares, pool + VIRTUAL_ASSETS, _totalShares + VIRTUAL_SHARES, rounding);
    }

    function _limit(uint256 creditLimit) private pure returns (uint128) {
        if (creditLimit > type(uint128).max) revert ClearingHouseLimitTooLarge(creditLimit, type(uint128).max);
        // casting to uint128 is safe because of the check just above
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint128(creditLimit);
    }

    function _deltasHash(address[] calldata members, int256[] calldata deltas) private pure returns (bytes32) {
        return keccak256(abi.encode(members, deltas));
    }

    /// @dev The checks and debits shared by {commitCycle} and {settleCycle}, in
    /// this order: id, lengths, the per-member loop ({_applyDeltas}), then the
    /// batch checks Σ deltas, gross and pool. With `escrow` the loop also
    /// records each creditor's pendingCredit. Returns the (still empty)
    /// cycle record and the total debit.
    function _debitCycle(
        uint64 cycleId,
        uint256 grossValue,
        address[] calldata members,
        int256[] calldata deltas,
        bool escrow
    ) private returns (Cycle storage c, uint256 debit) {
        if (cycleId == 0) revert ClearingHouseZeroCycleId();
        c = _cycles[cycleId];
        if (c.status != CycleStatus.NONE) revert ClearingHouseCycleExists(cycleId);
        if (deltas.length != members.length) revert ClearingHouseLengthMismatch(members.length, deltas.length);

        _accrueIndex();
        int256 sum;
        (sum, debit) = _applyDeltas(cycleId, members, deltas, escrow);
        if (sum != 0) revert ClearingHouseNetNotZero(sum);
        if (debit > grossValue) revert ClearingHouseDebitExceedsGross(debit, grossValue);
        uint256 drawn = _creditDrawn + _totalAdvanced;
        uint256 pool = _poolTotal;
        if (drawn > pool) revert ClearingHouseInsufficientPool(drawn, pool);
    }

    /// @dev Writes a new cycle's record; `escrowed` stays for the caller.
    function _recordCycle(
        Cycle storage c,
        bytes32 root,
        uint256 grossValue,
        uint32 obligationCount,
        uint64 claimableAt,
        CycleStatus status
    ) private {
        c.root = root;
        c.grossValue = grossValue;
        c.obligationCount = obligationCount;
        c.committedAt = uint64(block.timestamp);
        c.claimableAt = claimableAt;
        c.status = status;
    }

    /// @dev The per-member loop: checks (sorted, admitted), debits and the
    /// {CreditRecorded} events; with `escrow` also each creditor's
    /// pendingCredit (debtors' debits live in the cycle's deltasHash). Returns
    /// Σ deltas and the total debit for the caller's batch checks.
    function _applyDeltas(uint64 cycleId, address[] calldata members, int256[] calldata deltas, bool escrow)
        private
        returns (int256 sum, uint256 debit)
    {
        mapping(address => uint256) storage credits = _pendingCredits[cycleId];
        address previous; // starts at zero, so the zero address is rejected too
        for (uint256 i; i < members.length;) {
            address member = members[i];
            if (member <= previous) revert ClearingHouseMembersNotSorted(i);
            previous = member;
            MemberSlot storage m = _members[member];
            if (!m.admitted) revert ClearingHouseNotMember(member);
            int256 delta = deltas[i];
            sum += delta;
            if (delta < 0) {
                debit += _debitMember(cycleId, member, m, delta);
            } else if (delta > 0) {
                // casting to uint256 is safe because delta > 0
                // forge-lint: disable-next-line(unsafe-typecast)
                uint256 credit = uint256(delta);
                if (escrow) credits[member] = credit;
                emit CreditRecorded(cycleId, member, credit);
            }
            // i < members.length.
            unchecked {
                ++i;
            }
        }
    }

    /// @dev Debits a cycle's debtor by −`delta` (< 0 by the caller), after its
    /// suspension check (a defaulter is always suspended) and its headroom
    /// check, and after charging its interest.
    function _debitMember(uint64 cycleId, address member, MemberSlot storage m, int256 delta)
        private
        returns (uint256 amount)
    {
        if (m.suspended) revert ClearingHouseMemberSuspended(member);
        // casting to uint256 is safe because delta < 0; the checked negation reverts for type(int256).min
        // forge-lint: disable-next-line(unsafe-typecast)
        amount = uint256(-delta);
        // Headroom is measured before the interest charge: a cycle sized to the
        // headroom the chain showed (availableOf) never fails for the interest
        // accrued since; the charge may then take the balance below −limit (I3).
        int256 before = m.balance;
        uint256 available = _headroom(before, m.creditLimit);
        // The vault is read only when the line alone falls short (no external call otherwise).
        if (amount > available) available = _headroom(before, m.creditLimit + _pledgedValue(member));
        if (amount > available) revert ClearingHouseInsufficientHeadroom(member, available, amount);

        int256 balance = _chargeInterest(member, m, _borrowIndex); // the caller accrued it
        int256 newBalance = balance + delta;
        _setBalance(m, balance, newBalance);
        emit MemberDebited(cycleId, member, amount, newBalance);
    }

    /// @dev {settleCycle}'s second pass: credits every positive delta straight
    /// to its member's balance. The first pass checked every member, so this
    /// one only moves balances (the addition is checked: a balance near
    /// type(int256).max reverts rather than wraps).
    function _creditMembers(uint64 cycleId, address[] calldata members, int256[] calldata deltas) private {
        for (uint256 i; i < members.length;) {
            int256 delta = deltas[i];
            if (delta > 0) {
                // casting to uint256 is safe because delta > 0
                // forge-lint: disable-next-line(unsafe-typecast)
                _creditBalance(cycleId, members[i], uint256(delta));
            }
            // i < members.length.
            unchecked {
                ++i;
            }
        }
    }

    /// @dev Moves `amount` (≤ `pending`, checked by the caller) of `creditor`'s
    /// pending credit out of the cycle: first to repay an advance on it (I10),
    /// the rest into its balance. Returns that rest.
    function _releaseCredit(
        uint64 cycleId,
        mapping(address => uint256) storage credits,
        address creditor,
        uint256 pending,
        uint256 amount
    ) private returns (uint256 credited) {
        // amount ≤ pending (caller's check).
        unchecked {
            credits[creditor] = pending - amount;
        }
        Advance storage a = _advances[cycleId][creditor];
        uint256 repaid = Math.min(amount, uint256(a.principal) + a.fee);
        if (repaid != 0) {
            (uint256 principal, uint256 fee, uint256 pool) = _repayAdvance(a, repaid);
            emit AdvanceRepaid(cycleId, creditor, principal, fee, uint256(a.principal) + a.fee, pool);
        }
        credited = amount - repaid;
        _creditBalance(cycleId, creditor, credited);
    }

    /// @dev Adds `amount` of cycle `cycleId`'s credit to `creditor`'s balance
    /// (after its interest, if it owes; a defaulter then repays the lenders).
    /// `amount` comes from a positive int256 delta (directly, or as part of a
    /// pending credit), so it is ≤ type(int256).max. The caller accrued the index.
    function _creditBalance(uint64 cycleId, address creditor, uint256 amount) private {
        MemberSlot storage m = _members[creditor];
        int256 newBalance = _credit(creditor, m, amount, _borrowIndex);
        emit CreditReleased(cycleId, creditor, amount, newBalance);
        _recover(creditor, m, newBalance);
    }

    /// @dev Pays `amount` (≤ what `a` owes) of an advance back to the pool:
    /// principal first, which returns to liquidity, then fee, the lenders' income.
    function _repayAdvance(Advance storage a, uint256 amount)
        private
        returns (uint256 principal, uint256 fee, uint256 pool)
    {
        uint256 owedPrincipal = a.principal;
        principal = Math.min(amount, owedPrincipal);
        // principal ≤ owedPrincipal; fee = amount − principal ≤ a.fee (caller: amount ≤ principal + fee);
        // principal ≤ totalAdvanced (I10).
        unchecked {
            fee = amount - principal;
            a.principal = uint128(owedPrincipal - principal);
            a.fee -= uint128(fee);
            _totalAdvanced -= principal;
        }
        pool = _poolTotal + fee;
        _poolTotal = pool;
    }

    /// @dev Takes `released` out of the cycle's escrow and settles it when empty.
    function _afterRelease(uint64 cycleId, Cycle storage c, uint256 released) private {
        uint256 escrowed = _drawEscrow(c, released);
        emit CycleReleased(cycleId, released, escrowed);
        if (escrowed == 0) _settle(cycleId, c);
    }

    /// @dev Lowers the cycle's and the house's escrow by `amount`; returns what the cycle has left.
    function _drawEscrow(Cycle storage c, uint256 amount) private returns (uint256 escrowed) {
        // I5: what is released or cancelled ≤ Σ pending == escrowed ≤ totalEscrowed.
        unchecked {
            escrowed = c.escrowed - amount;
            _totalEscrowed -= amount;
        }
        c.escrowed = escrowed;
    }

    function _settle(uint64 cycleId, Cycle storage c) private {
        c.status = CycleStatus.SETTLED;
        emit CycleSettled(cycleId);
    }

    function _cancelCredits(uint64 cycleId, address[] calldata creditors, uint256[] calldata cancelled)
        private
        returns (uint256 total)
    {
        mapping(address => uint256) storage credits = _pendingCredits[cycleId];
        uint256 n = creditors.length;
        for (uint256 i; i < n;) {
            uint256 amount = cancelled[i];
            if (amount != 0) {
                address creditor = creditors[i];
                uint256 pending = credits[creditor];
                if (amount > pending) revert ClearingHouseExceedsPending(cycleId, creditor, pending, amount);
                // amount ≤ pending.
                unchecked {
                    pending -= amount;
                }
                credits[creditor] = pending;
                total += amount;
                emit CreditCancelled(cycleId, creditor, amount);
                _recourse(cycleId, creditor, pending);
            }
            // i < n ≤ calldata length.
            unchecked {
                ++i;
            }
        }
    }

    /// @dev After a cancellation left `pending` of `creditor`'s credit: the part
    /// of its advance that credit can no longer repay is charged to its balance
    /// now (I10), even below its limit or in default (the advance was paid to it).
    function _recourse(uint64 cycleId, address creditor, uint256 pending) private {
        Advance storage a = _advances[cycleId][creditor];
        uint256 owed = uint256(a.principal) + a.fee;
        if (owed <= pending) return;
        (uint256 principal, uint256 fee, uint256 pool) = _repayAdvance(a, owed - pending);
        MemberSlot storage m = _members[creditor];
        int256 balance = _chargeInterest(creditor, m, _borrowIndex); // refundCycle accrued it
        int256 newBalance = balance - (principal + fee).toInt256();
        _setBalance(m, balance, newBalance);
        emit AdvanceRecourse(cycleId, creditor, principal, fee, newBalance, pool);
    }

    /// @dev Refunds `refunded[i]` to `members[i]`, each bounded by its committed
    /// debit (−deltas[i]) less what it was refunded before.
    function _refundDebits(
        uint64 cycleId,
        address[] calldata members,
        int256[] calldata deltas,
        uint256[] calldata refunded
    ) private returns (uint256 total) {
        uint256 index = _accrueIndex();
        uint256 n = members.length;
        for (uint256 i; i < n;) {
            uint256 amount = refunded[i];
            if (amount != 0) {
                _refundDebtor(cycleId, members[i], deltas[i], amount, index);
                total += amount;
            }
            // i < n ≤ calldata length.
            unchecked {
                ++i;
            }
        }
    }

    function _refundDebtor(uint64 cycleId, address debtor, int256 delta, uint256 amount, uint256 index) private {
        // casting to uint256 is safe because delta < 0 (and was negated at commit)
        // forge-lint: disable-next-line(unsafe-typecast)
        uint256 committed = delta < 0 ? uint256(-delta) : 0;
        uint256 before = _refundedDebits[cycleId][debtor];
        uint256 left = committed - before; // Σ refunds ≤ committed, by the check below
        if (amount > left) revert ClearingHouseExceedsDebit(cycleId, debtor, left, amount);
        _refundedDebits[cycleId][debtor] = before + amount;

        MemberSlot storage m = _members[debtor];
        int256 newBalance = _credit(debtor, m, amount, index);
        emit DebitRefunded(cycleId, debtor, amount, newBalance);
        _recover(debtor, m, newBalance);
    }

    /// @dev The cycle, if committed and not settled, with `members` and `deltas` as committed.
    function _refundableCycle(uint64 cycleId, address[] calldata members, int256[] calldata deltas)
        private
        view
        returns (Cycle storage c)
    {
        if (deltas.length != members.length) revert ClearingHouseLengthMismatch(members.length, deltas.length);
        c = _cycles[cycleId];
        _requireOpen(cycleId, c.status);
        if (_deltasHash(members, deltas) != c.deltasHash) revert ClearingHouseDeltasMismatch(cycleId);
    }

    /// @dev Takes `refunded` out of the cycle's escrow and settles it when empty.
    function _afterRefund(uint64 cycleId, Cycle storage c, uint256 refunded) private {
        uint256 escrowed = _drawEscrow(c, refunded);
        emit CycleRefunded(cycleId, refunded, escrowed);
        if (escrowed == 0) _settle(cycleId, c);
    }

    /// @dev The cycle, if committed, not settled and not held.
    function _releasableCycle(uint64 cycleId) private view returns (Cycle storage c) {
        c = _cycles[cycleId];
        _requireOpen(cycleId, c.status);
        uint64 heldUntil = c.heldUntil;
        if (block.timestamp < heldUntil) revert ClearingHouseCycleHeld(cycleId, heldUntil);
    }

    function _requireOpen(uint64 cycleId, CycleStatus status) private pure {
        if (status == CycleStatus.NONE) revert ClearingHouseUnknownCycle(cycleId);
        if (status == CycleStatus.SETTLED) revert ClearingHouseCycleSettled(cycleId);
    }

    /// @dev Σ balances + poolTotal + totalEscrowed − totalAdvanced; ≥ 0 because
    /// Σ balances ≥ −creditDrawn and creditDrawn + totalAdvanced ≤ poolTotal (I2).
    function _accounted() private view returns (uint256) {
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint256(_totalBalances + _poolTotal.toInt256() + _totalEscrowed.toInt256() - _totalAdvanced.toInt256());
    }

    /// @dev floor(pending × bps / 10000): rounds down, against the creditor.
    function _shareDown(uint256 pending, uint16 bps) private pure returns (uint256) {
        return Math.mulDiv(pending, bps, BPS);
    }

    /// @dev max(0, −balance). −balance cannot overflow: balance ≥ −creditLimit ≥ −type(int256).max (I3).
    function _debtOf(int256 balance) private pure returns (uint256) {
        // forge-lint: disable-next-line(unsafe-typecast)
        return balance < 0 ? uint256(-balance) : 0;
    }

    function _obligationLeaf(uint64 cycleId, bytes32 obligationId, address debtor, address creditor, uint256 amount)
        private
        pure
        returns (bytes32)
    {
        return keccak256(bytes.concat(keccak256(abi.encode(cycleId, obligationId, debtor, creditor, amount))));
    }
}
