#!/usr/bin/env python
"""Deploy the clearing-house contracts and write deployments/<network>.json.

Two ways to run the same script:

    python scripts/deploy.py --rpc-url http://127.0.0.1:8545 [--private-key 0x..] [--token 0x..]
    brownie run scripts/deploy.py --network NAME      # from brownie's own environment

Under brownie the key comes from DEPLOYER_PRIVATE_KEY (or brownie's dev
accounts on a development network) and the token from SETTLEMENT_TOKEN.
On a local chain without a token it deploys the dev-only SettlementToken.
The pool's borrow rate model comes from CLEARING_POOL__BASE_RATE_BPS and
CLEARING_POOL__SLOPE_RATE_BPS (300 and 1700: 3% + 17% × utilisation a year).
The asset vault (pledged ERC-721/1155) is deployed next to the house; its
liquidator (who buys seized pledges) is CLEARING_VAULT__LIQUIDATOR, default
the deployer, which approves the house for the dev token.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from clearing.adapters.chain.compile import artifacts_hash  # noqa: E402  (pure: hashes shipped files)

OPERATOR_ROLE_TEXT = "OPERATOR_ROLE"
RISK_ROLE_TEXT = "RISK_ROLE"
SEIZER_ROLE_TEXT = "SEIZER_ROLE"
LOCAL_CHAIN_IDS = {31337, 1337}  # a test network (e.g. 11155111) needs --token


def _rates() -> tuple[int, int]:
    """The pool's borrow rate model (annual base, slope at full utilisation; basis points), from the
    service's own settings variables so both ways of deploying agree with `clearing serve`."""
    base = int(os.environ.get("CLEARING_POOL__BASE_RATE_BPS", "300"))
    slope = int(os.environ.get("CLEARING_POOL__SLOPE_RATE_BPS", "1700"))
    return base, slope


def _liquidator(default: str) -> str:
    """Who buys a defaulter's seized pledges (the service's CLEARING_VAULT__LIQUIDATOR), default the deployer."""
    return os.environ.get("CLEARING_VAULT__LIQUIDATOR") or default


def _write(network: str, record: dict) -> Path:
    out = os.environ.get("DEPLOYMENT_OUT")
    path = Path(out) if out else ROOT / "deployments" / f"{network}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def main() -> None:
    """brownie's entry point (`brownie run scripts/deploy.py --network NAME`)."""
    from brownie import AssetVault, ClearingHouse, OrderEscrow, SettlementToken, accounts, chain, network, web3

    key = os.environ.get("DEPLOYER_PRIVATE_KEY")
    deployer = accounts.add(key) if key else accounts[0]
    token = os.environ.get("SETTLEMENT_TOKEN")
    dev_token = not token
    if dev_token:
        if chain.id not in LOCAL_CHAIN_IDS:
            raise SystemExit(f"chain {chain.id} is not local: set SETTLEMENT_TOKEN to the existing token")
        token_c = SettlementToken.deploy({"from": deployer})
        token = token_c.address
        first_block = token_c.tx.block_number
    house = ClearingHouse.deploy(token, deployer, {"from": deployer})
    escrow = OrderEscrow.deploy(token, deployer, {"from": deployer})
    vault = AssetVault.deploy(house.address, deployer, {"from": deployer})
    first_block = first_block if dev_token else house.tx.block_number
    operator = os.environ.get("OPERATOR_ADDRESS", deployer.address)
    liquidator = _liquidator(deployer.address)
    house.grantRole(web3.keccak(text=OPERATOR_ROLE_TEXT), operator, {"from": deployer})
    house.grantRole(web3.keccak(text=RISK_ROLE_TEXT), operator, {"from": deployer})
    escrow.grantRole(web3.keccak(text=OPERATOR_ROLE_TEXT), operator, {"from": deployer})
    vault.grantRole(web3.keccak(text=SEIZER_ROLE_TEXT), house.address, {"from": deployer})
    vault.grantRole(web3.keccak(text=RISK_ROLE_TEXT), operator, {"from": deployer})
    house.setInterestRateModel(*_rates(), {"from": deployer})
    house.setAssetVault(vault.address, liquidator, {"from": deployer})
    if dev_token and liquidator == deployer.address:
        token_c.approve(house.address, 2**256 - 1, {"from": deployer})
    record = {
        "network": network.show_active(),
        "chain_id": chain.id,
        "token": token,
        "clearing_house": house.address,
        "order_escrow": escrow.address,
        "block": first_block,
        "artifacts_hash": artifacts_hash(),
        "admin": deployer.address,
        "operator": operator,
        "dev_token": dev_token,
        "asset_vault": vault.address,
        "liquidator": liquidator,
    }
    print(f"wrote {_write(record['network'], record)}")


def cli(argv: list[str] | None = None) -> int:
    import argparse

    from clearing.adapters.chain import backends
    from clearing.adapters.chain.deploy import deploy
    from clearing.errors import ClearingError

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rpc-url", required=True)
    p.add_argument(
        "--private-key",
        default=os.environ.get("DEPLOYER_PRIVATE_KEY"),
        help="deployer key (default: DEPLOYER_PRIVATE_KEY, else the dev mnemonic's first account)",
    )
    p.add_argument("--token", default=os.environ.get("SETTLEMENT_TOKEN"))
    p.add_argument("--network", default=None, help="deployments/<network>.json (default: chain-<id>)")
    p.add_argument("--operator", default=os.environ.get("OPERATOR_ADDRESS"))
    p.add_argument("--out", default=None, help="output file (default: deployments/<network>.json)")
    args = p.parse_args(argv)
    try:
        chain = backends.rpc(args.rpc_url, args.private_key, dev_fallback=True)
        name = args.network or f"chain-{chain.chain_id}"
        liquidator = os.environ.get("CLEARING_VAULT__LIQUIDATOR")
        dep = deploy(
            chain, network=name, token=args.token, operator=args.operator, rates=_rates(), liquidator=liquidator
        )
    except ClearingError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    path = Path(args.out) if args.out else ROOT / "deployments" / f"{name}.json"
    dep.save(path)
    print(
        f"wrote {path}: house {dep.clearing_house}, escrow {dep.order_escrow}, vault {dep.asset_vault}, "
        f"token {dep.token}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(cli())
