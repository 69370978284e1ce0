"""Deploy and configure the contracts; read and write deployments/<network>.json."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from clearing.adapters.chain.backends import Chain
from clearing.adapters.chain.client import (
    OPERATOR_ROLE,
    RISK_ROLE,
    ClearingHouseClient,
    TokenClient,
)
from clearing.adapters.chain.compile import artifacts_hash, load_artifact
from clearing.adapters.chain.escrow_client import OrderEscrowClient
from clearing.adapters.chain.vault_client import SEIZER_ROLE, CollectibleClient, GameItemsClient, VaultClient
from clearing.errors import ChainError

#: Chain ids on which the dev-only mintable token may be deployed.
LOCAL_CHAIN_IDS = {31337, 1337, 131277322940537}


@dataclass(frozen=True)
class Deployment:
    network: str
    chain_id: int
    token: str
    clearing_house: str
    order_escrow: str
    block: int
    artifacts_hash: str
    admin: str
    operator: str
    dev_token: bool
    #: The asset vault (pledged ERC-721/1155) and who buys seized pledges for the house; None in files
    #: written before the vault existed.
    asset_vault: str | None = None
    liquidator: str | None = None

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> Deployment:
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ChainError(f"no deployment file at {path}: run `clearing deploy` first") from None
        return cls(**data)


def deploy_contract(chain: Chain, name: str, *args: Any, sender: LocalAccount) -> tuple[str, int]:
    """Deploy one shipped artifact; returns (address, block)."""
    art = load_artifact(name)
    factory = chain.w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    tx = factory.constructor(*args).build_transaction({"from": sender.address, "chainId": chain.chain_id})
    tx["nonce"] = chain.nonces.next(sender.address)
    signed = sender.sign_transaction(tx)
    tx_hash = chain.w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = chain.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120, poll_latency=0.05)
    if receipt["status"] != 1 or not receipt["contractAddress"]:
        raise ChainError(f"deploying {name} failed in transaction {bytes(tx_hash).hex()}")
    return to_checksum_address(receipt["contractAddress"]), receipt["blockNumber"]


def deploy(
    chain: Chain,
    *,
    network: str,
    token: str | None = None,
    admin: LocalAccount | None = None,
    operator: str | None = None,
    risk: str | None = None,
    rates: tuple[int, int] | None = None,
    liquidator: str | None = None,
) -> Deployment:
    """Deploy the house, the order escrow and the asset vault, grant roles, set the pool's borrow rate model
    (``rates`` = annual base and slope in basis points; None leaves the contract's 0/0, no
    interest, which tests that count exact balances rely on); a dev token on local chains only.

    ``liquidator`` buys a defaulter's seized pledges for the house (``CLEARING_VAULT__LIQUIDATOR``;
    default: the admin, which approves the house for the dev token)."""
    admin = admin or chain.accounts[0]
    operator = to_checksum_address(operator or admin.address)
    risk = to_checksum_address(risk or operator)
    liquidator = to_checksum_address(liquidator or admin.address)
    dev_token = token is None
    if dev_token:
        if chain.chain_id not in LOCAL_CHAIN_IDS and chain.name == "rpc":
            raise ChainError(
                f"chain {chain.chain_id} is not a local chain: pass --token with the existing settlement token",
                field="token",
            )
        token, first_block = deploy_contract(chain, "SettlementToken", sender=admin)
    else:
        token = to_checksum_address(token)
        if not chain.w3.eth.get_code(token):
            raise ChainError(f"no contract at token address {token}", field="token")
        first_block = None
    house, block = deploy_contract(chain, "ClearingHouse", token, admin.address, sender=admin)
    escrow, _ = deploy_contract(chain, "OrderEscrow", token, admin.address, sender=admin)
    vault, _ = deploy_contract(chain, "AssetVault", house, admin.address, sender=admin)
    hc = ClearingHouseClient(chain, house, admin)
    ec = OrderEscrowClient(chain, escrow, admin)
    vc = VaultClient(chain, vault, admin)
    grants = (
        (hc, OPERATOR_ROLE, operator),
        (hc, RISK_ROLE, risk),
        (ec, OPERATOR_ROLE, operator),
        (vc, SEIZER_ROLE, house),  # the house seizes a defaulter's pledges in its waterfall (step 2)
        (vc, RISK_ROLE, risk),  # the service's risk signer lists and values collections
    )
    for client, role, who in grants:
        if not client.has_role(role, who):
            client.grant_role(role, who, sender=admin)
    if rates is not None and hc.interest_rate_model() != rates:
        hc.set_interest_rate_model(*rates, sender=admin)
    hc.set_asset_vault(vault, liquidator, sender=admin)  # headroom counts pledges; step 2 sells them
    if dev_token and liquidator == admin.address:  # the dev liquidator pays for seized pledges in dev tokens
        TokenClient(chain, token, admin).approve(house, 2**256 - 1, sender=admin)
    return Deployment(
        network=network,
        chain_id=chain.chain_id,
        token=token,
        clearing_house=house,
        order_escrow=escrow,
        block=first_block or block,
        artifacts_hash=artifacts_hash(),
        admin=admin.address,
        operator=operator,
        dev_token=dev_token,
        asset_vault=vault,
        liquidator=liquidator,
    )


@dataclass
class Contracts:
    """The clients of one deployment, signing as the operator by default (``vault`` None: a deployment
    made before the asset vault existed)."""

    chain: Chain
    deployment: Deployment
    house: ClearingHouseClient
    escrow: OrderEscrowClient
    token: TokenClient
    vault: VaultClient | None = None

    @classmethod
    def attach(cls, chain: Chain, deployment: Deployment, operator: LocalAccount | None = None) -> Contracts:
        op = operator or chain.accounts[0]
        return cls(
            chain=chain,
            deployment=deployment,
            house=ClearingHouseClient(chain, deployment.clearing_house, op),
            escrow=OrderEscrowClient(chain, deployment.order_escrow, op),
            token=TokenClient(chain, deployment.token, op),
            vault=VaultClient(chain, deployment.asset_vault, op) if deployment.asset_vault else None,
        )

    def send_gas(self, to: str, wei: int = 10**18) -> None:
        """Dev helper: ether for a new account's own transactions, sent by the operator."""
        sender = self.house.default_sender
        assert sender is not None
        w3 = self.chain.w3
        tx = {
            "to": to_checksum_address(to),
            "value": wei,
            "gas": 21_000,
            "chainId": self.chain.chain_id,
            "maxFeePerGas": w3.eth.gas_price * 2 + 10**9,
            "maxPriorityFeePerGas": 10**9,
            "nonce": self.chain.nonces.next(sender.address),
        }
        w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(sender.sign_transaction(tx).raw_transaction))

    def fund_member(self, member: LocalAccount, amount: int, *, mint: bool = True) -> None:
        """Dev helper: mint, approve and deposit collateral for a member."""
        if mint:
            self.token.mint(member.address, amount)
        self.token.approve(self.house.address, amount, sender=member)
        self.house.deposit(amount, sender=member)

    def deploy_test_collections(self) -> tuple[CollectibleClient, GameItemsClient]:
        """Dev helper: a fresh mintable ERC-721 and ERC-1155 (TEST ONLY: anyone mints them)."""
        sender = self.house.default_sender
        assert sender is not None
        nft, _ = deploy_contract(self.chain, "TestCollectible", sender=sender)
        items, _ = deploy_contract(self.chain, "TestGameItems", sender=sender)
        return CollectibleClient(self.chain, nft, sender), GameItemsClient(self.chain, items, sender)
