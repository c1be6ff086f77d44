"""Lateness accounting: how far after its planned release each message really reached the transport.

The shaper promises a delay law; lateness is how much the host (scheduler, CPU
load, GC) bends it. Only the most recent samples are kept, in a fixed ring, so
accounting never grows with traffic.
"""

from __future__ import annotations

from array import array

import numpy as np


class LatenessLog:
    __slots__ = ("_count", "_ring", "max_seen")

    def __init__(self, capacity: int) -> None:
        self._ring = array("d", bytes(8 * capacity))
        self._count = 0
        self.max_seen = 0.0

    @property
    def count(self) -> int:
        """Messages recorded since start (the ring keeps only the last ``capacity``)."""
        return self._count

    def record(self, planned: float, actual: float) -> None:
        lateness = actual - planned
        self._ring[self._count % len(self._ring)] = lateness
        self._count += 1
        if lateness > self.max_seen:
            self.max_seen = lateness

    def samples(self) -> np.ndarray:
        """The retained lateness samples in seconds (order not meaningful)."""
        return np.frombuffer(self._ring, dtype=np.float64)[: min(self._count, len(self._ring))].copy()

    def quantiles(self, qs: tuple[float, ...] = (0.5, 0.99)) -> tuple[float, ...]:
        samples = self.samples()
        if samples.size == 0:
            return tuple(0.0 for _ in qs)
        return tuple(float(v) for v in np.quantile(samples, qs))
