"""The protocol profile: every timing, ordering, rate and memory constant of the contract, frozen and versioned.

It is not a setting. Nothing reads it from configuration; the node is built with
``PRODUCTION`` (``PROFILE_V4``) and only tests pass an explicit profile (``profile_for_tests``), so
two correct mule nodes can never differ in these numbers. docs/contract.md explains each value from
iMule's timing envelope, why V1's numbers changed in V2, what V3 adds (lookup and publish slots, the
drain) and why V4 doubles the upkeep rate.
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


@dataclass(frozen=True, slots=True)
class SlotPlan:
    """When lookups (or publishes) may start, and of which kind: the instants of a renewal process whose gaps are
    drawn from ``interval``, each slot's kind dealt from a shuffled deck with these (kind, cards) counts.

    A slot carries the oldest pending user lookup of its kind, else a cover lookup of that kind, so the number,
    the instants and the kinds of the lookups a node starts never depend on what its user asks."""

    interval: DelayLaw
    deck: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        if not self.deck or min(cards for _, cards in self.deck) < 1:
            raise ValueError("a slot deck needs at least one card of each kind it names")


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

# Lookup kinds, numbered as iMule numbers its search types (``Search.h``: NODECOMPLETE, FILE, KEYWORD, NOTES,
# STOREFILE, STOREKEYWORD, STORENOTES). mule's node lookups walk as iMule's NODECOMPLETE does.
LOOKUP_NODE = 0x02
LOOKUP_SOURCES = 0x04
LOOKUP_KEYWORD = 0x08
LOOKUP_NOTES = 0x10
STORE_SOURCE = 0x20
STORE_KEYWORD = 0x40
STORE_NOTES = 0x80

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
    lookup_slots: SlotPlan | None = None
    """When lookups start and of which kind (V3). ``None``: the node starts no lookups at all (V2)."""
    publish_slots: SlotPlan | None = None
    """When publishes start and of which kind (V3). ``None``: the node publishes nothing (V2)."""
    drain: float = 0.0
    """On a graceful stop: seconds the node keeps answering, starting no lookup, while the shaper drains."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.deadline_slack) and self.deadline_slack >= 0):
            raise ValueError("the deadline slack must be finite and not negative")
        if min(self.queue_messages, self.queue_bytes, self.sketch_depth, self.lateness_samples) < 1:
            raise ValueError("queue, sketch and sample bounds must be positive")
        if self.sketch_width < 1 or self.sketch_width & (self.sketch_width - 1):
            raise ValueError("the sketch width must be a power of two")
        if not self.upkeep_mix or min(cards for _, cards in self.upkeep_mix) < 1:
            raise ValueError("the upkeep deck needs at least one card of each kind it names")
        if not (math.isfinite(self.drain) and self.drain >= 0):
            raise ValueError("the drain must be finite and not negative")
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


PROFILE_V3 = dataclasses.replace(
    PROFILE_V2,
    version="mule-shaper/3",
    # A lookup starts every 20 s on average, gaps uniform on [10 s, 30 s] (a renewal process, like upkeep): 3 a
    # minute, under the 10-a-minute cap whatever the draws (at most 6 in any minute). Of every 8: 3 node lookups,
    # 2 keyword searches, 2 source searches, 1 notes search (docs/contract.md, "Lookup and publish slots").
    lookup_slots=SlotPlan(
        DelayLaw(base=10.0, jitter=20.0),
        ((LOOKUP_NODE, 3), (LOOKUP_KEYWORD, 2), (LOOKUP_SOURCES, 2), (LOOKUP_NOTES, 1)),
    ),
    # A publish starts every 60 s on average, gaps uniform on [30 s, 90 s]. Of every 8: 5 source publishes
    # (iMule republishes sources every 5 h), 2 keyword publishes, 1 notes publish (both every 24 h).
    publish_slots=SlotPlan(
        DelayLaw(base=30.0, jitter=60.0),
        ((STORE_SOURCE, 5), (STORE_KEYWORD, 2), (STORE_NOTES, 1)),
    ),
    # Twice the hard bound on a queued message (1.8 s) plus margin: everything queued at the stop leaves, and
    # requests arriving in the first seconds of the stop are still answered.
    drain=5.0,
)


PROFILE_V4 = dataclasses.replace(
    PROFILE_V3,
    version="mule-shaper/4",
    # Twice V3's upkeep rate: 12 requests a minute, gaps uniform on [2.5 s, 7.5 s] (still a renewal process, still
    # never two in a burst). V3's 6 a minute left listed contacts unverified for ~40 min, so a young network's
    # lookups missed the true closest node; at 12 a minute 200 simulated nodes find it in >= 96 % of lookups from
    # minute 5, for ~6 % more datagrams (docs/contract.md, "Upkeep rate (V4)").
    upkeep=DelayLaw(base=2.5, jitter=5.0),
)

PRODUCTION = PROFILE_V4
"""The profile every mule node runs: the one name the node service, the simulator and the benches build on."""


def profile_for_tests(*, base: Profile = PROFILE_V2, **changes: object) -> Profile:
    """An explicit profile for tests and benchmarks: ``base`` with ``changes``, marked so it cannot pass for it."""
    return dataclasses.replace(base, version=f"{base.version}+test", **changes)
