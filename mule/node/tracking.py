"""Outgoing request tracking, as iMule does it: a response is accepted only if we asked that peer for it.

Each request we send is remembered per (destination ``hash_code``, request opcode)
for ``TRACK_SECONDS``; a matching response consumes the entry. Unsolicited responses
are dropped without a word. The table is bounded: when it is full the oldest entry
goes, so a flood of our own requests cannot grow memory.
"""

from __future__ import annotations

from collections import OrderedDict

from mule.kad.destination import hash_code
from mule.kad.opcodes import Op

TRACK_SECONDS = 180.0  # iMule's PacketTracking lifetime
MAX_TRACKED = 4096

# Which request a response answers, for the requests a node sends today (searches and publishes come with
# lookups: iMule splits search results over several datagrams, so those need a counting entry, not this one).
ANSWERS: dict[int, int] = {
    Op.BOOTSTRAP_RES: Op.BOOTSTRAP_REQ,
    Op.HELLO_RES: Op.HELLO_REQ,
    Op.KADEMLIA_RES: Op.KADEMLIA_REQ,
    Op.PONG: Op.PING,
    Op.KAD1_BOOTSTRAP_RES: Op.KAD1_BOOTSTRAP_REQ,
    Op.KAD1_HELLO_RES: Op.KAD1_HELLO_REQ,
    Op.KAD1_RES: Op.KAD1_REQ,
}


class RequestTracker:
    __slots__ = ("_expires",)

    def __init__(self) -> None:
        self._expires: OrderedDict[tuple[int, int], float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._expires)

    def expect(self, destination: bytes, request_opcode: int, now: float) -> None:
        key = (hash_code(destination), request_opcode)
        self._expires.pop(key, None)
        self._expires[key] = now + TRACK_SECONDS
        while len(self._expires) > MAX_TRACKED:
            self._expires.popitem(last=False)

    def consume(self, source: bytes, response_opcode: int, now: float) -> bool:
        """Whether ``source`` was asked for this response within the tracking window (and forget the request)."""
        request = ANSWERS.get(response_opcode)
        if request is None:
            return False
        expires = self._expires.pop((hash_code(source), request), None)
        return expires is not None and now <= expires
