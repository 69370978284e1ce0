"""``ChainOperations`` for the real contracts: sends the ledger's planned chain calls.

Each kind checks the chain first, so dispatching the same outbox row twice
(after a crash or a retry) never repeats an effect. Withdrawals are the
member's own transaction (the house cannot move a member's collateral for
it): the row carries the call data for the member's wallet, and chain sync
completes it when the ``Withdrawn`` event arrives.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clearing.adapters.chain.deploy import Contracts
from clearing.adapters.db.models import Member, SettlementTx, TxState
from clearing.adapters.db.uow import UnitOfWork
from clearing.services import ports
from clearing.services.settlement import update_tx


class HouseChainOperations:
    def __init__(self, sessions: sessionmaker[Session], contracts: Contracts) -> None:
        self.sessions = sessions
        self.contracts = contracts

    def dispatch(self, item: ports.OutboxItem) -> None:
        house = self.contracts.house
        addr = item.member_address
        assert addr is not None
        result = None
        if item.kind == ports.REGISTER_MEMBER:
            if not house.member(addr).admitted:
                result = house.admit(addr, 0)
        elif item.kind == ports.SET_CREDIT_LIMIT:
            if house.member(addr).credit_limit != item.amount:
                result = house.set_credit_limit(addr, int(item.amount or 0))
        elif item.kind == ports.WITHDRAW:
            data = house.encode_withdraw(int(item.amount or 0), addr)
            update_tx(self.sessions, item.id, payload={"to": house.address, "data": data, "signer": addr})
            return
        else:
            return
        update_tx(self.sessions, item.id, state=TxState.MINED, tx_hash=result.tx_hash if result else None,
                  block=result.block if result else None)

    def resend_planned(self) -> int:
        """Dispatch every planned operator call again (start-up recovery)."""
        with UnitOfWork.from_factory(self.sessions, read_only=True) as uow:
            rows = uow.session.execute(
                select(SettlementTx, Member).join(Member, Member.id == SettlementTx.member_id)
                .where(SettlementTx.state == TxState.PLANNED,
                       SettlementTx.kind.in_((ports.REGISTER_MEMBER, ports.SET_CREDIT_LIMIT)))
            ).all()
            items = [ports.OutboxItem(id=t.id, kind=t.kind, member=m.name, member_address=m.address,
                                      amount=t.amount, payload=dict(t.payload or {})) for t, m in rows]
        for item in items:
            self.dispatch(item)
        return len(items)
