"""Run the packaged Alembic migrations: ``migrate(url)`` upgrades to head."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from clearing.adapters.db.engine import make_engine, normalise_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def migrate(url: str | None = None, *, engine: Engine | None = None, revision: str = "head") -> None:
    """Upgrade the database at ``url`` (default: settings) to ``revision``."""
    own = engine is None
    engine = engine or make_engine(url)
    try:
        with engine.begin() as connection:
            cfg = alembic_config()
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
    finally:
        if own:
            engine.dispose()
