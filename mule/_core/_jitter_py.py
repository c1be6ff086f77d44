"""Bounded jitter sampler: the pure-Python twin of ``_jitter_c``.

Every draw is ``base + jitter * u`` with ``u`` uniform on the closed interval [0, 1]
at 53-bit resolution, so a value never leaves [base, base + jitter]. The choice of
the uniform law is explained in docs/contract.md.
"""

from __future__ import annotations

import math

import numpy as np

from mule._core.keystream import Keystream

BATCH_DRAWS = 512
_U53_MAX = float((1 << 53) - 1)


class JitterSampler:
    __slots__ = ("_base", "_jitter", "_keystream", "_next", "_pool")

    def __init__(self, base: float, jitter: float, seed: bytes | None = None) -> None:
        if not (math.isfinite(base) and math.isfinite(jitter)) or base < 0 or jitter <= 0:
            raise ValueError("jitter sampler needs finite base >= 0 and jitter > 0")
        self._base = float(base)
        self._jitter = float(jitter)
        self._keystream = Keystream(seed)
        self._pool: list[float] = []
        self._next = 0

    @property
    def low(self) -> float:
        return self._base

    @property
    def high(self) -> float:
        return self._base + self._jitter * 1.0

    def _units(self, count: int) -> np.ndarray:
        words = np.frombuffer(self._keystream.read(8 * count), dtype="<u8") >> np.uint64(11)
        return words.astype(np.float64) / _U53_MAX

    def draw(self) -> float:
        if self._next == len(self._pool):
            self._pool = (self._base + self._jitter * self._units(BATCH_DRAWS)).tolist()
            self._next = 0
        value = self._pool[self._next]
        self._next += 1
        return value

    def draw_many(self, count: int) -> np.ndarray:
        """``count`` draws as a float64 array, continuing the same stream as ``draw``."""
        out = np.empty(count, dtype=np.float64)
        for i in range(count):
            out[i] = self.draw()
        return out
