"""Run a function in a forked child of this process: the bench's runs and probes skip interpreter start-up."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable


def fork(work: Callable[[], int]) -> int:
    """Fork; the child runs ``work`` and exits with its code (1, with the traceback on stderr, if it raises).
    Returns the child's pid, in the parent only."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = work()
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stderr.flush()
            os._exit(code)
    return pid
