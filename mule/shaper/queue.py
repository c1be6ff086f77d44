"""The central delay queue (sans-IO): every message gets its own release instant, now + one draw of the law.

Release instants are continuous: there is no round grid, so the instant a message
leaves carries no phase that the host's clock, load or a sibling node could share
(docs/contract.md, "Hand-off instants"). Delays are independent draws, so messages
enqueued together leave in a random order; messages that fall due together (the
host was late) come out of ``pop_due`` shuffled. There is no priority lane and no
per-kind rule: ``kind`` rides along for accounting only.

Inputs that must be dropped (queue overflow here; unknown, malformed or over-cap
inputs from the inbound gate) still draw a delay and wait as a *void*. Voids never
reach the wire, so they are counted per millisecond of release time instead of kept
one by one: a flood of them costs at most one counter per millisecond of the law.
"""

from __future__ import annotations

import heapq
import itertools
import math
from dataclasses import dataclass, field

from mule._core import JitterSampler
from mule._core.shuffle import Shuffler
from mule.contract import Kind, Profile

VOID_GRAIN = 0.001
"""Voids are released at the end of their millisecond: they never touch the wire, so the grain is invisible."""


@dataclass(frozen=True, slots=True)
class Message:
    destination: bytes
    payload: bytes
    kind: Kind
    enqueued_at: float
    planned: float
    """Its release instant: ``enqueued_at`` plus one draw of the delay law."""


@dataclass(slots=True)
class Due:
    """What ``pop_due`` hands back: the due messages, already shuffled, and the due voids by release time."""

    messages: list[Message] = field(default_factory=list)
    voids: list[tuple[float, int]] = field(default_factory=list)
    """``(planned release, count)``, oldest first."""


class DelayQueue:
    __slots__ = (
        "_bytes",
        "_heap",
        "_max_bytes",
        "_max_messages",
        "_messages",
        "_sampler",
        "_sequence",
        "_shuffler",
        "_voids",
    )

    def __init__(self, profile: Profile, sampler: JitterSampler, shuffler: Shuffler) -> None:
        if (sampler.low, sampler.high) != (profile.delay.base, profile.delay.high):
            raise ValueError("the sampler must draw the profile's delay law")
        self._max_messages = profile.queue_messages
        self._max_bytes = profile.queue_bytes
        self._sampler = sampler
        self._shuffler = shuffler
        self._heap: list[tuple[float, int, Message | int]] = []
        """``(release instant, sequence, message or void grain)``."""
        self._sequence = itertools.count()
        self._voids: dict[int, int] = {}
        self._messages = 0
        self._bytes = 0

    @property
    def messages(self) -> int:
        return self._messages

    @property
    def bytes(self) -> int:
        return self._bytes

    def push(self, now: float, destination: bytes, payload: bytes, kind: Kind) -> bool:
        """Enqueue a message; ``False`` if the queue is full, in which case it became a void instead."""
        planned = now + self._sampler.draw()
        size = len(payload)
        if self._messages >= self._max_messages or self._bytes + size > self._max_bytes:
            self._add_void(planned)
            return False
        heapq.heappush(self._heap, (planned, next(self._sequence), Message(destination, payload, kind, now, planned)))
        self._messages += 1
        self._bytes += size
        return True

    def defer(self, message: Message, aim: float) -> None:
        """Put back a message ``pop_due`` gave out, to come due again at ``aim`` (its ``planned`` is unchanged)."""
        heapq.heappush(self._heap, (aim, next(self._sequence), message))
        self._messages += 1
        self._bytes += len(message.payload)

    def push_void(self, now: float) -> None:
        """An input to be dropped: it waits the same law as a message, then vanishes."""
        self._add_void(now + self._sampler.draw())

    def _add_void(self, planned: float) -> None:
        grain = math.ceil(planned / VOID_GRAIN)
        count = self._voids.get(grain, 0)
        if count == 0:
            heapq.heappush(self._heap, (grain * VOID_GRAIN, next(self._sequence), grain))
        self._voids[grain] = count + 1

    def clear(self) -> None:
        """Forget everything pending (the shaper is closing)."""
        self._heap.clear()
        self._voids.clear()
        self._messages = self._bytes = 0

    def next_due(self) -> float | None:
        """When the earliest pending message or void is due, or ``None`` if nothing is pending."""
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> Due:
        """Everything due at ``now``: the messages in a fresh random order, the voids oldest first."""
        due = Due()
        heap = self._heap
        while heap and heap[0][0] <= now:
            planned, _, message = heapq.heappop(heap)
            if isinstance(message, int):
                due.voids.append((planned, self._voids.pop(message)))
                continue
            due.messages.append(message)
            self._messages -= 1
            self._bytes -= len(message.payload)
        self._shuffler.shuffle(due.messages)
        return due
