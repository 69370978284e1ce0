// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IClearingHouse} from "../../../contracts/interfaces/IClearingHouse.sol";
import {Vm} from "./Vm.sol";

/// @notice What an auditor does: rebuild every member balance, every cycle's
/// net deltas and escrow, the pool's total, every lender's shares and the
/// withdrawal queue from the house's events alone, and check each event's
/// reported resulting balance (or pool total) against the replay.
/// settleCycle emits exactly the sequence of commitCycle followed by a full
/// releaseCycle (every debit before the first release), so it needs no case
/// of its own. A release of a financed credit is an AdvanceRepaid (out of the
/// escrow into the pool, never the balance) then a CreditReleased of the rest.
/// Balance moves outside cycles: ReceivableAdvanced (+, from the pool),
/// AdvanceRecourse (−, back to the pool), PledgesSold (+, paid by the
/// liquidator), InterestCharged (−, into the pool), PoolWrittenDown (+, the debt leaves the balance for the lenders'
/// loss), DefaultRecovered (−, back into the pool). Each default waterfall
/// must replay as its four DefaultLossAllocated steps in order, each step's
/// remaining loss the previous one's less its amount, ending at zero, with
/// a PoolWrittenDown of exactly step 4's amount when step 4 is not zero.
abstract contract HouseEventLedger {
    address internal ledgerHouse;

    mapping(address member => int256) public replayedBalance;
    /// @dev Σ of the cycle's committed deltas (debits negative): must be 0.
    mapping(uint64 cycleId => int256) public replayedNet;
    /// @dev Debited − released − refunded: must equal the cycle's escrow.
    mapping(uint64 cycleId => uint256) public replayedEscrow;
    /// @dev Credited − released − cancelled: must also equal the cycle's escrow.
    mapping(uint64 cycleId => uint256) public replayedPending;
    /// @dev The pool's equity from pool, interest, write-down and recovery events.
    uint256 public replayedPoolTotal;
    mapping(address lender => uint256) public replayedShares;
    uint256 public replayedTotalShares;
    uint256 public replayedQueuedShares;
    mapping(uint256 requestId => uint256) public replayedRequestShares;
    /// @dev Σ InterestCharged amounts per member, ever.
    mapping(address member => uint256) public interestCharged;
    /// @dev Σ DefaultRecovered amounts per member, ever.
    mapping(address member => uint256) public defaultRecovered;
    /// @dev Σ advance principal outstanding, from ReceivableAdvanced, AdvanceRepaid and AdvanceRecourse.
    uint256 public replayedAdvanced;
    /// @dev Σ AdvanceRecourse amounts (principal + fee) charged per member, ever.
    mapping(address member => uint256) public recourseCharged;
    /// @dev Σ PoolWrittenDown amounts per member, ever.
    mapping(address member => uint256) public writtenDown;
    uint256 public writeDowns;
    /// @dev Events whose reported resulting balance or pool total disagreed with the replay.
    uint256 public replayMismatches;
    /// @dev Waterfall events out of order, or whose amounts do not add up.
    uint256 public waterfallMismatches;
    uint256 public waterfallsReplayed;
    uint256 public replayedEvents;
    /// @dev Every event the house emitted (including hold and admin events).
    uint256 public houseEvents;

    /// @dev The waterfall in progress per member: the last step seen and its remaining loss.
    mapping(address member => uint256) private _lastStep;
    mapping(address member => uint256) private _remaining;
    /// @dev Step 4's amount, for the PoolWrittenDown that precedes its event.
    mapping(address member => uint256) private _pendingWriteDown;

    function _replay(Vm.Log[] memory logs) internal {
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == ledgerHouse) {
                ++houseEvents;
                _apply(logs[i]);
            }
        }
    }

    function _apply(Vm.Log memory log) private {
        bytes32 sig = log.topics[0];
        if (sig == IClearingHouse.Deposited.selector) {
            (uint256 amount, int256 balance) = abi.decode(log.data, (uint256, int256));
            _move(_addr(log.topics[1]), int256(amount), balance);
        } else if (sig == IClearingHouse.Withdrawn.selector) {
            (uint256 amount, int256 balance) = abi.decode(log.data, (uint256, int256));
            _move(_addr(log.topics[1]), -int256(amount), balance);
        } else if (sig == IClearingHouse.MemberDebited.selector) {
            uint64 cycleId = uint64(uint256(log.topics[1]));
            (uint256 amount, int256 balance) = abi.decode(log.data, (uint256, int256));
            _move(_addr(log.topics[2]), -int256(amount), balance);
            replayedNet[cycleId] -= int256(amount);
            replayedEscrow[cycleId] += amount;
        } else if (sig == IClearingHouse.CreditRecorded.selector) {
            uint64 cycleId = uint64(uint256(log.topics[1]));
            uint256 amount = abi.decode(log.data, (uint256));
            replayedNet[cycleId] += int256(amount);
            replayedPending[cycleId] += amount;
            ++replayedEvents;
        } else if (sig == IClearingHouse.CreditReleased.selector) {
            uint64 cycleId = uint64(uint256(log.topics[1]));
            (uint256 amount, int256 balance) = abi.decode(log.data, (uint256, int256));
            _move(_addr(log.topics[2]), int256(amount), balance);
            replayedEscrow[cycleId] -= amount;
            replayedPending[cycleId] -= amount;
        } else if (sig == IClearingHouse.CreditCancelled.selector) {
            uint64 cycleId = uint64(uint256(log.topics[1]));
            replayedPending[cycleId] -= abi.decode(log.data, (uint256));
            ++replayedEvents;
        } else if (sig == IClearingHouse.DebitRefunded.selector) {
            uint64 cycleId = uint64(uint256(log.topics[1]));
            (uint256 amount, int256 balance) = abi.decode(log.data, (uint256, int256));
            _move(_addr(log.topics[2]), int256(amount), balance);
            replayedEscrow[cycleId] -= amount;
        } else if (sig == IClearingHouse.AdvanceRepaid.selector) {
            // The part of a release that repaid the pool: it left the escrow without reaching the balance.
            uint64 cycleId = uint64(uint256(log.topics[1]));
            (uint256 principal, uint256 fee,, uint256 pool) = abi.decode(log.data, (uint256, uint256, uint256, uint256));
            replayedEscrow[cycleId] -= principal + fee;
            replayedPending[cycleId] -= principal + fee;
            replayedAdvanced -= principal;
            _pool(int256(fee), pool);
        } else if (sig == IClearingHouse.MemberRecovered.selector) {
            uint256 amount = abi.decode(log.data, (uint256));
            _move(_addr(log.topics[1]), -int256(amount), 0);
        } else {
            _applyPool(sig, log);
        }
    }

    /// @dev Pool, interest and default events.
    function _applyPool(bytes32 sig, Vm.Log memory log) private {
        if (sig == IClearingHouse.ReceivableAdvanced.selector) {
            (uint256 principal,, int256 balance, uint256 advanced) =
                abi.decode(log.data, (uint256, uint256, int256, uint256));
            _move(_addr(log.topics[2]), int256(principal), balance);
            replayedAdvanced += principal;
            if (replayedAdvanced != advanced) ++replayMismatches;
        } else if (sig == IClearingHouse.AdvanceRecourse.selector) {
            address creditor = _addr(log.topics[2]);
            (uint256 principal, uint256 fee, int256 balance, uint256 pool) =
                abi.decode(log.data, (uint256, uint256, int256, uint256));
            _move(creditor, -int256(principal + fee), balance);
            recourseCharged[creditor] += principal + fee;
            replayedAdvanced -= principal;
            _pool(int256(fee), pool);
        } else if (sig == IClearingHouse.PledgesSold.selector) {
            (uint256 value, int256 balance) = abi.decode(log.data, (uint256, int256));
            _move(_addr(log.topics[1]), int256(value), balance);
        } else if (sig == IClearingHouse.InterestCharged.selector) {
            address member = _addr(log.topics[1]);
            (uint256 amount, int256 balance, uint256 pool) = abi.decode(log.data, (uint256, int256, uint256));
            _move(member, -int256(amount), balance);
            interestCharged[member] += amount;
            _pool(int256(amount), pool);
        } else if (sig == IClearingHouse.PoolWrittenDown.selector) {
            address member = _addr(log.topics[1]);
            (uint256 amount, uint256 pool) = abi.decode(log.data, (uint256, uint256));
            _move(member, int256(amount), 0); // the whole debt leaves the balance
            writtenDown[member] += amount;
            ++writeDowns;
            _pendingWriteDown[member] = amount;
            _pool(-int256(amount), pool);
        } else if (sig == IClearingHouse.DefaultRecovered.selector) {
            address member = _addr(log.topics[1]);
            (uint256 amount,, int256 balance, uint256 pool) = abi.decode(log.data, (uint256, uint256, int256, uint256));
            _move(member, -int256(amount), balance);
            defaultRecovered[member] += amount;
            _pool(int256(amount), pool);
        } else if (sig == IClearingHouse.DefaultLossAllocated.selector) {
            _waterfallStep(_addr(log.topics[1]), uint256(log.topics[2]), log.data);
        } else if (sig == IClearingHouse.PoolDeposited.selector) {
            address lender = _addr(log.topics[1]);
            (uint256 assets, uint256 shares, uint256 pool) = abi.decode(log.data, (uint256, uint256, uint256));
            replayedShares[lender] += shares;
            replayedTotalShares += shares;
            _pool(int256(assets), pool);
        } else if (sig == IClearingHouse.PoolWithdrawn.selector) {
            address lender = _addr(log.topics[1]);
            (uint256 assets, uint256 shares, uint256 pool) = abi.decode(log.data, (uint256, uint256, uint256));
            replayedShares[lender] -= shares;
            replayedTotalShares -= shares;
            _pool(-int256(assets), pool);
        } else if (sig == IClearingHouse.LenderRecovered.selector) {
            address lender = _addr(log.topics[1]);
            (uint256 amount, uint256 shares, uint256 pool) = abi.decode(log.data, (uint256, uint256, uint256));
            replayedShares[lender] -= shares;
            replayedTotalShares -= shares;
            _pool(-int256(amount), pool);
        } else {
            _applyQueue(sig, log);
        }
    }

    function _applyQueue(bytes32 sig, Vm.Log memory log) private {
        if (sig == IClearingHouse.WithdrawalQueued.selector) {
            uint256 id = uint256(log.topics[1]);
            uint256 shares = abi.decode(log.data, (uint256));
            replayedShares[_addr(log.topics[2])] -= shares;
            replayedQueuedShares += shares;
            replayedRequestShares[id] = shares;
            ++replayedEvents;
        } else if (sig == IClearingHouse.WithdrawalCancelled.selector) {
            uint256 id = uint256(log.topics[1]);
            uint256 shares = abi.decode(log.data, (uint256));
            replayedShares[_addr(log.topics[2])] += shares;
            replayedQueuedShares -= shares;
            if (replayedRequestShares[id] != shares) ++replayMismatches;
            replayedRequestShares[id] = 0;
            ++replayedEvents;
        } else if (sig == IClearingHouse.WithdrawalProcessed.selector) {
            uint256 id = uint256(log.topics[1]);
            (uint256 shares, uint256 assets, uint256 left) = abi.decode(log.data, (uint256, uint256, uint256));
            replayedQueuedShares -= shares;
            replayedTotalShares -= shares;
            replayedRequestShares[id] -= shares;
            if (replayedRequestShares[id] != left) ++replayMismatches;
            replayedPoolTotal -= assets; // the event does not report the pool total
            ++replayedEvents;
        }
    }

    /// @dev One DefaultLossAllocated: steps 1..4 in order, amounts adding up.
    function _waterfallStep(address member, uint256 step, bytes memory data) private {
        (uint256 amount, uint256 remaining) = abi.decode(data, (uint256, uint256));
        ++replayedEvents;
        if (step != _lastStep[member] % 4 + 1) ++waterfallMismatches;
        if (step == uint256(IClearingHouse.WaterfallStep.COLLATERAL)) {
            // Step 1 reports the whole loss as remaining (its amount is 0 in the signed model).
            if (amount != 0) ++waterfallMismatches;
        } else if (_remaining[member] != remaining + amount) {
            ++waterfallMismatches;
        }
        if (step == uint256(IClearingHouse.WaterfallStep.POOL_LENDERS)) {
            if (remaining != 0 || _pendingWriteDown[member] != amount) ++waterfallMismatches;
            _pendingWriteDown[member] = 0;
            ++waterfallsReplayed;
        }
        _lastStep[member] = step;
        _remaining[member] = remaining;
    }

    function _move(address member, int256 change, int256 reported) private {
        int256 balance = replayedBalance[member] + change;
        replayedBalance[member] = balance;
        if (balance != reported) ++replayMismatches;
        ++replayedEvents;
    }

    function _pool(int256 change, uint256 reported) private {
        uint256 pool = uint256(int256(replayedPoolTotal) + change);
        replayedPoolTotal = pool;
        if (pool != reported) ++replayMismatches;
    }

    function _addr(bytes32 topic) private pure returns (address) {
        return address(uint160(uint256(topic)));
    }
}
