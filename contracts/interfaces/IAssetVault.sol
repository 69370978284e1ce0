// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC1155Receiver} from "@openzeppelin/contracts/token/ERC1155/IERC1155Receiver.sol";
import {IERC721Receiver} from "@openzeppelin/contracts/token/ERC721/IERC721Receiver.sol";

import {IClearingHouse} from "./IClearingHouse.sol";

/// @title IAssetVault
/// @notice Holds ERC-721 and ERC-1155 tokens that members of one
/// {IClearingHouse} pledge as collateral. This interface is the specification:
/// the implementation inherits this documentation.
///
/// Valuation
/// ---------
/// The risk role lists each collection with one value per token (in the
/// settlement token's smallest unit, the same for every id of the collection),
/// a loan-to-value in basis points and a staleness bound. A valuation older
/// than the bound counts 0 until the risk role refreshes it ({updateValue}).
/// A collection never listed cannot be pledged. A member's collateral value
/// is Σ over the collections it pledged of floor(units × unitValue × ltvBps / 10000).
///
/// Unpledging
/// ----------
/// A member may take a pledged token back only while it stays solvent without
/// it: what it owes the house (max(0, −balance)) stays ≤ its credit limit plus
/// the collateral value left after the removal, the house's own headroom rule
/// ({IClearingHouse-setAssetVault}). A member in default never unpledges.
///
/// Default
/// -------
/// For a member the house shows in default, the seizer role (the house) moves
/// every token the member pledged to a recipient (the pool or an auction), and
/// learns the value to credit in the waterfall: Σ units × unitValue at the
/// current valuation, without the loan-to-value, stale collections at 0.
///
/// Invariants (checked by the Foundry invariant suite after every call):
/// - V1  every pledged ERC-721 token is owned by the vault;
/// - V2  per ERC-1155 (collection, id), balanceOf(vault, id) ≥ Σ units members pledged;
/// - V3  per member and collection, unitsOf == Σ the member's pledged amounts in that collection;
/// - V4  the vault accepts a token only during a pledge of that very token
///       ({pledge721}, {pledge1155}); a token sent any other way is refused.
///
/// Token assumptions
/// -----------------
/// Listed collections are vetted by the risk role: standard OpenZeppelin-like
/// ERC-721 / ERC-1155 whose transfers move exactly what they say. The vault
/// still checks after every pull that it holds what was pledged, and every
/// state-changing entry point is non-reentrant, so a collection that calls
/// back cannot pledge, unpledge or seize twice.
interface IAssetVault is IERC721Receiver, IERC1155Receiver {
    // ───────────────────────────── Types ─────────────────────────────

    /// @notice The token standard of a pledged position.
    enum Standard {
        NONE,
        ERC721,
        ERC1155
    }

    /// @notice A listed collection's valuation.
    /// @param unitValue Value of one token in settlement-token units (≤ 2^96 − 1).
    /// @param ltvBps Loan-to-value in basis points (≤ 10000).
    /// @param maxAgeSeconds The valuation counts 0 once older than this (> 0).
    /// @param valuedAt Block timestamp of the last {setCollection} or {updateValue}.
    /// @param listed Whether the risk role ever listed the collection.
    struct Collection {
        uint96 unitValue;
        uint16 ltvBps;
        uint64 maxAgeSeconds;
        uint64 valuedAt;
        bool listed;
    }

    /// @notice One (collection, id) a member pledged: `amount` is 1 for an ERC-721.
    struct Position {
        address collection;
        uint256 id;
        uint256 amount;
        Standard standard;
    }

    // ───────────────────────────── Events ─────────────────────────────

