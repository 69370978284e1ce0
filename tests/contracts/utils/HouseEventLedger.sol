// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IClearingHouse} from "../../../contracts/interfaces/IClearingHouse.sol";
import {Vm} from "./Vm.sol";

/// @notice What an auditor does: rebuild every member balance and every
/// cycle's net deltas and escrow from the house's events alone, and check each
/// event's reported resulting balance against the replay. settleCycle emits
/// exactly the sequence of commitCycle followed by a full releaseCycle (every
/// debit before the first release), so it needs no case of its own.
abstract contract HouseEventLedger {
    address internal ledgerHouse;

    mapping(address member => int256) public replayedBalance;
    /// @dev Σ of the cycle's committed deltas (debits negative): must be 0.
    mapping(uint64 cycleId => int256) public replayedNet;
    /// @dev Debited − released − refunded: must equal the cycle's escrow.
    mapping(uint64 cycleId => uint256) public replayedEscrow;
    /// @dev Credited − released − cancelled: must also equal the cycle's escrow.
    mapping(uint64 cycleId => uint256) public replayedPending;
    /// @dev Events whose reported resulting balance disagreed with the replay.
    uint256 public replayMismatches;
    uint256 public replayedEvents;
    /// @dev Every event the house emitted (including pool, hold and admin events).
    uint256 public houseEvents;

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
        } else if (sig == IClearingHouse.MemberRecovered.selector) {
            uint256 amount = abi.decode(log.data, (uint256));
            _move(_addr(log.topics[1]), -int256(amount), 0);
        }
    }

    function _move(address member, int256 change, int256 reported) private {
        int256 balance = replayedBalance[member] + change;
        replayedBalance[member] = balance;
        if (balance != reported) ++replayMismatches;
        ++replayedEvents;
    }

    function _addr(bytes32 topic) private pure returns (address) {
        return address(uint160(uint256(topic)));
    }
}
