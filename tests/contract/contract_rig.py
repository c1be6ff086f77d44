"""A node-shaped rig on the virtual clock: requests come in, replies go out through the shaper, the wire is traced.

Each run is one trace (``mule.transport.trace``) that ``mule.contract.features`` condenses; the leaky
shapers below are the negative controls the contract tests must catch.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable

import numpy as np

from mule.clock import VirtualClock
from mule.contract import Kind, Profile, WindowCap
from mule.contract.profile import PING, profile_for_tests
from mule.shaper import Shaper
from mule.transport.interface import Datagram
from mule.transport.memory import MemoryHub
from mule.transport.trace import TracedTransport, TraceRecord

PING_FRAME = bytes((0x05, 0x1E))
PONG_FRAME = bytes((0x05, 0x1F))
HELLO_REQ_FRAME = bytes((0x05, 0x0F))
UNCAPPED = profile_for_tests(
    queue_messages=1 << 20,
    queue_bytes=1 << 30,
    global_send=WindowCap(1 << 30, 1.0),
    responses_per_peer=WindowCap(1 << 30, 1.0),
    inbound={PING: WindowCap(1 << 20, 1.0)},
)
"""V2's law and deadline with every cap out of the way: what is measured is timing alone."""

ShaperFactory = Callable[..., Shaper]


def peer(index: int) -> bytes:
    """A destination-like peer name with a distinct hashCode (its first four bytes)."""
    return index.to_bytes(4, "little") + b"-peer"


def serve(
    arrivals: np.ndarray,
    seed: bytes,
    factory: ShaperFactory = Shaper,
    profile: Profile = UNCAPPED,
    *,
    start: float = 1000.0,
    stalls: Callable[[VirtualClock], None] | None = None,
    upkeep: np.ndarray | None = None,
) -> list[TraceRecord]:
    """PINGs at ``start + arrivals``, each from a peer of its own and answered with a PONG; the traced wire.

    One request per peer keeps the trace's causal links exact. ``stalls``, if given, runs before each arrival
    and may ``stall`` the clock (a host-wide pause). ``upkeep``: instants of upkeep requests (HELLO_REQ).
    """
    clock = VirtualClock(start)
    hub = MemoryHub()
    node = hub.endpoint()
    asyncio.run(node.open())
    records: list[TraceRecord] = []
    traced = TracedTransport(node, clock, records.append, salt=seed[:16])
    shaper = factory(traced, clock, profile, seed=seed)
    events = [(at, index) for index, at in enumerate((start + arrivals).tolist())]
    if upkeep is not None:
        events = sorted(events + [(at, -1) for at in (start + upkeep).tolist()])
    for at, index in events:
        if stalls is not None:
            stalls(clock)
        clock.advance_to(max(at, clock.now()))
        if index < 0:
            shaper.submit(peer(1 << 31), HELLO_REQ_FRAME, Kind.MAINTENANCE)
            continue
        source = peer(index)
        traced.observe_inbound(Datagram(source, PING_FRAME))
        if shaper.admit(source, PING):
            shaper.submit(source, PONG_FRAME, Kind.RESPONSE)
    clock.advance(profile.max_delay + 1.0)
    return records


def poisson_arrivals(rate: float, count: int, seed: int) -> np.ndarray:
    return np.cumsum(np.random.default_rng(seed).exponential(1.0 / rate, count))


# --- negative controls ---------------------------------------------------------------------------------------


class GridShaper(Shaper):
    """Leaky (V1): hand-offs wait for the next 50 ms boundary of the host's clock."""

    GRID = 0.05

    def _arm(self) -> None:
        due = self._queue.next_due()
        if due is None or (self._timer_at is not None and self._timer_at <= due):
            return
        if self._timer is not None:
            self._timer.cancel()
        tick = math.ceil(due / self.GRID) * self.GRID
        self._timer_at = due
        self._timer = self._clock.call_at(tick, self._release_due)


class NoDeadlineShaper(Shaper):
    """Leaky: sends whatever is due however late it is (no deadline)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._slack = math.inf


class PlusTwoMsShaper(Shaper):
    """Leaky: 2 ms of extra work before every hand-off (a slower host, a bigger table)."""

    def submit(self, destination: bytes, payload: bytes, kind: Kind) -> None:
        self.counters.submitted += 1
        self._queue.push(self._clock.now() + 0.002, destination, payload, kind)
        self._arm()
