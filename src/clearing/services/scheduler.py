"""Background jobs of a running server: hold auto-release, credit rescoring, forecasts, chain sync, cut-offs.

Every tick releases the holds that have lapsed (``release_after`` passed, or
a ``member-suspended`` hold whose member is active again), and every
``credit.rescore_seconds`` rescores every member's credit (tiers and lines
follow the score; their chain calls go through the outbox; the chain writer's
process only, so N workers rescore once); both need only
the ledger, so a ledger-only house (no chain) runs them too. With a chain, the
tick also syncs the on-chain mirror, and every ``cutoff_seconds`` closes the
open cycle and settles it (in the chain writer's process only, so N workers
cut off once); every ``forecast.schedule_seconds`` it forecasts every member and the pool, and every
``alerts.evaluate_seconds`` (and right after each forecast run) it evaluates the alert rules (both in the chain
writer's process only, like rescoring; ledger-only houses too), and every ``defaults.scan_seconds`` it declares the
members past their grace period in default (the same way). With a chain, every ``pool.keeper_seconds`` the pool
keeper charges borrowers their interest and pays the withdrawal queue (``services/pool_keeper.py``; the chain
writer's process only). A failed settlement is logged and retried at the
next tick (every step is safe to repeat). Each job fails alone: a chain that
cannot be reached does not stop holds from being released.
"""

from __future__ import annotations

import logging
import threading
import time

from clearing.errors import ServiceUnavailable
from clearing.services import alerts, chain_sync, cover2, credit, defaults, forecasts, holds, pool_keeper
from clearing.services.context import ServiceContext

log = logging.getLogger(__name__)

#: Seconds before a failed forecast run is tried again.
FORECAST_RETRY_SECONDS = 60.0
#: Seconds before a failed pool keeper run is tried again.
KEEPER_RETRY_SECONDS = 60.0


