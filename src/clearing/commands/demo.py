"""`clearing demo`: the whole house on the embedded default, end to end.

Members with different tiers, collateral and credit; a lender funding the
credit pool; a few hundred obligations including one held by a risk rule and
one beyond headroom; a cycle closed, netted, committed and released on chain;
then the audit. Exit 0 only if the audit passes.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from pathlib import Path

import click

from clearing.cli import cli

PLATFORMS = [
    # name, tier, collateral, credit line (token units, 6 decimals)
    ("cardhub", "A", 40_000_000_000, 20_000_000_000),
    ("topupnow", "A", 30_000_000_000, 15_000_000_000),
    ("streamplus", "B", 25_000_000_000, 5_000_000_000),
    ("giftgrid", "B", 15_000_000_000, 2_000_000_000),
    ("pixelpay", "B", 150_000_000, 0),   # thin collateral: its big order queues beyond headroom
    ("voucherly", "C", 5_000_000_000, 0),  # tier C prepays per order into escrow
]


def _say(msg: str) -> None:
    click.echo(f"demo: {msg}", err=True)


@cli.command("demo")
@click.option("--obligations", "count", default=300, show_default=True)
@click.option("--seed", default=2026, show_default=True)
@click.option("--db", "db_url", default=None, help="Database URL (default: a fresh SQLite file).")
def demo(count: int, seed: int, db_url: str | None) -> None:
    """Run members, obligations, a settled cycle and an audit on the embedded chain."""
    from clearing.adapters.chain import backends
    from clearing.adapters.chain.deploy import Contracts, deploy
    from clearing.adapters.db import migrate
    from clearing.domain.merkle import obligation_key
    from clearing.services import audit, chain_sync, obligations
    from clearing.services.context import ServiceContext
    from clearing.services.cycles import CycleService
    from clearing.services.keys import Principal
    from clearing.services.outbox import Outbox
    from clearing.services.runtime import admit_funded_member
    from clearing.services.signatures import SigningDomain

    t0 = time.perf_counter()
    rng = random.Random(seed)
    if db_url is None:
        db_url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='clearing-demo-')) / 'ledger.db'}"
    _say(f"ledger at {db_url}")
    migrate(db_url)

    chain = backends.embedded()
    dep = deploy(chain, network="embedded")
    c = Contracts.attach(chain, dep)
    _say(f"contracts deployed on the in-process chain: house {dep.clearing_house}")

    ctx = ServiceContext.build(url=db_url, signing_domain=SigningDomain(chain_id=chain.chain_id,
                                                                        verifying_contract=dep.clearing_house))
    ctx.outbox = Outbox(ctx.sessions, c)
    operator = Principal(role="operator", key_id=None)

    # Members: each platform signs its own on-chain calls with its own key.
    keys = {name: chain.accounts[i + 1] for i, (name, *_rest) in enumerate(PLATFORMS)}
    principals = {}
    for name, tier, collateral, credit in PLATFORMS:
        principals[name] = admit_funded_member(ctx, c, operator, keys[name], name=name, tier=tier,
                                               collateral=collateral, credit_line=credit,
                                               tier_reasons=[f"demo: tier {tier}"])
    lender = chain.accounts[9]
    c.token.mint(lender.address, 50_000_000_000)
    c.token.approve(c.house.address, 50_000_000_000, sender=lender)
    c.house.pool_deposit(50_000_000_000, sender=lender)
    chain_sync.sync(ctx.sessions, c)
    _say(f"{len(PLATFORMS)} members admitted and funded; lender pool {c.house.pool_total()}")

    # Obligations among the netting members, submitted in per-debtor batches.
    net_names = [p[0] for p in PLATFORMS if p[1] != "C"]
    by_debtor: dict[str, list] = {n: [] for n in net_names}
    for i in range(count):
        d, cr = rng.sample(net_names[:4], 2)
        by_debtor[d].append(obligations.ObligationInput(
            id=f"demo-{i:04d}", debtor=d, creditor=cr, amount=rng.randint(1, 400) * 1_000_000,
            reference=f"order {i}"))
    # One beyond headroom (pixelpay's collateral is thin), one held by a risk rule.
    by_debtor["pixelpay"].append(obligations.ObligationInput(
        id="demo-beyond-headroom", debtor="pixelpay", creditor="cardhub", amount=900_000_000, reference="big"))
    by_debtor["streamplus"].append(obligations.ObligationInput(
        id="demo-held", debtor="streamplus", creditor="topupnow", amount=10**15, reference="huge single order"))
    statuses: dict[str, int] = {}
    for debtor, items in by_debtor.items():
        if not items:
            continue
        for r in obligations.submit(ctx, principals[debtor], items, batch=True):
            statuses[r.obligation.status] = statuses.get(r.obligation.status, 0) + 1
    # Tier C: the order goes to per-order escrow, prepaid by the debtor itself.
    esc = obligations.submit(ctx, principals["voucherly"], [obligations.ObligationInput(
        id="demo-escrow-1", debtor="voucherly", creditor="cardhub", amount=25_000_000, reference="prepaid")],
        batch=False)[0].obligation
    statuses[esc.status] = statuses.get(esc.status, 0) + 1
    _say(f"submitted: {json.dumps(statuses, sort_keys=True)}")
    held = obligations.get_any(ctx, "demo-held")
    beyond = obligations.get_any(ctx, "demo-beyond-headroom")
    _say(f"held: {held.status} by {[h.rule for h in held.holds]}; beyond headroom: {beyond.status} "
         f"(shortfall {beyond.shortfall})")

    order_id = obligation_key("demo-escrow-1")
    vk = keys["voucherly"]
    c.token.mint(vk.address, 25_000_000)
    c.token.approve(c.escrow.address, 25_000_000, sender=vk)
    c.escrow.fund(order_id, keys["cardhub"].address, 25_000_000, 3600, sender=vk)
    chain.advance_time(3601)
    c.escrow.claim(order_id)
    chain_sync.sync(ctx.sessions, c)
    _say(f"tier-C order prepaid into escrow and released after its dispute window: "
         f"{c.escrow.order(order_id).released} to cardhub; ledger: "
         f"{obligations.get_any(ctx, 'demo-escrow-1').status}")

    cycles = CycleService(ctx.sessions, c, progress=_say)
    view = cycles.settle()
    _say(f"cycle {view.id}: {view.state}, {view.settled}/{view.obligations} settled, "
         f"value {view.settled_value} of {view.gross}, root {view.root}")

    report = audit.verify(ctx.sessions, c)
    proof = audit.prove(ctx.sessions, chain.chain_id, dep.clearing_house,
                        next(i for i in ("demo-0000", "demo-0001", "demo-0002")
                             if obligations.get_any(ctx, i).status == "settled"))
    proof_ok = not audit.check_proof(c.house, proof.to_dict())
    summary = {
        "cycle": view.id, "state": view.state, "obligations": view.obligations, "settled": view.settled,
        "carried": view.carried, "gross_value": str(view.gross), "settled_value": str(view.settled_value),
        "root": view.root, "positions": {k: str(v) for k, v in sorted(view.positions.items())},
        "balances": {n: str(c.house.balance_of(keys[n].address)) for n, *_ in PLATFORMS},
        "audit": report.to_dict(), "proof_verified_on_chain": proof_ok,
        "elapsed_s": round(time.perf_counter() - t0, 1),
    }
    click.echo(json.dumps(summary, indent=2))
    if not (report.ok and proof_ok):
        _say(f"AUDIT FAILED: {report.mismatches[:1] or 'proof did not verify'}")
        sys.exit(1)
    _say(f"audit passed: {report.checks} checks over {report.cycles_checked} cycle(s), "
         f"{report.members_checked} members")
