"""Chain backends: embedded (in-process py-evm), anvil (spawned) and rpc.

Every backend hands back a ``Chain``: a Web3 instance plus the local accounts
that sign for it. Transactions are always signed locally, so a transaction's
hash is known before broadcast (the settlement outbox relies on that), and
the same code path runs on every backend.

Local backends fund the ten accounts of the well-known development mnemonic
(the one Anvil uses), so addresses are identical in-process and on Anvil.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import TransactionNotFound

from clearing.errors import ChainError

DEV_MNEMONIC = "test test test test test test test test test test test junk"
#: Fee fields of a transaction: EIP-1559's pair, or a legacy gas price.
FEE_FIELDS = ("maxFeePerGas", "maxPriorityFeePerGas", "gasPrice")
DEV_ACCOUNTS = 10
REPO_ROOT = Path(__file__).resolve().parents[4]

Account.enable_unaudited_hdwallet_features()


def dev_accounts(n: int = DEV_ACCOUNTS) -> list[LocalAccount]:
    """The development accounts, derived as Anvil derives them."""
    return [Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}") for i in range(n)]


class Nonces:
    """Local nonce counter per sender, so back-to-back sends need no round trip.

    Every signer of a chain takes its nonces from that chain's one counter
    (``Chain.nonces``). ``reset`` forgets a sender's count, so its next nonce
    is read from the node again (after a crash, or when another process may
    have sent from the same key).
    """

    def __init__(self, w3: Web3) -> None:
        self._w3 = w3
        self._next: dict[str, int] = {}
        self._lock = threading.Lock()

    def next(self, address: str) -> int:
        with self._lock:
            if address not in self._next:
                self._next[address] = self._w3.eth.get_transaction_count(Web3.to_checksum_address(address), "pending")
            n = self._next[address]
            self._next[address] = n + 1
            return n

    def reset(self, address: str | None = None) -> None:
        with self._lock:
            if address is None:
                self._next.clear()
            else:
                self._next.pop(address, None)


@dataclass
class Chain:
    w3: Web3
    accounts: list[LocalAccount]
    chain_id: int
    name: str
    _process: subprocess.Popen | None = field(default=None, repr=False)
    rpc_url: str | None = None
    #: The chain's own nonce counter, shared by every client that signs for it. It lives on
    #: the object, never in a table keyed by ``id()``, which Python reuses once a chain is
    #: garbage-collected (a stale counter would sign nonces the new chain has never seen).
    nonces: Nonces = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.nonces = Nonces(self.w3)

    def close(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
            self._process = None

    def __enter__(self) -> Chain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def genesis_hash(self) -> str:
        """0x-hash of block 0: two chains with the same id (two fresh Anvils) still differ here."""
        return "0x" + bytes(self.w3.eth.get_block(0)["hash"]).hex()

    def tx_block(self, tx_hash: str) -> int | None:
        """Block of a mined transaction on this chain, or None if this chain never mined it."""
        try:
            return int(self.w3.eth.get_transaction_receipt(tx_hash)["blockNumber"])  # type: ignore[arg-type]
        except TransactionNotFound:
            return None

    def mined_nonce(self, address: str) -> int:
        """How many transactions of ``address`` are mined: a nonce below it is spent for good."""
        return int(self.w3.eth.get_transaction_count(Web3.to_checksum_address(address), "latest"))

    def market_fees(self, legacy: bool) -> dict[str, int]:
        """What a transaction offered now would pay: a gas price, or EIP-1559's tip and fee cap
        (twice the pending base fee plus the tip, as web3 fills them in)."""
        if legacy:
            return {"gasPrice": int(self.w3.eth.gas_price)}
        tip = int(self.w3.eth.max_priority_fee)
        base = int(self.w3.eth.get_block("pending").get("baseFeePerGas") or 0)
        return {"maxFeePerGas": 2 * base + tip, "maxPriorityFeePerGas": tip}

    def timestamp(self) -> int:
        """The latest block's timestamp: the chain's "now" for holds, claims and dispute windows."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    # Time control for local chains (holds, claim delays, dispute windows).
    def advance_time(self, seconds: int) -> None:
        if self.name == "embedded":
            tester = self.w3.provider.ethereum_tester  # type: ignore[attr-defined]
            latest = self.w3.eth.get_block("latest")["timestamp"]
            tester.time_travel(latest + seconds)
        else:
            self.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
            self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def embedded(num_accounts: int = DEV_ACCOUNTS) -> Chain:
    """A fresh in-process chain (eth-tester + py-evm); no node, no network."""
    from eth_tester import EthereumTester, PyEVMBackend
    from web3 import EthereumTesterProvider

    params = PyEVMBackend.generate_genesis_params(overrides={"gas_limit": 60_000_000})
    backend = PyEVMBackend.from_mnemonic(
        DEV_MNEMONIC,
        num_accounts=num_accounts,
        genesis_parameters=params,
        hd_path="m/44'/60'/0'/0",
        genesis_state_overrides={"balance": 10_000 * 10**18},
    )
    w3 = Web3(EthereumTesterProvider(EthereumTester(backend)))
    return Chain(w3=w3, accounts=dev_accounts(num_accounts), chain_id=w3.eth.chain_id, name="embedded")


