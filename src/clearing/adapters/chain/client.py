"""Typed contract clients. web3's dynamic ``contract.functions.x()`` and
``AttributeDict`` stay inside this module; callers get dataclasses and
``ChainReverted`` errors carrying the decoded custom error and its values.
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


# --------------------------------------------------------------------------- token
class TokenClient(ContractClient):
    artifact = "SettlementToken"

    def balance_of(self, who: str) -> int:
        return self._call("balanceOf", to_checksum_address(who))

    def decimals(self) -> int:
        return self._call("decimals")

    def mint(self, to: str, amount: int, sender: LocalAccount | None = None) -> TxResult:
        return self._send("mint", to_checksum_address(to), amount, sender=sender)

    def allowance(self, owner: str, spender: str) -> int:
        return self._call("allowance", to_checksum_address(owner), to_checksum_address(spender))

    def approve(self, spender: str, amount: int, sender: LocalAccount) -> TxResult:
        return self._send("approve", to_checksum_address(spender), amount, sender=sender)

    def transfer(self, to: str, amount: int, sender: LocalAccount) -> TxResult:
        return self._send("transfer", to_checksum_address(to), amount, sender=sender)


# --------------------------------------------------------------------------- clearing house
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


def reason_bytes32(reason: str) -> bytes:
    """A short reason as the contract's ``bytes32`` (UTF-8, right-padded; at most 32 bytes)."""
    raw = reason.encode()
    if len(raw) > 32:
        raise ValueError(f"a reason on chain is at most 32 bytes of UTF-8, got {len(raw)}")
    return raw.ljust(32, b"\0")


def _sorted_deltas(deltas: dict[str, int]) -> tuple[list[str], list[int]]:
    """The contract wants members strictly ascending by address (cheap uniqueness)."""
    items = sorted(((to_checksum_address(m), d) for m, d in deltas.items()), key=lambda x: int(x[0], 16))
    return [m for m, _ in items], [d for _, d in items]


