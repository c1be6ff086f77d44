"""Bounds-checked little-endian reader and writer: the pure-Python twin of ``_framing_c``.

Every short read, oversized value or bad argument raises ``FramingError`` and
nothing else, so a decoder built on these never leaks IndexError or struct.error.
"""

from __future__ import annotations

import struct

from mule._core._kadid_py import id_from_wire, id_to_wire
from mule._core.errors import FramingError

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


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
        self._parts += data

    def string(self, data: bytes) -> None:
        """A u16 length, then the bytes."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise FramingError("string needs bytes")
        if len(data) > 0xFFFF:
            raise FramingError("string longer than 65535 bytes")
        self.u16(len(data))
        self._parts += data

    def getvalue(self) -> bytes:
        return bytes(self._parts)
