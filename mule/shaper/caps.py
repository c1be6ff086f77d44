"""Hard caps: sliding-window counters whose limits come only from the profile.

A cap is "at most ``limit`` events in any ``window`` seconds", checked exactly with
a log of the last ``limit`` admitted times. Nothing here looks at CPU, memory or
uptime, so the limits cannot drift with the machine.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable

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


class KeyedWindows:
    """The same cap applied separately per key (peer, or peer and opcode), in bounded memory.

    Keys are kept in least-recently-admitted order. A key whose newest event has left
    the window carries no state worth keeping and is forgotten. When the table is full
    of live keys, a new key is refused: failing closed keeps memory flat under a
    flood of fresh destinations instead of letting them evict (and reset) older ones.
    """

    __slots__ = ("_limit", "_logs", "_max_keys", "_window")

    def __init__(self, cap: WindowCap, max_keys: int) -> None:
        self._limit = cap.limit
        self._window = cap.window
        self._max_keys = max_keys
        self._logs: dict[Hashable, deque[float]] = {}

    def __len__(self) -> int:
        return len(self._logs)

    def allow(self, key: Hashable, now: float) -> bool:
        logs = self._logs
        log = logs.get(key)
        if log is None:
            self._forget_idle(now)
            if len(logs) >= self._max_keys:
                return False
            log = deque(maxlen=self._limit)
        elif len(log) == self._limit and now - log[0] < self._window:
            return False
        else:
            del logs[key]
        log.append(now)
        logs[key] = log  # (re)inserted last: dict order stays sorted by each key's newest admitted time
        return True

    def _forget_idle(self, now: float) -> None:
        logs = self._logs
        horizon = now - self._window
        while logs:
            oldest_key = next(iter(logs))
            if logs[oldest_key][-1] > horizon:
                return
            del logs[oldest_key]
