"""The base of the typed contract clients: decoded reverts, results, signing and sending.

web3's dynamic ``contract.functions.x()`` and ``AttributeDict`` stay inside
this package; callers get dataclasses and ``ChainReverted`` errors carrying the
decoded custom error and its values. The clients of each contract are in
``client.py`` (house, token) and ``escrow_client.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_account.datastructures import SignedTransaction
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address
from hexbytes import HexBytes
from web3.exceptions import (
    ContractCustomError,
    ContractLogicError,
    ContractPanicError,
    TimeExhausted,
    TransactionNotFound,
    Web3TypeError,
)

from clearing.adapters.chain.backends import FEE_FIELDS, Chain
from clearing.adapters.chain.compile import ARTIFACTS_DIR, SHIPPED, load_artifact
from clearing.errors import ChainError, ChainReverted

try:  # the embedded backend's revert type; absent on nodes-only installs
    from eth_tester.exceptions import TransactionFailed
except ImportError:  # pragma: no cover

    class TransactionFailed(Exception):  # type: ignore[no-redef]
        pass


_REVERTS = (ContractCustomError, ContractLogicError, ContractPanicError, TransactionFailed)

OPERATOR_ROLE = keccak(text="OPERATOR_ROLE")
RISK_ROLE = keccak(text="RISK_ROLE")
DEFAULT_ADMIN_ROLE = b"\x00" * 32


# --------------------------------------------------------------------------- errors
def _error_table() -> dict[bytes, tuple[str, list[str], list[str]]]:
    table: dict[bytes, tuple[str, list[str], list[str]]] = {}
    for name in SHIPPED:
        if not (ARTIFACTS_DIR / f"{name}.json").exists():
            continue
        for item in load_artifact(name)["abi"]:
            if item["type"] == "error":
                types = [_abi_type(i) for i in item["inputs"]]
                sig = f"{item['name']}({','.join(types)})"
                table[keccak(text=sig)[:4]] = (item["name"], types, [i["name"] for i in item["inputs"]])
    return table


def _abi_type(item: dict[str, Any]) -> str:
    if item["type"].startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in item["components"]) + ")" + item["type"][5:]
    return item["type"]


_ERRORS: dict[bytes, tuple[str, list[str], list[str]]] | None = None


def decode_revert(data: str | bytes | None) -> ChainReverted:
    """Turn revert data into ``ChainReverted`` naming the custom error and its values."""
    global _ERRORS
    if _ERRORS is None:
        _ERRORS = _error_table()
    raw = HexBytes(data) if data else b""
    if len(raw) >= 4 and raw[:4] in _ERRORS:
        name, types, names = _ERRORS[raw[:4]]
        values = abi_decode(types, raw[4:])
        args = tuple(_plain(v) for v in values)
        shown = ", ".join(f"{n}={a}" for n, a in zip(names, args, strict=True))
        return ChainReverted(f"{name}({shown})", error=name, args=args, **dict(zip(names, args, strict=True)))
    if raw[:4] == keccak(text="Error(string)")[:4]:
        (reason,) = abi_decode(["string"], raw[4:])
        return ChainReverted(f"reverted: {reason}", error="Error", args=(reason,))
    if raw[:4] == keccak(text="Panic(uint256)")[:4]:
        (code,) = abi_decode(["uint256"], raw[4:])
        return ChainReverted(f"panic 0x{code:02x}", error="Panic", args=(code,))
    return ChainReverted(f"reverted without a known error (data {raw.hex() or 'empty'})", error=None)


def _plain(v: Any) -> Any:
    if isinstance(v, bytes):
        return "0x" + v.hex()
    if isinstance(v, str) and v.startswith("0x") and len(v) == 42:
        return to_checksum_address(v)
    return v


def _revert_from(exc: BaseException) -> ChainReverted:
    # eth-tester raises TransactionFailed carrying the raw revert bytes, wrapped once more.
    cur: BaseException | None = exc
    while cur is not None:
        raw = next((a for a in cur.args if isinstance(a, bytes)), None)
        if raw is not None:
            return decode_revert(raw)
        cur = cur.__cause__ or cur.__context__
    data = getattr(exc, "data", None)
    if isinstance(data, dict):  # some nodes nest it
        data = data.get("data")
    if isinstance(exc, ContractPanicError) or data:
        return decode_revert(data)
    return ChainReverted(f"reverted: {exc}", error=None)


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class Event:
    name: str
    args: dict[str, Any]
    block: int
    log_index: int
    tx_hash: str


@dataclass(frozen=True)
class TxResult:
    tx_hash: str
    block: int
    gas_used: int
    events: tuple[Event, ...] = ()

    def named(self, name: str) -> list[Event]:
        return [e for e in self.events if e.name == name]


@dataclass(frozen=True)
class SignedCall:
    """A call the house signed: bytes and hash (known before broadcast), and what a replacement needs."""

    raw: str
    tx_hash: str
    nonce: int
    gas: int
    fees: dict[str, int]


@dataclass(frozen=True)
class UnsignedTx:
    """A transaction for someone else's wallet to sign and send: the house never holds that key.

    The wallet fills in nonce, gas and fees; ``value`` is always 0 here (the
    contracts move the settlement token, never ether).
    """

    sender: str
    to: str
    data: str
    chain_id: int
    value: int = 0


@dataclass(frozen=True)
class MemberState:
    admitted: bool
    suspended: bool
    credit_limit: int
    balance: int
    #: Declared in default: suspended, never debited again until cured.
    defaulted: bool = False
    #: What the pool's lenders absorbed for it and have not recovered.
    owed_to_pool: int = 0


@dataclass(frozen=True)
class CycleState:
    root: str
    obligation_count: int
    gross_value: int
    escrowed: int
    committed_at: int
    claimable_at: int
    held_until: int
    status: int
    #: keccak256(abi.encode(members, deltas)) of a two-step commit (refunds repeat that list); zero otherwise.
    deltas_hash: str = "0x" + "00" * 32

    @property
    def committed(self) -> bool:
        return self.status != 0


@dataclass(frozen=True)
class Eip712Domain:
    """EIP-5267 ``eip712Domain()``: ``fields`` flags which members are used (0x0f: the first four)."""

    fields: int
    name: str
    version: str
    chain_id: int
    verifying_contract: str
    salt: bytes
    extensions: tuple[int, ...]


# --------------------------------------------------------------------------- base
class ContractClient:
    """Signs locally, tracks nonces per sender, decodes events and reverts."""

    artifact: str = ""

    def __init__(self, chain: Chain, address: str, default_sender: LocalAccount | None = None) -> None:
        self.chain = chain
        self.w3 = chain.w3
        self.address = to_checksum_address(address)
        abi = load_artifact(self.artifact)["abi"]
        self.contract = self.w3.eth.contract(address=self.address, abi=abi)
        self.default_sender = default_sender or (chain.accounts[0] if chain.accounts else None)
        self._topics = {
            HexBytes(self.w3.keccak(text=f"{e['name']}({','.join(_abi_type(i) for i in e['inputs'])})")): e["name"]
            for e in abi
            if e["type"] == "event"
        }
        self._batching = True

    # -- access control (every contract here is AccessControl + Pausable)
    def has_role(self, role: bytes, who: str) -> bool:
        return self._call("hasRole", role, to_checksum_address(who))

    def grant_role(self, role: bytes, who: str, sender: LocalAccount | None = None) -> TxResult:
        return self._send("grantRole", role, to_checksum_address(who), sender=sender)

    def paused(self) -> bool:
        return self._call("paused")

    # -- plumbing
    def _call(self, fn_name: str, *args: Any) -> Any:
        try:
            return getattr(self.contract.functions, fn_name)(*args).call()
        except _REVERTS as exc:
            raise _revert_from(exc) from None

    def _call_many(self, fn_name: str, args_list: Sequence[tuple[Any, ...]]) -> list[Any]:
        """One JSON-RPC batch where the node supports it (one round trip), else one call each."""
        if not args_list:
            return []
        fn = getattr(self.contract.functions, fn_name)
        if self._batching:
            try:
                with self.w3.batch_requests() as batch:
                    for args in args_list:
                        batch.add(fn(*args))
                    return list(batch.execute())
            except Web3TypeError:  # the provider cannot batch (in-process EVM)
                self._batching = False
            except _REVERTS as exc:
                raise _revert_from(exc) from None
        return [self._call(fn_name, *args) for args in args_list]

    def _send(
        self, fn_name: str, *args: Any, sender: LocalAccount | None = None, gas: int | None = None, wait: bool = True
    ) -> TxResult:
        signed = self.sign(fn_name, *args, sender=sender, gas=gas)
        return self.broadcast(signed.raw_transaction, wait=wait)

    def sign(
        self,
        fn_name: str,
        *args: Any,
        sender: LocalAccount | None = None,
        gas: int | None = None,
        nonce: int | None = None,
    ) -> SignedTransaction:
        """A signed transaction whose hash is known before it is sent."""
        return self._signed(fn_name, args, sender, gas, None, nonce)[1]

    def sign_call(
        self,
        fn_name: str,
        *args: Any,
        nonce: int | None = None,
        gas: int | None = None,
        fees: dict[str, int] | None = None,
    ) -> SignedCall:
        """``fn_name(*args)`` signed by the default sender (at ``nonce``, else the counter's next, taken once the
        call is known not to revert); gas and fees are the node's estimates unless given (a replacement's)."""
        tx, signed = self._signed(fn_name, args, None, gas, fees, nonce)
        return SignedCall(
            raw="0x" + bytes(signed.raw_transaction).hex(),
            tx_hash="0x" + bytes(signed.hash).hex(),
            nonce=int(tx["nonce"]),
            gas=int(tx["gas"]),
            fees={k: int(tx[k]) for k in FEE_FIELDS if k in tx},
        )

    def _signed(
        self,
        fn_name: str,
        args: Sequence[Any],
        sender: LocalAccount | None,
        gas: int | None,
        fees: dict[str, int] | None,
        nonce: int | None,
    ) -> tuple[Any, SignedTransaction]:
        if (acct := sender or self.default_sender) is None:
            raise ChainError("no signing account configured for the chain")
        params: dict[str, Any] = {"from": acct.address, "chainId": self.chain.chain_id, **(fees or {})}
        if gas is not None:
            params["gas"] = gas
        try:  # estimates gas: a revert surfaces here, decoded
            tx = getattr(self.contract.functions, fn_name)(*args).build_transaction(params)
        except _REVERTS as exc:
            raise _revert_from(exc) from None
        if gas is None:
            tx["gas"] = padded_gas(int(tx["gas"]))
        tx["nonce"] = nonce if nonce is not None else self.chain.nonces.next(acct.address)
        return tx, acct.sign_transaction(tx)

    def encode(self, fn_name: str, *args: Any) -> str:
        """Call data (0x-hex) of ``fn_name(*args)``."""
        return str(self.contract.encode_abi(fn_name, args=list(args)))

    def unsigned(self, fn_name: str, *args: Any, sender: str) -> UnsignedTx:
        """``fn_name(*args)`` as a transaction for ``sender``'s own wallet (nothing is signed or sent)."""
        return UnsignedTx(
            sender=to_checksum_address(sender),
            to=self.address,
            data=self.encode(fn_name, *args),
            chain_id=self.chain.chain_id,
        )

    def known(self, tx_hash: bytes | str) -> bool:
        """Whether the node has this transaction, pending or mined (a dropped one it has not)."""
        try:
            self.w3.eth.get_transaction(HexBytes(tx_hash))
        except TransactionNotFound:
            return False
        return True

    def broadcast(self, raw: bytes, *, wait: bool = True) -> TxResult:
        try:
            tx_hash = self.w3.eth.send_raw_transaction(raw)
        except _REVERTS as exc:
            raise _revert_from(exc) from None
        except Exception as exc:  # nodes differ in how they refuse (ValueError, RPC errors, eth-tester)
            raise ChainError(f"transaction rejected by the node: {exc}") from None
        if not wait:
            return TxResult(tx_hash="0x" + bytes(tx_hash).hex(), block=0, gas_used=0)
        return self.wait(tx_hash)

    def wait(self, tx_hash: bytes | str, timeout: float = 120) -> TxResult:
        try:
            receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout, poll_latency=0.05)
        except TimeExhausted as exc:
            raise ChainError(f"transaction {HexBytes(tx_hash).hex()} not mined within {timeout:.0f}s") from exc
        return self._result(receipt)

    def receipt(self, tx_hash: bytes | str) -> TxResult | None:
        """The transaction's result if it is mined, else None (never waits); raises ChainReverted if it reverted."""
        try:
            receipt = self.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
        except TransactionNotFound:
            return None
        return self._result(receipt)

    def _result(self, receipt: Any) -> TxResult:
        if receipt["status"] != 1:
            raise self._replay_revert(receipt)
        return TxResult(
            tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
            block=receipt["blockNumber"],
            gas_used=receipt["gasUsed"],
            events=tuple(self.decode_logs(receipt["logs"])),
        )

    def _replay_revert(self, receipt: Any) -> ChainReverted:
        tx = self.w3.eth.get_transaction(receipt["transactionHash"])
        try:
            self.w3.eth.call({"from": tx["from"], "to": tx["to"], "data": tx["input"]}, receipt["blockNumber"] - 1)
        except _REVERTS as exc:
            return _revert_from(exc)
        return ChainReverted(f"transaction {bytes(receipt['transactionHash']).hex()} reverted (out of gas?)")

    def decode_logs(self, logs: Sequence[Any]) -> list[Event]:
        out = []
        for log in logs:
            if to_checksum_address(log["address"]) != self.address or not log["topics"]:
                continue
            name = self._topics.get(HexBytes(log["topics"][0]))
            if name is None:
                continue
            decoded = getattr(self.contract.events, name)().process_log(log)
            out.append(
                Event(
                    name=name,
                    args={k: _plain(v) for k, v in decoded["args"].items()},
                    block=log["blockNumber"],
                    log_index=log["logIndex"],
                    tx_hash="0x" + bytes(log["transactionHash"]).hex(),
                )
            )
        return out

    def events(self, from_block: int = 0, to_block: int | str = "latest") -> list[Event]:
        """Every event of this contract in a block range, in chain order."""
        logs = self.w3.eth.get_logs({"address": self.address, "fromBlock": from_block, "toBlock": to_block})
        return self.decode_logs(logs)


def padded_gas(estimate: int) -> int:
    """The gas limit sent for a node's estimate: +25% and 50,000.

    An estimate runs against the pending block's timestamp; the house compounds
    interest and charges it to touched borrowers only when time has moved, so
    the mined block can need more than the estimate (one storage write for the
    index, a few per borrower). Unused gas is not paid for.

    >>> padded_gas(100_000)
    175000
    """
    return estimate * 5 // 4 + 50_000
