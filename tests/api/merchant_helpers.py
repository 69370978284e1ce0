"""Signing and submitting on merchant lines, for the merchant credit tests (API and CLI)."""

from __future__ import annotations

from eth_account import Account

from clearing.services.signatures import sign_merchant_line, sign_obligation
from tests.api.conftest import DOMAIN, House


def grant(h: House, merchant: str, signer: str, limit: int, nonce: int, *, issuer: str = "alpha", key=None):
    """``issuer`` grants (or changes) ``merchant``'s line, signed by ``key`` (default: the issuer's own)."""
    acct = h.accounts[issuer]
    signature = sign_merchant_line(
        DOMAIN, key or acct.key, issuer=acct.address, merchant=merchant, signer=signer, limit=limit, nonce=nonce
    )
    body = {"merchant": merchant, "signer": signer, "limit": str(limit), "nonce": str(nonce), "signature": signature}
    return h.post(issuer, "/merchants", body)


def purchase_body(
    h: House, id: str, amount: int, merchant: str, merchant_key, *, debtor: str = "alpha", creditor: str = "beta"
) -> dict:
    """A purchase ``creditor`` submits: ``debtor`` owes it ``amount`` on behalf of ``merchant``, signed by both."""
    body = {"id": id, "debtor": debtor, "creditor": creditor, "amount": str(amount), "on_behalf_of": merchant}
    body["signature"] = h.sign(debtor, id=id, creditor=creditor, amount=amount, on_behalf_of=merchant)
    if merchant_key is not None:
        body["merchant_signature"] = sign_obligation(
            DOMAIN,
            merchant_key,
            id=id,
            debtor=h.accounts[debtor].address,
            creditor=h.accounts[creditor].address,
            amount=amount,
            reference="",
            on_behalf_of=merchant,
        )
    return body


def new_merchant():
    return Account.create()
