"""Kad IDs kept as uint64 column pairs, one pair per contact class, for closest-k without a filter pass.

A class is (verified, type). A query names the classes it accepts and runs ``closest_k`` on each of those
columns as they stand (views, no copy), then merges the few candidates: the cost is one pass over the
eligible IDs, whatever the filter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from mule import _core

_U64 = (1 << 64) - 1
_INITIAL_CAPACITY = 16

ClosestK = Callable[[np.ndarray, np.ndarray, int, int], np.ndarray]


class _Column:
    __slots__ = ("hi", "ids", "lo")

    def __init__(self) -> None:
        self.hi = np.empty(_INITIAL_CAPACITY, dtype=np.uint64)
        self.lo = np.empty(_INITIAL_CAPACITY, dtype=np.uint64)
        self.ids: list[int] = []

    def append(self, kad_id: int) -> int:
        slot = len(self.ids)
        if slot == self.hi.size:  # doubling keeps appends amortised O(1)
            self.hi = np.concatenate((self.hi, np.empty_like(self.hi)))
            self.lo = np.concatenate((self.lo, np.empty_like(self.lo)))
        self.hi[slot] = kad_id >> 64
        self.lo[slot] = kad_id & _U64
        self.ids.append(kad_id)
        return slot

    def pop_slot(self, slot: int) -> int | None:
        """Remove ``slot`` by moving the last ID into it; return the moved ID (None if it was the last)."""
        last = len(self.ids) - 1
        moved = None
        if slot != last:
            moved = self.ids[last]
            self.ids[slot] = moved
            self.hi[slot] = self.hi[last]
            self.lo[slot] = self.lo[last]
        self.ids.pop()
        return moved


class ContactColumns:
    __slots__ = ("_closest_k", "_columns", "_where")

    def __init__(self, classes: int, closest_k: ClosestK | None = None) -> None:
        self._closest_k = closest_k or _core.closest_k
        self._columns = [_Column() for _ in range(classes)]
        self._where: dict[int, tuple[int, int]] = {}  # kad_id -> (class, slot)

    def __len__(self) -> int:
        return len(self._where)

    def put(self, kad_id: int, cls: int) -> None:
        """Insert ``kad_id`` in class ``cls``, or move it there."""
        where = self._where.get(kad_id)
        if where is not None:
            if where[0] == cls:
                return
            self.discard(kad_id)
        self._where[kad_id] = (cls, self._columns[cls].append(kad_id))

    def discard(self, kad_id: int) -> None:
        where = self._where.pop(kad_id, None)
        if where is None:
            return
        cls, slot = where
        moved = self._columns[cls].pop_slot(slot)
        if moved is not None:
            self._where[moved] = (cls, slot)

    def closest(self, target: int, k: int, classes: Iterable[int]) -> list[int]:
        """The ``k`` IDs nearest to ``target`` (XOR) among the given classes, nearest first."""
        if k <= 0:
            return []
        candidates: list[int] = []
        for cls in classes:
            column = self._columns[cls]
            n = len(column.ids)
            if n:
                picked = self._closest_k(column.hi[:n], column.lo[:n], target, k)
                candidates.extend(column.ids[i] for i in picked.tolist())
        candidates.sort(key=lambda kad_id: kad_id ^ target)
        return candidates[:k]
