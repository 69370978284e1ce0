"""The vault's risk calls through the outbox: a row whose effect is already on chain (a crash after the
transaction was mined, before the row was marked) is reconciled without sending it again; a refresh to the
same value still needs its own transaction; a revert refuses the request with the vault's error."""

from __future__ import annotations

from sqlalchemy import select

from clearing.adapters.chain import backends
from clearing.adapters.db.models import SettlementTx
from clearing.domain.vocabulary import TxState
from clearing.services import outbox, pledges
from clearing.services.pledge_calls import VAULT_SET_COLLECTION, VAULT_UPDATE_VALUE, pledge_done
from tests.services.conftest import build_house


def test_a_listing_already_on_chain_is_reconciled_and_a_same_value_refresh_is_sent(db_url):
    h = build_house(db_url, backends.embedded(), [("alpha", "A", 0, 0)])
    c, vault = h.contracts, h.contracts.vault
    assert vault is not None
    nft, _ = c.deploy_test_collections()
    args = (nft.address, 1_000, 5_000, 3_600)
    with h.ctx.uow() as uow:
        item = outbox.plan(
            uow.session,
            VAULT_SET_COLLECTION,
            payload={"fn": "setCollection", "args": outbox.json_args(args), "expect": {"after": 0}},
        )
        uow.commit()
    vault.set_collection(*args)  # mined, but the row never heard of it (a crash)
    assert pledge_done(vault, VAULT_SET_COLLECTION, args, {"after": 0})()
    with h.ctx.uow(read_only=True) as uow:
        row = outbox.get(uow.session, item.id)
    sent = h.ctx.outbox.send_row(row)
    assert sent is not None and sent.reconciled
    before = vault.collection_of(nft.address).valued_at
    assert not pledge_done(vault, VAULT_UPDATE_VALUE, (nft.address, 1_000), {"after": before})()
    c.chain.advance_time(10)
    view = pledges.update_value(h.ctx, "operator:test", nft.address, 1_000)  # same value: restarts the clock
    assert view.valued_at.timestamp() > before and not view.stale
    with h.ctx.uow(read_only=True) as uow:
        kinds = [r.kind for r in uow.session.scalars(select(SettlementTx).where(SettlementTx.state == TxState.MINED))]
    assert kinds.count(VAULT_SET_COLLECTION) == 1 and kinds.count(VAULT_UPDATE_VALUE) == 1
