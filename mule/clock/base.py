"""What every clock provides. Times are seconds on a monotonic timeline private to the clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Timer(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def now(self) -> float: ...

    def call_at(self, when: float, callback: Callable[[], None]) -> Timer:
        """Run ``callback`` once, at ``when`` or as soon as possible after it (never before)."""
        ...
