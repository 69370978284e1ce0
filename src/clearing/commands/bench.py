"""`clearing bench gas|cycle`: each prints JSON with its in-run baseline."""

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


@bench.command("cycle", reads=("cycle",))
@click.option("--obligations", default=10_000, show_default=True)
@click.option("--members", default=50, show_default=True)
@click.option("--db", "db_url", default=None, help="Database URL (default: a fresh SQLite file).")
def cycle(obligations: int, members: int, db_url: str | None) -> None:
    """Close-to-released wall time on Anvil, next to the bare chain floor."""
    from clearing.bench.cycle import run

    click.echo(json.dumps(run(obligations=obligations, members=members, db_url=db_url), indent=2))
