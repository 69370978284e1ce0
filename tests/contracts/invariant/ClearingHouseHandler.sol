// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ClearingHouse} from "../../../contracts/ClearingHouse.sol";
import {IClearingHouse} from "../../../contracts/interfaces/IClearingHouse.sol";
import {SettlementToken} from "../../../contracts/test/SettlementToken.sol";
import {HouseEventLedger} from "../utils/HouseEventLedger.sol";
import {Test} from "../utils/Test.sol";

/// @notice Drives random sequences against one house: deposits, withdrawals,
/// pool moves (deposit, withdraw, redeem, the withdrawal queue), commits,
/// one-call settlements, releases, refunds, holds, claims, interest (rate
/// model, accrual, long warps), defaults (declare, waterfall, repayment by the
/// defaulter, cure), pauses, recovery and attempts by the wrong callers.
/// Ghost counters record anything the design forbids; the invariant suite
/// asserts they stay zero. Every action ends by replaying the house's events,
/// as an auditor would, and by checking the transition (share price, what
/// happened to defaulters).
contract ClearingHouseHandler is Test, HouseEventLedger {
    uint256 internal constant D = 1e6;
    uint256 internal constant VIRTUAL_SHARES = 1e6;

    address internal constant ADMIN = address(0xA0);
    address internal constant OPERATOR = address(0xA1);
    address internal constant RISK = address(0xA2);
    address internal constant STRANGER = address(0xA3);

    SettlementToken public token;
    ClearingHouse public house;

    address[] internal _members;
    address[] internal _lenders;
    uint64[] internal _cycleIds;
    uint64 public nextCycleId = 1;
    /// @dev The lists each two-step commit was made with: a refund must repeat them.
    mapping(uint64 cycleId => address[]) internal _committedMembers;
    mapping(uint64 cycleId => int256[]) internal _committedDeltas;

    // ───────────── ghosts ─────────────
    mapping(uint64 cycleId => uint256) public ghostCommits;
    uint256 public ghostDoubleCommits;
    uint256 public ghostOverWithdrawals;
    uint256 public ghostOverReleases;
    uint256 public ghostUnauthorizedSuccesses;
    uint256 public ghostPausedMovements;
    /// @dev settleCycle calls that moved a balance by other than its delta (less
    /// the interest charged and the default recovery it triggered), or touched the escrow.
    uint256 public ghostSettleMismatches;
    uint256 public ghostSurplus; // tokens sent by plain transfer and not yet swept
    /// @dev I3: a debit that left its debtor below −creditLimit.
    uint256 public ghostDebitsBelowLimit;
    /// @dev A refund with lists other than the committed ones that succeeded.
    uint256 public ghostTamperedRefunds;
    /// @dev I7: the share price fell in an action without a write-down.
    uint256 public ghostPriceFalls;
    /// @dev I7: the share price rose in an action with a write-down.
    uint256 public ghostWriteDownRaises;
    /// @dev allocateDefaultLoss calls with a loss, and the pool and shares around the last one.
    uint256 public ghostLossAllocations;
    uint256 public ghostPoolBeforeLoss;
    uint256 public ghostSharesBeforeLoss;
    uint256 public ghostPoolAfterLoss;
    uint256 public ghostSharesAfterLoss;
    /// @dev I8: lenders bore a loss while the defaulter was not in debt before
    /// step 4, or while it still had receivables pending in an unheld committed
    /// cycle the handler named; or a loss was left uncovered.
    uint256 public ghostWaterfallOutOfOrder;
    /// @dev I9: a defaulter's balance fell other than by DefaultRecovered (or the admin's recovery path).
    uint256 public ghostDefaulterDebited;
    /// @dev I9: interest charged to a member that was in default.
    uint256 public ghostDefaulterInterest;
    /// @dev I9: a defaulter withdrew, or was resumed without a cure, or cured without repaying.
    uint256 public ghostDefaulterEscapes;
    /// @dev A cure refused although the defaulter had repaid everything.
    uint256 public ghostRefusedCures;
    /// @dev processWithdrawals paid a request while an earlier one still waited.
    uint256 public ghostQueueOutOfOrder;
    /// @dev A lender cancelled another lender's request.
    uint256 public ghostForeignCancels;
    /// @dev A rate model above 100% a year was accepted.
    uint256 public ghostRateAboveCap;
    /// @dev Releases of a financed credit that did not repay the advance first (I10).
    uint256 public ghostAdvanceOutOfOrder;
    mapping(string action => uint256) public calls;
    /// @dev Calls that emitted a house event, so tests can show no action is vacuous.
    mapping(string action => uint256) public effective;

    /// @dev The state an action's transition checks compare against.
    struct Snap {
        bool paused;
        uint256 held;
        uint256 events;
        uint256 pool;
        uint256 shares;
        uint256 writeDowns;
        int256[] balances;
        bool[] defaulted;
        uint256[] interest;
        uint256[] recovered;
        uint256[] recourse;
    }

    constructor() {
        vm.recordLogs(); // the replay starts with the deployment
        token = new SettlementToken();
        house = new ClearingHouse(token, ADMIN);
        ledgerHouse = address(house);
        vm.startPrank(ADMIN);
        house.grantRole(house.OPERATOR_ROLE(), OPERATOR);
        house.grantRole(house.RISK_ROLE(), RISK);
        house.setInterestRateModel(500, 2000); // interest from the start; setInterestRateModel varies it
        vm.stopPrank();

        for (uint160 i; i < 4; ++i) {
            address m = address(0x1000 + i); // ascending
            _members.push(m);
            vm.prank(RISK);
            house.admitMember(m, (i % 2 == 0) ? 2000 * D : 0);
            _fund(m);
        }
        for (uint160 i; i < 2; ++i) {
            address l = address(0x2000 + i);
            _lenders.push(l);
            _fund(l);
            vm.prank(l);
            house.poolDeposit(5000 * D);
        }
        _fund(STRANGER);
        _replay(vm.getRecordedLogs()); // so the invariants hold before the first action too
    }

    /// @dev Every action: count it, watch for paused movements, replay events,
    /// check the transition. `exempt` marks the recovery path and plain
    /// transfers into the house, the only ways the house's token balance may
    /// change while paused (and the only way a defaulter's balance may fall
    /// other than by repaying the lenders).
    modifier action(string memory name, bool exempt) {
        ++calls[name];
        Snap memory s = _snap();
        _;
        if (s.paused && !exempt && token.balanceOf(address(house)) != s.held) ++ghostPausedMovements;
        _replay(vm.getRecordedLogs());
        if (houseEvents != s.events) ++effective[name];
        _checkTransition(s, exempt);
    }

    // ───────────── collateral ─────────────

    function deposit(uint256 who, uint256 amount) external action("deposit", false) {
        _deposit(_member(who), amount, 20_000 * D);
    }

    /// @dev A defaulter repays: the lenders first (DefaultRecovered), then its own balance.
    function depositByDefaulter(uint256 who, uint256 amount) external action("depositByDefaulter", false) {
        address m = _defaulter(who);
        IClearingHouse.Member memory mm = house.memberOf(m);
        uint256 debt = mm.balance < 0 ? uint256(-mm.balance) : 0;
        _deposit(m, amount, debt + mm.owedToPool + 500 * D);
    }

    function _deposit(address m, uint256 amount, uint256 max) private {
        amount = bound(amount, 1, max);
        vm.prank(m);
        try house.deposit(amount) {}
        catch {
            _dropLogs();
        }
    }

    function withdraw(uint256 who, uint256 amount) external action("withdraw", false) {
        address m = _member(who);
        int256 balance = house.balanceOf(m);
        bool defaulted = house.memberOf(m).defaulted;
        uint256 free = balance > 0 ? uint256(balance) : 0;
        amount = bound(amount, 1, free + 1000 * D); // sometimes more than is free
        vm.prank(m);
        try house.withdraw(amount, m) {
            if (amount > free) ++ghostOverWithdrawals;
            if (defaulted) ++ghostDefaulterEscapes;
        } catch {
            _dropLogs();
        }
    }

    // ───────────── pool ─────────────

    function poolDeposit(uint256 who, uint256 amount) external action("poolDeposit", false) {
        address l = _lender(who);
        amount = bound(amount, 1, 20_000 * D);
        vm.prank(l);
        try house.poolDeposit(amount) {}
        catch {
            _dropLogs();
        }
    }

    function poolWithdraw(uint256 who, uint256 amount) external action("poolWithdraw", false) {
        address l = _lender(who);
        amount = bound(amount, 1, house.lenderBalance(l) + 1000 * D);
        vm.prank(l);
        try house.poolWithdraw(amount, l) {}
        catch {
            _dropLogs();
        }
    }

    function poolRedeem(uint256 who, uint256 shares) external action("poolRedeem", false) {
        address l = _lender(who);
        uint256 held = house.sharesOf(l);
        shares = bound(shares, 1, held + held / 8 + 1); // sometimes more than held
        vm.prank(l);
        try house.poolRedeem(shares, l) {}
        catch {
            _dropLogs();
        }
    }

    function requestWithdrawal(uint256 who, uint256 shares) external action("requestWithdrawal", false) {
        address l = _lender(who);
        shares = bound(shares, 1, house.sharesOf(l) + 1); // sometimes one more than held
        vm.prank(l);
        try house.requestWithdrawal(shares) {}
        catch {
            _dropLogs();
        }
    }

    /// @dev Cancels one of the lender's waiting requests; first, another lender tries (and must fail).
    function cancelWithdrawal(uint256 who, uint256 pick) external action("cancelWithdrawal", false) {
        address l = _lender(who);
        (bool found, uint256 id) = _requestOf(l, pick);
        if (!found) return;
        vm.prank(_lender(who % 2 + 1));
        try house.cancelWithdrawal(id) {
            ++ghostForeignCancels;
        } catch {
            _dropLogs();
        }
        vm.prank(l);
        try house.cancelWithdrawal(id) {}
        catch {
            _dropLogs();
        }
    }

    /// @dev Anyone pays the queue; only the head may be left part-paid, nothing behind it is touched.
    function processWithdrawals(uint256 maxRequests) external action("processWithdrawals", false) {
        (uint256 head, uint256 tail) = house.withdrawalQueue();
        uint256[] memory waiting = new uint256[](tail - head);
        for (uint256 i; i < waiting.length; ++i) {
            waiting[i] = house.withdrawalRequest(head + i).shares;
        }
        vm.prank(STRANGER);
        try house.processWithdrawals(bound(maxRequests, 0, 4)) {}
        catch {
            _dropLogs();
            return;
        }
        (uint256 newHead,) = house.withdrawalQueue();
        for (uint256 i; i < waiting.length; ++i) {
            uint256 left = house.withdrawalRequest(head + i).shares;
            if (head + i < newHead ? left != 0 : (head + i == newHead ? left > waiting[i] : left != waiting[i])) {
                ++ghostQueueOutOfOrder;
            }
        }
    }

    // ───────────── interest ─────────────

    function accrueInterest(uint256 caller) external action("accrueInterest", false) {
        vm.prank(address(uint160(bound(caller, 0x5000, 0x5fff)))); // anyone
        try house.accrueInterest(_members) {}
        catch {
            _dropLogs();
        }
    }

    /// @dev Base up to 30%, slope up to 100%: sometimes above the 100% cap, which must be refused.
    function setInterestRateModel(uint256 base, uint256 slope) external action("setInterestRateModel", false) {
        uint16 b = uint16(bound(base, 0, 3000));
        uint16 s = uint16(bound(slope, 0, 10_000));
        vm.prank(ADMIN);
        try house.setInterestRateModel(b, s) {
            if (uint256(b) + s > 10_000) ++ghostRateAboveCap;
        } catch {
            _dropLogs();
        }
    }

    // ───────────── cycles ─────────────

    function commit(uint256 seed, bool reuse) external action("commit", false) {
        _commitOrSettle(seed, reuse, false);
    }

    function settle(uint256 seed, bool reuse) external action("settle", false) {
        _commitOrSettle(seed, reuse, true);
    }

    /// @dev A random cycle through commitCycle or settleCycle, sometimes under
    /// an id already used (which must be refused whichever path used it).
    function _commitOrSettle(uint256 seed, bool reuse, bool atOnce) private {
        (address[] memory ms, int256[] memory ds, uint256 gross) = _randomCycle(seed);
        uint64 id = (reuse && _cycleIds.length > 0) ? _cycleIds[seed % _cycleIds.length] : nextCycleId;
        bool paused = house.paused();
        uint256 escrowBefore = house.totalEscrowed();
        int256[] memory expected = new int256[](ms.length);
        uint256[] memory owed = new uint256[](ms.length);
        for (uint256 i; i < ms.length; ++i) {
            owed[i] = house.interestOwedOf(ms[i]); // what this call charges before debiting
            // What settleCycle must leave: the delta, less what this call charges or recovers (added below).
            expected[i] = house.balanceOf(ms[i]) + ds[i] + int256(interestCharged[ms[i]] + defaultRecovered[ms[i]]);
        }

        vm.prank(OPERATOR);
        (bool ok,) = address(house)
            .call(
                atOnce
                    ? abi.encodeCall(
                        IClearingHouse.settleCycle, (id, keccak256(abi.encode(id)), uint32(ms.length), gross, ms, ds)
                    )
                    : abi.encodeCall(
                        IClearingHouse.commitCycle, (id, keccak256(abi.encode(id)), uint32(ms.length), gross, ms, ds)
                    )
            );
        if (!ok) {
            _dropLogs();
            return;
        }
        if (++ghostCommits[id] > 1) ++ghostDoubleCommits;
        if (id == nextCycleId) {
            _cycleIds.push(id);
            ++nextCycleId;
        }
        if (paused) ++ghostPausedMovements; // a cycle moves balances: never while paused
        if (!atOnce) {
            _committedMembers[id] = ms;
            _committedDeltas[id] = ds;
        }
        _checkDebits(ms, ds, owed);
        if (!atOnce) return;
        _replay(vm.getRecordedLogs()); // now, for the interest and recoveries this call made
        if (house.totalEscrowed() != escrowBefore) ++ghostSettleMismatches;
        for (uint256 i; i < ms.length; ++i) {
            int256 moved = int256(interestCharged[ms[i]] + defaultRecovered[ms[i]]);
            if (house.balanceOf(ms[i]) != expected[i] - moved) ++ghostSettleMismatches;
        }
    }

    /// @dev I3: right after a commit or settle each debtor's balance is its
    /// post-debit balance (a debtor receives nothing in the same cycle). The
    /// headroom is checked before the call charges the debtor's interest
    /// (`owed`), so only that interest may sit below −creditLimit.
    function _checkDebits(address[] memory ms, int256[] memory ds, uint256[] memory owed) private {
        for (uint256 i; i < ms.length; ++i) {
            int256 floor = -int256(house.memberOf(ms[i]).creditLimit) - int256(owed[i]);
            if (ds[i] < 0 && house.balanceOf(ms[i]) < floor) {
                ++ghostDebitsBelowLimit;
            }
        }
    }

    function release(uint256 cycleSeed, uint256 who, uint256 amount) external action("release", false) {
        (bool ok, uint64 id) = _cycle(cycleSeed);
        if (!ok) return;
        address m = _member(who);
        uint256 pending = house.pendingCredit(id, m);
        amount = bound(amount, 1, pending + 100 * D);
        address[] memory creditors = new address[](1);
        uint256[] memory amounts = new uint256[](1);
        (creditors[0], amounts[0]) = (m, amount);
        uint256 owed = _owed(id, m);
        vm.prank(OPERATOR);
        try house.releaseCycle(id, creditors, amounts) {
            if (amount > pending) ++ghostOverReleases;
            // I10: the release repaid the advance before anything reached the creditor.
            if (_owed(id, m) != owed - (amount < owed ? amount : owed)) ++ghostAdvanceOutOfOrder;
        } catch {
            _dropLogs();
        }
    }

    /// @dev The pool advances part of a creditor's pending credit (sometimes more than it may).
    function advance(uint256 cycleSeed, uint256 who, uint256 principal, uint256 fee) external action("advance", false) {
        (bool ok, uint64 id) = _cycle(cycleSeed);
        if (!ok) return;
        address m = _member(who);
        uint256 pending = house.pendingCredit(id, m);
        principal = bound(principal, 1, pending + 10 * D);
        fee = bound(fee, 0, pending / 10 + 1);
        vm.prank(OPERATOR);
        try house.advanceReceivable(id, m, principal, fee) {
            if (principal + fee > pending) ++ghostAdvanceOutOfOrder;
        } catch {
            _dropLogs();
        }
    }

    function _owed(uint64 id, address m) private view returns (uint256) {
        (uint256 principal, uint256 fee) = house.advanceOf(id, m);
        return principal + fee;
    }

    function releaseProRata(uint256 cycleSeed, uint16 bps) external action("releaseProRata", false) {
        (bool ok, uint64 id) = _cycle(cycleSeed);
        if (!ok) return;
        bps = uint16(bound(bps, 1, 10_000));
        vm.prank(OPERATOR);
        try house.releaseCycleProRata(id, _members, bps) {}
        catch {
            _dropLogs();
        }
    }

    function refund(uint256 cycleSeed, uint256 creditorSeed, uint256 debtorSeed, uint256 amount)
        external
        action("refund", false)
    {
        (bool ok, uint64 id) = _cycle(cycleSeed);
        if (!ok || _committedMembers[id].length == 0) return; // settled at once: nothing to refund
        _refund(id, creditorSeed % _committedMembers[id].length, debtorSeed % _committedMembers[id].length, amount);
    }

    /// @dev Cancels part of creditor `c`'s pending credit and refunds it to
    /// debtor `d` (indices into the committed lists), repeating those lists;
    /// now and then first with one delta changed, which must be refused.
    function _refund(uint64 id, uint256 c, uint256 d, uint256 amount) private {
        address[] memory ms = _committedMembers[id];
        int256[] memory ds = _committedDeltas[id];
        uint256 pending = house.pendingCredit(id, ms[c]);
        uint256 debit = ds[d] < 0 ? uint256(-ds[d]) - house.refundedDebit(id, ms[d]) : 0;
        uint256 cap = pending < debit ? pending : debit;
        if (cap == 0) return;
        amount = bound(amount, 1, cap);
        address[] memory cs = new address[](1);
        uint256[] memory xs = new uint256[](1);
        uint256[] memory refunded = new uint256[](ms.length);
        (cs[0], xs[0], refunded[d]) = (ms[c], amount, amount);
        if (amount % 5 == 0 && c != d) _tamperedRefund(id, ms, ds, c, d, cs, xs, refunded);
        vm.prank(OPERATOR);
        try house.refundCycle(id, ms, ds, cs, xs, refunded) {}
        catch {
            _dropLogs();
        }
    }

    /// @dev The debtor claims 1 more paid and the creditor 1 more owed (still
    /// zero-sum): not the committed lists, so it must be refused.
    function _tamperedRefund(
        uint64 id,
        address[] memory ms,
        int256[] memory ds,
        uint256 c,
        uint256 d,
        address[] memory cs,
        uint256[] memory xs,
        uint256[] memory refunded
    ) private {
        int256[] memory tampered = new int256[](ds.length);
        for (uint256 i; i < ds.length; ++i) {
            tampered[i] = ds[i];
        }
        tampered[d] -= 1;
        tampered[c] += 1;
        vm.prank(OPERATOR);
        try house.refundCycle(id, ms, tampered, cs, xs, refunded) {
            ++ghostTamperedRefunds;
        } catch {
            _dropLogs();
        }
    }

    function hold(uint256 cycleSeed, uint256 forSeconds) external action("hold", false) {
        (bool ok, uint64 id) = _cycle(cycleSeed);
        if (!ok) return;
        forSeconds = bound(forSeconds, 1, 10 days);
        vm.prank(OPERATOR);
        try house.holdCycle(id, uint64(block.timestamp + forSeconds)) {}
        catch {
            _dropLogs();
        }
    }

    function claim(uint256 cycleSeed, uint256 who, uint256 caller) external action("claim", false) {
        (bool ok, uint64 id) = _cycle(cycleSeed);
        if (!ok) return;
        address m = _member(who);
        uint256 pending = house.pendingCredit(id, m);
        vm.prank(address(uint160(bound(caller, 0x5000, 0x5fff)))); // anyone
        try house.claim(id, m) {
            if (pending == 0) ++ghostOverReleases;
        } catch {
            _dropLogs();
        }
    }

    /// @dev Mostly up to 5 days; one in eight up to 120 days, so interest adds up.
    function warp(uint256 forSeconds) external action("warp", false) {
        uint256 max = forSeconds % 8 == 0 ? 120 days : 5 days;
        vm.warp(block.timestamp + bound(forSeconds >> 3, 1, max));
    }

    // ───────────── default ─────────────

    /// @dev Half the calls act, so members are not all in default most of the
    /// time; a member in debt is picked first (that is who defaults), so the
    /// waterfall often reaches the lenders. Half the defaults run the
    /// waterfall at once, as the service would.
    function declareDefault(uint256 who, uint256 reason) external action("declareDefault", false) {
        if (reason % 2 == 1) return;
        address m = _member(who);
        for (uint256 i; i < _members.length; ++i) {
            address d = _member(who % _members.length + i);
            if (house.balanceOf(d) < 0 && !house.memberOf(d).defaulted) {
                m = d;
                break;
            }
        }
        vm.prank(RISK);
        try house.declareDefault(m, bytes32(reason)) {
            if ((reason >> 8) % 2 == 0) _allocate(m, reason >> 16);
        } catch {
            _dropLogs();
        }
    }

    function allocateDefaultLoss(uint256 who) external action("allocateDefaultLoss", false) {
        _allocate(_defaulter(who), who >> 8);
    }

    /// @dev Runs the waterfall for `m` naming every cycle the handler knows;
    /// one call in four names none (the risk role chooses which cycles to
    /// name), so the loss reaches the lenders often enough. I8 is checked
    /// against the cycles named.
    function _allocate(address m, uint256 seed) private {
        uint64[] memory named = seed % 4 == 0 ? new uint64[](0) : _cycleIds;
        int256 before = house.balanceOf(m);
        (uint256 pool, uint256 shares) = (house.poolTotal(), house.totalShares());
        vm.prank(RISK);
        try house.allocateDefaultLoss(m, named) returns (uint256 lost) {
            if (lost == 0) return;
            ++ghostLossAllocations;
            (ghostPoolBeforeLoss, ghostSharesBeforeLoss) = (pool, shares);
            (ghostPoolAfterLoss, ghostSharesAfterLoss) = (house.poolTotal(), house.totalShares());
            if (before >= 0 || house.balanceOf(m) != 0) ++ghostWaterfallOutOfOrder;
            for (uint256 i; i < named.length; ++i) {
                IClearingHouse.Cycle memory c = house.cycleOf(named[i]);
                bool open = c.status == IClearingHouse.CycleStatus.COMMITTED && block.timestamp >= c.heldUntil;
                if (open && house.pendingCredit(named[i], m) != 0) ++ghostWaterfallOutOfOrder;
            }
        } catch {
            _dropLogs();
        }
    }

    function cureDefault(uint256 who, uint256 reason) external action("cureDefault", false) {
        address m = _defaulter(who);
        IClearingHouse.Member memory mm = house.memberOf(m);
        bool repaid = mm.defaulted && mm.balance >= 0 && mm.owedToPool == 0;
        vm.prank(RISK);
        try house.cureDefault(m, bytes32(reason)) {
            if (!repaid) ++ghostDefaulterEscapes;
        } catch {
            _dropLogs();
            if (repaid) ++ghostRefusedCures;
        }
    }

    // ───────────── the wrong callers ─────────────

    function intruderCommit(uint256 seed, uint256 who) external action("intruderCommit", false) {
        (address[] memory ms, int256[] memory ds, uint256 gross) = _randomCycle(seed);
        vm.prank(_intruder(who));
        try house.commitCycle(nextCycleId, bytes32(seed), 1, gross, ms, ds) {
            ++ghostUnauthorizedSuccesses;
        } catch {
            _dropLogs();
        }
        vm.prank(_intruder(who >> 8));
        try house.settleCycle(nextCycleId, bytes32(seed), 1, gross, ms, ds) {
            ++ghostUnauthorizedSuccesses;
        } catch {
            _dropLogs();
        }
    }

    function intruderRelease(uint256 cycleSeed, uint256 who) external action("intruderRelease", false) {
        (bool ok, uint64 id) = _cycle(cycleSeed);
        if (!ok) return;
        address m = _member(who);
        address[] memory creditors = new address[](1);
        uint256[] memory amounts = new uint256[](1);
        (creditors[0], amounts[0]) = (m, house.pendingCredit(id, m));
        vm.prank(_intruder(who));
        try house.releaseCycle(id, creditors, amounts) {
            ++ghostUnauthorizedSuccesses;
        } catch {
            _dropLogs();
        }
        vm.prank(_intruder(who >> 8));
        try house.releaseCycleProRata(id, creditors, 10_000) {
            ++ghostUnauthorizedSuccesses;
        } catch {
            _dropLogs();
        }
        // The committed lists and a refund that balances: only the role is wrong.
        address[] memory ms = _committedMembers[id];
        uint256[] memory refunded = new uint256[](ms.length);
        vm.prank(_intruder(who >> 16));
        try house.refundCycle(id, ms, _committedDeltas[id], creditors, new uint256[](1), refunded) {
            ++ghostUnauthorizedSuccesses;
        } catch {
            _dropLogs();
        }
    }

    /// @dev The risk role's default calls and the admin's rate model, by others.
    function intruderRisk(uint256 seed, uint256 who) external action("intruderRisk", false) {
        address m = _member(seed);
        address intruder = _intruder(who);
        if (intruder != RISK) {
            vm.prank(intruder);
            try house.declareDefault(m, "intruder") {
                ++ghostUnauthorizedSuccesses;
            } catch {
                _dropLogs();
            }
            vm.prank(intruder);
            try house.allocateDefaultLoss(m, _cycleIds) {
                ++ghostUnauthorizedSuccesses;
            } catch {
                _dropLogs();
            }
            vm.prank(intruder);
            try house.cureDefault(m, "intruder") {
                ++ghostUnauthorizedSuccesses;
            } catch {
                _dropLogs();
            }
        }
        if (intruder != ADMIN) {
            vm.prank(intruder);
            try house.setInterestRateModel(uint16(seed % 10_000), 0) {
                ++ghostUnauthorizedSuccesses;
            } catch {
                _dropLogs();
            }
        }
    }

    // ───────────── risk and admin ─────────────

    /// @dev A defaulter cannot be resumed (only cured): that must be refused.
    function toggleSuspension(uint256 who) external action("toggleSuspension", false) {
        address m = _member(who);
        IClearingHouse.Member memory mm = house.memberOf(m); // read before the prank, which the next call consumes
        vm.prank(RISK);
        if (mm.suspended) {
            try house.resumeMember(m) {
                if (mm.defaulted) ++ghostDefaulterEscapes;
            } catch {
                _dropLogs();
            }
        } else {
            house.suspendMember(m);
        }
    }

    function setCreditLimit(uint256 who, uint256 limit) external action("setCreditLimit", false) {
        address m = _member(who);
        limit = bound(limit, 0, 5000 * D);
        vm.prank(RISK);
        try house.setCreditLimit(m, limit) {}
        catch {
            _dropLogs();
        }
    }

    function togglePause(uint256 seed) external action("togglePause", false) {
        // Pause rarely and resume soon, so most sequences run unpaused.
        bool paused = house.paused(); // read before the prank, which the next call consumes
        if (paused ? seed % 2 != 0 : seed % 16 != 0) return;
        vm.prank(ADMIN);
        if (paused) house.unpause();
        else house.pause();
    }

    function recoverMember(uint256 who) external action("recoverMember", true) {
        vm.prank(ADMIN);
        try house.recoverMember(_member(who)) {}
        catch {
            _dropLogs();
        }
    }

    function recoverLender(uint256 who) external action("recoverLender", true) {
        vm.prank(ADMIN);
        try house.recoverLender(_lender(who)) {}
        catch {
            _dropLogs();
        }
    }

    function donate(uint256 amount) external action("donate", true) {
        amount = bound(amount, 1, 1000 * D);
        vm.prank(STRANGER);
        token.transfer(address(house), amount);
        ghostSurplus += amount;
    }

    function sweep() external action("sweep", true) {
        vm.prank(ADMIN);
        try house.sweepSurplus(ADMIN) {
            ghostSurplus = 0;
        } catch {
            _dropLogs();
        }
    }

    // ───────────── views for the invariants ─────────────

    function members() external view returns (address[] memory) {
        return _members;
    }

    function lenders() external view returns (address[] memory) {
        return _lenders;
    }

    function cycleIds() external view returns (uint64[] memory) {
        return _cycleIds;
    }

    /// @dev The lists `cycleId` was committed with (empty if settled at once).
    function committedLists(uint64 cycleId) external view returns (address[] memory, int256[] memory) {
        return (_committedMembers[cycleId], _committedDeltas[cycleId]);
    }

    // ───────────── transition checks ─────────────

    function _snap() private view returns (Snap memory s) {
        s.paused = house.paused();
        s.held = token.balanceOf(address(house));
        s.events = houseEvents;
        s.pool = house.poolTotal();
        s.shares = house.totalShares();
        s.writeDowns = writeDowns;
        uint256 n = _members.length;
        s.balances = new int256[](n);
        s.defaulted = new bool[](n);
        s.interest = new uint256[](n);
        s.recovered = new uint256[](n);
        s.recourse = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            address m = _members[i];
            s.balances[i] = house.balanceOf(m);
            s.defaulted[i] = house.memberOf(m).defaulted;
            s.interest[i] = interestCharged[m];
            s.recovered[i] = defaultRecovered[m];
            s.recourse[i] = recourseCharged[m];
        }
    }

    /// @dev I7: the share price (poolTotal + 1) / (totalShares + 1e6), compared
    /// cross-multiplied in 512 bits, never falls without a write-down and never
    /// rises with one. I9: a member in default when the action began was
    /// charged no interest, and its balance fell only by what went back to the
    /// lenders (DefaultRecovered) or by the admin's recovery path (`exempt`).
    function _checkTransition(Snap memory s, bool exempt) private {
        (uint256 pool, uint256 shares) = (house.poolTotal(), house.totalShares());
        // price' ≥ price ⇔ (pool' + 1)(S + 1e6) ≥ (pool + 1)(S' + 1e6)
        bool fell = _lt512(pool + 1, s.shares + VIRTUAL_SHARES, s.pool + 1, shares + VIRTUAL_SHARES);
        bool rose = _lt512(s.pool + 1, shares + VIRTUAL_SHARES, pool + 1, s.shares + VIRTUAL_SHARES);
        if (writeDowns != s.writeDowns) {
            if (rose) ++ghostWriteDownRaises;
        } else if (fell) {
            ++ghostPriceFalls;
        }
        for (uint256 i; i < _members.length; ++i) {
            if (!s.defaulted[i]) continue;
            address m = _members[i];
            if (interestCharged[m] != s.interest[i]) ++ghostDefaulterInterest;
            // What went back to the lenders, and the recourse of an advance it took before (I9).
            int256 back = int256(defaultRecovered[m] - s.recovered[i] + recourseCharged[m] - s.recourse[i]);
            if (!exempt && house.balanceOf(m) + back < s.balances[i]) ++ghostDefaulterDebited;
        }
    }

    /// @dev a × b < c × d, exactly.
    function _lt512(uint256 a, uint256 b, uint256 c, uint256 d) private pure returns (bool) {
        (uint256 hi1, uint256 lo1) = _mul512(a, b);
        (uint256 hi2, uint256 lo2) = _mul512(c, d);
        return hi1 < hi2 || (hi1 == hi2 && lo1 < lo2);
    }

    function _mul512(uint256 a, uint256 b) private pure returns (uint256 hi, uint256 lo) {
        assembly ("memory-safe") {
            let mm := mulmod(a, b, not(0))
            lo := mul(a, b)
            hi := sub(sub(mm, lo), lt(mm, lo))
        }
    }

    // ───────────── internals ─────────────

    /// @dev vm.recordLogs also records events of frames that later reverted;
    /// an auditor never sees those, so a failed call's logs are dropped.
    function _dropLogs() private {
        vm.getRecordedLogs();
    }

    function _fund(address who) private {
        token.mint(who, 1e12 * D);
        vm.prank(who);
        token.approve(address(house), type(uint256).max);
    }

    function _member(uint256 seed) private view returns (address) {
        return _members[seed % _members.length];
    }

    function _lender(uint256 seed) private view returns (address) {
        return _lenders[seed % _lenders.length];
    }

    /// @dev The first member in default from `seed` on, else `seed`'s member (whose call must then be refused).
    function _defaulter(uint256 seed) private view returns (address) {
        uint256 n = _members.length;
        for (uint256 i; i < n; ++i) {
            address m = _members[(seed % n + i) % n];
            if (house.memberOf(m).defaulted) return m;
        }
        return _member(seed);
    }

    /// @dev One of `lender`'s waiting requests, chosen by `pick`.
    function _requestOf(address lender, uint256 pick) private view returns (bool, uint256) {
        (uint256 head, uint256 tail) = house.withdrawalQueue();
        uint256 count;
        for (uint256 id = head; id < tail; ++id) {
            IClearingHouse.WithdrawalRequest memory r = house.withdrawalRequest(id);
            if (r.lender == lender && r.shares != 0) ++count;
        }
        if (count == 0) return (false, 0);
        uint256 k = pick % count;
        for (uint256 id = head; id < tail; ++id) {
            IClearingHouse.WithdrawalRequest memory r = house.withdrawalRequest(id);
            if (r.lender != lender || r.shares == 0) continue;
            if (k == 0) return (true, id);
            --k;
        }
        return (false, 0);
    }

    function _intruder(uint256 seed) private view returns (address) {
        uint256 k = seed % 4;
        if (k == 0) return STRANGER;
        if (k == 1) return RISK;
        if (k == 2) return ADMIN;
        return _member(seed >> 2);
    }

    function _cycle(uint256 seed) private view returns (bool, uint64) {
        if (_cycleIds.length == 0) return (false, 0);
        return (true, _cycleIds[seed % _cycleIds.length]);
    }

    /// @dev Random zero-sum deltas over the four members: some pay up to their
    /// headroom (sometimes a bit more, to exercise the refusal), one member
    /// never pays, and the total is split among the non-payers. Suspended
    /// members (defaulters among them) are picked as debtors only now and
    /// then, so most cycles can commit while some member is in default.
    function _randomCycle(uint256 seed)
        private
        view
        returns (address[] memory ms, int256[] memory deltas, uint256 gross)
    {
        uint256 n = _members.length;
        ms = _members;
        deltas = new int256[](n);
        uint256 keeper = seed % n; // never a debtor, so someone receives
        uint256 total;
        for (uint256 i; i < n; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            if (i == keeper || r % 2 == 0) continue;
            if (house.memberOf(ms[i]).suspended && r % 16 != 1) continue;
            uint256 available = house.availableOf(ms[i]);
            // ≤ ~112% of headroom; one in eight exactly the headroom, so interest then takes it beyond.
            uint256 amount = r % 8 == 3 ? available : (r >> 8) % (available + available / 8 + 2);
            if (amount == 0) continue;
            deltas[i] = -int256(amount);
            total += amount;
        }
        uint256 left = total;
        for (uint256 i; i < n; ++i) {
            if (deltas[i] < 0) continue;
            uint256 share = (i == keeper) ? 0 : uint256(keccak256(abi.encode(seed, i, "c"))) % (left + 1);
            deltas[i] = int256(share);
            left -= share;
        }
        deltas[keeper] += int256(left);
        gross = total + (seed % 1000) * D; // gross ≥ net debit
    }
}
