"""Ledger persistence: typed models, unit of work, packaged Alembic migrations."""

# Registers the forecasting, Cover 2, default, merchant credit, pledge and advance tables on the shared
# metadata, whoever imports the models first.
from clearing.adapters.db import (  # noqa: F401
    advances,
    cover2_snapshots,
    forecast_models,
    member_defaults,
    merchant_models,
    pledges,
)
from clearing.adapters.db.engine import make_engine, make_session_factory
from clearing.adapters.db.migrate import migrate
from clearing.adapters.db.uow import UnitOfWork

__all__ = ["UnitOfWork", "make_engine", "make_session_factory", "migrate"]
