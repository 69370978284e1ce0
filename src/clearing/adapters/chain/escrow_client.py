"""The tier-C order escrow's typed client: per-order funding, release, refund, disputes."""

from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address

from clearing.adapters.chain.client import ContractClient, TxResult


@dataclass(frozen=True)
class OrderState:
    debtor: str
    dispute_deadline: int
    status: int  # 0 NONE, 1 FUNDED, 2 DISPUTED, 3 CLOSED
    creditor: str
    amount: int
    remaining: int
    released: int
    refunded: int


class OrderEscrowClient(ContractClient):
    artifact = "OrderEscrow"

    def order(self, order_id: bytes) -> OrderState:
        o = self._call("orderOf", order_id)
        return OrderState(
            debtor=o[0],
            dispute_deadline=o[1],
            status=o[2],
            creditor=o[3],
            amount=o[4],
            remaining=o[5],
            released=o[6],
            refunded=o[7],
        )

    def total_remaining(self) -> int:
        return self._call("totalRemaining")

    def fund(self, order_id: bytes, creditor: str, amount: int, dispute_window: int, sender: LocalAccount) -> TxResult:
        return self._send("fund", order_id, to_checksum_address(creditor), amount, dispute_window, sender=sender)

    def release(self, order_id: bytes, amount: int, sender: LocalAccount | None = None) -> TxResult:
        return self._send("release", order_id, amount, sender=sender)

    def refund(self, order_id: bytes, amount: int, sender: LocalAccount | None = None) -> TxResult:
        return self._send("refund", order_id, amount, sender=sender)

    def dispute(self, order_id: bytes, sender: LocalAccount) -> TxResult:
        return self._send("dispute", order_id, sender=sender)

    def resolve_dispute(
        self, order_id: bytes, to_creditor: int, to_debtor: int, sender: LocalAccount | None = None
    ) -> TxResult:
        return self._send("resolveDispute", order_id, to_creditor, to_debtor, sender=sender)

    def claim(self, order_id: bytes, sender: LocalAccount | None = None) -> TxResult:
        return self._send("claim", order_id, sender=sender)
