"""Typed contract clients of the settlement token and the clearing house (the base, results and
errors are in ``base.py`` and re-exported here, where callers have always imported them)."""

from __future__ import annotations

from collections.abc import Sequence

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from clearing.adapters.chain.base import (
    DEFAULT_ADMIN_ROLE,
    OPERATOR_ROLE,
    RISK_ROLE,
    ContractClient,
    CycleState,
    Eip712Domain,
    Event,
    MemberState,
    SignedCall,
    TxResult,
    UnsignedTx,
    decode_revert,
    padded_gas,
)
from clearing.errors import AdvanceExceedsCredit, AdvanceExists, AdvanceRefused, ChainReverted, ClearingError

__all__ = [
    "DEFAULT_ADMIN_ROLE",
    "OPERATOR_ROLE",
    "RISK_ROLE",
    "ClearingHouseClient",
    "ContractClient",
    "CycleState",
    "Eip712Domain",
    "Event",
    "MemberState",
    "SignedCall",
    "TokenClient",
    "TxResult",
    "UnsignedTx",
    "advance_error",
    "decode_revert",
    "padded_gas",
    "reason_bytes32",
]


# --------------------------------------------------------------------------- token
class TokenClient(ContractClient):
    artifact = "SettlementToken"

    def balance_of(self, who: str) -> int:
        return self._call("balanceOf", to_checksum_address(who))

    def decimals(self) -> int:
        return self._call("decimals")

    def mint(self, to: str, amount: int, sender: LocalAccount | None = None) -> TxResult:
        return self._send("mint", to_checksum_address(to), amount, sender=sender)

    def allowance(self, owner: str, spender: str) -> int:
        return self._call("allowance", to_checksum_address(owner), to_checksum_address(spender))

    def approve(self, spender: str, amount: int, sender: LocalAccount) -> TxResult:
        return self._send("approve", to_checksum_address(spender), amount, sender=sender)

    def transfer(self, to: str, amount: int, sender: LocalAccount) -> TxResult:
        return self._send("transfer", to_checksum_address(to), amount, sender=sender)


# --------------------------------------------------------------------------- clearing house
def reason_bytes32(reason: str) -> bytes:
    """A short reason as the contract's ``bytes32`` (UTF-8, right-padded; at most 32 bytes)."""
    raw = reason.encode()
    if len(raw) > 32:
        raise ValueError(f"a reason on chain is at most 32 bytes of UTF-8, got {len(raw)}")
    return raw.ljust(32, b"\0")


def _sorted_deltas(deltas: dict[str, int]) -> tuple[list[str], list[int]]:
    """The contract wants members strictly ascending by address (cheap uniqueness)."""
    items = sorted(((to_checksum_address(m), d) for m, d in deltas.items()), key=lambda x: int(x[0], 16))
    return [m for m, _ in items], [d for _, d in items]


