"""Background jobs of a running server: scheduled cut-offs and chain sync.

A cut-off closes the open cycle and settles it; a failed settlement is
logged and retried at the next tick (every step is safe to repeat).
"""

from __future__ import annotations

import logging
import threading
import time

from clearing.errors import ServiceUnavailable
from clearing.services import chain_sync
from clearing.services.context import ServiceContext

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, ctx: ServiceContext, *, cutoff_seconds: int, sync_seconds: float = 2.0) -> None:
        if ctx.contracts is None or ctx.cycles is None:
            raise ServiceUnavailable("the scheduler settles cycles on chain: this house has no chain", field=None)
        self.ctx = ctx
        self.contracts = ctx.contracts
        self.cycles = ctx.cycles
        self.cutoff_seconds = cutoff_seconds
        self.sync_seconds = sync_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="clearing-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        next_cutoff = time.monotonic() + self.cutoff_seconds if self.cutoff_seconds > 0 else None
        while not self._stop.wait(self.sync_seconds):
            try:
                chain_sync.sync(self.ctx.sessions, self.contracts)
                if next_cutoff is not None and time.monotonic() >= next_cutoff:
                    next_cutoff = time.monotonic() + self.cutoff_seconds
                    view = self.cycles.settle()
                    log.info("scheduled cut-off: cycle %s %s", view.id, view.state)
                    self.cycles.recover()
            except Exception:  # keep serving; the next tick retries
                log.exception("scheduler tick failed")
