"""`clearing serve`, `clearing db upgrade`, `clearing keys create`, `clearing bench api`."""

from __future__ import annotations

import json

import click

from clearing.cli import bench, cli


@cli.command("serve", reads=("database", "chain", "api", "cycle"))
@click.option("--host", default=None, envvar="CLEARING_API__HOST", show_envvar=True, help="Default: 127.0.0.1.")
@click.option("--port", default=None, type=int, envvar="CLEARING_API__PORT", show_envvar=True, help="Default: 8000.")
@click.option(
    "--workers",
    default=None,
    type=int,
    envvar="CLEARING_API__WORKERS",
    show_envvar=True,
    help="uvicorn worker processes (default: 1; more need the rpc backend).",
)
@click.option("--migrate/--no-migrate", default=True, show_default=True, help="Upgrade the ledger to head first.")
@click.option("--log-level", default="warning", show_default=True)
def serve(host: str | None, port: int | None, workers: int | None, migrate: bool, log_level: str) -> None:
    """Run the HTTP API under uvicorn on the configured host and port."""
    import os

    import uvicorn

    from clearing.bootstrap import prepare_ledger
    from clearing.errors import ValidationError
    from clearing.settings import get_settings

    settings = get_settings()
    workers = workers or settings.api.workers
    if workers > 1 and settings.chain.backend != "rpc":
        raise ValidationError(
            f"the {settings.chain.backend} chain lives inside one process: use --workers 1 "
            "or CLEARING_CHAIN__BACKEND=rpc",
            field="workers",
        )
    # Refuse a ledger of another chain here, in one line, before any worker starts; a fresh
    # in-process chain gets its own new ledger file, which every worker must then open.
    prepared = prepare_ledger(settings, migrate=migrate)
    if prepared.db_url != settings.db_url:
        os.environ["CLEARING_DATABASE_URL"] = prepared.db_url
        get_settings.cache_clear()
    host = host or settings.api.host
    port = port or settings.api.port
    click.echo(
        f"clearing API on http://{host}:{port} ({workers} worker(s), chain {settings.chain.backend}); docs at /docs",
        err=True,
    )
    uvicorn.run(
        "clearing.api.app:create_service_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,
    )


@cli.group("db")
def db() -> None:
    """The ledger database."""


@db.command("upgrade", reads=("CLEARING_DATABASE_URL", "CLEARING_DATABASE__URL"))
@click.option("--url", default=None, help="Database URL (default: the database settings).")
def upgrade(url: str | None) -> None:
    """Apply the packaged migrations up to head."""
    from clearing.adapters.db import migrate

    migrate(url)
    click.echo("ledger at head", err=True)


@cli.group("keys")
def keys() -> None:
    """API keys."""


@keys.command("create", reads=("database",))
@click.option("--role", type=click.Choice(["operator", "auditor"]), required=True)
@click.option("--label", default="")
def create_key(role: str, label: str) -> None:
    """Create an operator or auditor key; prints it once (only its hash is stored)."""
    from clearing.bootstrap import build_service
    from clearing.services.keys import create_api_key

    ctx = build_service(with_chain=False)
    with ctx.uow() as uow:
        _, key = create_api_key(uow.session, role=role, label=label)
        uow.commit()
    click.echo(key)


@bench.command("api", reads=("api",))
@click.option("--db", "backend", type=click.Choice(["sqlite", "postgres", "both"]), default="both", show_default=True)
@click.option("--seconds", default=10.0, show_default=True, help="Duration of each measured phase.")
@click.option("--workers", default=2, show_default=True, help="uvicorn worker processes.")
@click.option(
    "--connections", default=32, show_default=True, help="Concurrent keep-alive connections (single endpoint)."
)
@click.option("--batch-size", default=5000, show_default=True)
@click.option(
    "--pg-url",
    default=None,
    envvar="CLEARING_TEST_POSTGRES_URL",
    show_envvar=True,
    help="PostgreSQL server URL (default: postgres@127.0.0.1:5432/test).",
)
@click.option(
    "--history-limit",
    default=None,
    type=int,
    help="Diagnostic: cap the velocity history given to the risk rules (0 = none) to isolate its cost.",
)
def bench_api(
    backend: str,
    seconds: float,
    workers: int,
    connections: int,
    batch_size: int,
    pg_url: str | None,
    history_limit: int | None,
) -> None:
    """Obligations/s through the batch endpoint and requests/s through the single one, over real HTTP."""
    from clearing.bench.api import run

    result = run(
        backend=backend,
        seconds=seconds,
        workers=workers,
        connections=connections,
        batch_size=batch_size,
        pg_url=pg_url,
        history_limit=history_limit,
        progress=lambda m: click.echo(m, err=True),
    )
    click.echo(json.dumps(result, indent=2))
