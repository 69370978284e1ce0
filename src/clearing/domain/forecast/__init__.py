"""Liquidity forecasts: each member's flows 1–31 days ahead, its shortfall risk and top-up advice, and the
pool's needs. Pure: plain data and numpy arrays in and out."""

from clearing.domain.forecast.model import MODEL_NAME, MODEL_VERSION, DailyFlow, FlowPaths, simulate_flows
from clearing.domain.forecast.pool import PoolDay, PoolForecast, PoolMember, pool_forecast
from clearing.domain.forecast.projection import (
    SHORTFALL_ALERT,
    TOPUP_TARGET,
    ForecastDay,
    MemberForecast,
    TopUp,
    forecast_member,
)

__all__ = [
    "MODEL_NAME",
    "MODEL_VERSION",
    "SHORTFALL_ALERT",
    "TOPUP_TARGET",
    "DailyFlow",
    "FlowPaths",
    "ForecastDay",
    "MemberForecast",
    "PoolDay",
    "PoolForecast",
    "PoolMember",
    "TopUp",
    "forecast_member",
    "pool_forecast",
    "simulate_flows",
]
