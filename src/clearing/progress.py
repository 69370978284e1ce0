"""Progress of a long command on stderr, so a run of minutes never looks hung and stdout stays pure JSON.

Each step says what it starts (with what may take long), how long it took,
and, while it runs past ``heartbeat`` seconds, that it is still running.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class Progress:
    """``progress("msg")`` prints one line; ``with progress.step("msg"):`` brackets a long step.

    >>> import io
    >>> out = io.StringIO()
    >>> p = Progress("bench x", stream=out)
    >>> with p.step("warming up"):
    ...     pass
    >>> out.getvalue().splitlines()[0]
    'bench x: warming up ...'
    """

    def __init__(self, prefix: str, *, heartbeat: float = 10.0, stream: TextIO | None = None) -> None:
        self.prefix = prefix
        self.heartbeat = heartbeat
        self.stream = stream

    def __call__(self, message: str) -> None:
        print(f"{self.prefix}: {message}", file=self.stream or sys.stderr, flush=True)

    @contextmanager
    def step(self, message: str) -> Iterator[None]:
        self(f"{message} ...")
        t0 = time.perf_counter()
        done = threading.Event()

        def beat() -> None:
            while not done.wait(self.heartbeat):
                self(f"{message}: still running ({time.perf_counter() - t0:.0f} s)")

        beater = threading.Thread(target=beat, name="progress-heartbeat", daemon=True)
        beater.start()
        try:
            yield
        finally:
            done.set()
            beater.join()
        self(f"{message}: done in {time.perf_counter() - t0:.1f} s")
