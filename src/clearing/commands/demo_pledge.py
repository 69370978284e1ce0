"""The demo's pledge: the risk role lists a collection, a platform pledges a game collectible from its own
wallet with the calls the house prepares, and its headroom grows by the collectible's value × loan-to-value.

The collection is the dev-only ``TestCollectible`` (anyone mints it); on a real network the risk role lists
vetted collections and values them from a market feed.
"""

from __future__ import annotations

from collections.abc import Callable

from eth_account.signers.local import LocalAccount

from clearing.services import chain_sync, pledges
from clearing.services.context import ServiceContext

#: What one collectible is worth in token units, and the share of it headroom counts.
UNIT_VALUE = 40_000_000
LTV_BPS = 5_000
MAX_AGE_SECONDS = 7 * 86_400


def pledge(ctx: ServiceContext, keys: dict[str, LocalAccount], member: str, say: Callable[[str], None]) -> None:
    """``member`` pledges collectible #1 and the demo prints its headroom before and after."""
    c = ctx.contracts
    assert c is not None
    nft, _ = c.deploy_test_collections()
    pledges.set_collection(ctx, "operator", nft.address, UNIT_VALUE, LTV_BPS, MAX_AGE_SECONDS)
    wallet = keys[member]
    nft.mint(wallet.address, 1)
    before = pledges.pledges_of(ctx, member).headroom
    w3 = c.chain.w3
    for tx in pledges.prepare_pledge(ctx, member, nft.address, 1).transactions:  # what its wallet signs
        fields = {"from": tx.sender, "to": tx.to, "data": tx.data, "value": tx.value, "chainId": tx.chain_id}
        fields |= {"nonce": c.chain.nonces.next(wallet.address), "gas": 400_000, "gasPrice": w3.eth.gas_price}
        c.house.wait(w3.eth.send_raw_transaction(wallet.sign_transaction(fields).raw_transaction))
    chain_sync.sync(ctx.sessions, c)
    view = pledges.pledges_of(ctx, member)
    say(
        f"{member} pledged collectible #1 (valued {UNIT_VALUE}, LTV {LTV_BPS / 100:g}%): collateral value "
        f"{view.collateral_value} on chain, headroom {before} -> {view.headroom}"
    )
    if view.collateral_value != UNIT_VALUE * LTV_BPS // 10_000 or view.headroom - before != view.collateral_value:
        raise SystemExit("demo: the pledge did not count in headroom as the vault values it")
