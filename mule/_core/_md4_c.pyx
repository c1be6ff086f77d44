# cython: language_level=3
"""MD4 (RFC 1320): the compiled twin of ``_md4_py``."""

from libc.stdint cimport uint32_t, uint64_t
from libc.string cimport memcpy, memset


cdef inline uint32_t _rotl(uint32_t x, int s) noexcept nogil:
    return (x << s) | (x >> (32 - s))


cdef inline uint32_t _f(uint32_t x, uint32_t y, uint32_t z) noexcept nogil:
    return (x & y) | (~x & z)


cdef inline uint32_t _g(uint32_t x, uint32_t y, uint32_t z) noexcept nogil:
    return (x & y) | (x & z) | (y & z)


cdef inline uint32_t _h(uint32_t x, uint32_t y, uint32_t z) noexcept nogil:
    return x ^ y ^ z


cdef int[16] _R2_ORDER = [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15]
cdef int[16] _R3_ORDER = [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15]
cdef int[4] _S1 = [3, 7, 11, 19]
cdef int[4] _S2 = [3, 5, 9, 13]
cdef int[4] _S3 = [3, 9, 11, 15]


cdef void _block(uint32_t* state, const unsigned char* p) noexcept nogil:
    cdef uint32_t x[16]
    cdef uint32_t a = state[0], b = state[1], c = state[2], d = state[3], t
    cdef int i
    for i in range(16):
        x[i] = p[4 * i] | (<uint32_t>p[4 * i + 1] << 8) | (<uint32_t>p[4 * i + 2] << 16) | (<uint32_t>p[4 * i + 3] << 24)
    # Each step rotates the roles (a, b, c, d) -> (d, new, b, c), as RFC 1320 section 3.4 lists them.
    for i in range(16):
        t = _rotl(a + _f(b, c, d) + x[i], _S1[i % 4])
        a, b, c, d = d, t, b, c
    for i in range(16):
        t = _rotl(a + _g(b, c, d) + x[_R2_ORDER[i]] + 0x5A827999, _S2[i % 4])
        a, b, c, d = d, t, b, c
    for i in range(16):
        t = _rotl(a + _h(b, c, d) + x[_R3_ORDER[i]] + 0x6ED9EBA1, _S3[i % 4])
        a, b, c, d = d, t, b, c
    state[0] += a
    state[1] += b
    state[2] += c
    state[3] += d


def md4(data):
    """The 16-byte MD4 digest of ``data``."""
    cdef const unsigned char[::1] view = bytes(data)
    cdef Py_ssize_t n = view.shape[0], offset = 0, rest
    cdef uint32_t state[4]
    state[0] = 0x67452301
    state[1] = 0xEFCDAB89
    state[2] = 0x98BADCFE
    state[3] = 0x10325476
    cdef unsigned char tail[128]
    cdef uint64_t bits = (<uint64_t>n) * 8
    cdef int i, tail_len
    with nogil:
        while n - offset >= 64:
            _block(state, &view[offset])
            offset += 64
        rest = n - offset
        memset(tail, 0, 128)
        if rest:
            memcpy(tail, &view[offset], rest)
        tail[rest] = 0x80
        tail_len = 64 if rest < 56 else 128
        for i in range(8):
            tail[tail_len - 8 + i] = (bits >> (8 * i)) & 0xFF
        _block(state, tail)
        if tail_len == 128:
            _block(state, tail + 64)
    cdef unsigned char out[16]
    for i in range(16):
        out[i] = (state[i // 4] >> (8 * (i % 4))) & 0xFF
    return out[:16]
