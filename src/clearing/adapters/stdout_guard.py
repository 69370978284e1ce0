"""A guard for stdout against native libraries (HiGHS) that print past their own quiet flags."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_native_stdout() -> Iterator[None]:
    """Keep native libraries from writing into our JSON on stdout.

    HiGHS 1.12 (bundled with SciPy 1.17) prints a stray debug line
    (``HighsMipSolverData::transformNewIntegerFeasibleSolution``) with
    printf, bypassing its own ``output_flag``; see ERGO-Code/HiGHS#2783.
    File descriptor 1 points at /dev/null while the solver runs.
    """
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no real stdout (embedded use): nothing to protect
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
