"""`clearing demo`: the whole house on the embedded default, end to end.

First seven months of history on a clock the demo moves (``demo_credit``): one
member earns tier A and a credit line set on chain, another never repays its
drawn credit and is declared in default after its grace period (the waterfall
runs on chain: the lenders' pool is written down) and falls to tier C; a
third trades daily for its last month, running its headroom down
(``demo_forecast``). Then, today: members with different tiers, collateral and
provisional credit; a lender funding the credit pool; a few hundred
obligations including one held by a risk rule and one beyond headroom; a
cycle closed, netted, committed and released on chain; a forecast of every
member and the pool from the ledger and an event calendar (the third member's
shortfall date and top-up advice, the pool's needs); a creditor's receivable
financed by the pool and repaid first at release (``demo_financing``); then the audit. Exit 0
only if the audit passes and the credit story (the default included) ends as told.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from clearing.cli import cli

if TYPE_CHECKING:  # the CLI starts fast: the service is imported when the demo runs
    from eth_account.signers.local import LocalAccount

    from clearing.adapters.chain.backends import Chain
    from clearing.commands.demo_credit import Story
    from clearing.services.context import ServiceContext
    from clearing.services.cycles import CycleView
    from clearing.services.keys import Principal

PLATFORMS = [
    # name, tier (pinned for the provisional period), collateral, most of a provisional line (token units, 6 decimals)
    ("cardhub", "A", 40_000_000_000, 20_000_000_000),
    ("topupnow", "A", 30_000_000_000, 15_000_000_000),
    ("streamplus", "B", 25_000_000_000, 5_000_000_000),
    ("giftgrid", "B", 15_000_000_000, 2_000_000_000),
    ("pixelpay", "B", 150_000_000, 0),  # thin collateral: its big order queues beyond headroom
    ("voucherly", "C", 5_000_000_000, 0),  # tier C prepays per order into escrow
]


def _say(msg: str) -> None:
    click.echo(f"demo: {msg}", err=True)


@cli.command("demo", reads=("api", "cycle", "credit"))
@click.option("--obligations", "count", default=300, show_default=True)
@click.option("--seed", default=2026, show_default=True)
@click.option("--db", "db_url", default=None, help="Database URL (default: a fresh SQLite file).")
@click.option(
    "--serve",
    is_flag=True,
    help="Then serve the API and the console (/ui) on the demo's ledger until Ctrl-C, on an Anvil chain "
    "(so the auditor's page can read the chain's RPC), printing the URL and the demo's API keys.",
)
@click.option("--port", default=8000, show_default=True, help="With --serve: the port on 127.0.0.1.")
def demo(count: int, seed: int, db_url: str | None, serve: bool, port: int) -> None:
    """Run members, obligations, a settled cycle and an audit on the embedded chain (Anvil with --serve)."""
    from clearing.adapters.chain import backends
    from clearing.commands import demo_credit

    chain = backends.spawn_anvil(accounts=demo_credit.ACCOUNTS) if serve else None
    try:
        run = run_demo(count, seed, db_url, chain=chain, console_keys=serve)
        _audit(run.ctx, run.keys, run.view, run.t0, run.story, run.forecast)
        if serve:
            _serve(run, port)
    finally:
        if chain is not None:
            chain.close()


@dataclass
class DemoRun:
    ctx: ServiceContext
    keys: dict[str, LocalAccount]
    principals: dict[str, Principal]
    view: CycleView
    story: Story
    forecast: dict[str, object]
    t0: float
    #: Role or member name → API key, when asked for (the console's sign-in).
    api_keys: dict[str, str]


def run_demo(
    count: int = 300,
    seed: int = 2026,
    db_url: str | None = None,
    *,
    chain: Chain | None = None,
    console_keys: bool = False,
    say: Callable[[str], None] | None = None,
) -> DemoRun:
    """The demo's whole story on ``chain`` (default: a new embedded one); ``console_keys``: also an operator,
    an auditor and one key per platform to sign in with (the console's tests and ``--serve`` use them)."""
    from clearing.adapters.chain import backends
    from clearing.adapters.chain.deploy import Contracts, deploy
    from clearing.bootstrap import build_service
    from clearing.commands import demo_credit, demo_financing, demo_forecast, demo_merchant, demo_pledge
    from clearing.domain.vocabulary import Role
    from clearing.services import members
    from clearing.services.keys import Principal, generate_key
    from clearing.settings import ApiSettings, ChainSettings, Settings

    say = say or _say
    t0 = time.perf_counter()
    if db_url is None:
        db_url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='clearing-demo-')) / 'ledger.db'}"
    say(f"ledger at {db_url}")
    chain = chain or backends.embedded(num_accounts=demo_credit.ACCOUNTS)  # platforms, a lender, the credit story
    api_keys = {"operator": generate_key(Role.OPERATOR), "auditor": generate_key(Role.AUDITOR)} if console_keys else {}
    clock = demo_credit.start_clock()
    ctx = build_service(
        Settings(
            database_url=db_url,
            chain=ChainSettings(backend="embedded" if chain.rpc_url is None else "rpc", rpc_url=chain.rpc_url),
            api=ApiSettings(operator_key=api_keys.get("operator"), auditor_key=api_keys.get("auditor")),
        ),
        contracts=Contracts.attach(chain, deploy(chain, network=chain.name)),
        migrate=True,
        progress=say,
        clock=clock,
    )
    assert ctx.contracts is not None and ctx.cycles is not None
    say(f"contracts deployed on the {chain.name} chain: house {ctx.contracts.deployment.clearing_house}")
    _fund_pool(ctx)
    story = demo_credit.run(ctx, clock, say)
    keys, principals = _admit_platforms(ctx)
    _submit(ctx, principals, count, random.Random(seed))
    _escrow_order(ctx, keys)
    merchant_statement = demo_merchant.purchase(ctx, keys, principals, say)
    demo_pledge.pledge(ctx, keys, "giftgrid", say)
    view = ctx.cycles.settle()
    merchant_statement()
    say(
        f"cycle {view.id}: {view.state}, {view.settled}/{view.obligations} settled, "
        f"value {view.settled_value} of {view.gross}, root {view.root}"
    )
    story_start = clock.now - timedelta(days=demo_credit.HISTORY_DAYS)
    forecast = demo_forecast.show(ctx, story_start, say)
    demo_financing.run(ctx, principals, say)
    if console_keys:
        operator = Principal(role=Role.OPERATOR, key_id=None)
        api_keys |= {
            m.name: members.issue_key(ctx, operator, m.name, "demo console") for m in members.list_members(ctx)
        }
    return DemoRun(ctx, keys, principals, view, story, forecast, t0, api_keys)


