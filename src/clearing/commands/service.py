"""`clearing serve`, `clearing db upgrade`, `clearing keys create|list|revoke|rotate`, `clearing bench api`."""

from __future__ import annotations

import json

import click

from clearing.cli import bench, cli
from clearing.services.keys import Principal

#: How the audit log names changes made from the command line (an operator at the ledger).
_CLI = Principal(role="operator", key_id=None, member_name="cli")


@cli.command("serve", reads=("database", "chain", "api", "cycle", "writer", "credit", "pool"))
@click.option("--host", default=None, envvar="CLEARING_API__HOST", show_envvar=True, help="Default: 127.0.0.1.")
@click.option("--port", default=None, type=int, envvar="CLEARING_API__PORT", show_envvar=True, help="Default: 8000.")
@click.option(
    "--workers",
    default=None,
    type=int,
    envvar="CLEARING_API__WORKERS",
    show_envvar=True,
    help="uvicorn worker processes (default: 1; more need the rpc backend and PostgreSQL: every worker "
    "plans chain writes, one elected worker sends them).",
)
@click.option("--migrate/--no-migrate", default=True, show_default=True, help="Upgrade the ledger to head first.")
@click.option("--log-level", default="warning", show_default=True)
def serve(host: str | None, port: int | None, workers: int | None, migrate: bool, log_level: str) -> None:
    """Run the HTTP API under uvicorn on the configured host and port."""
    import os

    import uvicorn
    from sqlalchemy.engine import make_url

    from clearing.adapters.db.engine import normalise_url
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
    if workers > 1 and make_url(normalise_url(settings.db_url)).get_backend_name() != "postgresql":
        raise ValidationError(
            "more than one worker needs the ledger on PostgreSQL (CLEARING_DATABASE_URL=postgresql://...): "
            "the workers elect the one that sends chain transactions with a PostgreSQL advisory lock; "
            "with SQLite use --workers 1",
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


@keys.command("list")
@click.option("--member", default=None, help="Only this member's keys (default: every key).")
def list_keys(member: str | None) -> None:
    """Every API key as JSON lines: id, prefix, role, member, label, times, active (never the key)."""
    from clearing.bootstrap import build_service
    from clearing.services import api_keys

    ctx = build_service(with_chain=False)
    for k in api_keys.list_keys(ctx, member=member):
        click.echo(json.dumps({f: _json(getattr(k, f)) for f in k.__slots__}))


@keys.command("revoke")
@click.argument("key_id", type=click.IntRange(1, 2**63 - 1))
def revoke_key(key_id: int) -> None:
    """Revoke key KEY_ID at once (audited). Running servers drop it within api.auth_change_check_seconds."""
    from clearing.bootstrap import build_service
    from clearing.services import api_keys

    ctx = build_service(with_chain=False)
    view = api_keys.revoke(ctx, _CLI, key_id)
    click.echo(f"revoked key {view.id} ({view.prefix}…)", err=True)


@keys.command("rotate")
@click.argument("key_id", type=click.IntRange(1, 2**63 - 1))
@click.option(
    "--overlap", "overlap_seconds", default=3600, show_default=True, type=click.IntRange(0, 30 * 86_400),
    help="Seconds the old key keeps working (0: revoked now).",
)  # fmt: skip
@click.option("--label", default=None, help="Label of the new key (default: the old key's).")
def rotate_key(key_id: int, overlap_seconds: int, label: str | None) -> None:
    """Rotate key KEY_ID: prints the new key once; the old one works for the overlap (audited)."""
    from clearing.bootstrap import build_service
    from clearing.services import api_keys

    ctx = build_service(with_chain=False)
    done = api_keys.rotate(ctx, _CLI, key_id, overlap_seconds=overlap_seconds, label=label)
    click.echo(f"key {done.old.id} works until {done.old.expires_at or done.old.revoked_at}", err=True)
    click.echo(done.api_key)


def _json(value: object) -> object:
    return value.isoformat() if hasattr(value, "isoformat") else value


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
