"""Hard caps on one stream of events: sliding-window counters whose limits come only from the profile.

A cap is "at most ``limit`` events in any ``window`` seconds", checked exactly with
a log of the last ``limit`` admitted times. Nothing here looks at CPU, memory or
uptime, so the limits cannot drift with the machine. Per-peer caps live in
``sketch.py``.
"""

from __future__ import annotations

from collections import deque

from mule.contract.profile import WindowCap


class SlidingWindow:
    """One cap for one stream of events (e.g. all sends, or lookups started)."""

    __slots__ = ("_limit", "_log", "_window")

    def __init__(self, cap: WindowCap) -> None:
        self._limit = cap.limit
        self._window = cap.window
        self._log: deque[float] = deque(maxlen=cap.limit)

    def has_room(self, now: float) -> bool:
        """Whether one more event at ``now`` would stay within the cap (counts nothing)."""
        log = self._log
        return len(log) < self._limit or now - log[0] >= self._window

    def allow(self, now: float) -> bool:
        """Count the event at ``now`` if it stays within the cap; otherwise refuse and count nothing."""
        if not self.has_room(now):
            return False
        self._log.append(now)  # maxlen drops the oldest, which has just left the window
        return True
