"""The asset vault's typed client: collections and valuations (risk role), pledges (members' own wallets),
positions and values, and the vault's events.

Reverts of the calls named here come back as the service's errors, with the field and the values of the
vault's custom error (:func:`vault_error`): an unlisted collection, a member that owes, a pledge too small
are 409s or 422s naming what failed, never raw hex. The outbox signs through the base class
(``sign_call``), whose reverts stay ``ChainReverted`` as for every other contract.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address

from clearing.adapters.chain.base import ContractClient, Event, TxResult
from clearing.errors import ChainReverted, ClearingError, PledgeRefused, ValidationError

SEIZER_ROLE = keccak(text="SEIZER_ROLE")
#: ``IAssetVault.Standard`` by value, as the service names it.
STANDARDS = {1: "erc721", 2: "erc1155"}
#: The vault's events, in the order an indexer meets them in one collection's life.
VAULT_EVENTS = ("CollectionSet", "ValuationUpdated", "Pledged", "Unpledged", "CollectionSeized", "AssetsSeized")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class VaultCollection:
    """A collection's valuation on chain (all zero and ``listed`` False when never listed)."""

    address: str
    unit_value: int
    ltv_bps: int
    max_age_seconds: int
    valued_at: int
    listed: bool


@dataclass(frozen=True, slots=True)
class VaultPosition:
    """One (collection, id) a member pledged; ``amount`` is 1 for an ERC-721."""

    collection: str
    token_id: int
    amount: int
    standard: str


# The service's error for each custom error of the vault: (class, field); values are the error's arguments.
_ERRORS: dict[str, tuple[type[ClearingError], str | None]] = {
    "AssetVaultZeroAddress": (ValidationError, "collection"),
    "AssetVaultInvalidLtv": (ValidationError, "ltv_bps"),
    "AssetVaultInvalidMaxAge": (ValidationError, "max_age_seconds"),
    "AssetVaultValueTooLarge": (ValidationError, "unit_value"),
    "AssetVaultZeroAmount": (ValidationError, "amount"),
    "AssetVaultAmountTooLarge": (ValidationError, "amount"),
    "AssetVaultCollectionNotListed": (PledgeRefused, "collection"),
    "AssetVaultNotMember": (PledgeRefused, "member"),
    "AssetVaultMemberDefaulted": (PledgeRefused, "member"),
    "AssetVaultMemberNotDefaulted": (PledgeRefused, "member"),
    "AssetVaultUndercollateralised": (PledgeRefused, "member"),
    "AssetVaultTooManyCollections": (PledgeRefused, "collection"),
    "AssetVaultTooManyPositions": (PledgeRefused, "token_id"),
    "AssetVaultInsufficientPledge": (PledgeRefused, "amount"),
    "AssetVaultWrongStandard": (PledgeRefused, "standard"),
    "AssetVaultUnexpectedToken": (PledgeRefused, "token_id"),
    "AssetVaultTransferNotReceived": (PledgeRefused, "token_id"),
}


def vault_error(exc: ChainReverted) -> ClearingError:
    """The service's error for a vault revert (the revert itself when it is not the vault's own error).

    >>> e = vault_error(ChainReverted("x", error="AssetVaultInvalidLtv", ltvBps=10001))
    >>> type(e).__name__, e.field, e.values
    ('ValidationError', 'ltv_bps', {'ltvBps': 10001})
    """
    found = _ERRORS.get(exc.error or "")
    if found is None:
        return exc
    cls, field = found
    return cls(f"the asset vault refused: {exc.message}", field=field, error=exc.error, **exc.values)


