// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ClearingHouse} from "../../../contracts/ClearingHouse.sol";
import {IClearingHouse} from "../../../contracts/interfaces/IClearingHouse.sol";
import {SettlementToken} from "../../../contracts/test/SettlementToken.sol";
import {HouseEventLedger} from "../utils/HouseEventLedger.sol";
import {Test} from "../utils/Test.sol";

/// @notice Drives random sequences against one house: deposits, withdrawals,
/// pool moves, commits, one-call settlements, releases, refunds, holds, claims, pauses, recovery and
/// attempts by the wrong callers. Ghost counters record anything the design
/// forbids; the invariant suite asserts they stay zero. Every action ends by
/// replaying the house's events, as an auditor would.
contract ClearingHouseHandler is Test, HouseEventLedger {
    uint256 internal constant D = 1e6;

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

    // ───────────── ghosts ─────────────
    mapping(uint64 cycleId => uint256) public ghostCommits;
    uint256 public ghostDoubleCommits;
    uint256 public ghostOverWithdrawals;
    uint256 public ghostOverReleases;
    uint256 public ghostUnauthorizedSuccesses;
    uint256 public ghostPausedMovements;
    /// @dev settleCycle calls that moved a balance by other than its delta, or touched the escrow.
    uint256 public ghostSettleMismatches;
    uint256 public ghostSurplus; // tokens sent by plain transfer and not yet swept
    mapping(string action => uint256) public calls;
    /// @dev Calls that changed a balance or a cycle, so tests can show no action is vacuous.
    mapping(string action => uint256) public effective;

    constructor() {
        vm.recordLogs(); // the replay starts with the deployment
        token = new SettlementToken();
        house = new ClearingHouse(token, ADMIN);
        ledgerHouse = address(house);
        vm.startPrank(ADMIN);
        house.grantRole(house.OPERATOR_ROLE(), OPERATOR);
        house.grantRole(house.RISK_ROLE(), RISK);
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
    }

    /// @dev Every action: count it, watch for paused movements, replay events.
    /// `exempt` marks the recovery path and plain transfers into the house,
    /// the only ways the house's token balance may change while paused.
    modifier action(string memory name, bool exempt) {
        ++calls[name];
        bool wasPaused = house.paused();
        uint256 held = token.balanceOf(address(house));
        uint256 eventsBefore = houseEvents;
        _;
        if (wasPaused && !exempt && token.balanceOf(address(house)) != held) ++ghostPausedMovements;
        _replay(vm.getRecordedLogs());
        if (houseEvents != eventsBefore) ++effective[name];
    }

    // ───────────── collateral and pool ─────────────

    function deposit(uint256 who, uint256 amount) external action("deposit", false) {
        address m = _member(who);
        amount = bound(amount, 1, 20_000 * D);
        vm.prank(m);
        try house.deposit(amount) {}
        catch {
            _dropLogs();
        }
    }

    function withdraw(uint256 who, uint256 amount) external action("withdraw", false) {
        address m = _member(who);
        int256 balance = house.balanceOf(m);
        uint256 free = balance > 0 ? uint256(balance) : 0;
        amount = bound(amount, 1, free + 1000 * D); // sometimes more than is free
        vm.prank(m);
        try house.withdraw(amount, m) {
            if (amount > free) ++ghostOverWithdrawals;
        } catch {
            _dropLogs();
        }
    }

    function poolDeposit(uint256 who, uint256 amount) external action("poolDeposit", false) {
        address l = _lenders[who % _lenders.length];
        amount = bound(amount, 1, 20_000 * D);
        vm.prank(l);
        try house.poolDeposit(amount) {}
        catch {
            _dropLogs();
        }
    }

    function poolWithdraw(uint256 who, uint256 amount) external action("poolWithdraw", false) {
        address l = _lenders[who % _lenders.length];
        amount = bound(amount, 1, house.lenderBalance(l) + 1000 * D);
        vm.prank(l);
        try house.poolWithdraw(amount, l) {}
        catch {
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
        uint64 id;
        if (reuse && _cycleIds.length > 0) {
            id = _cycleIds[seed % _cycleIds.length]; // must be refused
        } else {
            id = nextCycleId;
        }
        bool paused = house.paused();
        uint256 escrowBefore = house.totalEscrowed();
        int256[] memory before = new int256[](ms.length);
        for (uint256 i; i < ms.length; ++i) {
            before[i] = house.balanceOf(ms[i]);
        }

        vm.prank(OPERATOR);
        if (atOnce) {
            try house.settleCycle(id, keccak256(abi.encode(id)), uint32(ms.length), gross, ms, ds) {}
            catch {
                _dropLogs();
                return;
            }
        } else {
            try house.commitCycle(id, keccak256(abi.encode(id)), uint32(ms.length), gross, ms, ds) {}
            catch {
                _dropLogs();
                return;
            }
        }
        if (++ghostCommits[id] > 1) ++ghostDoubleCommits;
        if (id == nextCycleId) {
            _cycleIds.push(id);
            ++nextCycleId;
        }
        if (paused) ++ghostPausedMovements; // a cycle moves balances: never while paused
        if (!atOnce) return;
        if (house.totalEscrowed() != escrowBefore) ++ghostSettleMismatches;
        for (uint256 i; i < ms.length; ++i) {
            if (house.balanceOf(ms[i]) != before[i] + ds[i]) ++ghostSettleMismatches;
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
        vm.prank(OPERATOR);
        try house.releaseCycle(id, creditors, amounts) {
            if (amount > pending) ++ghostOverReleases;
        } catch {
            _dropLogs();
        }
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
        if (!ok) return;
        _refund(id, _member(creditorSeed), _member(debtorSeed), amount);
    }

    /// @dev Cancels part of `c`'s pending credit and refunds it to `d`.
    function _refund(uint64 id, address c, address d, uint256 amount) private {
        uint256 pending = house.pendingCredit(id, c);
        uint256 debit = house.cycleDebit(id, d);
        uint256 cap = pending < debit ? pending : debit;
        if (cap == 0) return;
        address[] memory cs = new address[](1);
        address[] memory ds = new address[](1);
        uint256[] memory xs = new uint256[](1);
        (cs[0], ds[0], xs[0]) = (c, d, bound(amount, 1, cap));
        vm.prank(OPERATOR);
        try house.refundCycle(id, cs, xs, ds, xs) {}
        catch {
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

    function warp(uint256 forSeconds) external action("warp", false) {
        vm.warp(block.timestamp + bound(forSeconds, 1, 5 days));
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
        vm.prank(_intruder(who >> 16));
        try house.refundCycle(id, creditors, amounts, creditors, amounts) {
            ++ghostUnauthorizedSuccesses;
        } catch {
            _dropLogs();
        }
    }

    // ───────────── risk and admin ─────────────

    function toggleSuspension(uint256 who) external action("toggleSuspension", false) {
        address m = _member(who);
        bool suspended = house.memberOf(m).suspended; // read before the prank, which the next call consumes
        vm.prank(RISK);
        if (suspended) house.resumeMember(m);
        else house.suspendMember(m);
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
        try house.recoverLender(_lenders[who % _lenders.length]) {}
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
    /// never pays, and the total is split among the non-payers.
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
            uint256 available = house.availableOf(ms[i]);
            uint256 amount = (r >> 8) % (available + available / 8 + 2); // ≤ ~112% of headroom
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
