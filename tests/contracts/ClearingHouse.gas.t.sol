// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ClearingHouse} from "../../contracts/ClearingHouse.sol";
import {IClearingHouse} from "../../contracts/interfaces/IClearingHouse.sol";
import {SettlementToken} from "../../contracts/test/SettlementToken.sol";
import {Test} from "./utils/Test.sol";

/// @notice Budget check (Python benches the real numbers): a cycle of 10,000
/// obligations among 50 members, commit plus full release, must cost at most
/// 0.5% of 10,000 plain ERC-20 transfers (≈ 2.5M gas). `isolate` runs each
/// call as its own transaction (so storage is priced as on chain, not as
/// dirty slots of one big test tx); we add 21,000 and the calldata cost per
/// tx on top, which over-counts slightly: the budget check is conservative.
/// Run with -vvvv to see the GasReport numbers (≈ 1.78M commit + 0.35M release).
///
/// The same cycle settled in one call ({settleCycle}) skips the per-member
/// escrow writes; its budget is 1M gas, 0.29% of 10,000 transfers at 34,466
/// gas each (≈ 0.84M measured, 0.24%). Gas refunds are not subtracted.
contract ClearingHouseGasTest is Test {
    uint256 internal constant MEMBERS = 50;
    uint256 internal constant BUDGET = 2_500_000;
    uint256 internal constant SETTLE_BUDGET = 1_000_000;

    event GasReport(string what, uint256 gas);

    ClearingHouse internal house;
    address internal constant OPERATOR = address(0x3002);

    /// forge-config: default.isolate = true
    function test_gas_commitAndFullRelease50Members() public {
        (address[] memory members, int256[] memory deltas, address[] memory creditors, uint256[] memory amounts) =
            _fiftyMembers();

        uint256 commitGas =
            _measure(abi.encodeCall(IClearingHouse.commitCycle, (1, keccak256("root"), 10_000, 1e15, members, deltas)));
        uint256 releaseGas = _measure(abi.encodeCall(IClearingHouse.releaseCycle, (1, creditors, amounts)));
        assertEq(uint256(house.cycleOf(1).status), uint256(IClearingHouse.CycleStatus.SETTLED), "settled");

        emit GasReport("commit", commitGas);
        emit GasReport("release", releaseGas);
        emit GasReport("total", commitGas + releaseGas);
        assertLe(commitGas + releaseGas, BUDGET, "commit + release within 0.5% of 10k transfers");
    }

    /// forge-config: default.isolate = true
    function test_gas_settle50Members() public {
        (address[] memory members, int256[] memory deltas,,) = _fiftyMembers();

        uint256 settleGas =
            _measure(abi.encodeCall(IClearingHouse.settleCycle, (1, keccak256("root"), 10_000, 1e15, members, deltas)));
        assertEq(uint256(house.cycleOf(1).status), uint256(IClearingHouse.CycleStatus.SETTLED), "settled");
        assertEq(house.totalEscrowed(), 0, "nothing escrowed");
        for (uint256 i; i < MEMBERS; ++i) {
            assertEq(house.balanceOf(members[i]), int256(1_000_000e6) + deltas[i], "net position applied");
        }

        emit GasReport("settle", settleGas);
        assertLe(settleGas, SETTLE_BUDGET, "settle of 50 members within 1M gas");
    }

    /// @dev A fresh house with 50 funded members (ascending addresses); even
    /// members pay, odd ones receive, realistic non-round amounts. Returns the
    /// cycle and its full release.
    function _fiftyMembers()
        private
        returns (address[] memory members, int256[] memory deltas, address[] memory creditors, uint256[] memory amounts)
    {
        SettlementToken token = new SettlementToken();
        house = new ClearingHouse(token, address(this));
        house.grantRole(house.OPERATOR_ROLE(), OPERATOR);
        house.grantRole(house.RISK_ROLE(), address(this));

        members = new address[](MEMBERS);
        deltas = new int256[](MEMBERS);
        creditors = new address[](MEMBERS / 2);
        amounts = new uint256[](MEMBERS / 2);
        for (uint256 i; i < MEMBERS; ++i) {
            address m = address(uint160(0x10000 + i));
            members[i] = m;
            house.admitMember(m, 0);
            token.mint(m, 1_000_000e6);
            vm.startPrank(m);
            token.approve(address(house), type(uint256).max);
            house.deposit(1_000_000e6);
            vm.stopPrank();
            int256 amount = int256(12_345e6 + i * 1_000_003);
            if (i % 2 == 0) {
                deltas[i] = -amount;
            } else {
                deltas[i] = -deltas[i - 1];
                creditors[i / 2] = m;
                amounts[i / 2] = uint256(deltas[i]);
            }
        }
    }

    /// @dev One operator transaction against cold house storage: execution
    /// gas + 21,000 + calldata. Reverts if the call fails.
    function _measure(bytes memory data) private returns (uint256 gas) {
        vm.cool(address(house));
        vm.prank(OPERATOR);
        uint256 g = gasleft();
        (bool ok,) = address(house).call(data);
        gas = g - gasleft(); // its own statement: operand evaluation order is unspecified
        assertTrue(ok, "operator call");
        gas += 21_000 + _calldataGas(data);
    }

    function _calldataGas(bytes memory data) private pure returns (uint256 gas) {
        for (uint256 i; i < data.length; ++i) {
            gas += data[i] == 0 ? 4 : 16;
        }
    }
}