def _serve(run: DemoRun, port: int) -> None:
    """The API and the console on the demo's house, in this process (its chain, ledger and clock)."""
    import signal

    import uvicorn

    from clearing.api.app import create_app

    # uvicorn re-raises the SIGTERM that stopped it; exit through Python so the caller stops its Anvil.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    url = f"http://127.0.0.1:{port}"
    click.echo(f"console: {url}/ui  (API docs: {url}/docs; Ctrl-C stops)", err=True)
    for who, key in run.api_keys.items():
        click.echo(f"  sign in as {who}: {key}", err=True)
    uvicorn.run(create_app(run.ctx), host="127.0.0.1", port=port, log_level="warning")


def _admit_platforms(ctx: ServiceContext) -> tuple[dict[str, LocalAccount], dict[str, Principal]]:
    """Each platform is admitted and posts collateral from its own key; a lender funds the pool."""
    from clearing.dev import admit_funded_member
    from clearing.domain.vocabulary import Role
    from clearing.services import chain_sync, credit, members
    from clearing.services.keys import Principal

    c = ctx.contracts
    assert c is not None
    operator = Principal(role=Role.OPERATOR, key_id=None)
    keys = {name: c.chain.accounts[i + 1] for i, (name, *_rest) in enumerate(PLATFORMS)}
    principals = {}
    for name, tier, collateral, credit_line in PLATFORMS:
        principals[name] = admit_funded_member(
            ctx,
            c,
            operator,
            keys[name],
            name=name,
            tier=tier,
            collateral=collateral,
            credit_line=credit_line,
            tier_reasons=[f"demo: tier {tier} for the provisional period"],
        )
    chain_sync.sync(ctx.sessions, c)
    credit.rescore(ctx, trigger="schedule")  # provisional lines, now that collateral is posted
    chain_sync.sync(ctx.sessions, c)
    lines = {name: members.get(ctx, name).credit_line for name, *_ in PLATFORMS}
    _say(f"{len(PLATFORMS)} members admitted and funded today; provisional lines {lines}")
    return keys, principals


def _fund_pool(ctx: ServiceContext) -> None:
    """A lender funds the credit pool from its own wallet (the members' lines draw on it)."""
    c = ctx.contracts
    assert c is not None
    lender = c.chain.accounts[9]
    c.token.mint(lender.address, 50_000_000_000)
    c.token.approve(c.house.address, 50_000_000_000, sender=lender)
    c.house.pool_deposit(50_000_000_000, sender=lender)
    _say(f"lender pool {c.house.pool_total()}")


