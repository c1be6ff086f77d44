"""The central delay queue (sans-IO): every message gets release time = now + one draw of the delay law.

Release times are grouped into rounds of ``profile.round_length``; a round leaves
at its end, with its messages in a freshly shuffled order, so processing order
never shows on the wire. There is no priority lane and no per-kind rule: ``kind``
rides along for accounting only.

Inputs that must be dropped (queue overflow here; unknown, malformed or over-cap
inputs from the inbound gate) still draw a delay and occupy their round as a
*void*: a bare counter, so they cost no memory per item, and they are discarded
when that round is released, at the same moment a real message would have left.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

from mule._core import JitterSampler
from mule._core.shuffle import Shuffler
from mule.contract import Kind, Profile


@dataclass(frozen=True, slots=True)
class Message:
    destination: bytes
    payload: bytes
    kind: Kind
    enqueued_at: float


@dataclass(slots=True)
class Round:
    """The messages and voids released together at ``tick``."""

    tick: float
    messages: list[Message]
    voids: int = 0


class DelayQueue:
    __slots__ = (
        "_bytes",
        "_heap",
        "_max_bytes",
        "_max_messages",
        "_messages",
        "_round",
        "_rounds",
        "_sampler",
        "_shuffler",
    )

    def __init__(self, profile: Profile, sampler: JitterSampler, shuffler: Shuffler) -> None:
        if (sampler.low, sampler.high) != (profile.delay.base, profile.delay.high):
            raise ValueError("the sampler must draw the profile's delay law")
        self._round = profile.round_length
        self._max_messages = profile.queue_messages
        self._max_bytes = profile.queue_bytes
        self._sampler = sampler
        self._shuffler = shuffler
        self._rounds: dict[int, Round] = {}
        self._heap: list[int] = []
        self._messages = 0
        self._bytes = 0

    @property
    def messages(self) -> int:
        return self._messages

    @property
    def bytes(self) -> int:
        return self._bytes

    def _round_for(self, now: float) -> Round:
        index = math.ceil((now + self._sampler.draw()) / self._round)
        slot = self._rounds.get(index)
        if slot is None:
            slot = self._rounds[index] = Round(index * self._round, [])
            heapq.heappush(self._heap, index)
        return slot

    def push(self, now: float, destination: bytes, payload: bytes, kind: Kind) -> bool:
        """Enqueue a message; ``False`` if the queue is full, in which case it became a void instead."""
        slot = self._round_for(now)
        size = len(payload)
        if self._messages >= self._max_messages or self._bytes + size > self._max_bytes:
            slot.voids += 1
            return False
        slot.messages.append(Message(destination, payload, kind, now))
        self._messages += 1
        self._bytes += size
        return True

    def push_void(self, now: float) -> None:
        """An input to be dropped: it waits the same law as a message, then vanishes."""
        self._round_for(now).voids += 1

    def clear(self) -> None:
        """Forget everything pending (the shaper is closing)."""
        self._rounds.clear()
        self._heap.clear()
        self._messages = self._bytes = 0

    def next_tick(self) -> float | None:
        """When the earliest pending round is due, or ``None`` if nothing is pending."""
        return self._heap[0] * self._round if self._heap else None

    def pop_due(self, now: float) -> list[Round]:
        """Every round due at ``now``, oldest first, each with its messages already shuffled."""
        due = []
        while self._heap and self._heap[0] * self._round <= now:
            slot = self._rounds.pop(heapq.heappop(self._heap))
            self._shuffler.shuffle(slot.messages)
            self._messages -= len(slot.messages)
            self._bytes -= sum(len(m.payload) for m in slot.messages)
            due.append(slot)
        return due
