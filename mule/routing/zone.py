"""iMule's routing zone tree (``kademlia/routing/RoutingZone.cpp``, ``RoutingBin.cpp``).

Zones are nodes of a binary tree over the XOR distance from our own ID: a zone at ``level`` holds the IDs
whose distance starts with the ``level`` bits of ``index``. A leaf holds a bin of at most ``K`` contacts,
least recently seen first. Only the zones near our own ID (small index) keep splitting, so the table is
deep near us and shallow far away, and a flood of IDs anywhere can fill at most the bins it lands in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from mule.routing.constants import ID_BITS, KBASE, KK, MAX_LEVEL, REFRESH_FREE_SLOTS, ZONE_FIRST_REFRESH, K
from mule.routing.contact import Contact


@dataclass(frozen=True, slots=True)
class ZoneSummary:
    """One leaf, for status displays."""

    level: int
    index: int  # iMule m_zoneIndex: the first ``level`` bits of the distance from our ID
    contacts: int
    verified: int

    @property
    def prefix(self) -> str:
        return format(self.index, f"0{self.level}b") if self.level else ""


class Zone:
    __slots__ = ("bin", "children", "index", "level", "next_refresh")

    def __init__(self, level: int, index: int, now: float) -> None:
        self.level = level
        self.index = index
        self.children: tuple[Zone, Zone] | None = None
        self.bin: dict[int, Contact] = {}  # insertion order: least recently seen first
        self.next_refresh = now + ZONE_FIRST_REFRESH  # iMule StartTimer (m_nextBigTimer)

    @property
    def is_leaf(self) -> bool:
        return self.children is None

    def child_for(self, distance: int) -> Zone:
        assert self.children is not None
        return self.children[(distance >> (ID_BITS - 1 - self.level)) & 1]

    def can_split(self) -> bool:
        """iMule CanSplit: a full bin above the depth limit, in the top KBASE levels or among the KK nearest."""
        return self.level < MAX_LEVEL and (self.index < KK or self.level < KBASE) and len(self.bin) == K

    def wants_refresh(self) -> bool:
        """iMule OnBigTimer's test: a leaf near us, in the top levels, or nearly empty."""
        return self.is_leaf and (self.index < KK or self.level < KBASE or K - len(self.bin) >= REFRESH_FREE_SLOTS)

    def split(self, own_id: int, now: float) -> None:
        """iMule Split: two children take the contacts, keeping their order."""
        low = Zone(self.level + 1, self.index << 1, now)
        high = Zone(self.level + 1, (self.index << 1) | 1, now)
        self.children = (low, high)
        for kad_id, contact in self.bin.items():
            self.child_for(own_id ^ kad_id).bin[kad_id] = contact
        self.bin = {}

    def consolidate(self, now: float) -> int:
        """iMule Consolidate: sibling leaves holding fewer than K/2 contacts together merge; returns merges."""
        if self.children is None:
            return 0
        low, high = self.children
        merges = low.consolidate(now) + high.consolidate(now)
        if low.is_leaf and high.is_leaf and len(low.bin) + len(high.bin) < K / 2:
            self.children = None
            self.bin = {**low.bin, **high.bin}
            self.next_refresh = now + ZONE_FIRST_REFRESH
            merges += 1
        return merges

    def leaves(self) -> Iterator[Zone]:
        stack = [self]
        while stack:
            zone = stack.pop()
            if zone.children is None:
                yield zone
            else:
                stack.append(zone.children[1])
                stack.append(zone.children[0])

    def summary(self) -> ZoneSummary:
        return ZoneSummary(self.level, self.index, len(self.bin), sum(c.verified for c in self.bin.values()))
