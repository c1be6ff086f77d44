# cython: language_level=3
"""Bounds-checked little-endian reader and writer: the compiled twin of ``_framing_py``.

Every short read, oversized value or bad argument raises ``FramingError`` and
nothing else. The Kad structure checks (tag lists, entry lists, search trees) are
C loops here: they build no objects, so a hostile datagram costs one linear scan.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from libc.stdint cimport uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy

from mule._core.errors import FramingError

_ID_LIMIT = 1 << 128
_U64 = (1 << 64) - 1

# Tag value layouts as iMule's reader consumes them (numbers as in ``mule.kad.opcodes.TagType``).
cdef enum:
    TAG_HASH16 = 0x01
    TAG_STRING = 0x02
    TAG_UINT32 = 0x03
    TAG_FLOAT32 = 0x04
    TAG_BOOL = 0x05
    TAG_BOOLARRAY = 0x06
    TAG_BLOB = 0x07
    TAG_UINT16 = 0x08
    TAG_UINT8 = 0x09
    TAG_STR1 = 0x11
    TAG_STR16 = 0x20
    TAG_ADDRESS = 0x27
    TAG_UINT64UINT64 = 0x28
    TAG_UINT64 = 0x29
    DEST_LEN = 387
    CERTIFICATE_AT = 384
    TREE_BOOLEAN = 0x00
    TREE_KEYWORD = 0x01
    TREE_META = 0x02
    TREE_NUMERIC = 0x03
    MAX_BOOLEAN_OP = 2
    MAX_COMPARE_OP = 5


cdef inline int _int_tag_size(int tag_type) noexcept:
    if tag_type == TAG_UINT8:
        return 1
    if tag_type == TAG_UINT16:
        return 2
    if tag_type == TAG_UINT32:
        return 4
    if tag_type == TAG_UINT64:
        return 8
    return -1


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

    def skip_tag_list(self):
        """Check one Kad tag list (u8 count, then tags) as iMule reads it; returns its bytes."""
        cdef Py_ssize_t start = self._offset
        self._skip_tag_list()
        return PyBytes_FromStringAndSize(<const char*>self._p + start, self._offset - start)

    def skip_entries(self):
        """Check a u16 count of (Kad ID, tag list) entries; returns their bytes, count included."""
        cdef Py_ssize_t start = self._offset
        cdef Py_ssize_t count = self._le(self._take(2), 2)
        cdef Py_ssize_t i
        for i in range(count):
            self._take(16)
            self._skip_tag_list()
        return PyBytes_FromStringAndSize(<const char*>self._p + start, self._offset - start)

    def skip_search_tree(self, int max_depth):
        """Check one prefix-encoded search-expression tree of at most ``max_depth`` levels; returns its bytes."""
        cdef Py_ssize_t start = self._offset
        self._skip_tree(max_depth)
        return PyBytes_FromStringAndSize(<const char*>self._p + start, self._offset - start)

    cdef int _tag_header(self) except -1:
        """The tag type after iMule's header and debug serial (see the pure twin for the old-style header)."""
        cdef int tag_type = self._p[self._take(1)]
        if tag_type & 0x80:
            tag_type &= 0x7F
            self._take(1)
        elif self._le(self._take(2), 2) == 1:
            self._take(1)
        self._take(4)
        return tag_type

    cdef int _skip_int_tag(self) except -1:
        cdef int size = _int_tag_size(self._tag_header())
        if size < 0:
            raise FramingError("integer tag expected")
        self._take(size)
        return 0

    cdef int _skip_tag_list(self) except -1:
        cdef int count = self._p[self._take(1)]
        cdef int i
        for i in range(count):
            self._skip_tag()
        return 0

    cdef int _skip_tag(self) except -1:
        cdef int tag_type = self._tag_header()
        cdef int size = _int_tag_size(tag_type)
        cdef Py_ssize_t start, length
        if size >= 0:
            self._take(size)
        elif TAG_STR1 <= tag_type <= TAG_STR16:
            self._take(tag_type - TAG_STR1 + 1)
        elif tag_type == TAG_HASH16:
            self._take(16)
        elif tag_type == TAG_FLOAT32:
            self._take(4)
        elif tag_type == TAG_BOOL:
            self._take(1)
        elif tag_type == TAG_ADDRESS:
            start = self._take(DEST_LEN)
            if self._p[start + CERTIFICATE_AT] or self._p[start + CERTIFICATE_AT + 1] or self._p[start + CERTIFICATE_AT + 2]:
                raise FramingError("destination without a null certificate")
        elif tag_type == TAG_STRING:
            self._take(self._le(self._take(2), 2))
        elif tag_type == TAG_BLOB:
            length = <Py_ssize_t>self._le(self._take(4), 4)
            self._take(length)
        elif tag_type == TAG_BOOLARRAY:
            # iMule seeks (n+7)/8 bytes on, past the end if need be: every later read then fails.
            length = (self._le(self._take(2), 2) + 7) // 8
            self._take(min(length, self._size - self._offset))
        elif tag_type == TAG_UINT64UINT64:
            self._skip_int_tag()
            self._skip_int_tag()
        else:
            raise FramingError(f"tag type 0x{tag_type:02x} iMule does not read")
        return 0

    cdef int _skip_tree(self, int levels_left) except -1:
        if levels_left <= 0:
            raise FramingError("search expression too deep")
        cdef int kind = self._p[self._take(1)]
        if kind == TREE_BOOLEAN:
            if self._p[self._take(1)] > MAX_BOOLEAN_OP:
                raise FramingError("unknown boolean operator")
            self._skip_tree(levels_left - 1)
            self._skip_tree(levels_left - 1)
        elif kind == TREE_KEYWORD:
            self._take(self._le(self._take(2), 2))
        elif kind == TREE_META:
            self._take(self._le(self._take(2), 2) + 1)  # the value, then a u8 tag name
        elif kind == TREE_NUMERIC:
            if self._p[self._take(1)] > MAX_COMPARE_OP:
                raise FramingError("unknown comparison operator")
            self._skip_int_tag()
        else:
            raise FramingError("unknown search term")
        return 0


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
        """A u16 length in bytes (also for a memoryview of wider items), then the bytes."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise FramingError("string needs bytes")
        cdef bytes chunk = data if type(data) is bytes else bytes(data)
        if len(chunk) > 0xFFFF:
            raise FramingError("string longer than 65535 bytes")
        self._int(len(chunk), 2)
        self._bytes(chunk)

    def getvalue(self):
        return PyBytes_FromStringAndSize(<const char*>self._buf, self._len)
