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
contract ClearingHouseGasTest is Test {
    uint256 internal constant MEMBERS = 50;
    uint256 internal constant BUDGET = 2_500_000;

    event GasReport(string what, uint256 gas);

    ClearingHouse internal house;
    address internal constant OPERATOR = address(0x3002);

    /// forge-config: default.isolate = true
    function test_gas_commitAndFullRelease50Members() public {
        SettlementToken token = new SettlementToken();
        house = new ClearingHouse(token, address(this));
        house.grantRole(house.OPERATOR_ROLE(), OPERATOR);
        house.grantRole(house.RISK_ROLE(), address(this));

        address[] memory members = new address[](MEMBERS);
        int256[] memory deltas = new int256[](MEMBERS);
        address[] memory creditors = new address[](MEMBERS / 2);
        uint256[] memory amounts = new uint256[](MEMBERS / 2);
        for (uint256 i; i < MEMBERS; ++i) {
            address m = address(uint160(0x10000 + i));
            members[i] = m;
            house.admitMember(m, 0);
            token.mint(m, 1_000_000e6);
            vm.startPrank(m);
            token.approve(address(house), type(uint256).max);
            house.deposit(1_000_000e6);
            vm.stopPrank();
            // Even members pay, odd ones receive; realistic non-round amounts.
            int256 amount = int256(12_345e6 + i * 1_000_003);
            if (i % 2 == 0) {
                deltas[i] = -amount;
            } else {
                deltas[i] = -deltas[i - 1];
                creditors[i / 2] = m;
                amounts[i / 2] = uint256(deltas[i]);
            }
        }

        bytes memory commitData =
            abi.encodeCall(IClearingHouse.commitCycle, (1, keccak256("root"), 10_000, 1e15, members, deltas));
        bytes memory releaseData = abi.encodeCall(IClearingHouse.releaseCycle, (1, creditors, amounts));

        vm.cool(address(house));
        vm.prank(OPERATOR);
        uint256 g = gasleft();
        (bool ok,) = address(house).call(commitData);
        uint256 commitGas = g - gasleft();
        commitGas += 21_000 + _calldataGas(commitData);
        assertTrue(ok, "commit");

        vm.cool(address(house));
        vm.prank(OPERATOR);
        g = gasleft();
        (ok,) = address(house).call(releaseData);
        uint256 releaseGas = g - gasleft();
        releaseGas += 21_000 + _calldataGas(releaseData);
        assertTrue(ok, "release");
        assertEq(uint256(house.cycleOf(1).status), uint256(IClearingHouse.CycleStatus.SETTLED), "settled");

        emit GasReport("commit", commitGas);
        emit GasReport("release", releaseGas);
        emit GasReport("total", commitGas + releaseGas);
        assertLe(commitGas + releaseGas, BUDGET, "commit + release within 0.5% of 10k transfers");
    }

    function _calldataGas(bytes memory data) private pure returns (uint256 gas) {
        for (uint256 i; i < data.length; ++i) {
            gas += data[i] == 0 ? 4 : 16;
        }
    }
}
