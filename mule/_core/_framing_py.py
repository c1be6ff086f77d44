"""Bounds-checked little-endian reader and writer: the pure-Python twin of ``_framing_c``.

Every short read, oversized value or bad argument raises ``FramingError`` and
nothing else, so a decoder built on these never leaks IndexError or struct.error.

The reader also checks, without building anything, the three Kad structures whose item count is bounded only
by the datagram (tag lists, entry lists, search-expression trees), exactly as iMule 2.3.3.3 reads them
(``Tag.cpp``, ``KademliaUDPListener.cpp::CreateSearchExpressionTree``); the codec builds typed values only
from bytes that passed, so a hostile datagram costs one linear scan.
"""

from __future__ import annotations

import struct

from mule._core._kadid_py import id_from_wire, id_to_wire
from mule._core.errors import FramingError

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")

# Tag value layouts as iMule's reader consumes them (numbers as in ``mule.kad.opcodes.TagType``).
_TAG_STRING, _TAG_BOOLARRAY, _TAG_BLOB, _TAG_ADDRESS, _TAG_UINT64UINT64 = 0x02, 0x06, 0x07, 0x27, 0x28
_INT_TAG_SIZES = {0x03: 4, 0x08: 2, 0x09: 1, 0x29: 8}
_FIXED_TAG_SIZES = {0x01: 16, 0x04: 4, 0x05: 1, _TAG_ADDRESS: 387, **_INT_TAG_SIZES} | {
    0x11 + n: n + 1
    for n in range(16)  # STR1..STR16
}
_CERTIFICATE_AT = 384  # a destination iMule accepts ends in three zero bytes (a null certificate)
_TREE_BOOLEAN, _TREE_KEYWORD, _TREE_META, _TREE_NUMERIC = 0x00, 0x01, 0x02, 0x03
_MAX_BOOLEAN_OP, _MAX_COMPARE_OP = 2, 5


