"""Hops of user lookups, read off the wire: how many answers deep the walk had to go to reach what it found.

A lookup's seeds (the contacts it takes from its own table, as ``mule.lookup.search.Lookup.start`` does) are
one hop away; a contact first listed in a KADEMLIA2_RES from a node ``d`` hops away is ``d + 1`` hops away;
our own node, which data lookups ask first, is 0. A node lookup's hops are those of the nearest node that
answered it; a keyword search's, those of the first node whose SEARCH_RES held the file looked for.
"""

from __future__ import annotations

from mule.kad import messages
from mule.kad.message import Message
from mule.lookup.kinds import LOOKUP_SEEDS, SEED_FALLBACK_TYPE, SEED_MAX_TYPE
from mule.routing import RoutingTable


class Walk:
    __slots__ = ("_depth", "_searcher", "_table", "found_at", "target", "wanted")

    def __init__(self, searcher: bytes, table: RoutingTable, target: int, wanted: int | None = None) -> None:
        self.target = target
        self.wanted = wanted
        """A keyword search: the file ID it looks for."""
        self.found_at: int | None = None
        """A keyword search: hops of the first node that returned ``wanted``."""
        self._searcher = searcher
        self._table = table
        self._depth: dict[bytes, int] | None = None

    def hops(self, destination: bytes) -> int:
        return 1 if self._depth is None else self._depth.get(destination, 1)

    def _started(self) -> dict[bytes, int]:
        """The seeds, read from the table when the walk's first request leaves (moments after its slot)."""
        if self._depth is None:
            table, target = self._table, self.target
            seeds = table.closest(target, LOOKUP_SEEDS, max_type=SEED_MAX_TYPE)
            if len(seeds) < LOOKUP_SEEDS:
                seeds = table.closest(target, LOOKUP_SEEDS, max_type=SEED_FALLBACK_TYPE)
            self._depth = dict.fromkeys((c.destination for c in seeds), 1)
            self._depth[self._searcher] = 0
        return self._depth

    def sent(self, destination: bytes) -> None:
        self._started().setdefault(destination, 1)

    def answered(self, source: bytes, message: Message) -> None:
        depth = self._started()
        hops = depth.get(source, 1)
        if isinstance(message, messages.KademliaRes):
            for contact in message.contacts:
                depth.setdefault(contact.udp_dest, hops + 1)
        elif (
            isinstance(message, messages.SearchRes)
            and self.found_at is None
            and any(entry.kad_id == self.wanted for entry in message.results)
        ):
            self.found_at = hops


class Walks:
    """The walks being traced, by searcher destination and target."""

    __slots__ = ("_walks",)

    REQUESTS = frozenset({messages.KademliaReq.OPCODE, messages.SearchKeyReq.OPCODE})
    ANSWERS = frozenset({messages.KademliaRes.OPCODE, messages.SearchRes.OPCODE})

    def __init__(self) -> None:
        self._walks: dict[bytes, dict[int, Walk]] = {}

    def __contains__(self, destination: bytes) -> bool:
        return destination in self._walks

    def trace(self, walk: Walk, searcher: bytes) -> None:
        self._walks.setdefault(searcher, {})[walk.target] = walk

    def forget(self, walk: Walk, searcher: bytes) -> None:
        walks = self._walks.get(searcher)
        if walks is not None and walks.get(walk.target) is walk:
            del walks[walk.target]
            if not walks:
                del self._walks[searcher]

    def seen(self, source: bytes, destination: bytes, opcode: int, message: Message) -> None:
        """One plain datagram between a traced searcher and anyone (the network decodes only those)."""
        target = getattr(message, "target", None)
        if opcode in self.REQUESTS:
            walk = self._walks.get(source, {}).get(target)  # type: ignore[arg-type]
            if walk is not None:
                walk.sent(destination)
        elif opcode in self.ANSWERS:
            walk = self._walks.get(destination, {}).get(target)  # type: ignore[arg-type]
            if walk is not None:
                walk.answered(source, message)
