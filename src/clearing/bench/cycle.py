"""Wall time from cut-off to released on Anvil: 10,000 obligations among 50 members.

The baseline, measured in the same run on the same node, is the chain floor:
committing and releasing an identical cycle straight through the contract
client with positions and root computed in advance.
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path
from typing import Any

from eth_account import Account

from clearing.progress import Progress

TARGET_S = 2.0
_progress = Progress("bench cycle")


def run(*, obligations: int = 10_000, members: int = 50, db_url: str | None = None, seed: int = 11) -> dict[str, Any]:
    from clearing.adapters.chain import backends
    from clearing.adapters.chain.deploy import Contracts, deploy
    from clearing.bootstrap import build_service
    from clearing.dev import admit_funded_member
    from clearing.domain.merkle import MerkleTree, leaf_hash, obligation_key
    from clearing.domain.netting import net_positions
    from clearing.domain.types import Obligation as DomainObligation
    from clearing.domain.vocabulary import Role
    from clearing.services import chain_sync
    from clearing.services import submission as ob_svc
    from clearing.services.keys import Principal
    from clearing.settings import Settings

    rng = random.Random(seed)
    db_url = db_url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='clearing-bench-')) / 'ledger.db'}"
    _progress(f"ledger at {db_url}")
    with _progress.step("starting Anvil"):
        chain = backends.spawn_anvil()
    try:
        c = Contracts.attach(chain, deploy(chain, network="bench"))
        ctx = build_service(Settings(database_url=db_url), contracts=c, migrate=True)
        op = Principal(role=Role.OPERATOR, key_id=None)
        accts, principals = [], []
        for i in range(members):
            a = Account.from_key(rng.randbytes(32))
            c.send_gas(a.address)
            principals.append(admit_funded_member(ctx, c, op, a, name=f"m{i:03d}", tier="A", collateral=10**15))
            accts.append(a)
            if (i + 1) % 10 == 0:
                _progress(f"{i + 1}/{members} members admitted")
        chain_sync.sync(ctx.sessions, c)
        _progress(f"{members} members funded")
        per: dict[int, list] = {}
        for k in range(obligations):
            d, cr = rng.sample(range(members), 2)
            per.setdefault(d, []).append(
                ob_svc.ObligationInput(
                    id=f"b-{k}", debtor=f"m{d:03d}", creditor=f"m{cr:03d}", amount=rng.randint(1, 10**6)
                )
            )
        with _progress.step(f"submitting {obligations:,} obligations in per-debtor batches"):
            for d, items in per.items():
                ob_svc.submit(ctx, principals[d], items, batch=True)
        _progress(f"{obligations} obligations accepted")

        assert ctx.cycles is not None
        t = time.perf_counter()
        view = ctx.cycles.settle()
        wall = time.perf_counter() - t
        _progress(f"cycle {view.id} {view.state} in {wall:.2f}s")

        # Baseline: the chain floor for the same cycle shape, everything precomputed.
        pairs = [(rng.sample(range(members), 2), rng.randint(1, 10**6)) for _ in range(obligations)]
        obs = [
            DomainObligation(f"x-{k}", accts[d].address, accts[cr].address, amt)
            for k, ((d, cr), amt) in enumerate(pairs)
        ]
        positions = net_positions(obs)
        root = MerkleTree(
            [leaf_hash(10**6, obligation_key(o.debtor, o.id), o.debtor, o.creditor, o.amount) for o in obs]
        ).root
        with _progress.step("baseline: the same cycle shape straight through the contract"):
            t = time.perf_counter()
            c.house.commit_cycle(10**6, root, len(obs), sum(o.amount for o in obs), positions)
            c.house.release_cycle(10**6, {m: v for m, v in positions.items() if v > 0})
            floor = time.perf_counter() - t
        return {
            "backend": "anvil",
            "db": db_url.split(":")[0],
            "obligations": obligations,
            "members": members,
            "state": view.state,
            "settled": view.settled,
            "close_to_released_s": round(wall, 3),
            "target_s": TARGET_S,
            "meets_target": wall <= TARGET_S,
            "baseline_chain_floor_s": round(floor, 3),
            "service_overhead_s": round(wall - floor, 3),
        }
    finally:
        chain.close()
