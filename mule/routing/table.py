"""iMule 2.3.3.3's routing table, sans-IO: time is an argument and randomness is injected.

The zone tree (``zone.py``) decides who may enter; ``contact.py`` ages contacts; ``schedule.py`` picks the
contact to probe and the dead to drop; ``columns.py`` answers closest-k. docs/routing.md has every rule with
its iMule source and every place mule differs.
"""

from __future__ import annotations

from mule._core.shuffle import Shuffler
from mule.kad.destination import hash_code
from mule.routing.columns import ClosestK, ContactColumns
from mule.routing.constants import (
    CONSOLIDATE_INTERVAL,
    EARLY_REFRESH_AFTER,
    ID_BITS,
    LOG_BASE_EXPONENT,
    REFRESH_GATE,
    RES_MAX_TYPE,
    TYPE_DEAD,
    ZONE_REFRESH_INTERVAL,
    K,
)
from mule.routing.contact import Contact, mark_probed, mark_seen_alive
from mule.routing.schedule import ProbeSchedule
from mule.routing.zone import Zone, ZoneSummary

_ID_LIMIT = 1 << ID_BITS
_TYPES = TYPE_DEAD + 1


def _column_class(contact: Contact) -> int:
    return contact.type + _TYPES * contact.verified


class RoutingTable:
    __slots__ = (
        "_by_hash",
        "_by_id",
        "_columns",
        "_dense",
        "_dense_slot",
        "_last_contact",
        "_next_consolidate",
        "_next_refresh_gate",
        "_rand",
        "_root",
        "_schedule",
        "own_id",
    )

    def __init__(self, own_id: int, now: float, rand: Shuffler, *, closest_k: ClosestK | None = None) -> None:
        self.own_id = own_id
        self._rand = rand
        self._root = Zone(0, 0, now)
        self._by_id: dict[int, Contact] = {}
        self._by_hash: dict[int, int] = {}  # destination hash_code -> kad_id (one contact per hashCode)
        self._dense: list[int] = []  # every kad_id, for O(k) uniform sampling
        self._dense_slot: dict[int, int] = {}
        self._columns = ContactColumns(2 * _TYPES, closest_k)
        self._schedule = ProbeSchedule()
        self._next_consolidate = now + CONSOLIDATE_INTERVAL
        self._next_refresh_gate = now
        self._last_contact: float | None = None

    # -- lookups ---------------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, kad_id: int) -> bool:
        return kad_id in self._by_id

    def get(self, kad_id: int) -> Contact | None:
        return self._by_id.get(kad_id)

    def by_destination(self, destination: bytes) -> Contact | None:
        """The contact holding this destination's ``hash_code`` (iMule compares destinations by it)."""
        kad_id = self._by_hash.get(hash_code(destination))
        return None if kad_id is None else self._by_id[kad_id]

    def contacts(self) -> list[Contact]:
        return list(self._by_id.values())

    def zones(self) -> list[ZoneSummary]:
        return [leaf.summary() for leaf in self._root.leaves()]

    # -- admission and updates -------------------------------------------------------------------------------

    def add(
        self,
        kad_id: int,
        destination: bytes,
        version: int,
        now: float,
        *,
        verified: bool = False,
        udp_key: int = 0,
        update: bool = True,
    ) -> bool:
        """Add a new contact or update a known one; True when the table took it (iMule RoutingZone::Add).

        ``update=False`` is for contacts only heard of (KADEMLIA2_RES, BOOTSTRAP_RES lists): like iMule, they
        may be added but never refresh a known contact.
        """
        if not 0 < kad_id < _ID_LIMIT or kad_id == self.own_id:
            return False
        self._last_contact = now
        known = self._by_id.get(kad_id)
        if known is not None:
            return update and self._update(known, destination, version, now, verified, udp_key)
        dest_key = hash_code(destination)
        if dest_key in self._by_hash:
            return False
        distance = self.own_id ^ kad_id
        leaf = self._leaf_for(distance)
        while len(leaf.bin) >= K:
            if leaf.can_split():
                leaf.split(self.own_id, now)
                leaf = leaf.child_for(distance)
                continue
            dead = next((c for c in leaf.bin.values() if c.type == TYPE_DEAD), None) if verified else None
            if dead is None:
                return False
            self.remove(dead.kad_id)
        contact = Contact(kad_id, destination, version, now, now, verified=verified, udp_key=udp_key)
        leaf.bin[kad_id] = contact
        self._by_id[kad_id] = contact
        self._by_hash[dest_key] = kad_id
        self._dense_slot[kad_id] = len(self._dense)
        self._dense.append(kad_id)
        self._changed(contact)
        return True

    def _update(self, known: Contact, destination: bytes, version: int, now: float, verified: bool, key: int) -> bool:
        # iMule refuses an update whose sender key differs from a stored one (hijack guard) and one that would
        # lower the version; mule also refuses any change of destination (iMule compares only hashCode).
        if destination != known.destination or (known.udp_key and key != known.udp_key) or version < known.version:
            return False
        known.version = version
        known.udp_key = key
        known.verified = known.verified or verified
        self._seen_alive(known, now)
        return True

    def seen_alive(self, kad_id: int, now: float) -> None:
        """The contact answered or spoke to us: iMule SetAlive (UpdateType, then to the back of its bin)."""
        contact = self._by_id.get(kad_id)
        if contact is not None:
            self._last_contact = now
            self._seen_alive(contact, now)

    def _seen_alive(self, contact: Contact, now: float) -> None:
        mark_seen_alive(contact, now)
        leaf = self._leaf_for(self.own_id ^ contact.kad_id)
        del leaf.bin[contact.kad_id]
        leaf.bin[contact.kad_id] = contact
        self._changed(contact)

    def record_packet(self, now: float) -> None:
        """A Kad packet arrived (iMule SetLastContact); a table that hears nothing refreshes its zones early."""
        self._last_contact = now

    def set_verified(self, kad_id: int) -> None:
        contact = self._by_id.get(kad_id)
        if contact is not None and not contact.verified:
            contact.verified = True
            self._columns.put(kad_id, _column_class(contact))

    def set_all_verified(self) -> None:
        """iMule SetAllContactsVerified: a nodes.dat without any verified contact is trusted once."""
        for kad_id in self._dense:
            self.set_verified(kad_id)

    def set_udp_key(self, kad_id: int, key: int) -> None:
        contact = self._by_id.get(kad_id)
        if contact is not None:
            contact.udp_key = key

    def remove(self, kad_id: int) -> bool:
        contact = self._by_id.pop(kad_id, None)
        if contact is None:
            return False
        del self._leaf_for(self.own_id ^ kad_id).bin[kad_id]
        del self._by_hash[hash_code(contact.destination)]
        slot = self._dense_slot.pop(kad_id)
        last = self._dense.pop()
        if last != kad_id:
            self._dense[slot] = last
            self._dense_slot[last] = slot
        self._columns.discard(kad_id)
        self._schedule.forget(kad_id)
        return True

    # -- upkeep (iMule's small timer, big timer and consolidation) -------------------------------------------

    def next_probe(self, now: float) -> Contact | None:
        """The due contact probed longest ago (never probed first), marked probed (iMule CheckingType)."""
        kad_id = self._schedule.pop_due(now)
        if kad_id is None:
            return None
        contact = self._by_id[kad_id]
        mark_probed(contact, now)
        self._changed(contact)
        return contact

    def expire(self, now: float) -> list[Contact]:
        """Remove and return the type-4 contacts whose expiry has passed (iMule OnSmallTimer)."""
        dead = [self._by_id[kad_id] for kad_id in self._schedule.pop_expired(now)]
        for contact in dead:
            self.remove(contact.kad_id)
        return dead

    def refresh_target(self, now: float) -> int | None:
        """A random ID inside the leaf most overdue for its hourly lookup (iMule OnBigTimer), or None.

        At most one per ``REFRESH_GATE``; once no packet arrived for ``EARLY_REFRESH_AFTER`` every eligible
        leaf counts as due, taken in turn by how overdue it is.
        """
        if now < self._next_refresh_gate:
            return None
        quiet = self._last_contact is not None and now - self._last_contact > EARLY_REFRESH_AFTER
        due = [leaf for leaf in self._root.leaves() if leaf.wants_refresh() and (quiet or leaf.next_refresh <= now)]
        if not due:
            return None
        zone = min(due, key=lambda leaf: (leaf.next_refresh, leaf.level, leaf.index))
        zone.next_refresh = now + ZONE_REFRESH_INTERVAL
        self._next_refresh_gate = now + REFRESH_GATE
        free_bits = ID_BITS - zone.level
        distance = (zone.index << free_bits) | (self._random_bits() & ((1 << free_bits) - 1))
        return self.own_id ^ distance

    def consolidate(self, now: float) -> int:
        """iMule's 45-minute merge of nearly empty sibling leaves; the number of merges (0 until due)."""
        if now < self._next_consolidate:
            return 0
        self._next_consolidate = now + CONSOLIDATE_INTERVAL
        return self._root.consolidate(now)

    # -- answers ---------------------------------------------------------------------------------------------

    def closest(
        self, target: int, k: int, *, max_type: int = RES_MAX_TYPE, verified_only: bool = True
    ) -> list[Contact]:
        """Up to ``k`` contacts nearest to ``target`` by XOR distance, nearest first (iMule GetClosestToTarget:
        dest-verified contacts of type <= ``max_type``). Shuffle before putting them on the wire."""
        types = range(min(max_type, TYPE_DEAD) + 1)
        classes = [t + _TYPES for t in types] + ([] if verified_only else list(types))
        return [self._by_id[kad_id] for kad_id in self._columns.closest(target, k, classes)]

    def random_contacts(self, k: int, *, exclude: bytes | None = None) -> list[Contact]:
        """``k`` distinct contacts, every subset and order equally likely, in O(k) draws (sparse Fisher–Yates)."""
        n = len(self._dense)
        moved: dict[int, int] = {}  # virtual swaps over the dense list
        excluded = None if exclude is None else self._by_hash.get(hash_code(exclude))
        if excluded is not None:
            n -= 1
            moved[self._dense_slot[excluded]] = n  # the last slot stands in for the excluded one
        out = []
        for i in range(min(k, n)):
            j = i + self._rand.below(n - i)
            pick = moved.get(j, j)
            moved[j] = moved.get(i, i)
            out.append(self._by_id[self._dense[pick]])
        return out

    def bootstrap_contacts(self, limit: int) -> list[Contact]:
        """iMule GetBootstrapContacts / TopDepth(LOG_BASE_EXPONENT): every leaf in the top levels, one random
        leaf below each deeper branch, near zones first; the sample iMule writes to nodes.dat."""
        out: list[Contact] = []
        stack = [(self._root, LOG_BASE_EXPONENT)]
        while stack and len(out) < limit:
            zone, depth = stack.pop()
            if zone.children is None:
                out.extend(zone.bin.values())
            elif depth <= 0:
                while zone.children is not None:  # iMule RandomBin
                    zone = zone.children[self._rand.below(2)]
                out.extend(zone.bin.values())
            else:
                stack.append((zone.children[1], depth - 1))
                stack.append((zone.children[0], depth - 1))
        return out[:limit]

    # -- internals -------------------------------------------------------------------------------------------

    def _leaf_for(self, distance: int) -> Zone:
        zone = self._root
        while zone.children is not None:
            zone = zone.child_for(distance)
        return zone

    def _changed(self, contact: Contact) -> None:
        self._columns.put(contact.kad_id, _column_class(contact))
        self._schedule.track(contact)

    def _random_bits(self) -> int:
        value = 0
        for _ in range(ID_BITS // 32):
            value = (value << 32) | self._rand.below(1 << 32)
        return value