    /// @notice The risk role listed or re-set `collection`, valued at `valuedAt`.
    event CollectionSet(
        address indexed collection, uint256 unitValue, uint16 ltvBps, uint64 maxAgeSeconds, uint64 valuedAt
    );
    /// @notice The risk role valued `collection` at `unitValue` per token at `valuedAt`.
    event ValuationUpdated(address indexed collection, uint256 unitValue, uint64 valuedAt);
    /// @notice `member` pledged `amount` of token `id` of `collection`; it now has `units` in that collection.
    event Pledged(
        address indexed member, address indexed collection, uint256 indexed id, uint256 amount, uint256 units
    );
    /// @notice `member` took back `amount` of token `id` of `collection`; it now has `units` in that collection.
    event Unpledged(
        address indexed member, address indexed collection, uint256 indexed id, uint256 amount, uint256 units
    );
    /// @notice `units` of `member`'s pledges in `collection` moved to `to`, worth `value` at the current valuation.
    event CollectionSeized(
        address indexed member, address indexed collection, address indexed to, uint256 units, uint256 value
    );
    /// @notice Everything `member` pledged moved to `to`, worth `value` in all (one {CollectionSeized} per collection).
    event AssetsSeized(address indexed member, address indexed to, uint256 value);

    // ───────────────────────────── Errors ─────────────────────────────

    /// @notice A required address was zero.
    error AssetVaultZeroAddress();
    /// @notice `ltvBps` is above 10000.
    error AssetVaultInvalidLtv(uint16 ltvBps);
    /// @notice `maxAgeSeconds` is zero.
    error AssetVaultInvalidMaxAge(uint64 maxAgeSeconds);
    /// @notice `unitValue` is above 2^96 − 1.
    error AssetVaultValueTooLarge(uint256 unitValue);
    /// @notice `collection` was never listed by the risk role.
    error AssetVaultCollectionNotListed(address collection);
    /// @notice `member` is not admitted by the house.
    error AssetVaultNotMember(address member);
    /// @notice `member` is in default in the house.
    error AssetVaultMemberDefaulted(address member);
    /// @notice `member` is not in default in the house (so nothing can be seized).
    error AssetVaultMemberNotDefaulted(address member);
    /// @notice Without the asset, `member`'s `debt` to the house would exceed its `cover`
    /// (credit limit + the collateral value left), so it cannot unpledge.
    error AssetVaultUndercollateralised(address member, uint256 debt, uint256 cover);
    /// @notice `member` already pledged in `max` distinct collections.
    error AssetVaultTooManyCollections(address member, uint256 max);
    /// @notice `member` already holds `max` distinct pledged (collection, id) positions.
    error AssetVaultTooManyPositions(address member, uint256 max);
    /// @notice An amount of zero was given.
    error AssetVaultZeroAmount();
    /// @notice Pledging `amount` would take the member's units in the collection above 2^128 − 1.
    error AssetVaultAmountTooLarge(uint256 amount);
    /// @notice `member` pledged only `pledged` of (`collection`, `id`), less than `requested`.
    error AssetVaultInsufficientPledge(
        address member, address collection, uint256 id, uint256 pledged, uint256 requested
    );
    /// @notice `collection`'s token `id` came from `operator` outside a pledge of that token.
    error AssetVaultUnexpectedToken(address collection, address operator, uint256 id);
    /// @notice After pulling, the vault does not hold the `amount` of (`collection`, `id`) pledged.
    error AssetVaultTransferNotReceived(address collection, uint256 id, uint256 amount);
    /// @notice The (`collection`, `id`) position was pledged under another standard.
    error AssetVaultWrongStandard(address collection, uint256 id);

    // ───────────────────────────── Risk (RISK_ROLE) ─────────────────────────────

    /// @notice Lists `collection` (or re-sets it) at `unitValue` per token, `ltvBps`
    /// loan-to-value and a staleness bound of `maxAgeSeconds`, valued now.
    /// Requirements: caller has RISK_ROLE; `collection` non-zero ({AssetVaultZeroAddress});
    /// `unitValue` ≤ 2^96 − 1 ({AssetVaultValueTooLarge}); `ltvBps` ≤ 10000
    /// ({AssetVaultInvalidLtv}); `maxAgeSeconds` > 0 ({AssetVaultInvalidMaxAge}).
    /// Emits {CollectionSet}.
    function setCollection(address collection, uint256 unitValue, uint16 ltvBps, uint64 maxAgeSeconds) external;

    /// @notice Values a listed `collection` at `unitValue` per token, now (refreshing its staleness).
    /// Requirements: caller has RISK_ROLE; `collection` listed ({AssetVaultCollectionNotListed});
    /// `unitValue` ≤ 2^96 − 1 ({AssetVaultValueTooLarge}).
    /// Emits {ValuationUpdated}.
    function updateValue(address collection, uint256 unitValue) external;

