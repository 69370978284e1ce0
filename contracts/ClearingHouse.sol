// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IClearingHouse} from "./interfaces/IClearingHouse.sol";

/// @title ClearingHouse
/// @notice Implementation of {IClearingHouse}; the interface is the specification.
/// @dev Every entry point is shaped checks → effects → emit → transfer. Cycle
/// operations move only internal balances, so they make no external call.
contract ClearingHouse is IClearingHouse, AccessControl, Pausable, ReentrancyGuardTransient, EIP712 {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// @notice Commits, releases, holds and refunds cycles.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @notice Admits, suspends and resumes members and sets credit limits.
    bytes32 public constant RISK_ROLE = keccak256("RISK_ROLE");
    /// @notice Hard cap on the claim delay and the hold period, so no setting can lock funds for long.
    uint64 public constant MAX_DELAY = 365 days;

    uint256 private constant BPS = 10_000;

    IERC20 private immutable _token;

    mapping(address member => Member) private _members;
    mapping(address lender => uint256) private _lenderBalances;
    mapping(uint64 cycleId => Cycle) private _cycles;
    mapping(uint64 cycleId => mapping(address creditor => uint256)) private _pendingCredits;
    mapping(uint64 cycleId => mapping(address debtor => uint256)) private _cycleDebits;

    uint256 private _poolTotal;
    /// @dev Σ max(0, −balance); changed only in {_setBalance}.
    uint256 private _creditDrawn;
    uint256 private _totalEscrowed;
    /// @dev Σ balance; changed only in {_setBalance}.
    int256 private _totalBalances;
    uint64 private _claimDelay;
    uint64 private _maxHoldPeriod;

    /// @param token_ The settlement token (see the token assumptions in {IClearingHouse}).
    /// @param admin Receives DEFAULT_ADMIN_ROLE and grants the other roles.
    /// @dev EIP712 gives {IERC5267-eip712Domain}: the domain debtors sign obligations under.
    constructor(IERC20 token_, address admin) EIP712("ClearingHouse", "1") {
        if (address(token_) == address(0) || admin == address(0)) revert ClearingHouseZeroAddress();
        _token = token_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _claimDelay = 3 days;
        emit ClaimDelaySet(3 days);
        _maxHoldPeriod = 30 days;
        emit MaxHoldPeriodSet(30 days);
    }

    // ───────────────────────────── Members ─────────────────────────────

    /// @inheritdoc IClearingHouse
    function admitMember(address member, uint256 creditLimit) external onlyRole(RISK_ROLE) {
        if (member == address(0)) revert ClearingHouseZeroAddress();
        Member storage m = _members[member];
        if (m.admitted) revert ClearingHouseAlreadyMember(member);
        creditLimit.toInt256(); // balances are signed: −creditLimit must be representable

        m.admitted = true;
        m.creditLimit = creditLimit;
        emit MemberAdmitted(member, creditLimit);
    }

    /// @inheritdoc IClearingHouse
    function suspendMember(address member) external onlyRole(RISK_ROLE) {
        Member storage m = _members[member];
        if (!m.admitted) revert ClearingHouseNotMember(member);
        if (m.suspended) revert ClearingHouseMemberSuspended(member);

        m.suspended = true;
        emit MemberSuspended(member);
    }

    /// @inheritdoc IClearingHouse
    function resumeMember(address member) external onlyRole(RISK_ROLE) {
        Member storage m = _members[member];
        if (!m.admitted) revert ClearingHouseNotMember(member);
        if (!m.suspended) revert ClearingHouseMemberNotSuspended(member);

        m.suspended = false;
        emit MemberResumed(member);
    }

    /// @inheritdoc IClearingHouse
    function setCreditLimit(address member, uint256 creditLimit) external onlyRole(RISK_ROLE) {
        Member storage m = _members[member];
        if (!m.admitted) revert ClearingHouseNotMember(member);
        uint256 debt = _debtOf(m.balance);
        if (debt > creditLimit) revert ClearingHouseLimitBelowDebt(member, debt, creditLimit);
        creditLimit.toInt256();

        uint256 previous = m.creditLimit;
        m.creditLimit = creditLimit;
        emit CreditLimitSet(member, previous, creditLimit);
    }

    /// @inheritdoc IClearingHouse
    function memberOf(address member) external view returns (Member memory) {
        return _members[member];
    }

    /// @inheritdoc IClearingHouse
    function balanceOf(address member) external view returns (int256) {
        return _members[member].balance;
    }

    /// @inheritdoc IClearingHouse
    function availableOf(address member) external view returns (uint256) {
        Member storage m = _members[member];
        if (!m.admitted || m.suspended) return 0;
        int256 balance = m.balance;
        // casting to uint256 is safe because balance > 0 in that branch
        // forge-lint: disable-next-line(unsafe-typecast)
        uint256 free = balance > 0 ? uint256(balance) : 0;
        uint256 debt = _debtOf(balance);
        uint256 limit = m.creditLimit;
        uint256 unusedLine = limit > debt ? limit - debt : 0;
        // creditDrawn ≤ poolTotal is invariant I2.
        return free + Math.min(unusedLine, _poolTotal - _creditDrawn);
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
        Member storage m = _members[msg.sender];
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
    function poolDeposit(uint256 amount) external nonReentrant whenNotPaused {
        if (amount == 0) revert ClearingHouseZeroAmount();

        _lenderBalances[msg.sender] += amount;
        uint256 pool = _poolTotal + amount;
        _poolTotal = pool;
        emit PoolDeposited(msg.sender, amount, pool);

        _token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IClearingHouse
    function poolWithdraw(uint256 amount, address to) external nonReentrant whenNotPaused {
        if (amount == 0) revert ClearingHouseZeroAmount();
        if (to == address(0)) revert ClearingHouseZeroAddress();
        uint256 deposited = _lenderBalances[msg.sender];
        if (amount > deposited) revert ClearingHouseInsufficientLenderBalance(msg.sender, deposited, amount);
        uint256 pool = _poolTotal;
        uint256 undrawn = pool - _creditDrawn; // I2: creditDrawn ≤ poolTotal
        if (amount > undrawn) revert ClearingHouseInsufficientLiquidity(undrawn, amount);

        // amount ≤ deposited and amount ≤ undrawn ≤ pool.
        unchecked {
            _lenderBalances[msg.sender] = deposited - amount;
            pool -= amount;
        }
        _poolTotal = pool;
        emit PoolWithdrawn(msg.sender, to, amount, pool);

        _token.safeTransfer(to, amount);
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
        return _lenderBalances[lender];
    }

    /// @inheritdoc IClearingHouse
    function totalEscrowed() external view returns (uint256) {
        return _totalEscrowed;
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
        address[] calldata creditors,
        uint256[] calldata cancelled,
        address[] calldata debtors,
        uint256[] calldata refunded
    ) external nonReentrant whenNotPaused onlyRole(OPERATOR_ROLE) {
        if (cancelled.length != creditors.length) {
            revert ClearingHouseLengthMismatch(creditors.length, cancelled.length);
        }
        if (refunded.length != debtors.length) revert ClearingHouseLengthMismatch(debtors.length, refunded.length);
        Cycle storage c = _cycles[cycleId];
        _requireOpen(cycleId, c.status);

        uint256 totalCancelled = _cancelCredits(cycleId, creditors, cancelled);
        uint256 totalRefunded = _refundDebits(cycleId, debtors, refunded);
        if (totalCancelled != totalRefunded) revert ClearingHouseRefundMismatch(totalCancelled, totalRefunded);

        // I5: Σ cancelled ≤ Σ pending == escrowed ≤ totalEscrowed.
        uint256 escrowed;
        unchecked {
            escrowed = c.escrowed - totalRefunded;
            _totalEscrowed -= totalRefunded;
        }
        c.escrowed = escrowed;
        emit CycleRefunded(cycleId, totalRefunded, escrowed);
        if (escrowed == 0) _settle(cycleId, c);
    }

    /// @inheritdoc IClearingHouse
    function claim(uint64 cycleId, address creditor) external nonReentrant whenNotPaused {
        Cycle storage c = _releasableCycle(cycleId);
        uint64 claimableAt = c.claimableAt;
        if (block.timestamp < claimableAt) revert ClearingHouseClaimTooEarly(cycleId, claimableAt);
        mapping(address => uint256) storage credits = _pendingCredits[cycleId];
        uint256 pending = credits[creditor];
        if (pending == 0) revert ClearingHouseNothingToClaim(cycleId, creditor);

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
    function cycleDebit(uint64 cycleId, address debtor) external view returns (uint256) {
        return _cycleDebits[cycleId][debtor];
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

    // ───────────────────────────── Admin ─────────────────────────────

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
        Member storage m = _members[member];
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
        uint256 deposited = _lenderBalances[lender];
        uint256 pool = _poolTotal;
        uint256 amount = Math.min(deposited, pool - _creditDrawn); // I2
        if (amount == 0) revert ClearingHouseNothingToRecover(lender);

        // amount ≤ deposited and amount ≤ pool.
        unchecked {
            _lenderBalances[lender] = deposited - amount;
            pool -= amount;
        }
        _poolTotal = pool;
        emit LenderRecovered(lender, amount, pool);

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
        Member storage m = _members[member];
        if (!m.admitted) revert ClearingHouseNotMember(member);

        int256 balance = m.balance;
        int256 newBalance = balance + amount.toInt256();
        _setBalance(m, balance, newBalance);
        emit Deposited(member, msg.sender, amount, newBalance);

        _token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @dev The only writer of member balances: keeps Σ balances and
    /// creditDrawn (Σ of the negative parts) in step with each change.
    function _setBalance(Member storage m, int256 oldBalance, int256 newBalance) private {
        m.balance = newBalance;
        _totalBalances += newBalance - oldBalance;
        uint256 oldDebt = _debtOf(oldBalance);
        uint256 newDebt = _debtOf(newBalance);
        if (newDebt != oldDebt) _creditDrawn = _creditDrawn + newDebt - oldDebt;
    }

    /// @dev The checks and debits shared by {commitCycle} and {settleCycle}, in
    /// this order: id, lengths, the per-member loop ({_applyDeltas}), then the
    /// batch checks Σ deltas, gross and pool. With `escrow` the loop also
    /// records each cycleDebit and pendingCredit. Returns the (still empty)
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

        int256 sum;
        (sum, debit) = _applyDeltas(cycleId, members, deltas, escrow);
        if (sum != 0) revert ClearingHouseNetNotZero(sum);
        if (debit > grossValue) revert ClearingHouseDebitExceedsGross(debit, grossValue);
        uint256 drawn = _creditDrawn;
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
    /// {CreditRecorded} events; with `escrow` also each debtor's cycleDebit and
    /// each creditor's pendingCredit. Returns Σ deltas and the total debit for
    /// the caller's batch checks.
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
            Member storage m = _members[member];
            if (!m.admitted) revert ClearingHouseNotMember(member);
            int256 delta = deltas[i];
            sum += delta;
            if (delta < 0) {
                debit += _debitMember(cycleId, member, m, delta, escrow);
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
    /// suspension and headroom checks; with `escrow` records its cycleDebit.
    function _debitMember(uint64 cycleId, address member, Member storage m, int256 delta, bool escrow)
        private
        returns (uint256 amount)
    {
        if (m.suspended) revert ClearingHouseMemberSuspended(member);
        // casting to uint256 is safe because delta < 0; the checked negation reverts for type(int256).min
        // forge-lint: disable-next-line(unsafe-typecast)
        amount = uint256(-delta);
        int256 balance = m.balance;
        uint256 limit = m.creditLimit;
        uint256 available;
        // I3: balance ≥ −limit, and both |balance| and limit are ≤ type(int256).max.
        unchecked {
            // forge-lint: disable-next-line(unsafe-typecast)
            available = balance >= 0 ? uint256(balance) + limit : limit - uint256(-balance);
        }
        if (amount > available) revert ClearingHouseInsufficientHeadroom(member, available, amount);

        int256 newBalance;
        // delta < 0 and newBalance ≥ −limit by the headroom check just above.
        unchecked {
            newBalance = balance + delta;
        }
        _setBalance(m, balance, newBalance);
        if (escrow) _cycleDebits[cycleId][member] = amount;
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
    /// pending credit into its balance.
    function _releaseCredit(
        uint64 cycleId,
        mapping(address => uint256) storage credits,
        address creditor,
        uint256 pending,
        uint256 amount
    ) private {
        // amount ≤ pending (caller's check).
        unchecked {
            credits[creditor] = pending - amount;
        }
        _creditBalance(cycleId, creditor, amount);
    }

    /// @dev Adds `amount` of cycle `cycleId`'s credit to `creditor`'s balance.
    /// `amount` comes from a positive int256 delta (directly, or as part of a
    /// pending credit), so it is ≤ type(int256).max.
    function _creditBalance(uint64 cycleId, address creditor, uint256 amount) private {
        Member storage m = _members[creditor];
        int256 balance = m.balance;
        // casting to int256 is exact: amount ≤ type(int256).max (see above).
        // forge-lint: disable-next-line(unsafe-typecast)
        int256 newBalance = balance + int256(amount);
        _setBalance(m, balance, newBalance);
        emit CreditReleased(cycleId, creditor, amount, newBalance);
    }

    /// @dev Takes `released` out of the cycle's escrow and settles it when empty.
    function _afterRelease(uint64 cycleId, Cycle storage c, uint256 released) private {
        uint256 escrowed;
        // I5: Σ released ≤ Σ pending == escrowed ≤ totalEscrowed.
        unchecked {
            escrowed = c.escrowed - released;
            _totalEscrowed -= released;
        }
        c.escrowed = escrowed;
        emit CycleReleased(cycleId, released, escrowed);
        if (escrowed == 0) _settle(cycleId, c);
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
                    credits[creditor] = pending - amount;
                }
                total += amount;
                emit CreditCancelled(cycleId, creditor, amount);
            }
            // i < n ≤ calldata length.
            unchecked {
                ++i;
            }
        }
    }

    function _refundDebits(uint64 cycleId, address[] calldata debtors, uint256[] calldata refunded)
        private
        returns (uint256 total)
    {
        mapping(address => uint256) storage debits = _cycleDebits[cycleId];
        uint256 n = debtors.length;
        for (uint256 i; i < n;) {
            uint256 amount = refunded[i];
            if (amount != 0) {
                address debtor = debtors[i];
                uint256 debit = debits[debtor];
                if (amount > debit) revert ClearingHouseExceedsDebit(cycleId, debtor, debit, amount);
                // amount ≤ debit.
                unchecked {
                    debits[debtor] = debit - amount;
                }
                total += amount;
                Member storage m = _members[debtor];
                int256 balance = m.balance;
                // amount ≤ debit, which came from a negated int256 delta, so the cast is exact.
                // forge-lint: disable-next-line(unsafe-typecast)
                int256 newBalance = balance + int256(amount);
                _setBalance(m, balance, newBalance);
                emit DebitRefunded(cycleId, debtor, amount, newBalance);
            }
            // i < n ≤ calldata length.
            unchecked {
                ++i;
            }
        }
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

    /// @dev Σ balances + poolTotal + totalEscrowed; ≥ 0 because Σ balances ≥ −creditDrawn ≥ −poolTotal (I2).
    function _accounted() private view returns (uint256) {
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint256(_totalBalances + _poolTotal.toInt256() + _totalEscrowed.toInt256());
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
