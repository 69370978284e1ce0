"""EIP-712 obligation signatures (parity with eth-account) and API key handling."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from hypothesis import given, settings
from hypothesis import strategies as st

from clearing.services.keys import KeyResolver, create_api_key, hash_key, revoke_api_key
from clearing.services.signatures import (
    OBLIGATION_TYPES,
    SECP256K1_N,
    SigningDomain,
    obligation_digest,
    parse_signature,
    recover_signer,
    sign_obligation,
    signed_by,
)

DOMAIN = SigningDomain(chain_id=31337, verifying_contract="0x" + "c1" * 20)
ACCT = Account.from_key(b"\x01" * 32)
CREDITOR = "0x" + "22" * 20


@settings(max_examples=40, deadline=None)
@given(
    id=st.text(min_size=1, max_size=40),
    amount=st.integers(1, 2**256 - 1),
    reference=st.text(max_size=40),
    on_behalf_of=st.none() | st.text(max_size=40),
)
def test_digest_and_signature_match_eth_account(id, amount, reference, on_behalf_of):
    msg = {
        "id": id,
        "debtor": ACCT.address,
        "creditor": CREDITOR,
        "amount": amount,
        "reference": reference,
        "on_behalf_of": on_behalf_of,
    }
    wallet = {**{k: v for k, v in msg.items() if k != "on_behalf_of"}, "onBehalfOf": on_behalf_of or ""}
    typed = encode_typed_data(domain_data=DOMAIN.typed_data(), message_types=OBLIGATION_TYPES, message_data=wallet)
    theirs = Account.sign_message(typed, ACCT.key).signature.hex()
    ours = sign_obligation(DOMAIN, ACCT.key, **msg)
    assert ours.removeprefix("0x") == theirs.removeprefix("0x")
    assert Account.recover_message(typed, signature=bytes.fromhex(ours[2:])) == ACCT.address
    assert recover_signer(obligation_digest(DOMAIN, **msg), ours) == ACCT.address
    assert signed_by(DOMAIN, ours, **msg)


def test_any_change_breaks_the_signature():
    msg = {
        "id": "o-1",
        "debtor": ACCT.address,
        "creditor": CREDITOR,
        "amount": 5,
        "reference": "r",
        "on_behalf_of": "m",
    }
    sig = sign_obligation(DOMAIN, ACCT.key, **msg)
    for change in (
        {"amount": 6},
        {"id": "o-2"},
        {"reference": "s"},
        {"creditor": "0x" + "23" * 20},
        {"on_behalf_of": None},
        {"on_behalf_of": "n"},
    ):
        assert not signed_by(DOMAIN, sig, **{**msg, **change})
    other_chain = SigningDomain(chain_id=1, verifying_contract=DOMAIN.verifying_contract)
    assert not signed_by(other_chain, sig, **msg)


def test_malformed_and_malleable_signatures_are_refused():
    msg = {
        "id": "o-1",
        "debtor": ACCT.address,
        "creditor": CREDITOR,
        "amount": 5,
        "reference": "",
        "on_behalf_of": None,
    }
    sig = bytes.fromhex(sign_obligation(DOMAIN, ACCT.key, **msg)[2:])
    r, s, v = sig[:32], int.from_bytes(sig[32:64], "big"), sig[64]
    high_s = "0x" + (r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])).hex()
    with pytest.raises(ValueError, match="high-s"):
        parse_signature(high_s)
    assert not signed_by(DOMAIN, high_s, **msg)
    for bad in ("0x", "0x1234", "zz" * 65, "0x" + "00" * 65):
        assert not signed_by(DOMAIN, bad, **msg)


def test_keys_are_stored_hashed_and_revocable(db):
    from clearing.adapters.db import UnitOfWork
    from clearing.adapters.db.models import ApiKey

    with UnitOfWork.from_factory(db.sessions) as uow:
        row, key = create_api_key(uow.session, role="auditor", label="t")
        uow.commit()
    assert key.startswith("cha_") and len(key) > 40
    with UnitOfWork.from_factory(db.sessions, read_only=True) as uow:
        stored = uow.session.get(ApiKey, row.id)
        assert stored.key_hash == hash_key(key) and key not in (stored.key_hash, stored.prefix)
        resolver = KeyResolver(ttl=0)
        assert resolver.resolve(uow.session, key).role == "auditor"
        assert resolver.resolve(uow.session, key + "x") is None
    with UnitOfWork.from_factory(db.sessions) as uow:
        revoke_api_key(uow.session, row.id)
        uow.commit()
    with UnitOfWork.from_factory(db.sessions, read_only=True) as uow:
        assert KeyResolver(ttl=0).resolve(uow.session, key) is None


def test_bootstrap_keys_from_settings():
    resolver = KeyResolver(operator_key="op-secret", auditor_key="au-secret")
    assert resolver.cached("op-secret").role == "operator"
    assert resolver.cached("au-secret").role == "auditor"
    assert resolver.cached("nope") is None
