# cython: language_level=3
"""Bounds-checked little-endian reader and writer: the compiled twin of ``_framing_py``.

Every short read, oversized value or bad argument raises ``FramingError`` and
nothing else. The Kad structure checks (tag lists, entry lists, search trees) are
C loops here: they build no objects, so a hostile datagram costs one linear scan.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.object cimport PyObject_GenericSetAttr
from cpython.unicode cimport PyUnicode_DecodeLatin1, PyUnicode_DecodeUTF8
from libc.stdint cimport uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcmp, memcpy

import struct

from mule._core.kadrules import contact_problem, is_imule_destination
from mule._core.errors import FramingError

cdef extern from "Python.h":
    object _PyLong_FromByteArray(const unsigned char* bytes, size_t n, int little_endian, int is_signed)
    double PyFloat_Unpack4(const char* p, int le) except? -1.0

_FLOAT = struct.Struct("<f")
cdef object _new = object.__new__
cdef bytes _NULL_CERT = b"\x00\x00\x00"


def build(type cls, *fields):
    """``cls(*fields)`` for a slotted frozen dataclass given every field: the same object without the cost of its
    ``__init__`` (which only sets the fields); with fewer fields (defaults) it is ``cls(*fields)``."""
    cdef tuple names = cls.__match_args__
    cdef Py_ssize_t i, n = len(names)
    if len(fields) != n:
        return cls(*fields)
    obj = _new(cls)
    for i in range(n):
        PyObject_GenericSetAttr(obj, names[i], fields[i])
    return obj


cdef inline object _make2(type cls, object a, object b):
    """``cls(a, b)`` for a slotted (frozen) dataclass, without the cost of its ``__init__``: the same fields set."""
    cdef tuple names = cls.__match_args__
    obj = _new(cls)
    PyObject_GenericSetAttr(obj, names[0], a)
    PyObject_GenericSetAttr(obj, names[1], b)
    return obj


cdef inline object _make3(type cls, object a, object b, object c):
    cdef tuple names = cls.__match_args__
    obj = _new(cls)
    PyObject_GenericSetAttr(obj, names[0], a)
    PyObject_GenericSetAttr(obj, names[1], b)
    PyObject_GenericSetAttr(obj, names[2], c)
    return obj

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
    KAD2_CONTACT_LEN = 404
    MAX_TAGS = 0xFF
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
        return self._uint128()

    cdef inline object _uint128(self):
        """Four little-endian u32 words, most significant first: reordered into one little-endian 128-bit int."""
        cdef const unsigned char* p = self._p + self._take(16)
        cdef unsigned char le[16]
        cdef int w
        for w in range(4):
            memcpy(le + 4 * w, p + 4 * (3 - w), 4)
        return _PyLong_FromByteArray(le, 16, 1, 0)

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

    def contacts(self, Py_ssize_t count, type cls, int max_version):
        """``count`` Kad2 contacts built as ``cls(version, kad_id, dest)`` (see the pure twin)."""
        if count * KAD2_CONTACT_LEN > self._size - self._offset:
            raise FramingError(f"{count} contacts do not fit {self._size - self._offset} bytes")
        cdef list out = []
        cdef Py_ssize_t i, at
        cdef int version
        for i in range(count):
            version = self._p[self._take(1)]
            kad_id = self._uint128()
            at = self._take(DEST_LEN)
            dest = PyBytes_FromStringAndSize(<const char*>self._p + at, DEST_LEN)
            if version > max_version or not kad_id or memcmp(self._p + at + CERTIFICATE_AT, "\0\0\0", 3):
                raise FramingError(contact_problem(version, kad_id, dest, max_version))
            out.append(_make3(cls, version, kad_id, dest))
        return tuple(out)

    def tag_list(self, kinds):
        """One tag list, checked whole, then built with ``kinds`` (see the pure twin)."""
        cdef Py_ssize_t start = self._offset
        self._skip_tag_list()
        self._offset = start
        return self._build_tag_list(tuple(kinds))

    def build_tag_list(self, kinds):
        """The tags of a list already checked by ``skip_tag_list``."""
        return self._build_tag_list(tuple(kinds))

    def entries(self, type entry, kinds):
        """A u16 count of ``entry(kad_id, tags)`` from entries already checked by ``skip_entries``."""
        cdef tuple kind_tuple = tuple(kinds)
        cdef Py_ssize_t count = self._le(self._take(2), 2)
        cdef list out = []
        cdef Py_ssize_t i
        for i in range(count):
            kad_id = self._uint128()
            out.append(_make2(entry, kad_id, self._build_tag_list(kind_tuple)))
        return tuple(out)

    def int_tag_value(self):
        """The name and value of one tag that must be an integer."""
        cdef int tag_type, name
        tag_type, name = self._tag_name()
        cdef int size = _int_tag_size(tag_type)
        if size < 0:
            raise FramingError(f"integer tag expected, found type 0x{tag_type:02x}")
        return name, self._le(self._take(size), size)

    cdef tuple _tag_name(self):
        cdef int tag_type = self._p[self._take(1)]
        cdef int name
        if tag_type & 0x80:
            tag_type &= 0x7F
            name = self._p[self._take(1)]
        elif self._le(self._take(2), 2) == 1:
            name = self._p[self._take(1)]
        else:
            name = 0
        self._take(4)  # the debug serial
        return tag_type, name

    cdef tuple _build_tag_list(self, tuple kinds):
        cdef int count = self._p[self._take(1)]
        cdef list out = []
        cdef int i
        for i in range(count):
            tag = self._build_tag(kinds)
            if tag is not None:
                out.append(tag)
        return tuple(out)

    cdef object _build_tag(self, tuple kinds):
        cdef int tag_type, name, size
        cdef Py_ssize_t at, length
        tag_type, name = self._tag_name()
        size = _int_tag_size(tag_type)
        if size >= 0:
            return _make2(kinds[0], name, self._le(self._take(size), size))
        if TAG_STR1 <= tag_type <= TAG_STR16:
            length = tag_type - TAG_STR1 + 1
            return _make2(kinds[1], name, self._text(self._take(length), length))
        if tag_type == TAG_STRING:
            length = self._le(self._take(2), 2)
            return _make2(kinds[1], name, self._text(self._take(length), length))
        if tag_type == TAG_HASH16:
            at = self._take(16)
            return _make2(kinds[2], name, PyBytes_FromStringAndSize(<const char*>self._p + at, 16))
        if tag_type == TAG_FLOAT32:
            return _make2(kinds[3], name, PyFloat_Unpack4(<const char*>self._p + self._take(4), 1))
        if tag_type == TAG_BOOL:
            return _make2(kinds[4], name, self._p[self._take(1)])
        if tag_type == TAG_BLOB:
            length = <Py_ssize_t>self._le(self._take(4), 4)
            at = self._take(length)
            return _make2(kinds[5], name, PyBytes_FromStringAndSize(<const char*>self._p + at, length))
        if tag_type == TAG_ADDRESS:
            at = self._take(DEST_LEN)
            if memcmp(self._p + at + CERTIFICATE_AT, "\0\0\0", 3):
                raise FramingError("destination without a null certificate")
            return _make2(kinds[6], name, PyBytes_FromStringAndSize(<const char*>self._p + at, DEST_LEN))
        if tag_type == TAG_UINT64UINT64:
            first = self.int_tag_value()[1]
            return _make3(kinds[7], name, first, self.int_tag_value()[1])
        if tag_type == TAG_BOOLARRAY:
            # iMule seeks (n+7)/8 bytes on, past the end if need be: every later read then fails.
            length = (self._le(self._take(2), 2) + 7) // 8
            self._take(min(length, self._size - self._offset))
            return None
        raise FramingError(f"tag type 0x{tag_type:02x} iMule does not read")

    cdef object _text(self, Py_ssize_t at, Py_ssize_t length):
        """iMule's strings: UTF-8 (a BOM tolerated), else Latin-1."""
        cdef const char* p = <const char*>self._p + at
        if length >= 3 and memcmp(p, "\xef\xbb\xbf", 3) == 0:
            p += 3
            length -= 3
        try:
            return PyUnicode_DecodeUTF8(p, length, NULL)
        except UnicodeDecodeError:
            return PyUnicode_DecodeLatin1(p, length, NULL)

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

    cdef int _int(self, value, int size) except -1:
        if not isinstance(value, int) or value < 0 or value >> (8 * size):
            raise FramingError(f"{value!r} does not fit {size} bytes")
        cdef uint64_t v = value
        cdef unsigned char* out = self._grow(size)
        cdef int i
        for i in range(size):
            out[i] = (v >> (8 * i)) & 0xFF
        return 0

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
        self._id(value)

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

    cdef inline void _u32_at(self, unsigned char* out, uint64_t v) noexcept:
        out[0] = v & 0xFF
        out[1] = (v >> 8) & 0xFF
        out[2] = (v >> 16) & 0xFF
        out[3] = (v >> 24) & 0xFF

    cdef int _id(self, value) except -1:
        if not isinstance(value, int) or not 0 <= value < _ID_LIMIT:
            raise FramingError("kad id out of range")
        cdef uint64_t hi = value >> 64
        cdef uint64_t lo = value & _U64
        cdef unsigned char* out = self._grow(16)
        self._u32_at(out, hi >> 32)
        self._u32_at(out + 4, hi & 0xFFFFFFFF)
        self._u32_at(out + 8, lo >> 32)
        self._u32_at(out + 12, lo & 0xFFFFFFFF)
        return 0

    def contacts(self, contacts, int count_size, int max_version):
        """A u8 (``count_size`` 1) or u16 count, then each Kad2 contact (see the pure twin)."""
        self._int(len(contacts), count_size)
        for contact in contacts:
            self.contact(contact, max_version)

    def contact(self, contact, int max_version):
        version, kad_id, dest = contact.version, contact.kad_id, contact.udp_dest
        problem = contact_problem(version, kad_id, dest, max_version)
        if problem:
            raise FramingError(problem)
        self._int(version, 1)
        self._id(kad_id)
        self.raw(dest)

    def tag_list(self, tags, serials, kinds):
        """A u8 count, then each tag as iMule writes it, numbered by ``serials.take()``."""
        if len(tags) > MAX_TAGS:
            raise FramingError(f"a tag list holds at most {MAX_TAGS} tags")
        self._int(len(tags), 1)
        cdef tuple kind_tuple = tuple(kinds)
        for tag in tags:
            self._tag(tag, serials, kind_tuple)

    def tag(self, tag, serials, kinds):
        """One tag (see the pure twin)."""
        self._tag(tag, serials, tuple(kinds))

    cdef int _tag_header(self, int tag_type, name, serials) except -1:
        self._int(tag_type | 0x80, 1)
        self._int(name, 1)
        self._int(serials.take(), 4)
        return 0

    cdef int _int_tag(self, name, value, serials) except -1:
        if value <= 0xFF:
            self._tag_header(TAG_UINT8, name, serials)
            self._int(value, 1)
        elif value <= 0xFFFF:
            self._tag_header(TAG_UINT16, name, serials)
            self._int(value, 2)
        elif value <= 0xFFFFFFFF:
            self._tag_header(TAG_UINT32, name, serials)
            self._int(value, 4)
        else:
            self._tag_header(TAG_UINT64, name, serials)
            self._int(value, 8)
        return 0

    cdef int _tag(self, tag, serials, tuple kinds) except -1:
        cdef bytes data
        if isinstance(tag, kinds[0]):
            self._int_tag(tag.name, tag.value, serials)
        elif isinstance(tag, kinds[1]):
            data = tag.value.encode("utf-8")
            if 1 <= len(data) <= 16:
                self._tag_header(TAG_STR1 + len(data) - 1, tag.name, serials)
                self._bytes(data)
            else:
                self._tag_header(TAG_STRING, tag.name, serials)
                self.string(data)
        elif isinstance(tag, kinds[2]):
            if len(tag.value) != 16:
                raise FramingError("a hash tag holds 16 bytes")
            self._tag_header(TAG_HASH16, tag.name, serials)
            self.raw(tag.value)
        elif isinstance(tag, kinds[3]):
            self._tag_header(TAG_FLOAT32, tag.name, serials)
            self.raw(_FLOAT.pack(tag.value))
        elif isinstance(tag, kinds[4]):
            self._tag_header(TAG_BOOL, tag.name, serials)
            self._int(tag.value, 1)
        elif isinstance(tag, kinds[5]):
            self._tag_header(TAG_BLOB, tag.name, serials)
            self._int(len(tag.value), 4)
            self.raw(tag.value)
        elif isinstance(tag, kinds[6]):
            if not is_imule_destination(tag.value):
                raise FramingError("an address tag holds a 387-byte destination with a null certificate")
            self._tag_header(TAG_ADDRESS, tag.name, serials)
            self.raw(tag.value)
        elif isinstance(tag, kinds[7]):
            self._tag_header(TAG_UINT64UINT64, tag.name, serials)
            self._int_tag(tag.name, tag.first, serials)
            self._int_tag(tag.name, tag.last, serials)
        else:
            raise TypeError(f"not a tag: {tag!r}")
        return 0

    def getvalue(self):
        return PyBytes_FromStringAndSize(<const char*>self._buf, self._len)
