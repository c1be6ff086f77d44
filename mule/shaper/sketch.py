"""Per-peer rate limits in fixed memory: a count-min sketch of iMule's leaky buckets.

iMule limits each (peer, opcode) with a counter that drains by one every ``window / limit``
seconds and refuses a request that would take it above ``limit`` (iMule 2.3.3.3
``src/kademlia/net/PacketTracking.cpp``, ``InTrackListIsAllowedPacket``). That counter is the
generic cell rate algorithm: keep a *theoretical arrival time* (TAT); a request at ``now`` is
allowed if ``max(TAT, now) - now <= (limit - 1) * interval``, and then ``TAT = max(TAT, now) + interval``.

Here each key's TAT is not stored but estimated: ``depth`` rows of ``width`` cells, the key
hashed (keyed BLAKE2b, a per-node secret, so nobody can aim collisions at a victim) to one
cell per row. A cell holds the largest TAT of the keys that share it, so the smallest of a
key's cells is never below its own TAT: the sketch can wrongly refuse (a false positive,
documented in docs/contract.md) but never lets a peer above its limit. Updates are
conservative (a cell is raised only as far as this key's new TAT), which keeps false
positives rare. Memory is ``8 * width * depth`` bytes from the start, whatever the traffic:
there is no table to fill, so a flood of new peers cannot lock newcomers out.
"""

from __future__ import annotations

import hashlib
import math
import struct
from array import array

from mule.contract.profile import WindowCap


class RateSketch:
    __slots__ = ("_cells", "_mask", "_rows", "_secret", "_words")

    def __init__(self, width: int, depth: int, secret: bytes) -> None:
        if width < 1 or width & (width - 1) or depth < 1:
            raise ValueError("a rate sketch needs a power-of-two width and depth >= 1")
        self._mask = width - 1
        self._secret = secret[: hashlib.blake2b.MAX_KEY_SIZE]
        self._cells = array("d", [-math.inf]) * (width * depth)
        self._words = struct.Struct(f"<{depth}I")  # one little-endian index word per row
        self._rows = range(0, width * depth, width)  # each row's first cell

    @property
    def memory_bytes(self) -> int:
        return self._cells.itemsize * len(self._cells)

    def _indices(self, key: bytes) -> list[int]:
        digest = hashlib.blake2b(key, digest_size=self._words.size, key=self._secret).digest()
        mask = self._mask
        return [row + (word & mask) for row, word in zip(self._rows, self._words.unpack(digest), strict=True)]

    def allow(self, key: bytes, now: float, cap: WindowCap) -> bool:
        """Count one event for ``key`` at ``now`` if its bucket has room; otherwise refuse and count nothing."""
        cells = self._cells
        indices = self._indices(key)
        interval = cap.window / cap.limit
        arrival = max(min([cells[i] for i in indices]), now)
        if arrival - now > (cap.limit - 1) * interval:
            return False
        arrival += interval
        for i in indices:
            if cells[i] < arrival:
                cells[i] = arrival
        return True
