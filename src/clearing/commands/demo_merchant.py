"""The merchant credit part of `clearing demo`: a merchant of one platform buys on another, on its line.

``cardhub`` (platform B) grants its merchant ``shop-17`` a line, signed with cardhub's own key; the merchant's
key is registered as the line's signer. ``shop-17`` buys on ``topupnow`` (platform A): topupnow submits
"cardhub owes topupnow" on behalf of shop-17, with cardhub's signature and shop-17's. A second purchase
past the line is refused. The purchase settles in the demo's cycle like any obligation; afterwards the
statement shows it settled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI starts fast: the service is imported when the demo runs
    from eth_account.signers.local import LocalAccount

    from clearing.services.context import ServiceContext
    from clearing.services.keys import Principal

ISSUER, CREDITOR, MERCHANT = "cardhub", "topupnow", "shop-17"
LIMIT = 50_000_000  # 50 tokens (6 decimals)
#: The merchant's key: any key the platform registers (a fixed one, so the demo is reproducible).
MERCHANT_KEY = "0x" + "17" * 32


def purchase(
    ctx: ServiceContext, keys: dict[str, LocalAccount], principals: dict[str, Principal], say: Callable[[str], None]
) -> Callable[[], None]:
    """Grant the line and buy on it; returns what prints the statement once the cycle has settled."""
    from eth_account import Account

    from clearing.errors import MerchantLineExhausted
    from clearing.services import merchants
    from clearing.services.signatures import sign_merchant_line, sign_obligation
    from clearing.services.submission import ObligationInput, submit

    domain = ctx.signing_domain
    assert domain is not None
    issuer, creditor, merchant = keys[ISSUER], keys[CREDITOR], Account.from_key(MERCHANT_KEY)
    line = dict(merchant=MERCHANT, signer=merchant.address, limit=LIMIT, nonce=1)
    signature = sign_merchant_line(domain, issuer.key, issuer=issuer.address, **line)  # type: ignore[arg-type]
    merchants.grant(ctx, principals[ISSUER], signature=signature, **line)  # type: ignore[arg-type]

    def buy(id: str, amount: int) -> ObligationInput:
        fields = dict(
            id=id, debtor=issuer.address, creditor=creditor.address, amount=amount, reference="in-game top-up"
        )
        return ObligationInput(
            **fields,  # type: ignore[arg-type]
            on_behalf_of=MERCHANT,
            signature=sign_obligation(domain, issuer.key, on_behalf_of=MERCHANT, **fields),  # type: ignore[arg-type]
            merchant_signature=sign_obligation(domain, merchant.key, on_behalf_of=MERCHANT, **fields),  # type: ignore[arg-type]
        )

    [bought] = submit(ctx, principals[CREDITOR], [buy("merchant-buy-1", 30_000_000)], batch=False)
    try:
        submit(ctx, principals[CREDITOR], [buy("merchant-buy-2", 30_000_000)], batch=False)
        refused = "accepted (unexpected)"
    except MerchantLineExhausted as exc:
        refused = f"refused ({exc.code}, available {exc.values['available']})"
    view = merchants.get(ctx, principals[ISSUER], MERCHANT)
    say(
        f"merchant {MERCHANT} of {ISSUER} bought on {CREDITOR}: {bought.obligation.status} (line {view.limit}, "
        f"used {view.used}); a second purchase past the line: {refused}"
    )

    def statement() -> None:
        st = merchants.statement(ctx, principals[ISSUER], MERCHANT)
        rows = ", ".join(f"{e.id} {e.amount} from {e.creditor}: {e.status}" for e in st.entries)
        say(f"statement of {MERCHANT} at {ISSUER}: {rows}; used {st.line.used} of {st.line.limit}")

    return statement