class ClearingHouseClient(ContractClient):
    artifact = "ClearingHouse"

    # -- views
    def token(self) -> str:
        return self._call("token")

    def eip712_domain(self) -> Eip712Domain:
        fields, name, version, chain_id, contract, salt, extensions = self._call("eip712Domain")
        return Eip712Domain(fields[0], name, version, chain_id, to_checksum_address(contract), salt, tuple(extensions))

    def member(self, who: str) -> MemberState:
        return MemberState(*self._call("memberOf", to_checksum_address(who)))

    def members(self, addresses: Sequence[str]) -> list[MemberState]:
        """Many members in one round trip."""
        rows = self._call_many("memberOf", [(to_checksum_address(a),) for a in addresses])
        return [MemberState(*m) for m in rows]

    def available_of_many(self, addresses: Sequence[str]) -> dict[str, int]:
        values = self._call_many("availableOf", [(to_checksum_address(a),) for a in addresses])
        return dict(zip(addresses, values, strict=True))

    def balance_of(self, who: str) -> int:
        return self._call("balanceOf", to_checksum_address(who))

    def available_of(self, who: str) -> int:
        return self._call("availableOf", to_checksum_address(who))

    def pool_total(self) -> int:
        return self._call("poolTotal")

    def credit_drawn(self) -> int:
        return self._call("creditDrawn")

    def total_escrowed(self) -> int:
        return self._call("totalEscrowed")

    def total_balances(self) -> int:
        """Σ member balances (signed): with pool and escrow, what the house must hold."""
        return self._call("totalBalances")

    def lender_balance(self, who: str) -> int:
        """What ``who``'s shares (not queued ones) are worth now, rounded down."""
        return self._call("lenderBalance", to_checksum_address(who))

    def shares_of(self, who: str) -> int:
        return self._call("sharesOf", to_checksum_address(who))

    def total_shares(self) -> int:
        return self._call("totalShares")

    def queued_shares(self) -> int:
        return self._call("queuedShares")

    def convert_to_assets(self, shares: int) -> int:
        return self._call("convertToAssets", shares)

    def convert_to_shares(self, assets: int) -> int:
        return self._call("convertToShares", assets)

    def withdrawal_request(self, request_id: int) -> tuple[str, int]:
        """(lender, shares still waiting) of a queued withdrawal; shares 0 once paid or cancelled."""
        lender, shares = self._call("withdrawalRequest", request_id)
        return to_checksum_address(lender), shares

    def withdrawal_queue(self) -> tuple[int, int]:
        """(head, tail): requests head ≤ id < tail may still wait."""
        head, tail = self._call("withdrawalQueue")
        return head, tail

    def borrow_rate_bps(self) -> int:
        return self._call("borrowRateBps")

    def interest_rate_model(self) -> tuple[int, int]:
        """(base, slope) of the annual borrow rate, in basis points."""
        base, slope = self._call("interestRateModel")
        return base, slope

    def borrow_index(self) -> int:
        return self._call("borrowIndex")

    def interest_owed_of(self, who: str) -> int:
        return self._call("interestOwedOf", to_checksum_address(who))

    def claim_delay(self) -> int:
        return self._call("claimDelay")

    def max_hold_period(self) -> int:
        return self._call("maxHoldPeriod")

    def cycle(self, cycle_id: int) -> CycleState:
        c = self._call("cycleOf", cycle_id)
        return CycleState(
            root="0x" + bytes(c[0]).hex(),
            gross_value=c[1],
            escrowed=c[2],
            obligation_count=c[3],
            committed_at=c[4],
            claimable_at=c[5],
            held_until=c[6],
            status=c[7],
            deltas_hash="0x" + bytes(c[8]).hex(),
        )

    def pending_credit(self, cycle_id: int, who: str) -> int:
        return self._call("pendingCredit", cycle_id, to_checksum_address(who))

    def refunded_debit(self, cycle_id: int, who: str) -> int:
        """What ``who`` was refunded from ``cycle_id`` so far (its committed debit less this is refundable)."""
        return self._call("refundedDebit", cycle_id, to_checksum_address(who))

    def verify_obligation(
        self, cycle_id: int, obligation_key: bytes, debtor: str, creditor: str, amount: int, proof: Sequence[bytes]
    ) -> bool:
        return self._call(
            "verifyObligation",
            cycle_id,
            obligation_key,
            to_checksum_address(debtor),
            to_checksum_address(creditor),
            amount,
            list(proof),
        )

    # -- admin and risk
    def admit(self, who: str, credit_limit: int = 0, sender: LocalAccount | None = None) -> TxResult:
        return self._send("admitMember", to_checksum_address(who), credit_limit, sender=sender)

    def suspend(self, who: str, sender: LocalAccount | None = None) -> TxResult:
        return self._send("suspendMember", to_checksum_address(who), sender=sender)

    def resume(self, who: str, sender: LocalAccount | None = None) -> TxResult:
        return self._send("resumeMember", to_checksum_address(who), sender=sender)

    def set_credit_limit(self, who: str, limit: int, sender: LocalAccount | None = None) -> TxResult:
        return self._send("setCreditLimit", to_checksum_address(who), limit, sender=sender)

    def set_interest_rate_model(self, base_bps: int, slope_bps: int, sender: LocalAccount | None = None) -> TxResult:
        return self._send("setInterestRateModel", base_bps, slope_bps, sender=sender)

    def asset_vault(self) -> tuple[str, str]:
        """(vault, liquidator) the house counts pledges in and sells seized pledges to (zero addresses: none)."""
        vault, liquidator = self._call("assetVault")
        return to_checksum_address(vault), to_checksum_address(liquidator)

    def set_asset_vault(self, vault: str, liquidator: str, sender: LocalAccount | None = None) -> TxResult:
        return self._send("setAssetVault", to_checksum_address(vault), to_checksum_address(liquidator), sender=sender)

    def declare_default(self, who: str, reason: str, sender: LocalAccount | None = None) -> TxResult:
        return self._send("declareDefault", to_checksum_address(who), reason_bytes32(reason), sender=sender)

    def allocate_default_loss(self, who: str, cycle_ids: Sequence[int], sender: LocalAccount | None = None) -> TxResult:
        return self._send("allocateDefaultLoss", to_checksum_address(who), list(cycle_ids), sender=sender)

    def cure_default(self, who: str, reason: str, sender: LocalAccount | None = None) -> TxResult:
        return self._send("cureDefault", to_checksum_address(who), reason_bytes32(reason), sender=sender)

    def pause(self, sender: LocalAccount | None = None) -> TxResult:
        return self._send("pause", sender=sender)

    def unpause(self, sender: LocalAccount | None = None) -> TxResult:
        return self._send("unpause", sender=sender)

    # -- members and lenders (signed by their own keys)
    def deposit(self, amount: int, sender: LocalAccount) -> TxResult:
        return self._send("deposit", amount, sender=sender)

    def withdraw(self, amount: int, to: str, sender: LocalAccount) -> TxResult:
        return self._send("withdraw", amount, to_checksum_address(to), sender=sender)

    def encode_withdraw(self, amount: int, to: str) -> str:
        """Call data (0x-hex) of ``withdraw(amount, to)``, for a member's own wallet to sign and send."""
        return self.encode("withdraw", amount, to_checksum_address(to))

    def pool_deposit(self, assets: int, sender: LocalAccount) -> TxResult:
        return self._send("poolDeposit", assets, sender=sender)

    def pool_withdraw(self, assets: int, to: str, sender: LocalAccount) -> TxResult:
        return self._send("poolWithdraw", assets, to_checksum_address(to), sender=sender)

    def pool_redeem(self, shares: int, to: str, sender: LocalAccount) -> TxResult:
        return self._send("poolRedeem", shares, to_checksum_address(to), sender=sender)

    def request_withdrawal(self, shares: int, sender: LocalAccount) -> TxResult:
        return self._send("requestWithdrawal", shares, sender=sender)

    def cancel_withdrawal(self, request_id: int, sender: LocalAccount) -> TxResult:
        return self._send("cancelWithdrawal", request_id, sender=sender)

    def process_withdrawals(self, max_requests: int, sender: LocalAccount | None = None) -> TxResult:
        return self._send("processWithdrawals", max_requests, sender=sender)

    def accrue_interest(self, members: Sequence[str], sender: LocalAccount | None = None) -> TxResult:
        return self._send("accrueInterest", [to_checksum_address(m) for m in members], sender=sender)

    # -- cycles (operator)
    def commit_args(self, cycle_id: int, root: bytes, count: int, gross: int, deltas: dict[str, int]) -> tuple:
        members, values = _sorted_deltas(deltas)
        return (cycle_id, root, count, gross, members, values)

    def commit_cycle(
        self,
        cycle_id: int,
        root: bytes,
        count: int,
        gross: int,
        deltas: dict[str, int],
        sender: LocalAccount | None = None,
    ) -> TxResult:
        return self._send("commitCycle", *self.commit_args(cycle_id, root, count, gross, deltas), sender=sender)

    def settle_cycle(
        self,
        cycle_id: int,
        root: bytes,
        count: int,
        gross: int,
        deltas: dict[str, int],
        sender: LocalAccount | None = None,
    ) -> TxResult:
        """Commit and release in full in one call (no per-member escrow bookkeeping)."""
        return self._send("settleCycle", *self.commit_args(cycle_id, root, count, gross, deltas), sender=sender)

    def release_cycle(self, cycle_id: int, amounts: dict[str, int], sender: LocalAccount | None = None) -> TxResult:
        creditors, values = _sorted_deltas(amounts)
        return self._send("releaseCycle", cycle_id, creditors, values, sender=sender)

    def release_pro_rata(
        self, cycle_id: int, creditors: Sequence[str], bps: int, sender: LocalAccount | None = None
    ) -> TxResult:
        return self._send(
            "releaseCycleProRata", cycle_id, [to_checksum_address(c) for c in creditors], bps, sender=sender
        )

    def hold_cycle(self, cycle_id: int, until: int, sender: LocalAccount | None = None) -> TxResult:
        return self._send("holdCycle", cycle_id, until, sender=sender)

    def refund_args(
        self, cycle_id: int, deltas: dict[str, int], cancelled: dict[str, int], refunded: dict[str, int]
    ) -> tuple:
        """``refundCycle`` arguments: the committed (non-zero) deltas again, sorted as committed, and the
        refunds parallel to them (the contract reads each debtor's debit from that list)."""
        members, values = _sorted_deltas({m: d for m, d in deltas.items() if d != 0})
        back = {to_checksum_address(a): v for a, v in refunded.items()}
        creditors, c_values = _sorted_deltas(cancelled)
        return (cycle_id, members, values, creditors, c_values, [back.get(m, 0) for m in members])

    def refund_cycle(
        self,
        cycle_id: int,
        deltas: dict[str, int],
        cancelled: dict[str, int],
        refunded: dict[str, int],
        sender: LocalAccount | None = None,
    ) -> TxResult:
        return self._send("refundCycle", *self.refund_args(cycle_id, deltas, cancelled, refunded), sender=sender)

    def claim(self, cycle_id: int, creditor: str, sender: LocalAccount | None = None) -> TxResult:
        return self._send("claim", cycle_id, to_checksum_address(creditor), sender=sender)

    # -- receivable advances (operator; ``services/financing.py`` prices them)
    def advance_args(self, cycle_id: int, creditor: str, principal: int, fee: int) -> tuple[int, str, int, int]:
        return (cycle_id, to_checksum_address(creditor), principal, fee)

    def advance_receivable(
        self, cycle_id: int, creditor: str, principal: int, fee: int, sender: LocalAccount | None = None
    ) -> TxResult:
        """Pay ``creditor`` ``principal`` from the pool now against its pending credit in ``cycle_id``, which then
        owes the pool ``principal + fee``; the contract's refusals come back as service errors (``advance_error``)."""
        try:
            return self._send(
                "advanceReceivable", *self.advance_args(cycle_id, creditor, principal, fee), sender=sender
            )
        except ChainReverted as exc:
            raise advance_error(exc) from exc

    def advance_of(self, cycle_id: int, creditor: str) -> tuple[int, int]:
        """(principal, fee) the advance on ``creditor``'s credit in ``cycle_id`` still owes the pool ((0, 0): none)."""
        principal, fee = self._call("advanceOf", cycle_id, to_checksum_address(creditor))
        return principal, fee

    def total_advanced(self) -> int:
        """Σ outstanding advance principal: pool money now in creditors' balances."""
        return self._call("totalAdvanced")


def advance_error(exc: ChainReverted) -> ClearingError:
    """The service error of an ``advanceReceivable`` revert, with the contract's values (else ``exc`` itself)."""
    args = exc.error_args
    if exc.error == "ClearingHouseAdvanceExists":
        values = dict(zip(("cycle_id", "creditor"), args, strict=False))
        return AdvanceExists(
            f"the creditor already has an advance on its credit in cycle {values.get('cycle_id', '?')}",
            field="cycle_id",
            **values,
        )
    if exc.error == "ClearingHouseAdvanceExceedsCredit":
        values = dict(zip(("cycle_id", "creditor", "pending", "owed"), args, strict=False))
        return AdvanceExceedsCredit(
            f"the advance would assign {values.get('owed', '?')} of the creditor's credit in cycle "
            f"{values.get('cycle_id', '?')}, more than the {values.get('pending', '?')} pending",
            field="cycle_id",
            **values,
        )
    if exc.error == "ClearingHouseInsufficientLiquidity":
        values = dict(zip(("available", "requested"), args, strict=False))
        return AdvanceRefused(
            f"the pool has {values.get('available', '?')} undrawn, "
            f"less than the {values.get('requested', '?')} advance",
            field="pool",
            **values,
        )
    return exc
