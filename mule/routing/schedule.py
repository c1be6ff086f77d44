"""When each contact is due for a probe or for removal: heaps with lazy invalidation, O(log n) per change.

Every state change of a contact gives it a new stamp and a new heap entry; entries with an old stamp are
skipped when they reach the top, and the heaps are rebuilt when stale entries outnumber live ones.
"""

from __future__ import annotations

import heapq
from itertools import count

from mule.routing.constants import PROBE_GUARD, TYPE_DEAD
from mule.routing.contact import Contact

_COMPACT_FACTOR = 4
_COMPACT_FLOOR = 64


def probe_due_at(contact: Contact) -> float:
    """When a live-typed contact may next be probed: expired (expiry 0 counts as expired), and no type change
    within ``PROBE_GUARD`` of the previous probe or of its creation (iMule m_lastTypeSet starts at m_created)."""
    return max(contact.expires, contact.last_probed + PROBE_GUARD, contact.created + PROBE_GUARD)


class ProbeSchedule:
    """Contacts waiting to be due, contacts due (oldest probe first), and type-4 contacts waiting to expire."""

    __slots__ = ("_dying", "_ready", "_stamp", "_stamps", "_waiting")

    def __init__(self) -> None:
        self._stamps = count()
        self._stamp: dict[int, int] = {}
        self._waiting: list[tuple[float, int, int, float]] = []  # (due_at, stamp, kad_id, last_probed)
        self._ready: list[tuple[float, float, int, int]] = []  # (last_probed, due_at, stamp, kad_id)
        self._dying: list[tuple[float, int, int]] = []  # (expires, stamp, kad_id)

    def track(self, contact: Contact) -> None:
        """Record the contact's current state (call after every change to its type, expiry or probe time)."""
        stamp = next(self._stamps)
        self._stamp[contact.kad_id] = stamp
        if contact.type < TYPE_DEAD:
            heapq.heappush(self._waiting, (probe_due_at(contact), stamp, contact.kad_id, contact.last_probed))
        else:
            heapq.heappush(self._dying, (contact.expires, stamp, contact.kad_id))
        entries = len(self._waiting) + len(self._ready) + len(self._dying)
        if entries > _COMPACT_FACTOR * len(self._stamp) + _COMPACT_FLOOR:
            self._compact()

    def forget(self, kad_id: int) -> None:
        self._stamp.pop(kad_id, None)

    def pop_due(self, now: float) -> int | None:
        """The due contact whose last probe is oldest (never probed first), or None; it leaves the schedule
        until it is tracked again."""
        waiting, ready = self._waiting, self._ready
        while waiting and waiting[0][0] <= now:
            due_at, stamp, kad_id, last_probed = heapq.heappop(waiting)
            if self._stamp.get(kad_id) == stamp:
                heapq.heappush(ready, (last_probed, due_at, stamp, kad_id))
        while ready:
            _, _, stamp, kad_id = heapq.heappop(ready)
            if self._stamp.get(kad_id) == stamp:  # unchanged since it became due, so still due
                return kad_id
        return None

    def pop_expired(self, now: float) -> list[int]:
        """Type-4 contacts whose expiry has passed (expiry 0 never passes: iMule requires m_expires > 0)."""
        out = []
        dying = self._dying
        while dying and dying[0][0] <= now:
            expires, stamp, kad_id = heapq.heappop(dying)
            if expires > 0 and self._stamp.get(kad_id) == stamp:
                out.append(kad_id)
        return out

    def _compact(self) -> None:
        live = self._stamp
        self._waiting = [entry for entry in self._waiting if live.get(entry[2]) == entry[1]]
        self._ready = [entry for entry in self._ready if live.get(entry[3]) == entry[2]]
        self._dying = [entry for entry in self._dying if live.get(entry[2]) == entry[1]]
        for heap in (self._waiting, self._ready, self._dying):
            heapq.heapify(heap)
