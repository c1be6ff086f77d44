"""The protocol profile: every timing, ordering, rate and memory constant of the contract, frozen and versioned.

It is not a setting. Nothing reads it from configuration; the node is built with
``PROFILE_V2`` and only tests pass an explicit profile (``profile_for_tests``), so two
correct mule nodes can never differ in these numbers. docs/contract.md explains
each V2 value from iMule's timing envelope and why V1's numbers changed.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class DelayLaw:
    """A delay drawn uniformly from [base, base + jitter] (the core jitter sampler's law)."""

    base: float
    jitter: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.base) and math.isfinite(self.jitter)) or self.base < 0 or self.jitter <= 0:
            raise ValueError("a delay law needs finite base >= 0 and jitter > 0")

    @property
    def high(self) -> float:
        return self.base + self.jitter

    @property
    def mean(self) -> float:
        return self.base + self.jitter / 2


@dataclass(frozen=True, slots=True)
class WindowCap:
    """``limit`` events per ``window`` seconds.

    For one stream (all sends, lookups started) it is exact: at most ``limit`` in any interval of ``window``
    seconds. Per peer it is iMule's leaky bucket: a peer may burst ``limit``, then one more every
    ``window / limit`` seconds (so any ``window`` holds at most ``2 * limit - 1``).
    """

    limit: int
    window: float

    def __post_init__(self) -> None:
        if self.limit < 1 or not (math.isfinite(self.window) and self.window > 0):
            raise ValueError("a window cap needs limit >= 1 and a finite window > 0")


def _frozen_table(table: Mapping[int, WindowCap]) -> Mapping[int, WindowCap]:
    return MappingProxyType(dict(table))


# iMule's Kad2 request opcodes (kad-wire.md §2.1) and their per-minute flood limits (§7.5).
# Kad1 requests share their Kad2 equivalent's counter, as in iMule: the caller passes the Kad2 opcode.
BOOTSTRAP_REQ = 0x0D
HELLO_REQ = 0x0F
KADEMLIA2_REQ = 0x11
SEARCH_KEY_REQ = 0x14
SEARCH_SOURCE_REQ = 0x15
SEARCH_NOTES_REQ = 0x16
PUBLISH_KEY_REQ = 0x18
PUBLISH_SOURCE_REQ = 0x19
PUBLISH_NOTES_REQ = 0x1A
PING = 0x1E

_MINUTE = 60.0
_IMULE_FLOOD_LIMITS = {
    BOOTSTRAP_REQ: 2,
    HELLO_REQ: 3,
    KADEMLIA2_REQ: 30,
    SEARCH_KEY_REQ: 30,
    SEARCH_SOURCE_REQ: 30,
    SEARCH_NOTES_REQ: 30,
    PUBLISH_KEY_REQ: 30,
    PUBLISH_SOURCE_REQ: 30,
    PUBLISH_NOTES_REQ: 30,
    PING: 2,
}


@dataclass(frozen=True, slots=True)
class Profile:
    version: str
    delay: DelayLaw
    """Every outbound message and every discarded input waits a draw from this law, then leaves at that instant."""
    deadline_slack: float
    """A message not handed off by its planned release + this slack is dropped as congestion, never sent late."""
    queue_messages: int
    queue_bytes: int
    global_send: WindowCap
    """Datagrams handed to the transport, all kinds together."""
    responses_per_peer: WindowCap
    lookups: WindowCap
    """Lookups started by this node (own searches, refreshes, cover lookups)."""
    publishes: WindowCap
    inbound: Mapping[int, WindowCap]
    """Inbound requests per peer per Kad2 opcode; opcodes absent here (responses) are not limited."""
    retry: DelayLaw
    """Spacing between retries where Kad needs them (bootstrap, lookup jump-start)."""
    sketch_width: int
    """Counters per row of each per-peer rate sketch (a power of two); with ``sketch_depth`` it fixes the memory."""
    sketch_depth: int
    """Rows (independent hashes) per sketch: a peer is refused only if every row says it is over its limit."""
    lateness_samples: int
    """Size of the ring buffer that keeps the most recent hand-off lateness samples."""
    upkeep: DelayLaw
    """The interval between two routing-upkeep requests, drawn afresh each time: a renewal process, no beat."""
    upkeep_mix: tuple[tuple[int, int], ...]
    """Upkeep requests are dealt from a shuffled deck with these (request opcode, cards) counts, so the mix of kinds
    is fixed whatever the table holds; only whom each request goes to follows the table."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.deadline_slack) and self.deadline_slack >= 0):
            raise ValueError("the deadline slack must be finite and not negative")
        if min(self.queue_messages, self.queue_bytes, self.sketch_depth, self.lateness_samples) < 1:
            raise ValueError("queue, sketch and sample bounds must be positive")
        if self.sketch_width < 1 or self.sketch_width & (self.sketch_width - 1):
            raise ValueError("the sketch width must be a power of two")
        if not self.upkeep_mix or min(cards for _, cards in self.upkeep_mix) < 1:
            raise ValueError("the upkeep deck needs at least one card of each kind it names")
        object.__setattr__(self, "inbound", _frozen_table(self.inbound))

    @property
    def max_delay(self) -> float:
        """The hard bound on submit-to-hand-off: the law's upper bound plus the deadline slack. Later means dropped."""
        return self.delay.high + self.deadline_slack


PROFILE_V2 = Profile(
    version="mule-shaper/2",
    delay=DelayLaw(base=0.25, jitter=1.5),
    # Lateness p99 on a loaded 2-core host is ~16 ms; 50 ms lets ordinary load through and keeps the hard bound
    # at V1's documented 1.8 s (0.25 + 1.5 + 0.05), which was only a promise in V1.
    deadline_slack=0.05,
    queue_messages=4096,
    queue_bytes=8 * 1024 * 1024,
    global_send=WindowCap(limit=100, window=1.0),
    responses_per_peer=WindowCap(limit=60, window=_MINUTE),
    lookups=WindowCap(limit=10, window=_MINUTE),
    publishes=WindowCap(limit=10, window=_MINUTE),
    inbound={opcode: WindowCap(limit, _MINUTE) for opcode, limit in _IMULE_FLOOD_LIMITS.items()},
    retry=DelayLaw(base=2.0, jitter=1.0),
    # 4 x 16,384 counters (512 KiB per sketch): a newcomer stays answerable while 5,000 distinct peers flood at
    # their full iMule allowance (measured false refusals < 0.1 %, docs/contract.md).
    sketch_width=1 << 14,
    sketch_depth=4,
    lateness_samples=8192,
    # Mean 10 s, V1's rate: 6 upkeep requests a minute in every state. Gaps uniform on [5 s, 15 s]: no beat to
    # lock onto, never two upkeep sends in a burst, never a silence longer than 15 s (docs/contract.md).
    upkeep=DelayLaw(base=5.0, jitter=10.0),
    # Of every 8 upkeep requests: 5 HELLO probes, 2 KADEMLIA2_REQ zone refreshes, 1 BOOTSTRAP_REQ (docs/node.md).
    upkeep_mix=((HELLO_REQ, 5), (KADEMLIA2_REQ, 2), (BOOTSTRAP_REQ, 1)),
)


def profile_for_tests(**changes: object) -> Profile:
    """An explicit profile for tests and benchmarks: V2 with ``changes``, marked so it cannot pass for V2."""
    return dataclasses.replace(PROFILE_V2, version=f"{PROFILE_V2.version}+test", **changes)
