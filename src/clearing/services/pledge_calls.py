"""The asset vault's risk calls, as outbox rows: their kinds, and how each sees its effect on chain.

``services/pledges.py`` plans the rows (``setCollection``, ``updateValue``, each with its ``fn``,
``args`` and ``expect``) and sends them as operator actions are sent (``Outbox.call(row_id=...)``: once,
a revert fails the row and the request is refused); the chain writer's pass sends any left planned
(``outbox.resolve``). ``done()`` reads the collection on chain:

- a listing is done when the collection is listed with exactly the row's value, LTV and bound, valued
  after the valuation the service saw when it planned the row (``expect["after"]``);
- a revaluation when the value is the row's and it was valued after that time too.

"After" is strict: a refresh to the same value still needs its own transaction (it restarts the
staleness clock), unless the chain shows a newer valuation of that value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from clearing.adapters.chain.vault_client import VaultClient
from clearing.services.tx_sender import Done

VAULT_SET_COLLECTION = "vault_set_collection"
VAULT_UPDATE_VALUE = "vault_update_value"
#: The outbox kinds of the vault's risk role.
PLEDGE_KINDS = (VAULT_SET_COLLECTION, VAULT_UPDATE_VALUE)


def pledge_done(vault: VaultClient, kind: str, args: Sequence[Any], expect: dict[str, Any]) -> Done:
    """``done()`` of a vault row from its kind, call arguments and ``expect`` (see the module)."""
    collection, unit_value = str(args[0]), int(args[1])
    after = int(expect.get("after", -1))

    def done() -> bool:
        c = vault.collection_of(collection)
        fresh = c.listed and c.unit_value == unit_value and c.valued_at > after
        if kind == VAULT_SET_COLLECTION:
            return fresh and (c.ltv_bps, c.max_age_seconds) == (int(args[2]), int(args[3]))
        return fresh

    return done