def _mapped(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except ChainReverted as exc:
        raise vault_error(exc) from None


class VaultClient(ContractClient):
    artifact = "AssetVault"

    # -- views
    def house(self) -> str:
        return to_checksum_address(self._call("house"))

    def collection_of(self, collection: str) -> VaultCollection:
        addr = to_checksum_address(collection)
        unit_value, ltv, max_age, valued_at, listed = self._call("collectionOf", addr)
        return VaultCollection(addr, unit_value, ltv, max_age, valued_at, bool(listed))

    def is_stale(self, collection: str) -> bool:
        return bool(self._call("isStale", to_checksum_address(collection)))

    def units_of(self, member: str, collection: str) -> int:
        return self._call("unitsOf", to_checksum_address(member), to_checksum_address(collection))

    def collections_of(self, member: str) -> list[str]:
        return [to_checksum_address(c) for c in self._call("collectionsOf", to_checksum_address(member))]

    def positions_of(self, member: str) -> list[VaultPosition]:
        return [
            VaultPosition(to_checksum_address(c), int(i), int(a), STANDARDS.get(int(s), "none"))
            for c, i, a, s in self._call("positionsOf", to_checksum_address(member))
        ]

    def pledged_of(self, member: str, collection: str, token_id: int) -> int:
        return self._call("pledgedOf", to_checksum_address(member), to_checksum_address(collection), token_id)

    def collateral_value_of(self, member: str) -> int:
        """Σ floor(units × unitValue × ltv / 10000) over the member's collections, stale ones 0."""
        return self._call("collateralValueOf", to_checksum_address(member))

    def collateral_values_of(self, members: Sequence[str]) -> dict[str, int]:
        """Many members' collateral values in one round trip."""
        values = self._call_many("collateralValueOf", [(to_checksum_address(m),) for m in members])
        return dict(zip(members, (int(v) for v in values), strict=True))

    def seizable_value_of(self, member: str) -> int:
        """What seizing the member's pledges would credit now: Σ units × unitValue, stale ones 0."""
        return self._call("seizableValueOf", to_checksum_address(member))

    # -- risk role (the service sends these through the outbox; these are for tests and dev)
    def set_collection(
        self, collection: str, unit_value: int, ltv_bps: int, max_age_seconds: int, sender: LocalAccount | None = None
    ) -> TxResult:
        args = (to_checksum_address(collection), unit_value, ltv_bps, max_age_seconds)
        return _mapped(lambda: self._send("setCollection", *args, sender=sender))

    def update_value(self, collection: str, unit_value: int, sender: LocalAccount | None = None) -> TxResult:
        return _mapped(lambda: self._send("updateValue", to_checksum_address(collection), unit_value, sender=sender))

    # -- members' own wallets (tests and dev wallets; the API prepares these for the member to sign)
    def pledge721(self, collection: str, token_id: int, sender: LocalAccount) -> TxResult:
        return _mapped(lambda: self._send("pledge721", to_checksum_address(collection), token_id, sender=sender))

    def pledge1155(self, collection: str, token_id: int, amount: int, sender: LocalAccount) -> TxResult:
        addr = to_checksum_address(collection)
        return _mapped(lambda: self._send("pledge1155", addr, token_id, amount, sender=sender))

    def unpledge721(self, collection: str, token_id: int, sender: LocalAccount) -> TxResult:
        return _mapped(lambda: self._send("unpledge721", to_checksum_address(collection), token_id, sender=sender))

    def unpledge1155(self, collection: str, token_id: int, amount: int, sender: LocalAccount) -> TxResult:
        addr = to_checksum_address(collection)
        return _mapped(lambda: self._send("unpledge1155", addr, token_id, amount, sender=sender))

    # -- events
    def vault_events(self, from_block: int = 0, to_block: int | str = "latest") -> list[Event]:
        """Every event of the vault in a block range, in chain order (see ``VAULT_EVENTS``)."""
        return [e for e in self.events(from_block, to_block) if e.name in VAULT_EVENTS]


class CollectibleClient(ContractClient):
    """An ERC-721 collection (the dev-only ``TestCollectible`` mints; any ERC-721 reads and approves)."""

    artifact = "TestCollectible"

    def owner_of(self, token_id: int) -> str:
        return to_checksum_address(self._call("ownerOf", token_id))

    def get_approved(self, token_id: int) -> str:
        return to_checksum_address(self._call("getApproved", token_id))

    def is_approved_for_all(self, owner: str, operator: str) -> bool:
        return bool(self._call("isApprovedForAll", to_checksum_address(owner), to_checksum_address(operator)))

    def mint(self, to: str, token_id: int, sender: LocalAccount | None = None) -> TxResult:
        return self._send("mint", to_checksum_address(to), token_id, sender=sender)

    def approve(self, to: str, token_id: int, sender: LocalAccount) -> TxResult:
        return self._send("approve", to_checksum_address(to), token_id, sender=sender)

    def transfer_from(self, owner: str, to: str, token_id: int, sender: LocalAccount) -> TxResult:
        return self._send("transferFrom", to_checksum_address(owner), to_checksum_address(to), token_id, sender=sender)


class GameItemsClient(ContractClient):
    """An ERC-1155 collection (the dev-only ``TestGameItems`` mints; any ERC-1155 reads and approves)."""

    artifact = "TestGameItems"

    def balance_of(self, owner: str, token_id: int) -> int:
        return self._call("balanceOf", to_checksum_address(owner), token_id)

    def is_approved_for_all(self, owner: str, operator: str) -> bool:
        return bool(self._call("isApprovedForAll", to_checksum_address(owner), to_checksum_address(operator)))

    def mint(self, to: str, token_id: int, amount: int, sender: LocalAccount | None = None) -> TxResult:
        return self._send("mint", to_checksum_address(to), token_id, amount, sender=sender)

    def set_approval_for_all(self, operator: str, approved: bool, sender: LocalAccount) -> TxResult:
        return self._send("setApprovalForAll", to_checksum_address(operator), approved, sender=sender)


def supports(client: ContractClient, interface_id: bytes) -> bool:
    """Whether the contract at ``client.address`` answers ERC-165 ``supportsInterface(interface_id)`` true."""
    try:
        return bool(client._call("supportsInterface", interface_id))
    except (ChainReverted, ValueError):
        return False
    except Exception:  # no code, or a contract without ERC-165
        return False


#: ERC-165 interface ids of the two standards.
ERC721_ID = bytes.fromhex("80ac58cd")
ERC1155_ID = bytes.fromhex("d9b67a26")


def standard_of(client: ContractClient) -> str | None:
    """``erc721``, ``erc1155`` or None, by ERC-165 (the vault itself does not record a collection's standard)."""
    if supports(client, ERC721_ID):
        return "erc721"
    if supports(client, ERC1155_ID):
        return "erc1155"
    return None
