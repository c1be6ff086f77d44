"""Negative controls: deliberately leaky nodes the bench must tell apart from a correct one.

Each control is a shim applied inside the child process that runs it, by swapping the class
the node service builds (``mule.node.service.Shaper`` or ``.NodeCore``) for a leaky subclass.
Nothing in the node's own code paths knows about them: a product run never imports this
module, and the probe's and flooders' shapers are built from ``mule.shaper`` and stay correct.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

from mule.contract import PRODUCTION, Kind
from mule.node import service
from mule.node.core import NodeCore, Send
from mule.shaper import Shaper
from mule.shaper.queue import Message
from mule.transport.trace import frame_opcode

PONG = 0x1F
EXTRA_WORK = 0.002
"""+2 ms of per-request work before hand-off: what a slower host or a bigger table would cost if it showed."""
FIXED_PERIOD = PRODUCTION.upkeep.mean
"""A fixed upkeep tick (V1 had one) at the production rate: only the beat differs from a correct node."""


class PlusTwoMsShaper(Shaper):
    """Every message waits 2 ms longer than the law says (work done before ``submit`` that a correct node hides)."""

    def submit(self, destination: bytes, payload: bytes, kind: Kind, *, received: float | None = None) -> None:
        self.counters.submitted += 1
        self._queue.push(self._anchor(received) + EXTRA_WORK, destination, payload, kind)
        self._arm()


class FastPathShaper(Shaper):
    """PONGs skip the law's base delay ("pings are cheap"): a fast path for one opcode."""

    def submit(self, destination: bytes, payload: bytes, kind: Kind, *, received: float | None = None) -> None:
        self.counters.submitted += 1
        now = self._anchor(received)
        if frame_opcode(payload) == PONG:
            now -= self.profile.delay.base
        self._queue.push(now, destination, payload, kind)
        self._arm()


class FifoShaper(Shaper):
    """Release instants never decrease, so messages leave in the order they were submitted (FIFO behind a delay)."""

    _last_planned = float("-inf")

    def submit(self, destination: bytes, payload: bytes, kind: Kind, *, received: float | None = None) -> None:
        self.counters.submitted += 1
        queue = self._queue
        now = self._anchor(received)
        planned = max(now + queue._sampler.draw(), self._last_planned + 1e-6)
        self._last_planned = planned
        heapq.heappush(queue._heap, (planned, next(queue._sequence), Message(destination, payload, kind, now, planned)))
        queue._messages += 1
        queue._bytes += len(payload)
        self._arm()


class FixedTickCore(NodeCore):
    """Upkeep on a fixed beat from start-up (as V1 had), instead of a renewal process."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._next_upkeep = self._beat = float(args[5]) + FIXED_PERIOD  # type: ignore[arg-type]

    def tick(self, now: float) -> list[Send]:
        if now < self._beat:
            return []
        self._next_upkeep = now  # let the renewal core fire now, then put the beat back
        sends = super().tick(now)
        while self._beat <= now:
            self._beat += FIXED_PERIOD
        self._next_upkeep = self._beat
        return sends


def _swap_shaper(leaky: type[Shaper]) -> Callable[[], None]:
    return lambda: setattr(service, "Shaper", leaky)


CONTROLS: dict[str, Callable[[], None]] = {
    "plus2ms": _swap_shaper(PlusTwoMsShaper),
    "fastpath": _swap_shaper(FastPathShaper),
    "fifo": _swap_shaper(FifoShaper),
    "fixed_upkeep": lambda: setattr(service, "NodeCore", FixedTickCore),
}
"""Name -> the shim that makes the node service of this process leaky."""


def apply(name: str | None) -> None:
    if name is not None:
        CONTROLS[name]()
