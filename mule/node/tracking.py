"""Outgoing request tracking: a response is accepted only if we asked exactly that peer for exactly that answer.

iMule keeps each request it sends for ``TRACK_SECONDS`` keyed on the destination's
4-byte ``hashCode`` and the opcode (``PacketTracking.cpp``). mule keys on the *whole*
destination, the request opcode and, where the answer names it, the request's target:
an honest peer cannot tell the difference, but a ground destination that shares a seed's
first four bytes can no longer answer for it. A matching response consumes its entry.

An entry may carry what the node needs to finish a handshake when the answer arrives
(the contact a HELLO_RES_ACK or a legacy challenge will verify). The table is bounded:
when full, the entry closest to expiry goes, so nothing we are asked can grow memory.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Hashable
from dataclasses import dataclass

from mule.kad.opcodes import Op

TRACK_SECONDS = 180.0  # iMule's PacketTracking lifetime
MAX_TRACKED = 4096

# Which request each tracked response answers (Kad1 responses count with their Kad1 request, as in iMule).
ANSWERS: dict[int, int] = {
    Op.BOOTSTRAP_RES: Op.BOOTSTRAP_REQ,
    Op.HELLO_RES: Op.HELLO_REQ,
    Op.HELLO_RES_ACK: Op.HELLO_RES,
    Op.KADEMLIA_RES: Op.KADEMLIA_REQ,
    Op.PONG: Op.PING,
    Op.KAD1_BOOTSTRAP_RES: Op.KAD1_BOOTSTRAP_REQ,
    Op.KAD1_HELLO_RES: Op.KAD1_HELLO_REQ,
    Op.KAD1_RES: Op.KAD1_REQ,
}
TRACKED_REQUESTS = frozenset(ANSWERS.values())
TARGETED_REQUESTS = frozenset({Op.KADEMLIA_REQ, Op.KAD1_REQ})
"""Requests whose answer repeats the target: several may be outstanding to one peer, one per target."""


@dataclass(frozen=True, slots=True)
class Pending:
    """A contact that a handshake answer will verify: it enters the routing table only then."""

    kad_id: int
    version: int
    udp_key: int = 0
    legacy_challenge: bool = False
    """The request was a legacy challenge (iMule's verification of peers older than version 7)."""


@dataclass(slots=True)
class _Entry:
    expires: float
    pending: Pending | None


class RequestTracker:
    __slots__ = ("_challenges", "_entries", "_expiry_heap", "_sequence")

    def __init__(self) -> None:
        self._entries: dict[Hashable, _Entry] = {}
        self._expiry_heap: list[tuple[float, int, Hashable]] = []
        self._sequence = itertools.count()
        self._challenges: dict[bytes, float] = {}
        """Destinations with an open legacy challenge, and when it lapses."""

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def _key(destination: bytes, request_opcode: int, target: int | None) -> Hashable:
        return (destination, request_opcode, target if request_opcode in TARGETED_REQUESTS else None)

    def expect(
        self,
        destination: bytes,
        request_opcode: int,
        now: float,
        *,
        target: int | None = None,
        pending: Pending | None = None,
    ) -> None:
        """Remember that we sent this request (a repeat replaces the earlier entry)."""
        key = self._key(destination, request_opcode, target)
        expires = now + TRACK_SECONDS
        self._entries[key] = _Entry(expires, pending)
        heapq.heappush(self._expiry_heap, (expires, next(self._sequence), key))
        if pending is not None and pending.legacy_challenge:
            self._challenges[destination] = expires
        self._trim(now)

    def outstanding(self, destination: bytes, request_opcode: int, now: float, *, target: int | None = None) -> bool:
        entry = self._entries.get(self._key(destination, request_opcode, target))
        return entry is not None and now < entry.expires

    def has_challenge(self, destination: bytes, now: float) -> bool:
        """Whether a legacy challenge to this destination is still open (iMule sends one at a time)."""
        expires = self._challenges.get(destination)
        return expires is not None and now <= expires

    def consume(
        self, source: bytes, response_opcode: int, now: float, *, target: int | None = None
    ) -> tuple[bool, Pending | None]:
        """Whether ``source`` was asked for this response in time, and the handshake it finishes (if any)."""
        request = ANSWERS.get(response_opcode)
        if request is None:
            return False, None
        entry = self._entries.pop(self._key(source, request, target), None)
        if entry is None or now >= entry.expires:  # iMule: now - sent < 180 s
            return False, None
        self._close_challenge(source, entry)
        return True, entry.pending

    def _trim(self, now: float) -> None:
        heap, entries = self._expiry_heap, self._entries
        while heap and (heap[0][0] <= now or len(entries) > MAX_TRACKED or len(heap) > 2 * MAX_TRACKED):
            expires, _, key = heapq.heappop(heap)
            entry = entries.get(key)
            if entry is not None and entry.expires == expires:
                del entries[key]
                self._close_challenge(key[0], entry)  # type: ignore[index]

    def _close_challenge(self, destination: bytes, entry: _Entry) -> None:
        """Forget the destination's open challenge if ``entry`` is it (a lapsed one must not hide a newer one)."""
        challenge = entry.pending is not None and entry.pending.legacy_challenge
        if challenge and self._challenges.get(destination) == entry.expires:
            del self._challenges[destination]
