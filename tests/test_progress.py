"""Progress lines of long commands: start, heartbeat while running, end."""

from __future__ import annotations

import io
import time

from clearing.progress import Progress


def test_a_long_step_says_it_is_still_running():
    out = io.StringIO()
    progress = Progress("bench x", heartbeat=0.05, stream=out)
    with progress.step("solving"):
        deadline = time.monotonic() + 10
        while "still running" not in out.getvalue():
            assert time.monotonic() < deadline
            time.sleep(0.01)
    lines = out.getvalue().splitlines()
    assert lines[0] == "bench x: solving ..."
    assert lines[1].startswith("bench x: solving: still running (")
    assert lines[-1].startswith("bench x: solving: done in ")
