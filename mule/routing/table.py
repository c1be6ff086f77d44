"""A k-bucket routing table over Kad IDs, sans-IO.

Contacts are grouped by how many leading bits they share with our own ID (one
bucket per prefix length, ``BUCKET_SIZE`` each, as iMule's K). Like iMule, a full
bucket keeps its old contacts and refuses the newcomer (long-lived peers are the
stable ones), and at most one contact per destination ``hash_code`` is kept.

Closest-contact queries go through the core's ``closest_k`` over two uint64
columns that are kept in step with the entries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mule._core import closest_k, common_prefix_length
from mule.kad.destination import hash_code

BUCKET_SIZE = 10
ID_BITS = 128
_U64 = (1 << 64) - 1


@dataclass(slots=True)
class Contact:
    kad_id: int
    destination: bytes
    version: int
    first_seen: float
    last_seen: float
    verified: bool = False


class RoutingTable:
    __slots__ = ("_buckets", "_by_hash", "_by_id", "_hi", "_lo", "_order", "_verified", "own_id")

    def __init__(self, own_id: int) -> None:
        self.own_id = own_id
        self._by_id: dict[int, Contact] = {}
        self._by_hash: dict[int, int] = {}
        self._buckets = [0] * (ID_BITS + 1)
        # Column storage for closest-k: slot i holds self._order[i].
        self._order: list[int] = []
        self._hi = np.empty(0, dtype=np.uint64)
        self._lo = np.empty(0, dtype=np.uint64)
        self._verified = np.empty(0, dtype=bool)

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, kad_id: int) -> bool:
        return kad_id in self._by_id

    def get(self, kad_id: int) -> Contact | None:
        return self._by_id.get(kad_id)

    def contacts(self) -> list[Contact]:
        return list(self._by_id.values())

    def by_destination(self, destination: bytes) -> Contact | None:
        """The contact holding this destination's ``hash_code`` (iMule's one-contact-per-dest key)."""
        kad_id = self._by_hash.get(hash_code(destination))
        return None if kad_id is None else self._by_id[kad_id]

    def bucket_of(self, kad_id: int) -> int:
        return common_prefix_length(self.own_id, kad_id)

    def add(self, kad_id: int, destination: bytes, version: int, now: float, *, verified: bool = False) -> bool:
        """Add or refresh a contact; False when it is refused (our own ID, a taken destination, a full bucket)."""
        known = self._by_id.get(kad_id)
        if known is not None:
            if known.destination != destination:
                return False
            known.last_seen = now
            known.version = version
            if verified and not known.verified:
                known.verified = True
                self._verified[self._order.index(kad_id)] = True
            return True
        dest_key = hash_code(destination)
        bucket = self.bucket_of(kad_id)
        if kad_id == self.own_id or dest_key in self._by_hash or self._buckets[bucket] >= BUCKET_SIZE:
            return False
        self._by_id[kad_id] = Contact(kad_id, destination, version, now, now, verified)
        self._by_hash[dest_key] = kad_id
        self._buckets[bucket] += 1
        self._order.append(kad_id)
        self._hi = np.append(self._hi, np.uint64(kad_id >> 64))
        self._lo = np.append(self._lo, np.uint64(kad_id & _U64))
        self._verified = np.append(self._verified, verified)
        return True

    def remove(self, kad_id: int) -> bool:
        contact = self._by_id.pop(kad_id, None)
        if contact is None:
            return False
        del self._by_hash[hash_code(contact.destination)]
        self._buckets[self.bucket_of(kad_id)] -= 1
        slot = self._order.index(kad_id)
        del self._order[slot]
        self._hi = np.delete(self._hi, slot)
        self._lo = np.delete(self._lo, slot)
        self._verified = np.delete(self._verified, slot)
        return True

    def closest(self, target: int, k: int, *, verified_only: bool = True) -> list[Contact]:
        """Up to ``k`` contacts nearest to ``target`` by XOR distance, nearest first.

        Callers that put the result on the wire must shuffle it first (the shaper's job):
        distance order would reveal how the table is traversed.
        """
        if verified_only:
            slots = np.flatnonzero(self._verified)
            picked = slots[closest_k(self._hi[slots], self._lo[slots], target, k)]
        else:
            picked = closest_k(self._hi, self._lo, target, k)
        return [self._by_id[self._order[slot]] for slot in picked]