def _submit(ctx: ServiceContext, principals: dict[str, Principal], count: int, rng: random.Random) -> None:
    """Obligations among the netting members in per-debtor batches, one beyond headroom, one held, one escrow."""
    from clearing.services.submission import ObligationInput, get_any, submit

    net_names = [p[0] for p in PLATFORMS if p[1] != "C"]
    by_debtor: dict[str, list[ObligationInput]] = {n: [] for n in net_names}
    for i in range(count):
        d, cr = rng.sample(net_names[:4], 2)
        amount = rng.randint(1, 400) * 1_000_000
        by_debtor[d].append(ObligationInput(f"demo-{i:04d}", d, cr, amount, reference=f"order {i}"))
    # One beyond headroom (pixelpay's collateral is thin), one held by a risk rule.
    by_debtor["pixelpay"].append(ObligationInput("demo-beyond-headroom", "pixelpay", "cardhub", 900_000_000, "big"))
    by_debtor["streamplus"].append(ObligationInput("demo-held", "streamplus", "topupnow", 10**15, "huge single order"))
    # Tier C: the order goes to per-order escrow, prepaid by the debtor itself.
    by_debtor["voucherly"] = [ObligationInput("demo-escrow-1", "voucherly", "cardhub", 25_000_000, "prepaid")]
    statuses: dict[str, int] = {}
    for debtor, items in by_debtor.items():
        if items:
            for r in submit(ctx, principals[debtor], items, batch=len(items) > 1):
                statuses[r.obligation.status] = statuses.get(r.obligation.status, 0) + 1
    _say(f"submitted: {json.dumps(statuses, sort_keys=True)}")
    held, beyond = get_any(ctx, "demo-held"), get_any(ctx, "demo-beyond-headroom")
    _say(
        f"held: {held.status} by {[h.rule for h in held.holds]}; beyond headroom: {beyond.status} "
        f"(shortfall {beyond.shortfall})"
    )


def _escrow_order(ctx: ServiceContext, keys: dict[str, LocalAccount]) -> None:
    """The tier-C debtor signs the funding transactions the house prepares; the order is claimed after its
    dispute window."""
    from clearing.domain.vocabulary import Role
    from clearing.services import chain_sync, order_escrow
    from clearing.services.keys import Principal
    from clearing.services.submission import get_any

    c = ctx.contracts
    assert c is not None
    operator = Principal(role=Role.OPERATOR, key_id=None)
    order = order_escrow.get(ctx, operator, "demo-escrow-1")
    vk = keys["voucherly"]
    c.token.mint(vk.address, order.amount)  # dev token: the buyer's own money
    w3 = c.chain.w3
    for tx in order.funding:  # what the buyer's wallet would sign: approve, then fund
        fields = {"from": tx.sender, "to": tx.to, "data": tx.data, "value": tx.value, "chainId": tx.chain_id}
        fields |= {"nonce": c.chain.nonces.next(vk.address), "gas": 300_000, "gasPrice": w3.eth.gas_price}
        c.escrow.wait(w3.eth.send_raw_transaction(vk.sign_transaction(fields).raw_transaction))
    c.chain.advance_time(ctx.settings.escrow.dispute_window_seconds + 1)
    order_escrow.act(ctx, operator, "demo-escrow-1", "claim")
    chain_sync.sync(ctx.sessions, c)
    _say(
        f"tier-C order {order.order_id[:10]}… prepaid into escrow and claimed after its dispute window: "
        f"{order_escrow.get(ctx, operator, 'demo-escrow-1').released} to cardhub; "
        f"ledger: {get_any(ctx, 'demo-escrow-1').status}"
    )


def _audit(
    ctx: ServiceContext,
    keys: dict[str, LocalAccount],
    view: CycleView,
    t0: float,
    story: Story,
    forecast: dict[str, object],
) -> None:
    """Reconcile ledger and chain, verify one proof against the on-chain root; exit 1 if either fails
    (or if the credit story did not end as told)."""
    from clearing.services import audit
    from clearing.services.submission import get_any

    c = ctx.contracts
    assert c is not None
    report = audit.verify(ctx.sessions, c)
    settled = next(i for i in ("demo-0000", "demo-0001", "demo-0002") if get_any(ctx, i).status == "settled")
    proof = audit.prove(ctx.sessions, c.chain.chain_id, c.deployment.clearing_house, settled)
    proof_ok = not audit.check_proof(c.house, proof.to_dict())
    summary = {
        "cycle": view.id,
        "state": view.state,
        "obligations": view.obligations,
        "settled": view.settled,
        "carried": view.carried,
        "gross_value": str(view.gross),
        "settled_value": str(view.settled_value),
        "root": view.root,
        "positions": {k: str(v) for k, v in sorted(view.positions.items())},
        "balances": {n: str(c.house.balance_of(keys[n].address)) for n, *_ in PLATFORMS},
        "audit": report.to_dict(),
        "proof_verified_on_chain": proof_ok,
        "credit": story.summary,
        "forecast": forecast,
        "elapsed_s": round(time.perf_counter() - t0, 1),
    }
    click.echo(json.dumps(summary, indent=2))
    if not (report.ok and proof_ok):
        _say(f"AUDIT FAILED: {report.mismatches[:1] or 'proof did not verify'}")
        sys.exit(1)
    if not story.ok:
        _say(f"CREDIT STORY FAILED: {json.dumps(story.summary)}")
        sys.exit(1)
    _say(
        f"audit passed: {report.checks} checks over {report.cycles_checked} cycle(s), {report.members_checked} members"
    )
