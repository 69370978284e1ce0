"""Background jobs of a running server: scheduled cut-offs and chain sync.

A cut-off closes the open cycle and settles it; a failed settlement is
logged and retried at the next tick (every step is safe to repeat).
"""

from __future__ import annotations

import logging
import threading
import time

from clearing.services import chain_sync

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, ctx, *, cutoff_seconds: int, sync_seconds: float = 2.0) -> None:  # type: ignore[no-untyped-def]
        self.ctx = ctx
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
                chain_sync.sync(self.ctx.sessions, self.ctx.cycles.contracts)
                if next_cutoff is not None and time.monotonic() >= next_cutoff:
                    next_cutoff = time.monotonic() + self.cutoff_seconds
                    view = self.ctx.cycles.settle()
                    log.info("scheduled cut-off: cycle %s %s", view.id, view.state)
                    self.ctx.cycles.recover()
            except Exception:  # keep serving; the next tick retries
                log.exception("scheduler tick failed")
