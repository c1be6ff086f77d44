"""The protocol profile: every timing, ordering, rate and memory constant of the contract, frozen and versioned.

It is not a setting. Nothing reads it from configuration; the node is built with
``PROFILE_V1`` and only tests pass an explicit profile (``profile_for_tests``), so two
correct mule nodes can never differ in these numbers. docs/contract.md explains
each V1 value from iMule's timing envelope.
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


@dataclass(frozen=True, slots=True)
class WindowCap:
    """At most ``limit`` events in any interval of ``window`` seconds (a sliding window, not a fixed one)."""

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
    """Every outbound message and every discarded input waits a draw from this law."""
    round_length: float
    """Release rounds: messages due in the same round leave together, in a shuffled order."""
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
    peer_table: int
    """How many peers (or peer/opcode pairs) a per-peer cap tracks at most; beyond it new keys are refused."""
    lateness_samples: int
    """Size of the ring buffer that keeps the most recent hand-off lateness samples."""
    upkeep: DelayLaw
    """Seconds between two routing-upkeep requests, drawn afresh each time: a renewal process at a fixed mean rate,
    the same in every state (participation symmetry), with no beat an observer could lock on to."""
    upkeep_mix: tuple[tuple[int, int], ...]
    """Upkeep requests are dealt from a shuffled deck with these (request opcode, cards) counts, so the mix of kinds
    is fixed whatever the table holds; only whom each request goes to follows the table."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.round_length) and self.round_length > 0):
            raise ValueError("round length must be finite and positive")
        if not self.upkeep_mix or min(cards for _, cards in self.upkeep_mix) < 1:
            raise ValueError("the upkeep deck needs at least one card of each kind it names")
        if min(self.queue_messages, self.queue_bytes, self.peer_table, self.lateness_samples) < 1:
            raise ValueError("queue, table and sample bounds must be positive")
        object.__setattr__(self, "inbound", _frozen_table(self.inbound))

    @property
    def max_delay(self) -> float:
        """The longest a message can wait: the law's upper bound plus at most one round."""
        return self.delay.high + self.round_length


PROFILE_V1 = Profile(
    version="mule-shaper/1",
    delay=DelayLaw(base=0.25, jitter=1.5),
    round_length=0.05,
    queue_messages=4096,
    queue_bytes=8 * 1024 * 1024,
    global_send=WindowCap(limit=100, window=1.0),
    responses_per_peer=WindowCap(limit=60, window=_MINUTE),
    lookups=WindowCap(limit=10, window=_MINUTE),
    publishes=WindowCap(limit=10, window=_MINUTE),
    inbound={opcode: WindowCap(limit, _MINUTE) for opcode, limit in _IMULE_FLOOD_LIMITS.items()},
    retry=DelayLaw(base=2.0, jitter=1.0),
    peer_table=2048,
    lateness_samples=8192,
    # One upkeep request per 10 s on average (uniform 5..15 s): iMule bootstraps every 15 s while disconnected
    # and probes each routing zone once a minute; 6 requests a minute keeps a table fresh and stays far below
    # every peer's flood limit. Of every 8: 5 HELLO probes, 2 KADEMLIA2_REQ refreshes, 1 BOOTSTRAP_REQ.
    upkeep=DelayLaw(base=5.0, jitter=10.0),
    upkeep_mix=((HELLO_REQ, 5), (KADEMLIA2_REQ, 2), (BOOTSTRAP_REQ, 1)),
)


def profile_for_tests(**changes: object) -> Profile:
    """An explicit profile for tests and benchmarks: V1 with ``changes``, marked so it cannot pass for V1."""
    return dataclasses.replace(PROFILE_V1, version=f"{PROFILE_V1.version}+test", **changes)