    // ───────────────────────────── Members ─────────────────────────────

    /// @notice Pulls ERC-721 `tokenId` of `collection` from the caller (safeTransferFrom;
    /// the caller approves the vault first) and pledges it.
    /// Requirements: `collection` listed ({AssetVaultCollectionNotListed}); caller admitted
    /// by the house ({AssetVaultNotMember}) and not in default ({AssetVaultMemberDefaulted});
    /// at most MAX_COLLECTIONS collections ({AssetVaultTooManyCollections}) and
    /// MAX_POSITIONS positions ({AssetVaultTooManyPositions}) per member; the
    /// vault holds the token afterwards ({AssetVaultTransferNotReceived}).
    /// Emits {Pledged}.
    function pledge721(address collection, uint256 tokenId) external;

    /// @notice Pulls `amount` of ERC-1155 `id` of `collection` from the caller and pledges it.
    /// Requirements: as {pledge721}; `amount` > 0 ({AssetVaultZeroAmount}); the caller's
    /// units in the collection stay ≤ 2^128 − 1 ({AssetVaultAmountTooLarge}); a position
    /// first pledged as ERC-721 cannot grow as ERC-1155 ({AssetVaultWrongStandard}).
    /// Emits {Pledged}.
    function pledge1155(address collection, uint256 id, uint256 amount) external;

    /// @notice Returns pledged ERC-721 `tokenId` of `collection` to the caller.
    /// Requirements: caller not in default ({AssetVaultMemberDefaulted}); its debt to the
    /// house stays ≤ creditLimit + the collateral value left ({AssetVaultUndercollateralised}); the caller pledged the token as ERC-721
    /// ({AssetVaultInsufficientPledge}, {AssetVaultWrongStandard}).
    /// Emits {Unpledged}.
    function unpledge721(address collection, uint256 tokenId) external;

    /// @notice Returns `amount` of pledged ERC-1155 `id` of `collection` to the caller.
    /// Requirements: as {unpledge721}; `amount` > 0 ({AssetVaultZeroAmount}) and at most
    /// what the caller pledged of that id ({AssetVaultInsufficientPledge}).
    /// Emits {Unpledged}.
    function unpledge1155(address collection, uint256 id, uint256 amount) external;

    // ───────────────────────────── Default (SEIZER_ROLE) ─────────────────────────────

    /// @notice Moves every token `member` pledged to `to` and returns their value at the
    /// current valuation (Σ units × unitValue, no loan-to-value, stale collections 0).
    /// Requirements: caller has SEIZER_ROLE; `to` non-zero ({AssetVaultZeroAddress});
    /// the house shows `member` in default ({AssetVaultMemberNotDefaulted}); `to`
    /// accepts the tokens (safeTransferFrom).
    /// Emits one {CollectionSeized} per collection, then {AssetsSeized}.
    function seize(address member, address to) external returns (uint256 value);

    // ───────────────────────────── Views ─────────────────────────────

    /// @notice The clearing house whose members pledge here.
    function house() external view returns (IClearingHouse);

    /// @notice `collection`'s valuation (all zero if never listed).
    function collectionOf(address collection) external view returns (Collection memory);

    /// @notice Whether `collection`'s valuation is stale (older than its bound) or it is not listed.
    function isStale(address collection) external view returns (bool);

    /// @notice Σ units `member` pledged in `collection` (ERC-721 tokens count 1 each).
    function unitsOf(address member, address collection) external view returns (uint256);

    /// @notice The collections `member` has units in (at most MAX_COLLECTIONS).
    function collectionsOf(address member) external view returns (address[] memory);

    /// @notice `member`'s pledged positions (at most MAX_POSITIONS), in no particular order.
    function positionsOf(address member) external view returns (Position[] memory);

    /// @notice Σ units `member` pledged of (`collection`, `id`).
    function pledgedOf(address member, address collection, uint256 id) external view returns (uint256);

    /// @notice Σ over `member`'s collections of floor(units × unitValue × ltvBps / 10000), stale ones 0.
    function collateralValueOf(address member) external view returns (uint256);

    /// @notice Σ over `member`'s collections of units × unitValue, stale ones 0 (what {seize} would credit).
    function seizableValueOf(address member) external view returns (uint256);
}
