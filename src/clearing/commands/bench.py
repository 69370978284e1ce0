"""`clearing bench gas|cycle|credit-backtest|credit|webhooks|ui`: JSON with each in-run baseline or target."""

from __future__ import annotations

import json

import click

from clearing.cli import bench


@bench.command("gas")
@click.option("--backend", type=click.Choice(["anvil", "embedded"]), default="anvil", show_default=True)
@click.option("--obligations", default=10_000, show_default=True)
@click.option("--members", default=50, show_default=True)
@click.option("--sizes", default="2,10,50,200", show_default=True, help="Member counts for per-call gas.")
@click.option("--seed", default=7, show_default=True)
def gas(backend: str, obligations: int, members: int, sizes: str, seed: int) -> None:
    """Gas of deposit, withdraw, commit and release vs one ERC-20 transfer per obligation."""
    from clearing.bench.gas import run

    sz = tuple(int(s) for s in sizes.split(",") if s)
    out = run(backend=backend, obligations=obligations, members=members, sizes=sz, seed=seed)
    click.echo(json.dumps(out, indent=2))


@bench.command("ui")
@click.option("--members", default=1_000, show_default=True)
@click.option("--repeats", default=20, show_default=True, help="Requests of each kind, alternating.")
@click.option("--seed", default=7, show_default=True)
def ui(members: int, repeats: int, seed: int) -> None:
    """The console's members page with N members vs GET /members (JSON) of the same, served on loopback."""
    from clearing.bench.ui import run

    if members < 1 or repeats < 1:
        raise click.BadParameter("need --members ≥ 1 and --repeats ≥ 1")
    click.echo(json.dumps(run(members_count=members, repeats=repeats, seed=seed), indent=2))


@bench.command("cycle", reads=("cycle",))
@click.option("--obligations", default=10_000, show_default=True)
@click.option("--members", default=50, show_default=True)
@click.option("--db", "db_url", default=None, help="Database URL (default: a fresh SQLite file).")
def cycle(obligations: int, members: int, db_url: str | None) -> None:
    """Close-to-released wall time on Anvil, next to the bare chain floor."""
    from clearing.bench.cycle import run

    click.echo(json.dumps(run(obligations=obligations, members=members, db_url=db_url), indent=2))


@bench.command("credit-backtest")
@click.option("--members", default=5_000, show_default=True, help="Members in the generated population.")
@click.option("--months", default=12, show_default=True, help="Months simulated; the score is taken 3 before the end.")
@click.option("--seed", default=1, show_default=True)
@click.option("--window", default=3, show_default=True, help="Months of history the score reads (as the ledger's).")
def credit_backtest(members: int, months: int, seed: int, window: int) -> None:
    """AUC and default rate by tier of the credit score on a generated population (docs/credit.md)."""
    from clearing.bench.credit_backtest import run

    if members < 2 or months < 4 or window < 1:
        raise click.BadParameter("need --members ≥ 2, --months ≥ 4 and --window ≥ 1")
    click.echo(json.dumps(run(members=members, months=months, seed=seed, window=window), indent=2))


@bench.command("credit")
@click.option("--members", default=10_000, show_default=True)
@click.option("--obligations", default=10_000_000, show_default=True)
@click.option("--seed", default=7, show_default=True)
@click.option("--repeats", default=3, show_default=True, help="Runs of each, alternating; the best counts.")
@click.option(
    "--pg-url",
    default=None,
    envvar="CLEARING_TEST_POSTGRES_URL",
    show_envvar=True,
    help="PostgreSQL server URL: a fresh database is made there, then dropped (default: postgres@127.0.0.1:5432/test).",
)
def credit(members: int, obligations: int, seed: int, repeats: int, pg_url: str | None) -> None:
    """Rescoring every member from the ledger vs a bare SQL aggregate of the same inputs (PostgreSQL)."""
    from clearing.bench.credit import run

    if members < 2 or obligations < 1 or repeats < 1:
        raise click.BadParameter("need --members ≥ 2, --obligations ≥ 1 and --repeats ≥ 1")
    out = run(members=members, obligations=obligations, seed=seed, repeats=repeats, pg_url=pg_url)
    click.echo(json.dumps(out, indent=2))


@bench.command("webhooks")
@click.option("--events", default=5_000, show_default=True, help="Obligations submitted (one event each).")
@click.option("--outage-seconds", default=30.0, show_default=True, help="How long the receiver answers 503.")
@click.option("--batch", default=25, show_default=True, help="Obligations per submission transaction.")
@click.option("--concurrency", default=8, show_default=True, help="Sender threads of the worker (and of the baseline).")
@click.option("--backoff-cap", default=1.0, show_default=True, help="Longest retry wait, seconds (bench only).")
@click.option("--paced-events", default=1_000, show_default=True, help="Latency phase: obligations at --paced-rate.")
@click.option("--paced-rate", default=100.0, show_default=True, help="Latency phase: obligations per second.")
@click.option("--cost-obligations", default=10_000, show_default=True, help="Submission-cost phase: obligations.")
@click.option("--cost-batch", default=500, show_default=True, help="Submission-cost phase: batch size.")
@click.option(
    "--cost-repeats",
    default=4,
    show_default=True,
    help="Submission-cost phase: rounds (each condition's median batch counts).",
)
def webhooks(
    events: int,
    outage_seconds: float,
    batch: int,
    concurrency: int,
    backoff_cap: float,
    paced_events: int,
    paced_rate: float,
    cost_obligations: int,
    cost_batch: int,
    cost_repeats: int,
) -> None:
    """Signed webhooks through the ledger outbox vs bare signed POSTs; an outage (nothing lost); and
    what publishing adds to the submission path."""
    from clearing.bench.webhooks import run
    from clearing.progress import Progress

    if min(events, batch, concurrency, paced_events, cost_obligations, cost_batch, cost_repeats) < 1:
        raise click.BadParameter("--events, --batch, --concurrency, --paced-events and --cost-* must be at least 1")
    if outage_seconds < 0 or backoff_cap <= 0 or paced_rate <= 0:
        raise click.BadParameter("need --outage-seconds ≥ 0, --backoff-cap > 0 and --paced-rate > 0")
    out = run(
        events=events,
        outage_seconds=outage_seconds,
        batch=batch,
        concurrency=concurrency,
        backoff_cap=backoff_cap,
        paced_events=paced_events,
        paced_rate=paced_rate,
        cost_obligations=cost_obligations,
        cost_batch=cost_batch,
        cost_repeats=cost_repeats,
        progress=Progress("bench webhooks"),
    )
    click.echo(json.dumps(out, indent=2))
