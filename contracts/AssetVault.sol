// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {IERC1155Receiver} from "@openzeppelin/contracts/token/ERC1155/IERC1155Receiver.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IERC721Receiver} from "@openzeppelin/contracts/token/ERC721/IERC721Receiver.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";

import {IAssetVault} from "./interfaces/IAssetVault.sol";
import {IClearingHouse} from "./interfaces/IClearingHouse.sol";

/// @title AssetVault
/// @notice Implementation of {IAssetVault}; the interface is the specification.
/// @dev Every entry point is shaped checks → effects → emit → transfer, except
/// the pledges, whose pull must come before the receipt check (see {_pull}).
contract AssetVault is IAssetVault, AccessControl, ReentrancyGuardTransient {
    /// @notice Lists collections and values them.
    bytes32 public constant RISK_ROLE = keccak256("RISK_ROLE");
    /// @notice Seizes a defaulted member's pledges (granted to the house).
    bytes32 public constant SEIZER_ROLE = keccak256("SEIZER_ROLE");
    /// @notice Most distinct collections one member may pledge in.
    uint256 public constant MAX_COLLECTIONS = 16;
    /// @notice Most distinct (collection, id) positions one member may hold; bounds {seize}.
    uint256 public constant MAX_POSITIONS = 64;

    uint256 private constant BPS = 10_000;

    IClearingHouse private immutable _house;

    mapping(address collection => Collection) private _collections;
    mapping(address member => mapping(address collection => uint256)) private _units;
    mapping(address member => address[]) private _memberCollections;
    mapping(address member => Position[]) private _positions;
    /// @dev 1 + the position's index in `_positions[member]`; 0 = none.
    mapping(address member => mapping(address collection => mapping(uint256 id => uint256))) private _positionSlot;

    /// @dev The token a pledge is pulling right now; the receiver hooks accept only it.
    address private transient _expectedCollection;
    uint256 private transient _expectedId;
    address private transient _expectedFrom;

    /// @param house_ The clearing house whose members pledge here.
    /// @param admin Receives DEFAULT_ADMIN_ROLE and grants the other roles.
    constructor(IClearingHouse house_, address admin) {
        if (address(house_) == address(0) || admin == address(0)) revert AssetVaultZeroAddress();
        _house = house_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ───────────────────────────── Risk ─────────────────────────────

    /// @inheritdoc IAssetVault
    function setCollection(address collection, uint256 unitValue, uint16 ltvBps, uint64 maxAgeSeconds)
        external
        onlyRole(RISK_ROLE)
    {
        if (collection == address(0)) revert AssetVaultZeroAddress();
        if (unitValue > type(uint96).max) revert AssetVaultValueTooLarge(unitValue);
        if (ltvBps > BPS) revert AssetVaultInvalidLtv(ltvBps);
        if (maxAgeSeconds == 0) revert AssetVaultInvalidMaxAge(maxAgeSeconds);

        uint64 now_ = uint64(block.timestamp);
        _collections[collection] = Collection({
            // casting to 'uint96' is safe because unitValue ≤ type(uint96).max was checked above
            // forge-lint: disable-next-line(unsafe-typecast)
            unitValue: uint96(unitValue),
            ltvBps: ltvBps,
            maxAgeSeconds: maxAgeSeconds,
            valuedAt: now_,
            listed: true
        });
        emit CollectionSet(collection, unitValue, ltvBps, maxAgeSeconds, now_);
    }

    /// @inheritdoc IAssetVault
    function updateValue(address collection, uint256 unitValue) external onlyRole(RISK_ROLE) {
        Collection storage c = _collections[collection];
        if (!c.listed) revert AssetVaultCollectionNotListed(collection);
        if (unitValue > type(uint96).max) revert AssetVaultValueTooLarge(unitValue);

        uint64 now_ = uint64(block.timestamp);
        // casting to 'uint96' is safe because unitValue ≤ type(uint96).max was checked above
        // forge-lint: disable-next-line(unsafe-typecast)
        c.unitValue = uint96(unitValue);
        c.valuedAt = now_;
        emit ValuationUpdated(collection, unitValue, now_);
    }

    // ───────────────────────────── Members ─────────────────────────────

    /// @inheritdoc IAssetVault
    function pledge721(address collection, uint256 tokenId) external nonReentrant {
        _addPledge(msg.sender, collection, tokenId, 1, Standard.ERC721);
        _pull(collection, tokenId, 1, Standard.ERC721);
    }

    /// @inheritdoc IAssetVault
    function pledge1155(address collection, uint256 id, uint256 amount) external nonReentrant {
        if (amount == 0) revert AssetVaultZeroAmount();
        _addPledge(msg.sender, collection, id, amount, Standard.ERC1155);
        _pull(collection, id, amount, Standard.ERC1155);
    }

    /// @inheritdoc IAssetVault
    function unpledge721(address collection, uint256 tokenId) external nonReentrant {
        _removePledge(msg.sender, collection, tokenId, 1, Standard.ERC721);
        IERC721(collection).safeTransferFrom(address(this), msg.sender, tokenId);
    }

    /// @inheritdoc IAssetVault
    function unpledge1155(address collection, uint256 id, uint256 amount) external nonReentrant {
        if (amount == 0) revert AssetVaultZeroAmount();
        _removePledge(msg.sender, collection, id, amount, Standard.ERC1155);
        IERC1155(collection).safeTransferFrom(address(this), msg.sender, id, amount, "");
    }

    // ───────────────────────────── Default ─────────────────────────────

    /// @inheritdoc IAssetVault
    function seize(address member, address to) external onlyRole(SEIZER_ROLE) nonReentrant returns (uint256 value) {
        if (to == address(0)) revert AssetVaultZeroAddress();
        if (!_house.memberOf(member).defaulted) revert AssetVaultMemberNotDefaulted(member);

        Position[] memory moved = _positions[member];
        address[] memory collections = _memberCollections[member];
        uint256[] memory units = new uint256[](collections.length);
        uint256[] memory values = new uint256[](collections.length);
        for (uint256 i; i < collections.length; ++i) {
            units[i] = _units[member][collections[i]];
            values[i] = _valueDown(collections[i], units[i], BPS);
            value += values[i];
            delete _units[member][collections[i]];
        }
        for (uint256 i; i < moved.length; ++i) {
            delete _positionSlot[member][moved[i].collection][moved[i].id];
        }
        delete _positions[member];
        delete _memberCollections[member];

        for (uint256 i; i < collections.length; ++i) {
            emit CollectionSeized(member, collections[i], to, units[i], values[i]);
        }
        emit AssetsSeized(member, to, value);

        for (uint256 i; i < moved.length; ++i) {
            Position memory p = moved[i];
            if (p.standard == Standard.ERC721) {
                IERC721(p.collection).safeTransferFrom(address(this), to, p.id);
            } else {
                IERC1155(p.collection).safeTransferFrom(address(this), to, p.id, p.amount, "");
            }
        }
    }

    // ───────────────────────────── Receiver hooks ─────────────────────────────

    /// @inheritdoc IERC721Receiver
    /// @dev Accepts only the token {pledge721} is pulling right now.
    function onERC721Received(address operator, address from, uint256 tokenId, bytes calldata)
        external
        view
        returns (bytes4)
    {
        _checkExpected(operator, from, tokenId);
        return IERC721Receiver.onERC721Received.selector;
    }

    /// @inheritdoc IERC1155Receiver
    /// @dev Accepts only the token {pledge1155} is pulling right now.
    function onERC1155Received(address operator, address from, uint256 id, uint256, bytes calldata)
        external
        view
        returns (bytes4)
    {
        _checkExpected(operator, from, id);
        return IERC1155Receiver.onERC1155Received.selector;
    }

    /// @inheritdoc IERC1155Receiver
    /// @dev Always refuses: pledges pull one id at a time.
    function onERC1155BatchReceived(
        address operator,
        address,
        uint256[] calldata ids,
        uint256[] calldata,
        bytes calldata
    ) external view returns (bytes4) {
        revert AssetVaultUnexpectedToken(msg.sender, operator, ids.length == 0 ? 0 : ids[0]);
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId) public view override(AccessControl, IERC165) returns (bool) {
        return interfaceId == type(IERC1155Receiver).interfaceId || interfaceId == type(IERC721Receiver).interfaceId
            || super.supportsInterface(interfaceId);
    }

    // ───────────────────────────── Views ─────────────────────────────

    /// @inheritdoc IAssetVault
    function house() external view returns (IClearingHouse) {
        return _house;
    }

    /// @inheritdoc IAssetVault
    function collectionOf(address collection) external view returns (Collection memory) {
        return _collections[collection];
    }

    /// @inheritdoc IAssetVault
    function isStale(address collection) public view returns (bool) {
        Collection storage c = _collections[collection];
        return !c.listed || block.timestamp > uint256(c.valuedAt) + c.maxAgeSeconds;
    }

    /// @inheritdoc IAssetVault
    function unitsOf(address member, address collection) external view returns (uint256) {
        return _units[member][collection];
    }

    /// @inheritdoc IAssetVault
    function collectionsOf(address member) external view returns (address[] memory) {
        return _memberCollections[member];
    }

    /// @inheritdoc IAssetVault
    function positionsOf(address member) external view returns (Position[] memory) {
        return _positions[member];
    }

    /// @inheritdoc IAssetVault
    function pledgedOf(address member, address collection, uint256 id) public view returns (uint256) {
        uint256 slot = _positionSlot[member][collection][id];
        return slot == 0 ? 0 : _positions[member][slot - 1].amount;
    }

    /// @inheritdoc IAssetVault
    function collateralValueOf(address member) external view returns (uint256) {
        return _collateralValue(member);
    }

    function _collateralValue(address member) private view returns (uint256 value) {
        address[] storage collections = _memberCollections[member];
        for (uint256 i; i < collections.length; ++i) {
            address c = collections[i];
            value += _valueDown(c, _units[member][c], _collections[c].ltvBps);
        }
    }

    /// @inheritdoc IAssetVault
    function seizableValueOf(address member) external view returns (uint256 value) {
        address[] storage collections = _memberCollections[member];
        for (uint256 i; i < collections.length; ++i) {
            address c = collections[i];
            value += _valueDown(c, _units[member][c], BPS);
        }
    }

    // ───────────────────────────── Internal ─────────────────────────────

    /// @dev floor(units × unitValue × bps / 10000), 0 when stale. Cannot overflow:
    /// units < 2^128, unitValue < 2^96, bps ≤ 2^14, and a member has ≤ 16 collections.
    function _valueDown(address collection, uint256 units, uint256 bps) private view returns (uint256) {
        if (isStale(collection)) return 0;
        return units * _collections[collection].unitValue * bps / BPS;
    }

    /// @dev Checks and records a pledge of `amount` of (`collection`, `id`) by `member`, and emits.
    function _addPledge(address member, address collection, uint256 id, uint256 amount, Standard standard) private {
        if (!_collections[collection].listed) revert AssetVaultCollectionNotListed(collection);
        IClearingHouse.Member memory m = _house.memberOf(member);
        if (!m.admitted) revert AssetVaultNotMember(member);
        if (m.defaulted) revert AssetVaultMemberDefaulted(member);

        uint256 units = _units[member][collection];
        if (amount > type(uint128).max - units) revert AssetVaultAmountTooLarge(amount);
        if (units == 0) {
            if (_memberCollections[member].length == MAX_COLLECTIONS) {
                revert AssetVaultTooManyCollections(member, MAX_COLLECTIONS);
            }
            _memberCollections[member].push(collection);
        }
        units += amount;
        _units[member][collection] = units;

        uint256 slot = _positionSlot[member][collection][id];
        if (slot == 0) {
            Position[] storage positions = _positions[member];
            if (positions.length == MAX_POSITIONS) revert AssetVaultTooManyPositions(member, MAX_POSITIONS);
            positions.push(Position({collection: collection, id: id, amount: amount, standard: standard}));
            _positionSlot[member][collection][id] = positions.length;
        } else {
            Position storage p = _positions[member][slot - 1];
            // An ERC-721 id is unique: a second pledge of it means the collection is not what it claims.
            if (p.standard != standard || standard == Standard.ERC721) revert AssetVaultWrongStandard(collection, id);
            p.amount += amount;
        }
        emit Pledged(member, collection, id, amount, units);
    }

    /// @dev Checks and removes `amount` of `member`'s pledge of (`collection`, `id`), and emits.
    function _removePledge(address member, address collection, uint256 id, uint256 amount, Standard standard) private {
        IClearingHouse.Member memory m = _house.memberOf(member);
        if (m.defaulted) revert AssetVaultMemberDefaulted(member);

        uint256 slot = _positionSlot[member][collection][id];
        uint256 pledged = slot == 0 ? 0 : _positions[member][slot - 1].amount;
        if (pledged < amount) revert AssetVaultInsufficientPledge(member, collection, id, pledged, amount);
        Position[] storage positions = _positions[member];
        if (positions[slot - 1].standard != standard) revert AssetVaultWrongStandard(collection, id);

        if (pledged == amount) {
            uint256 last = positions.length;
            if (slot != last) {
                Position memory moved = positions[last - 1];
                positions[slot - 1] = moved;
                _positionSlot[member][moved.collection][moved.id] = slot;
            }
            positions.pop();
            delete _positionSlot[member][collection][id];
        } else {
            // Cannot underflow: pledged > amount.
            unchecked {
                positions[slot - 1].amount = pledged - amount;
            }
        }

        // Cannot underflow: units ≥ the position's pledged amount ≥ amount (V3).
        uint256 units;
        unchecked {
            units = _units[member][collection] - amount;
        }
        _units[member][collection] = units;
        if (units == 0) _dropCollection(member, collection);
        // Solvent without it: what the member owes stays within its line plus
        // the collateral left (the house's headroom rule, read after the removal).
        if (m.balance < 0) {
            // casting to uint256 is safe because balance < 0 here
            // forge-lint: disable-next-line(unsafe-typecast)
            uint256 debt = uint256(-m.balance);
            uint256 cover = m.creditLimit + _collateralValue(member);
            if (debt > cover) revert AssetVaultUndercollateralised(member, debt, cover);
        }
        emit Unpledged(member, collection, id, amount, units);
    }

    /// @dev Removes `collection` from `member`'s list (swap and pop; the list has ≤ 16 entries).
    function _dropCollection(address member, address collection) private {
        address[] storage list = _memberCollections[member];
        uint256 n = list.length;
        for (uint256 i; i < n; ++i) {
            if (list[i] == collection) {
                list[i] = list[n - 1];
                list.pop();
                return;
            }
        }
    }

    /// @dev Pulls the pledged token from the caller, then checks the vault holds it.
    /// The pull comes after the bookkeeping and its event (checks → effects → emit →
    /// transfer); the receipt check after it reads only the collection's balance, and
    /// nonReentrant stops the collection from calling back into any entry point.
    function _pull(address collection, uint256 id, uint256 amount, Standard standard) private {
        _expectedCollection = collection;
        _expectedId = id;
        _expectedFrom = msg.sender;
        if (standard == Standard.ERC721) {
            IERC721(collection).safeTransferFrom(msg.sender, address(this), id);
            if (IERC721(collection).ownerOf(id) != address(this)) {
                revert AssetVaultTransferNotReceived(collection, id, amount);
            }
        } else {
            IERC1155 token = IERC1155(collection);
            uint256 before = token.balanceOf(address(this), id);
            token.safeTransferFrom(msg.sender, address(this), id, amount, "");
            if (token.balanceOf(address(this), id) < before + amount) {
                revert AssetVaultTransferNotReceived(collection, id, amount);
            }
        }
        _expectedCollection = address(0);
        _expectedId = 0;
        _expectedFrom = address(0);
    }

    /// @dev Reverts unless the hook's caller is the collection being pulled, for the id
    /// being pulled, from the pledging member, with the vault as operator.
    function _checkExpected(address operator, address from, uint256 id) private view {
        if (
            msg.sender != _expectedCollection || operator != address(this) || from != _expectedFrom || id != _expectedId
        ) revert AssetVaultUnexpectedToken(msg.sender, operator, id);
    }
}