class Scheduler:
    def __init__(self, ctx: ServiceContext, *, cutoff_seconds: int, sync_seconds: float = 2.0) -> None:
        if cutoff_seconds > 0 and (ctx.contracts is None or ctx.cycles is None):
            raise ServiceUnavailable("scheduled cut-offs settle cycles on chain: this house has no chain", field=None)
        self.ctx = ctx
        self.contracts = ctx.contracts
        self.cycles = ctx.cycles
        self.cutoff_seconds = cutoff_seconds
        self.sync_seconds = sync_seconds
        self._next_cutoff: float | None = None
        self.rescore_seconds = ctx.settings.credit.rescore_seconds
        self._next_rescore: float | None = None
        self.forecast_seconds = ctx.settings.forecast.schedule_seconds
        self._next_forecast: float | None = None
        self.alert_seconds = ctx.settings.alerts.evaluate_seconds
        self._next_alerts: float | None = None
        self.default_scan_seconds = ctx.settings.defaults.scan_seconds
        self._next_default_scan: float | None = None
        self.keeper_seconds = ctx.settings.pool.keeper_seconds
        self._next_keeper: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="clearing-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def tick(self) -> None:
        """One pass of every job (the thread calls it every ``sync_seconds``)."""
        try:
            released = holds.release_lapsed(self.ctx)
            if released:
                log.info("released %d lapsed hold(s)", released)
        except Exception:  # keep serving; the next tick retries
            log.exception("hold auto-release failed")
        if self.contracts is not None and self.cycles is not None:
            try:
                chain_sync.sync(self.ctx.sessions, self.contracts)
                due = self._next_cutoff is not None and time.monotonic() >= self._next_cutoff
                if due and self.ctx.outbox.is_writer():  # of many workers, the chain writer cuts off
                    self._next_cutoff = time.monotonic() + self.cutoff_seconds
                    view = self.cycles.settle()
                    log.info("scheduled cut-off: cycle %s %s", view.id, view.state)
                    self.cycles.recover()
            except Exception:  # keep serving; the next tick retries
                log.exception("scheduler tick failed")
        self._keep_pool()  # after the sync: it reads who borrows from the mirror
        self._rescore()  # after the sync (drawings follow fresh balances); a chain that is down does not stop it
        self._scan_defaults()  # after rescoring: the drawings it tracked have their deadlines
        self._forecast()  # after rescoring: projections start from the lines it set
        self._evaluate_alerts()  # last: it reads what the jobs before it changed

    def _rescore(self) -> None:
        """Rescore every member when ``credit.rescore_seconds`` have passed since the last time (the first
        tick rescores at once); a failure is logged and retried at the next tick."""
        if self.rescore_seconds <= 0 or (self._next_rescore is not None and time.monotonic() < self._next_rescore):
            return
        if not self.ctx.outbox.is_writer():  # of many workers, the chain writer rescores (once, not N times)
            return
        try:
            result = credit.rescore(self.ctx, trigger="schedule")
            self._next_rescore = time.monotonic() + self.rescore_seconds
            if result.recorded:
                log.info(
                    "credit rescored: %d member(s) changed, %d tier migration(s)",
                    result.recorded,
                    len(result.migrations),
                )
        except Exception:  # keep serving; the next tick retries
            log.exception("credit rescoring failed")

    def _scan_defaults(self) -> None:
        """Declare the members past their grace period (``defaults.scan``) every ``defaults.scan_seconds`` (the
        first tick at once), in the chain writer's process only; a failure is logged and retried next tick."""
        if self.default_scan_seconds <= 0:
            return
        if self._next_default_scan is not None and time.monotonic() < self._next_default_scan:
            return
        if not self.ctx.outbox.is_writer():  # of many workers, the chain writer declares (once, not N times)
            return
        try:
            defaults.scan(self.ctx)
            self._next_default_scan = time.monotonic() + self.default_scan_seconds
        except Exception:  # keep serving; the next tick retries
            log.exception("default scan failed")

    def _forecast(self) -> None:
        """Forecast every member and the pool when ``forecast.schedule_seconds`` have passed since the last
        run (the first tick runs at once); a failure is logged and retried after ``FORECAST_RETRY_SECONDS``."""
        if self.forecast_seconds <= 0 or (self._next_forecast is not None and time.monotonic() < self._next_forecast):
            return
        if not self.ctx.outbox.is_writer():  # of many workers, the chain writer forecasts (once, not N times)
            return
        try:
            result = forecasts.run(self.ctx, trigger="schedule")
            self._next_forecast = time.monotonic() + self.forecast_seconds
            log.info(
                "forecast: %d member(s), %d stored, %d with a changed shortfall or top-up",
                result.members,
                result.stored,
                len(result.changed),
            )
            self._next_alerts = None  # evaluate this tick: a new shortfall alerts at once, not minutes later
        except Exception:  # keep serving; retried within a minute (a run is heavy: not at every tick)
            self._next_forecast = time.monotonic() + min(self.forecast_seconds, FORECAST_RETRY_SECONDS)
            log.exception("forecast run failed")

    def _evaluate_alerts(self) -> None:
        """Evaluate alerts when ``alerts.evaluate_seconds`` have passed since the last time (the first tick
        evaluates at once), in the chain writer's process only; a failure is logged and retried next tick."""
        if self.alert_seconds <= 0 or (self._next_alerts is not None and time.monotonic() < self._next_alerts):
            return
        if not self.ctx.outbox.is_writer():  # of many workers, the chain writer evaluates (once, not N times)
            return
        if self.ctx.contracts is not None:
            # Deposits, withdrawals and repayments between cycles move Cover 2 too: refresh it with the alerts.
            try:
                cover2.compute(self.ctx, trigger="scheduled")
            except Exception:  # never blocks the alerts below
                log.exception("cover2 computation failed")
        try:
            alerts.run(self.ctx)
            self._next_alerts = time.monotonic() + self.alert_seconds
        except Exception:  # keep serving; the next tick retries
            log.exception("alert evaluation failed")

    def _keep_pool(self) -> None:
        """Charge interest and pay the withdrawal queue when ``pool.keeper_seconds`` have passed since the last
        run (the first tick runs at once), in the chain writer's process only; a failure is logged and retried after
        ``KEEPER_RETRY_SECONDS`` (a call the chain refuses is not re-sent every tick)."""
        if self.contracts is None or self.keeper_seconds <= 0:
            return
        if self._next_keeper is not None and time.monotonic() < self._next_keeper:
            return
        if not self.ctx.outbox.is_writer():  # of many workers, the chain writer keeps the pool (once, not N times)
            return
        try:
            run = pool_keeper.run(self.ctx)
            self._next_keeper = time.monotonic() + self.keeper_seconds
            if run.charged or run.process_row is not None:
                log.info(
                    "pool keeper: interest charged to %d member(s), queue paid: %s",
                    len(run.charged),
                    run.process_row is not None,
                )
        except Exception:  # keep serving; retried within a minute
            self._next_keeper = time.monotonic() + min(self.keeper_seconds, KEEPER_RETRY_SECONDS)
            log.exception("pool keeper failed")

    def _run(self) -> None:
        self._next_cutoff = time.monotonic() + self.cutoff_seconds if self.cutoff_seconds > 0 else None
        while not self._stop.wait(self.sync_seconds):
            self.tick()