class ClearingHouseClient(ContractClient):
    artifact = "ClearingHouse"

    # -- views
    def token(self) -> str:
        return self._call("token")

    def eip712_domain(self) -> Eip712Domain:
        fields, name, version, chain_id, contract, salt, extensions = self._call("eip712Domain")
        return Eip712Domain(fields[0], name, version, chain_id, to_checksum_address(contract), salt, tuple(extensions))

    def member(self, who: str) -> MemberState:
        return MemberState(*self._call("memberOf", to_checksum_address(who)))

    def members(self, addresses: Sequence[str]) -> list[MemberState]:
        """Many members in one round trip."""
        rows = self._call_many("memberOf", [(to_checksum_address(a),) for a in addresses])
        return [MemberState(*m) for m in rows]

    def available_of_many(self, addresses: Sequence[str]) -> dict[str, int]:
        values = self._call_many("availableOf", [(to_checksum_address(a),) for a in addresses])
        return dict(zip(addresses, values, strict=True))

    def balance_of(self, who: str) -> int:
        return self._call("balanceOf", to_checksum_address(who))

    def available_of(self, who: str) -> int:
        return self._call("availableOf", to_checksum_address(who))

    def pool_total(self) -> int:
        return self._call("poolTotal")

    def credit_drawn(self) -> int:
        return self._call("creditDrawn")

    def total_escrowed(self) -> int:
        return self._call("totalEscrowed")

    def total_balances(self) -> int:
        """Σ member balances (signed): with pool and escrow, what the house must hold."""
        return self._call("totalBalances")

    def lender_balance(self, who: str) -> int:
        """What ``who``'s shares (not queued ones) are worth now, rounded down."""
        return self._call("lenderBalance", to_checksum_address(who))

    def shares_of(self, who: str) -> int:
        return self._call("sharesOf", to_checksum_address(who))

    def total_shares(self) -> int:
        return self._call("totalShares")

    def queued_shares(self) -> int:
        return self._call("queuedShares")

    def convert_to_assets(self, shares: int) -> int:
        return self._call("convertToAssets", shares)

    def convert_to_shares(self, assets: int) -> int:
        return self._call("convertToShares", assets)

    def withdrawal_request(self, request_id: int) -> tuple[str, int]:
        """(lender, shares still waiting) of a queued withdrawal; shares 0 once paid or cancelled."""
        lender, shares = self._call("withdrawalRequest", request_id)
        return to_checksum_address(lender), shares

    def withdrawal_queue(self) -> tuple[int, int]:
        """(head, tail): requests head ≤ id < tail may still wait."""
        head, tail = self._call("withdrawalQueue")
        return head, tail

    def borrow_rate_bps(self) -> int:
        return self._call("borrowRateBps")

    def interest_rate_model(self) -> tuple[int, int]:
        """(base, slope) of the annual borrow rate, in basis points."""
        base, slope = self._call("interestRateModel")
        return base, slope

    def borrow_index(self) -> int:
        return self._call("borrowIndex")

    def interest_owed_of(self, who: str) -> int:
        return self._call("interestOwedOf", to_checksum_address(who))

    def claim_delay(self) -> int:
        return self._call("claimDelay")

    def max_hold_period(self) -> int:
        return self._call("maxHoldPeriod")

    def cycle(self, cycle_id: int) -> CycleState:
        c = self._call("cycleOf", cycle_id)
        return CycleState(
            root="0x" + bytes(c[0]).hex(),
            gross_value=c[1],
            escrowed=c[2],
            obligation_count=c[3],
            committed_at=c[4],
            claimable_at=c[5],
            held_until=c[6],
            status=c[7],
            deltas_hash="0x" + bytes(c[8]).hex(),
        )

    def pending_credit(self, cycle_id: int, who: str) -> int:
        return self._call("pendingCredit", cycle_id, to_checksum_address(who))

    def refunded_debit(self, cycle_id: int, who: str) -> int:
        """What ``who`` was refunded from ``cycle_id`` so far (its committed debit less this is refundable)."""
        return self._call("refundedDebit", cycle_id, to_checksum_address(who))

    def verify_obligation(
        self, cycle_id: int, obligation_key: bytes, debtor: str, creditor: str, amount: int, proof: Sequence[bytes]
    ) -> bool:
        return self._call(
            "verifyObligation",
            cycle_id,
            obligation_key,
            to_checksum_address(debtor),
            to_checksum_address(creditor),
            amount,
            list(proof),
        )

    # -- admin and risk
    def admit(self, who: str, credit_limit: int = 0, sender: LocalAccount | None = None) -> TxResult:
        return self._send("admitMember", to_checksum_address(who), credit_limit, sender=sender)

    def suspend(self, who: str, sender: LocalAccount | None = None) -> TxResult:
        return self._send("suspendMember", to_checksum_address(who), sender=sender)

    def resume(self, who: str, sender: LocalAccount | None = None) -> TxResult:
        return self._send("resumeMember", to_checksum_address(who), sender=sender)

    def set_credit_limit(self, who: str, limit: int, sender: LocalAccount | None = None) -> TxResult:
        return self._send("setCreditLimit", to_checksum_address(who), limit, sender=sender)

    def set_interest_rate_model(self, base_bps: int, slope_bps: int, sender: LocalAccount | None = None) -> TxResult:
        return self._send("setInterestRateModel", base_bps, slope_bps, sender=sender)

    def declare_default(self, who: str, reason: str, sender: LocalAccount | None = None) -> TxResult:
        return self._send("declareDefault", to_checksum_address(who), reason_bytes32(reason), sender=sender)

    def allocate_default_loss(self, who: str, cycle_ids: Sequence[int], sender: LocalAccount | None = None) -> TxResult:
        return self._send("allocateDefaultLoss", to_checksum_address(who), list(cycle_ids), sender=sender)

    def cure_default(self, who: str, reason: str, sender: LocalAccount | None = None) -> TxResult:
        return self._send("cureDefault", to_checksum_address(who), reason_bytes32(reason), sender=sender)

    def pause(self, sender: LocalAccount | None = None) -> TxResult:
        return self._send("pause", sender=sender)

    def unpause(self, sender: LocalAccount | None = None) -> TxResult:
        return self._send("unpause", sender=sender)

    # -- members and lenders (signed by their own keys)
    def deposit(self, amount: int, sender: LocalAccount) -> TxResult:
        return self._send("deposit", amount, sender=sender)

    def withdraw(self, amount: int, to: str, sender: LocalAccount) -> TxResult:
        return self._send("withdraw", amount, to_checksum_address(to), sender=sender)

    def encode_withdraw(self, amount: int, to: str) -> str:
        """Call data (0x-hex) of ``withdraw(amount, to)``, for a member's own wallet to sign and send."""
        return self.encode("withdraw", amount, to_checksum_address(to))

    def pool_deposit(self, assets: int, sender: LocalAccount) -> TxResult:
        return self._send("poolDeposit", assets, sender=sender)

    def pool_withdraw(self, assets: int, to: str, sender: LocalAccount) -> TxResult:
        return self._send("poolWithdraw", assets, to_checksum_address(to), sender=sender)

    def pool_redeem(self, shares: int, to: str, sender: LocalAccount) -> TxResult:
        return self._send("poolRedeem", shares, to_checksum_address(to), sender=sender)

    def request_withdrawal(self, shares: int, sender: LocalAccount) -> TxResult:
        return self._send("requestWithdrawal", shares, sender=sender)

    def cancel_withdrawal(self, request_id: int, sender: LocalAccount) -> TxResult:
        return self._send("cancelWithdrawal", request_id, sender=sender)

    def process_withdrawals(self, max_requests: int, sender: LocalAccount | None = None) -> TxResult:
        return self._send("processWithdrawals", max_requests, sender=sender)

    def accrue_interest(self, members: Sequence[str], sender: LocalAccount | None = None) -> TxResult:
        return self._send("accrueInterest", [to_checksum_address(m) for m in members], sender=sender)

    # -- cycles (operator)
    def commit_args(self, cycle_id: int, root: bytes, count: int, gross: int, deltas: dict[str, int]) -> tuple:
        members, values = _sorted_deltas(deltas)
        return (cycle_id, root, count, gross, members, values)

    def commit_cycle(
        self,
        cycle_id: int,
        root: bytes,
        count: int,
        gross: int,
        deltas: dict[str, int],
        sender: LocalAccount | None = None,
    ) -> TxResult:
        return self._send("commitCycle", *self.commit_args(cycle_id, root, count, gross, deltas), sender=sender)

    def settle_cycle(
        self,
        cycle_id: int,
        root: bytes,
        count: int,
        gross: int,
        deltas: dict[str, int],
        sender: LocalAccount | None = None,
    ) -> TxResult:
        """Commit and release in full in one call (no per-member escrow bookkeeping)."""
        return self._send("settleCycle", *self.commit_args(cycle_id, root, count, gross, deltas), sender=sender)

    def release_cycle(self, cycle_id: int, amounts: dict[str, int], sender: LocalAccount | None = None) -> TxResult:
        creditors, values = _sorted_deltas(amounts)
        return self._send("releaseCycle", cycle_id, creditors, values, sender=sender)

    def release_pro_rata(
        self, cycle_id: int, creditors: Sequence[str], bps: int, sender: LocalAccount | None = None
    ) -> TxResult:
        return self._send(
            "releaseCycleProRata", cycle_id, [to_checksum_address(c) for c in creditors], bps, sender=sender
        )

    def hold_cycle(self, cycle_id: int, until: int, sender: LocalAccount | None = None) -> TxResult:
        return self._send("holdCycle", cycle_id, until, sender=sender)

    def refund_args(
        self, cycle_id: int, deltas: dict[str, int], cancelled: dict[str, int], refunded: dict[str, int]
    ) -> tuple:
        """``refundCycle`` arguments: the committed (non-zero) deltas again, sorted as committed, and the
        refunds parallel to them (the contract reads each debtor's debit from that list)."""
        members, values = _sorted_deltas({m: d for m, d in deltas.items() if d != 0})
        back = {to_checksum_address(a): v for a, v in refunded.items()}
        creditors, c_values = _sorted_deltas(cancelled)
        return (cycle_id, members, values, creditors, c_values, [back.get(m, 0) for m in members])

    def refund_cycle(
        self,
        cycle_id: int,
        deltas: dict[str, int],
        cancelled: dict[str, int],
        refunded: dict[str, int],
        sender: LocalAccount | None = None,
    ) -> TxResult:
        return self._send("refundCycle", *self.refund_args(cycle_id, deltas, cancelled, refunded), sender=sender)

    def claim(self, cycle_id: int, creditor: str, sender: LocalAccount | None = None) -> TxResult:
        return self._send("claim", cycle_id, to_checksum_address(creditor), sender=sender)
