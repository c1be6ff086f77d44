"""What every clock provides. Times are seconds on a monotonic timeline private to the clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Timer(Protocol):
    def cancel(self) -> None: ...


class HeapTimer:
    """A timer a clock keeps in its own heap: cancelling only marks it, the clock skips it when it comes up."""

    __slots__ = ("callback", "cancelled")

    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Clock(Protocol):
    def now(self) -> float: ...

    def call_at(self, when: float, callback: Callable[[], None]) -> Timer:
        """Run ``callback`` once, at ``when`` or as soon as possible after it (never before)."""
        ...

    def retry_at(self, aim: float) -> float | None:
        """Whether now is a fit instant to hand off something aimed at ``aim``: ``None`` if so, else a new aim.

        A real clock refuses a wake-up that came late through a contended scheduler (it may carry the host's
        scheduler phase), and a second hand-off in one wake-up (it would follow the first at the host's per-send
        cost), and names a dithered instant to try again (docs/contract.md, "Hand-off instants"); a virtual
        clock is never late that way and returns ``None``.
        """
        ...
