# cython: language_level=3
"""Bounded jitter sampler: the compiled twin of ``_jitter_py``.

Draws ``base + jitter * u`` with ``u = k / (2**53 - 1)`` for 53-bit ``k`` from the
ChaCha20 keystream, in the same 512-draw batches and the same double operations
as the pure twin, so a seeded stream gives bit-identical values in both.
"""

import math

import numpy as np

from libc.stdint cimport uint64_t

from mule._core.keystream import Keystream

BATCH_DRAWS = 512
DEF _BATCH = 512
cdef double _U53_MAX = <double>((1 << 53) - 1)


cdef class JitterSampler:
    cdef double _base
    cdef double _jitter
    cdef object _keystream
    cdef double _pool[_BATCH]
    cdef int _next

    def __init__(self, base, jitter, seed=None):
        if not (math.isfinite(base) and math.isfinite(jitter)) or base < 0 or jitter <= 0:
            raise ValueError("jitter sampler needs finite base >= 0 and jitter > 0")
        self._base = base
        self._jitter = jitter
        self._keystream = Keystream(seed)
        self._next = _BATCH

    @property
    def low(self):
        return self._base

    @property
    def high(self):
        return self._base + self._jitter * 1.0

    cdef int _refill(self) except -1:
        cdef bytes block = self._keystream.read(8 * _BATCH)
        cdef const unsigned char* p = block
        cdef uint64_t word
        cdef int i, b
        for i in range(_BATCH):
            word = 0
            for b in range(7, -1, -1):
                word = (word << 8) | p[8 * i + b]
            self._pool[i] = self._base + self._jitter * (<double>(word >> 11) / _U53_MAX)
        self._next = 0
        return 0

    cpdef double draw(self) except -1.0:
        if self._next == _BATCH:
            self._refill()
        self._next += 1
        return self._pool[self._next - 1]

    def draw_many(self, Py_ssize_t count):
        """``count`` draws as a float64 array, continuing the same stream as ``draw``."""
        out = np.empty(count, dtype=np.float64)
        cdef double[::1] view = out
        cdef Py_ssize_t i
        for i in range(count):
            view[i] = self.draw()
        return out
