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
from collections.abc import Sequence
from typing import Any

from mule._core._kadid_py import id_from_wire, id_to_wire
from mule._core.errors import FramingError
from mule._core.kadrules import contact_problem, decode_text, is_imule_destination

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_FLOAT = struct.Struct("<f")

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
_TAG_HASH16, _TAG_FLOAT32, _TAG_BOOL, _TAG_STR1, _TAG_STR16 = 0x01, 0x04, 0x05, 0x11, 0x20
_INT_READERS = {0x09: "u8", 0x08: "u16", 0x03: "u32", 0x29: "u64"}
_DEST_LEN = 387
_KAD2_CONTACT_LEN = 1 + 16 + _DEST_LEN
_MAX_TAGS = 0xFF


def build(cls: type, *fields: Any) -> Any:
    """``cls(*fields)`` for a slotted frozen dataclass given every field (the compiled twin skips its ``__init__``)."""
    return cls(*fields)


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

    def contacts(self, count: int, cls: type, max_version: int) -> tuple[Any, ...]:
        """``count`` Kad2 contacts (version, Kad ID, destination) built as ``cls(version, kad_id, dest)``, refused
        before any allocation if the bytes left cannot hold them, and refused as iMule's parser refuses them."""
        if count * _KAD2_CONTACT_LEN > self.remaining():
            raise FramingError(f"{count} contacts do not fit {self.remaining()} bytes")
        return tuple([self._contact(cls, max_version) for _ in range(count)])

    def _contact(self, cls: type, max_version: int) -> Any:
        version, kad_id, dest = self.u8(), self.uint128(), self.raw(_DEST_LEN)
        problem = contact_problem(version, kad_id, dest, max_version)
        if problem:
            raise FramingError(problem)
        return cls(version, kad_id, dest)

    def tag_list(self, kinds: Sequence[type]) -> tuple[Any, ...]:
        """One tag list (u8 count), checked whole as ``skip_tag_list`` checks it, then built with ``kinds``
        (IntTag, StringTag, HashTag, FloatTag, BoolTag, BlobTag, AddressTag, IntPairTag); BOOLARRAYs are left out."""
        start = self._offset
        self.skip_tag_list()
        end, self._offset = self._offset, start
        tags = self.build_tag_list(kinds)
        assert self._offset == end
        return tags

    def build_tag_list(self, kinds: Sequence[type]) -> tuple[Any, ...]:
        """The tags of a list already checked by ``skip_tag_list`` (as ``tag_list`` builds them)."""
        tags = [self._build_tag(kinds) for _ in range(self.u8())]
        return tuple([tag for tag in tags if tag is not None])

    def entries(self, entry: type, kinds: Sequence[type]) -> tuple[Any, ...]:
        """A u16 count of ``entry(kad_id, tags)`` from entries already checked by ``skip_entries``."""
        return tuple([entry(self.uint128(), self.build_tag_list(kinds)) for _ in range(self.u16())])

    def _tag_name(self) -> tuple[int, int]:
        tag_type = self.u8()
        if tag_type & 0x80:
            tag_type &= 0x7F
            name = self.u8()
        else:
            name = self.u8() if self.u16() == 1 else 0
        self._take(4)  # the debug serial
        return tag_type, name

    def int_tag_value(self) -> tuple[int, int]:
        """The name and value of one tag that must be an integer."""
        tag_type, name = self._tag_name()
        reader = _INT_READERS.get(tag_type)
        if reader is None:
            raise FramingError(f"integer tag expected, found type 0x{tag_type:02x}")
        return name, getattr(self, reader)()

    def _build_tag(self, kinds: Sequence[type]) -> Any:
        int_tag, string_tag, hash_tag, float_tag, bool_tag, blob_tag, address_tag, pair_tag = kinds
        tag_type, name = self._tag_name()
        reader = _INT_READERS.get(tag_type)
        if reader is not None:
            return int_tag(name, getattr(self, reader)())
        if _TAG_STR1 <= tag_type <= _TAG_STR16:
            return string_tag(name, decode_text(self.raw(tag_type - _TAG_STR1 + 1)))
        if tag_type == _TAG_STRING:
            return string_tag(name, decode_text(self.string()))
        if tag_type == _TAG_HASH16:
            return hash_tag(name, self.raw(16))
        if tag_type == _TAG_FLOAT32:
            return float_tag(name, _FLOAT.unpack(self.raw(4))[0])
        if tag_type == _TAG_BOOL:
            return bool_tag(name, self.u8())
        if tag_type == _TAG_BLOB:
            return blob_tag(name, self.raw(self.u32()))
        if tag_type == _TAG_ADDRESS:
            dest = self.raw(_DEST_LEN)
            if not is_imule_destination(dest):
                raise FramingError("destination without a null certificate")
            return address_tag(name, dest)
        if tag_type == _TAG_UINT64UINT64:
            return pair_tag(name, self.int_tag_value()[1], self.int_tag_value()[1])
        if tag_type == _TAG_BOOLARRAY:
            # iMule seeks (n+7)/8 bytes on, past the end if need be: every later read then fails.
            self._take(min((self.u16() + 7) // 8, self.remaining()))
            return None
        raise FramingError(f"tag type 0x{tag_type:02x} iMule does not read")

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

    def contacts(self, contacts: Sequence[Any], count_size: int, max_version: int) -> None:
        """A u8 (``count_size`` 1) or u16 count, then each Kad2 contact; refuses what iMule's parser would drop."""
        self._int(len(contacts), count_size)
        for contact in contacts:
            self.contact(contact, max_version)

    def contact(self, contact: Any, max_version: int) -> None:
        problem = contact_problem(contact.version, contact.kad_id, contact.udp_dest, max_version)
        if problem:
            raise FramingError(problem)
        self.u8(contact.version)
        self.uint128(contact.kad_id)
        self.raw(contact.udp_dest)

    def tag_list(self, tags: Sequence[Any], serials: Any, kinds: Sequence[type]) -> None:
        """A u8 count, then each tag as iMule writes it, numbered by ``serials.take()``."""
        if len(tags) > _MAX_TAGS:
            raise FramingError(f"a tag list holds at most {_MAX_TAGS} tags")
        self.u8(len(tags))
        for tag in tags:
            self.tag(tag, serials, kinds)

    def _tag_header(self, tag_type: int, name: int, serials: Any) -> None:
        self.u8(tag_type | 0x80)
        self.u8(name)
        self.u32(serials.take())

    def _int_tag(self, name: int, value: int, serials: Any) -> None:
        if value <= 0xFF:
            self._tag_header(0x09, name, serials)
            self.u8(value)
        elif value <= 0xFFFF:
            self._tag_header(0x08, name, serials)
            self.u16(value)
        elif value <= 0xFFFFFFFF:
            self._tag_header(0x03, name, serials)
            self.u32(value)
        else:
            self._tag_header(0x29, name, serials)
            self.u64(value)

    def tag(self, tag: Any, serials: Any, kinds: Sequence[type]) -> None:
        """One tag: integers in the narrowest type, text as STR1..STR16 when 1 to 16 UTF-8 bytes, else STRING."""
        int_tag, string_tag, hash_tag, float_tag, bool_tag, blob_tag, address_tag, pair_tag = kinds
        if isinstance(tag, int_tag):
            self._int_tag(tag.name, tag.value, serials)
        elif isinstance(tag, string_tag):
            data = tag.value.encode("utf-8")
            if 1 <= len(data) <= 16:
                self._tag_header(_TAG_STR1 + len(data) - 1, tag.name, serials)
                self.raw(data)
            else:
                self._tag_header(_TAG_STRING, tag.name, serials)
                self.string(data)
        elif isinstance(tag, hash_tag):
            if len(tag.value) != 16:
                raise FramingError("a hash tag holds 16 bytes")
            self._tag_header(_TAG_HASH16, tag.name, serials)
            self.raw(tag.value)
        elif isinstance(tag, float_tag):
            self._tag_header(_TAG_FLOAT32, tag.name, serials)
            self.raw(_FLOAT.pack(tag.value))
        elif isinstance(tag, bool_tag):
            self._tag_header(_TAG_BOOL, tag.name, serials)
            self.u8(tag.value)
        elif isinstance(tag, blob_tag):
            self._tag_header(_TAG_BLOB, tag.name, serials)
            self.u32(len(tag.value))
            self.raw(tag.value)
        elif isinstance(tag, address_tag):
            if not is_imule_destination(tag.value):
                raise FramingError("an address tag holds a 387-byte destination with a null certificate")
            self._tag_header(_TAG_ADDRESS, tag.name, serials)
            self.raw(tag.value)
        elif isinstance(tag, pair_tag):
            self._tag_header(_TAG_UINT64UINT64, tag.name, serials)
            self._int_tag(tag.name, tag.first, serials)
            self._int_tag(tag.name, tag.last, serials)
        else:
            raise TypeError(f"not a tag: {tag!r}")

    def getvalue(self) -> bytes:
        return bytes(self._parts)