def anvil_binary() -> str:
    local = REPO_ROOT / "node_modules" / ".bin" / "anvil"
    if local.exists():
        return str(local)
    found = shutil.which("anvil")
    if not found:
        raise ChainError("anvil not found: run `npm ci` at the repository root")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn_anvil(
    port: int | None = None,
    chain_id: int = 31337,
    *,
    load_state: Path | None = None,
    dump_state: Path | None = None,
    extra_args: tuple[str, ...] = (),
    timeout: float = 20.0,
    accounts: int = DEV_ACCOUNTS,
) -> Chain:
    """Start Anvil on loopback and wait for it; ``Chain.close()`` stops it. ``accounts``: how many dev
    accounts it funds (the demo plays 14)."""
    port = port or free_port()
    args = [
        anvil_binary(),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--chain-id",
        str(chain_id),
        "--mnemonic",
        DEV_MNEMONIC,
        "--accounts",
        str(accounts),
        "--gas-limit",
        "60000000",
        "--silent",
        *extra_args,
    ]
    if load_state:
        args += ["--load-state", str(load_state)]
    if dump_state:
        args += ["--dump-state", str(dump_state)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise ChainError(f"anvil exited with code {proc.returncode}: {err.strip()[:500]}")
        try:
            if w3.is_connected():
                break
        except Exception:  # not listening yet
            pass
        time.sleep(0.05)
    else:
        proc.kill()
        raise ChainError(f"anvil did not answer on {url} within {timeout:.0f}s")
    return Chain(w3=w3, accounts=dev_accounts(accounts), chain_id=chain_id, name="anvil", _process=proc, rpc_url=url)


def rpc(url: str, private_key: str | None, *, dev_fallback: bool = False) -> Chain:
    """An existing node; the operator key signs everything the service sends.

    Without a key and with ``dev_fallback``, the dev mnemonic's accounts sign
    (a local Anvil started by ``clearing chain up``); otherwise a keyless
    chain can only be read.
    """
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60}))
    try:
        chain_id = w3.eth.chain_id
    except Exception as exc:
        raise ChainError(f"cannot reach the chain at {url}: {exc}") from exc
    if private_key:
        accounts = [Account.from_key(private_key)]
    else:
        accounts = dev_accounts() if dev_fallback else []
    return Chain(w3=w3, accounts=accounts, chain_id=chain_id, name="rpc", rpc_url=url)


def connect(
    backend: str = "embedded",
    *,
    rpc_url: str | None = None,
    private_key: str | None = None,
    port: int | None = None,
    chain_id: int = 31337,
) -> Chain:
    """Open the backend named in settings (``CLEARING_CHAIN__BACKEND``)."""
    if backend == "embedded":
        return embedded()
    if backend == "anvil":
        return spawn_anvil(port, chain_id)
    if backend == "rpc":
        if not rpc_url:
            raise ChainError("the rpc backend needs CLEARING_CHAIN__RPC_URL")
        return rpc(rpc_url, private_key or os.environ.get("CLEARING_CHAIN__PRIVATE_KEY"))
    raise ChainError(f"unknown chain backend {backend!r}: use embedded, anvil or rpc", field="chain.backend")
