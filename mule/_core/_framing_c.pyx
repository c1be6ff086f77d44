# cython: language_level=3
"""Bounds-checked little-endian reader and writer: the compiled twin of ``_framing_py``.

Every short read, oversized value or bad argument raises ``FramingError`` and
nothing else.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from libc.stdint cimport uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy

from mule._core.errors import FramingError

_ID_LIMIT = 1 << 128
_U64 = (1 << 64) - 1


cdef class Reader:
    cdef bytes _data
    cdef const unsigned char* _p
    cdef Py_ssize_t _size
    cdef Py_ssize_t _offset

    def __init__(self, data, Py_ssize_t offset=0):
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise FramingError("reader needs bytes")
        self._data = bytes(data)
        self._p = <const unsigned char*>PyBytes_AS_STRING(self._data)
        self._size = len(self._data)
        if offset < 0 or offset > self._size:
            raise FramingError("offset outside the buffer")
        self._offset = offset

    @property
    def offset(self):
        return self._offset

    def remaining(self):
        return self._size - self._offset

    cdef inline Py_ssize_t _take(self, Py_ssize_t n) except -1:
        cdef Py_ssize_t start = self._offset
        if n < 0 or self._size - start < n:
            raise FramingError(f"need {n} bytes, {self._size - start} left")
        self._offset = start + n
        return start

    cdef inline uint64_t _le(self, Py_ssize_t start, int size) noexcept:
        cdef uint64_t value = 0
        cdef int i
        for i in range(size - 1, -1, -1):
            value = (value << 8) | self._p[start + i]
        return value

    def u8(self):
        return self._p[self._take(1)]

    def u16(self):
        return <unsigned int>self._le(self._take(2), 2)

    def u32(self):
        return <unsigned long>self._le(self._take(4), 4)

    def u64(self):
        return self._le(self._take(8), 8)

    def uint128(self):
        cdef Py_ssize_t start = self._take(16)
        cdef uint64_t hi = (self._le(start, 4) << 32) | self._le(start + 4, 4)
        cdef uint64_t lo = (self._le(start + 8, 4) << 32) | self._le(start + 12, 4)
        return (<object>hi << 64) | <object>lo

    def raw(self, Py_ssize_t n):
        cdef Py_ssize_t start = self._take(n)
        return PyBytes_FromStringAndSize(<const char*>self._p + start, n)

    def skip(self, Py_ssize_t n):
        self._take(n)

    def string(self):
        """A u16-length-prefixed byte string."""
        cdef Py_ssize_t length = self._le(self._take(2), 2)
        cdef Py_ssize_t start = self._take(length)
        return PyBytes_FromStringAndSize(<const char*>self._p + start, length)

    def rest(self):
        return self.raw(self._size - self._offset)


cdef class Writer:
    """Appends into a growable C buffer; ``getvalue`` copies it out once."""

    cdef unsigned char* _buf
    cdef Py_ssize_t _len
    cdef Py_ssize_t _cap

    def __cinit__(self):
        self._cap = 256
        self._len = 0
        self._buf = <unsigned char*>malloc(self._cap)
        if self._buf == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self._buf)

    def __len__(self):
        return self._len

    cdef unsigned char* _grow(self, Py_ssize_t n) except NULL:
        """Room for ``n`` more bytes; returns where they go."""
        cdef Py_ssize_t cap = self._cap
        cdef unsigned char* grown
        if self._len + n > cap:
            while self._len + n > cap:
                cap *= 2
            grown = <unsigned char*>realloc(self._buf, cap)
            if grown == NULL:
                raise MemoryError()
            self._buf = grown
            self._cap = cap
        grown = self._buf + self._len
        self._len += n
        return grown

    cdef _int(self, value, int size):
        if not isinstance(value, int) or value < 0 or value >> (8 * size):
            raise FramingError(f"{value!r} does not fit {size} bytes")
        cdef uint64_t v = value
        cdef unsigned char* out = self._grow(size)
        cdef int i
        for i in range(size):
            out[i] = (v >> (8 * i)) & 0xFF

    cdef _bytes(self, data):
        cdef bytes chunk = data if type(data) is bytes else bytes(data)
        cdef Py_ssize_t n = len(chunk)
        memcpy(self._grow(n), PyBytes_AS_STRING(chunk), n)

    def u8(self, value):
        self._int(value, 1)

    def u16(self, value):
        self._int(value, 2)

    def u32(self, value):
        self._int(value, 4)

    def u64(self, value):
        self._int(value, 8)

    def uint128(self, value):
        if not isinstance(value, int) or not 0 <= value < _ID_LIMIT:
            raise FramingError("kad id out of range")
        cdef uint64_t hi = value >> 64
        cdef uint64_t lo = value & _U64
        cdef uint64_t words[4]
        words[0] = hi >> 32
        words[1] = hi & 0xFFFFFFFF
        words[2] = lo >> 32
        words[3] = lo & 0xFFFFFFFF
        cdef unsigned char* out = self._grow(16)
        cdef int w, b
        for w in range(4):
            for b in range(4):
                out[4 * w + b] = (words[w] >> (8 * b)) & 0xFF

    def raw(self, data):
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise FramingError("raw needs bytes")
        self._bytes(data)

    def string(self, data):
        """A u16 length, then the bytes."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise FramingError("string needs bytes")
        cdef bytes chunk = data if type(data) is bytes else bytes(data)
        if len(chunk) > 0xFFFF:
            raise FramingError("string longer than 65535 bytes")
        self._int(len(chunk), 2)
        self._bytes(chunk)

    def getvalue(self):
        return PyBytes_FromStringAndSize(<const char*>self._buf, self._len)
