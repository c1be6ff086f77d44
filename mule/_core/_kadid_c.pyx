# cython: language_level=3
"""128-bit Kad IDs and XOR distance: the compiled twin of ``_kadid_py``."""

from libc.stdint cimport uint32_t, uint64_t
from libc.stdlib cimport free, malloc

import numpy as np

cimport numpy as cnp

from mule._core.errors import FramingError

cnp.import_array()

ID_BITS = 128
ID_BYTES = 16
_ID_LIMIT = 1 << 128
_U64 = (1 << 64) - 1


cdef inline uint32_t _le32(const unsigned char* p) noexcept nogil:
    return p[0] | (<uint32_t>p[1] << 8) | (<uint32_t>p[2] << 16) | (<uint32_t>p[3] << 24)


def id_from_wire(data, Py_ssize_t offset=0):
    """Read a Kad ID from its 16-byte iMule wire form at ``offset``."""
    cdef const unsigned char[::1] view = data
    if offset < 0 or view.shape[0] - offset < 16:
        raise FramingError("kad id needs 16 bytes")
    cdef const unsigned char* p = &view[offset]
    cdef uint64_t hi = (<uint64_t>_le32(p) << 32) | _le32(p + 4)
    cdef uint64_t lo = (<uint64_t>_le32(p + 8) << 32) | _le32(p + 12)
    return (<object>hi << 64) | <object>lo


def id_to_wire(value):
    """The 16-byte iMule wire form of a Kad ID."""
    if not isinstance(value, int) or not 0 <= value < _ID_LIMIT:
        raise FramingError("kad id out of range")
    cdef uint64_t hi = value >> 64
    cdef uint64_t lo = value & _U64
    cdef unsigned char out[16]
    cdef uint32_t words[4]
    words[0] = <uint32_t>(hi >> 32)
    words[1] = <uint32_t>hi
    words[2] = <uint32_t>(lo >> 32)
    words[3] = <uint32_t>lo
    cdef int w, b
    for w in range(4):
        for b in range(4):
            out[4 * w + b] = (words[w] >> (8 * b)) & 0xFF
    return out[:16]


def id_from_md4(digest):
    """A Kad ID from an MD4 digest: iMule loads each 4-byte group big-endian."""
    if len(digest) != 16:
        raise FramingError("md4 digest must be 16 bytes")
    return int.from_bytes(digest, "big")


def xor_distance(a, b):
    return a ^ b


def common_prefix_length(a, b):
    """How many leading bits two IDs share (128 for equal IDs)."""
    return ID_BITS - (a ^ b).bit_length()


def compare_distance(target, a, b):
    """-1, 0 or 1 as ``a`` is closer to, as close as, or farther from ``target`` than ``b``."""
    da = a ^ target
    db = b ^ target
    return (da > db) - (da < db)


cdef struct Entry:
    uint64_t hi
    uint64_t lo
    Py_ssize_t index


cdef inline bint _farther(Entry* x, Entry* y) noexcept nogil:
    """Whether x sorts after y (distance, then index)."""
    if x.hi != y.hi:
        return x.hi > y.hi
    if x.lo != y.lo:
        return x.lo > y.lo
    return x.index > y.index


cdef void _select(Entry* heap, Py_ssize_t k, const uint64_t* hi, const uint64_t* lo, Py_ssize_t n,
                  uint64_t t_hi, uint64_t t_lo) noexcept nogil:
    """Fill ``heap`` (a max-heap, farthest on top) with the k nearest of the n IDs."""
    cdef Entry cand
    cdef Entry tmp
    cdef Py_ssize_t i, j, parent, size = 0
    for i in range(n):
        cand.hi = hi[i] ^ t_hi
        cand.lo = lo[i] ^ t_lo
        cand.index = i
        if size < k:
            heap[size] = cand
            j = size
            size += 1
            while j > 0:
                parent = (j - 1) // 2
                if not _farther(&heap[j], &heap[parent]):
                    break
                tmp = heap[j]
                heap[j] = heap[parent]
                heap[parent] = tmp
                j = parent
        elif _farther(&heap[0], &cand):
            heap[0] = cand
            _sift_down(heap, size, 0)


cdef void _sift_down(Entry* heap, Py_ssize_t size, Py_ssize_t at) noexcept nogil:
    cdef Py_ssize_t child
    cdef Entry tmp
    while True:
        child = 2 * at + 1
        if child >= size:
            return
        if child + 1 < size and _farther(&heap[child + 1], &heap[child]):
            child += 1
        if not _farther(&heap[child], &heap[at]):
            return
        tmp = heap[at]
        heap[at] = heap[child]
        heap[child] = tmp
        at = child


def closest_k(ids_hi, ids_lo, target, Py_ssize_t k):
    """Indices of the ``k`` IDs closest to ``target``, nearest first, ties by index.

    The IDs are held as two uint64 columns (high and low halves). A k-sized max-heap
    keeps the work at O(n log k) in one pass over the columns.
    """
    if np.ndim(ids_hi) != 1 or np.ndim(ids_lo) != 1 or np.shape(ids_hi) != np.shape(ids_lo):
        raise ValueError("id columns must be 1-D and of equal length")
    cdef const uint64_t[::1] hi = np.ascontiguousarray(ids_hi, dtype=np.uint64)
    cdef const uint64_t[::1] lo = np.ascontiguousarray(ids_lo, dtype=np.uint64)
    cdef Py_ssize_t n = hi.shape[0]
    if k <= 0 or n == 0:
        return np.empty(0, dtype=np.intp)
    if k > n:
        k = n
    cdef uint64_t t_hi = (target >> 64) & _U64
    cdef uint64_t t_lo = target & _U64
    cdef cnp.ndarray[cnp.intp_t, ndim=1] out = np.empty(k, dtype=np.intp)
    cdef Entry* heap = <Entry*>malloc(k * sizeof(Entry))
    if heap == NULL:
        raise MemoryError()
    cdef Py_ssize_t i, size = k
    with nogil:
        _select(heap, k, &hi[0], &lo[0], n, t_hi, t_lo)
        # Pop the heap: the farthest entry leaves first and goes to the back.
        for i in range(k - 1, -1, -1):
            out[i] = heap[0].index
            size -= 1
            heap[0] = heap[size]
            _sift_down(heap, size, 0)
    free(heap)
    return out