class Reader:
    __slots__ = ("_data", "_offset")

    def __init__(self, data: bytes | bytearray | memoryview, offset: int = 0) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise FramingError("reader needs bytes")
        self._data = bytes(data)
        if not 0 <= offset <= len(self._data):
            raise FramingError("offset outside the buffer")
        self._offset = offset

    @property
    def offset(self) -> int:
        return self._offset

    def remaining(self) -> int:
        return len(self._data) - self._offset

    def _take(self, n: int) -> int:
        start = self._offset
        if n < 0 or len(self._data) - start < n:
            raise FramingError(f"need {n} bytes, {len(self._data) - start} left")
        self._offset = start + n
        return start

    def u8(self) -> int:
        return self._data[self._take(1)]

    def u16(self) -> int:
        return _U16.unpack_from(self._data, self._take(2))[0]

    def u32(self) -> int:
        return _U32.unpack_from(self._data, self._take(4))[0]

    def u64(self) -> int:
        return _U64.unpack_from(self._data, self._take(8))[0]

    def uint128(self) -> int:
        return id_from_wire(self._data, self._take(16))

    def raw(self, n: int) -> bytes:
        start = self._take(n)
        return self._data[start : start + n]

    def skip(self, n: int) -> None:
        self._take(n)

    def string(self) -> bytes:
        """A u16-length-prefixed byte string."""
        return self.raw(self.u16())

    def rest(self) -> bytes:
        return self.raw(self.remaining())

    def skip_tag_list(self) -> bytes:
        """Check one Kad tag list (u8 count, then tags) as iMule reads it; returns its bytes."""
        start = self._offset
        for _ in range(self.u8()):
            self._skip_tag()
        return self._data[start : self._offset]

    def skip_entries(self) -> bytes:
        """Check a u16 count of (Kad ID, tag list) entries; returns their bytes, count included."""
        start = self._offset
        for _ in range(self.u16()):
            self._take(16)
            self.skip_tag_list()
        return self._data[start : self._offset]

    def skip_search_tree(self, max_depth: int) -> bytes:
        """Check one prefix-encoded search-expression tree of at most ``max_depth`` levels; returns its bytes."""
        start = self._offset
        self._skip_tree(max_depth)
        return self._data[start : self._offset]

    def _tag_header(self) -> int:
        """The tag type after iMule's header and debug serial.

        An old-style header (type without 0x80) names the tag with a u16-length string; iMule reads the
        name byte only when that length is 1 and otherwise reads on from the length, as we do.
        """
        tag_type = self.u8()
        if tag_type & 0x80:
            tag_type &= 0x7F
            self._take(1)
        elif self.u16() == 1:
            self._take(1)
        self._take(4)
        return tag_type

    def _skip_int_tag(self) -> None:
        size = _INT_TAG_SIZES.get(self._tag_header())
        if size is None:
            raise FramingError("integer tag expected")
        self._take(size)

    def _skip_tag(self) -> None:
        tag_type = self._tag_header()
        size = _FIXED_TAG_SIZES.get(tag_type)
        if size is not None:
            start = self._take(size)
            if tag_type == _TAG_ADDRESS and any(self._data[start + _CERTIFICATE_AT : start + size]):
                raise FramingError("destination without a null certificate")
        elif tag_type == _TAG_STRING:
            self._take(self.u16())
        elif tag_type == _TAG_BLOB:
            self._take(self.u32())
        elif tag_type == _TAG_BOOLARRAY:
            # iMule seeks (n+7)/8 bytes on, past the end if need be: every later read then fails.
            self._take(min((self.u16() + 7) // 8, self.remaining()))
        elif tag_type == _TAG_UINT64UINT64:
            self._skip_int_tag()
            self._skip_int_tag()
        else:
            raise FramingError(f"tag type 0x{tag_type:02x} iMule does not read")

    def _skip_tree(self, levels_left: int) -> None:
        if levels_left <= 0:
            raise FramingError("search expression too deep")
        kind = self.u8()
        if kind == _TREE_BOOLEAN:
            if self.u8() > _MAX_BOOLEAN_OP:
                raise FramingError("unknown boolean operator")
            self._skip_tree(levels_left - 1)
            self._skip_tree(levels_left - 1)
        elif kind == _TREE_KEYWORD:
            self._take(self.u16())
        elif kind == _TREE_META:
            self._take(self.u16() + 1)  # the value, then a u8 tag name
        elif kind == _TREE_NUMERIC:
            if self.u8() > _MAX_COMPARE_OP:
                raise FramingError("unknown comparison operator")
            self._skip_int_tag()
        else:
            raise FramingError("unknown search term")


class Writer:
    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts = bytearray()

    def __len__(self) -> int:
        return len(self._parts)

    def _int(self, value: int, size: int) -> None:
        if not isinstance(value, int) or not 0 <= value < 1 << (8 * size):
            raise FramingError(f"{value!r} does not fit {size} bytes")
        self._parts += value.to_bytes(size, "little")

    def u8(self, value: int) -> None:
        self._int(value, 1)

    def u16(self, value: int) -> None:
        self._int(value, 2)

    def u32(self, value: int) -> None:
        self._int(value, 4)

    def u64(self, value: int) -> None:
        self._int(value, 8)

    def uint128(self, value: int) -> None:
        self._parts += id_to_wire(value)

    def raw(self, data: bytes | bytearray | memoryview) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise FramingError("raw needs bytes")
        self._parts += bytes(data)

    def string(self, data: bytes | bytearray | memoryview) -> None:
        """A u16 length in bytes (also for a memoryview of wider items), then the bytes."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise FramingError("string needs bytes")
        chunk = bytes(data)
        if len(chunk) > 0xFFFF:
            raise FramingError("string longer than 65535 bytes")
        self.u16(len(chunk))
        self._parts += chunk

    def getvalue(self) -> bytes:
        return bytes(self._parts)
