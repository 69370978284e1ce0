"""Events read by the value of an indexed argument: the node filters them by topic.

A lender's position is rebuilt from its own pool events; reading every event
of the house and keeping its would cost the whole history on every request.
Indexed arguments are log topics, so the node can return only the events
that name one address, however long the contract's history.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_utils import to_checksum_address
from eth_utils.abi import event_abi_to_log_topic

from clearing.adapters.chain.client import ContractClient, Event


def events_for(
    client: ContractClient,
    arg: str,
    address: str,
    names: Sequence[str],
    from_block: int = 0,
    to_block: int | str = "latest",
) -> list[Event]:
    """``client``'s events ``names`` whose indexed argument ``arg`` is ``address``, decoded, in chain order.

    One query per position ``arg`` takes among the events' indexed arguments (e.g. ``lender`` is the first
    topic of ``PoolDeposited`` but the second of ``WithdrawalQueued``, after ``requestId``).
    """
    by_position: dict[int, list[str]] = {}
    for name in names:
        [abi] = [e for e in client.contract.abi if e["type"] == "event" and e["name"] == name]
        indexed = [i["name"] for i in abi["inputs"] if i.get("indexed")]
        by_position.setdefault(1 + indexed.index(arg), []).append("0x" + event_abi_to_log_topic(abi).hex())
    who = "0x" + bytes.fromhex(to_checksum_address(address)[2:]).rjust(32, b"\0").hex()
    logs: list[Any] = []
    for position, topics in sorted(by_position.items()):
        query: list[Any] = [topics, *([None] * (position - 1)), who]
        logs += client.w3.eth.get_logs(
            {"address": client.address, "fromBlock": from_block, "toBlock": to_block, "topics": query}  # type: ignore[typeddict-item]
        )
    return sorted(client.decode_logs(logs), key=lambda e: (e.block, e.log_index))
