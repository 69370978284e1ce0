"""Prepaid trade vs the clearing house on the same generated demand and capital (``clearing simulate``).

Pure: numpy and the project's own domain code, no I/O. :func:`simulate` generates the world
(:mod:`.demand`, from a :class:`Scenario`), runs the prepaid model (:mod:`.prepaid`) and the clearing-house
model (:mod:`.house`, which drives credit, tiering, risk, headroom, liquidity-saving settlement, netting,
set-off, forecasts, financing and Cover 2), and compares them (:mod:`.outcome`, :mod:`.run`).
"""

from clearing.domain.simulation.demand import Demand, World, generate
from clearing.domain.simulation.outcome import COMPLETED, INTERRUPTED, Outcome, summarize
from clearing.domain.simulation.run import CAPITAL_TARGET, INTERRUPTIONS_TARGET, Simulation, simulate
from clearing.domain.simulation.scenario import TOKEN, Scenario

__all__ = [
    "CAPITAL_TARGET",
    "COMPLETED",
    "INTERRUPTED",
    "INTERRUPTIONS_TARGET",
    "TOKEN",
    "Demand",
    "Outcome",
    "Scenario",
    "Simulation",
    "World",
    "generate",
    "simulate",
    "summarize",
]
