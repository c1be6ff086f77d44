"""The one clock abstraction: ``now()`` and ``call_at()``, on the running event loop or in virtual time.

Everything time-based in mule takes a ``Clock``, so the same code runs on uvloop in
production and on a deterministic virtual clock in the simulator and tests.
"""

from __future__ import annotations

from mule.clock.base import Clock, Timer
from mule.clock.loop import LoopClock
from mule.clock.virtual import VirtualClock

__all__ = ["Clock", "LoopClock", "Timer", "VirtualClock"]
