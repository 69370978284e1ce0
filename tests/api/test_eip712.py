"""Issue 8 item 17: the EIP-712 domain and types are discoverable, equal the contract's, and sign.

``GET /eip712`` must answer exactly what the house contract returns from
EIP-5267 ``eip712Domain()`` and the type the service verifies; the README's
eth-account and ethers snippets, run as written, sign obligations that a live
server accepts.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from clearing.api.app import create_app
from clearing.services import signatures
from tests.api.conftest import House, chain_api_house, serve

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = {"string": "s-{}", "address": "0x" + "ab" * 20, "uint256": 7}


@pytest.fixture
def house(sqlite_db) -> House:
    ctx, keys = chain_api_house(sqlite_db)
    with TestClient(create_app(ctx), raise_server_exceptions=False) as client:
        yield House(
            ctx=ctx, client=client, keys=keys, accounts=dict(zip(keys, ctx.contracts.chain.accounts[1:3], strict=True))
        )


def encode_type(name: str, members: list[dict[str, str]]) -> str:
    fields = ",".join(f"{m['type']} {m['name']}" for m in members)
    return f"{name}({fields})"


def test_eip712_is_public_and_is_the_contracts_domain(house):
    r = house.client.get("/eip712")  # no key
    assert r.status_code == 200, r.text
    doc = r.json()
    on_chain = house.ctx.contracts.house.eip712_domain()
    assert (on_chain.fields, on_chain.salt, on_chain.extensions) == (0x0F, b"\0" * 32, ())
    assert doc["domain"] == {
        "name": on_chain.name,
        "version": on_chain.version,
        "chainId": on_chain.chain_id,
        "verifyingContract": on_chain.verifying_contract,
    }
    assert doc["primaryType"] == "Obligation"
    assert encode_type("Obligation", doc["types"]["Obligation"]) == signatures.OBLIGATION_TYPE
    assert encode_type("EIP712Domain", doc["types"]["EIP712Domain"]) == signatures.DOMAIN_TYPE


def test_a_wallet_signature_over_the_published_typed_data_is_accepted(house):
    """Whatever fields the Obligation type has, a signature eth-account makes from GET /eip712 verifies."""
    typed = house.client.get("/eip712").json()
    alpha, beta = house.accounts["alpha"], house.accounts["beta"]
    message = {m["name"]: SAMPLE[m["type"]] for m in typed["types"]["Obligation"]}
    message = {k: v.format(k) if isinstance(v, str) and "{}" in v else v for k, v in message.items()}
    message |= {"debtor": alpha.address, "creditor": beta.address}
    signature = Account.sign_typed_data(alpha.key, full_message={**typed, "message": message}).signature.to_0x_hex()
    # The typed data names fields as Solidity does (onBehalfOf); the JSON body as the API does (on_behalf_of).
    body = {re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower(): v for k, v in message.items()}
    body |= {"amount": str(message["amount"]), "signature": signature}
    r = house.post("beta", "/obligations", body)
    assert r.status_code == 201, r.text
    assert r.json()["obligation"]["signed"] is True
    forged = {**body, "id": "s-other"}
    assert house.post("beta", "/obligations", forged).status_code == 422


def readme_snippet(language: str, needle: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    [block] = [b for b in blocks if needle in b]
    return block


def test_readme_snippets_sign_with_eth_account_and_ethers(house):
    node = shutil.which("node")
    assert node, "node (Node.js 20) is a prerequisite"
    with serve(house.client.app) as base:
        env = {
            **os.environ,
            "CLEARING_URL": base,
            "DEBTOR_KEY": house.accounts["alpha"].key.to_0x_hex(),
            "BETA_KEY": house.keys["beta"],
            "PYTHONPATH": str(ROOT / "src"),
        }
        runs = [
            ([sys.executable, "-"], readme_snippet("python", "sign_typed_data")),
            ([node, "--input-type=module", "-"], readme_snippet("js", "signTypedData")),
        ]
        for argv, code in runs:
            done = subprocess.run(argv, input=code, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr
            assert done.stdout.strip() == "201 accepted", (done.stdout, done.stderr)
        with httpx.Client(base_url=base, headers=house.headers("beta")) as client:
            for oid in ("sig-py-1", "sig-js-1"):
                got = client.get(f"/obligations/{oid}").json()
                assert got["signed"] is True and got["debtor"] == "alpha" and got["amount"] == "250000"
