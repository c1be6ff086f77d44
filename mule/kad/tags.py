"""Tags and tag lists in iMule's form: a compact header, a 4-byte debug serial, then the value.

iMule (``Tag.cpp``, with ``_DEBUG_TAGS`` always defined) writes a u32 serial after every
tag header, counting every tag the process writes, and its reader always consumes one.
We do the same. A tag list is first checked by the core's ``Reader.skip_tag_list`` (no
objects built), then built here from the bytes that passed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from mule._core import Reader, Writer
from mule.kad.contact import read_dest
from mule.kad.destination import is_imule_destination
from mule.kad.errors import MalformedPacket
from mule.kad.opcodes import TagType
from mule.kad.text import decode_text, encode_text

_FLOAT = struct.Struct("<f")
_MAX_TAGS = 0xFF


class TagSerials:
    """iMule's debug serial: one counter for every tag a process writes, starting at 1 and wrapping at 2**32.

    The node keeps one for its lifetime; tests pass a fresh one for deterministic bytes.
    """

    __slots__ = ("_last",)

    def __init__(self, last: int = 0) -> None:
        self._last = last

    def take(self) -> int:
        self._last = (self._last + 1) & 0xFFFFFFFF
        return self._last


@dataclass(frozen=True, slots=True)
class IntTag:
    """An unsigned integer, written in the narrowest of u8, u16, u32, u64."""

    name: int
    value: int


@dataclass(frozen=True, slots=True)
class StringTag:
    """Text, written as STR1..STR16 when its UTF-8 form is 1 to 16 bytes, else as STRING."""

    name: int
    value: str


@dataclass(frozen=True, slots=True)
class HashTag:
    name: int
    value: bytes  # 16 raw MD4 bytes, not reordered


@dataclass(frozen=True, slots=True)
class FloatTag:
    name: int
    value: float  # a 32-bit float


@dataclass(frozen=True, slots=True)
class BoolTag:
    name: int
    value: int  # the raw byte


@dataclass(frozen=True, slots=True)
class BlobTag:
    name: int
    value: bytes


@dataclass(frozen=True, slots=True)
class AddressTag:
    name: int
    value: bytes  # a 387-byte destination


@dataclass(frozen=True, slots=True)
class IntPairTag:
    """iMule's UINT64UINT64: two complete integer tags of the same name nested in one."""

    name: int
    first: int
    last: int


Tag = IntTag | StringTag | HashTag | FloatTag | BoolTag | BlobTag | AddressTag | IntPairTag

_INT_TYPES = {TagType.UINT8: 1, TagType.UINT16: 2, TagType.UINT32: 4, TagType.UINT64: 8}


def _int_type(value: int) -> TagType:
    if value <= 0xFF:
        return TagType.UINT8
    if value <= 0xFFFF:
        return TagType.UINT16
    if value <= 0xFFFFFFFF:
        return TagType.UINT32
    return TagType.UINT64


def _header(w: Writer, tag_type: int, name: int, serials: TagSerials) -> None:
    w.u8(tag_type | 0x80)
    w.u8(name)
    w.u32(serials.take())


def _write_int(w: Writer, name: int, value: int, serials: TagSerials) -> None:
    tag_type = _int_type(value)
    _header(w, tag_type, name, serials)
    {1: w.u8, 2: w.u16, 4: w.u32, 8: w.u64}[_INT_TYPES[tag_type]](value)


def write_tag(w: Writer, tag: Tag, serials: TagSerials) -> None:
    match tag:
        case IntTag(name, value):
            _write_int(w, name, value, serials)
        case StringTag(name, value):
            data = encode_text(value)
            if 1 <= len(data) <= 16:
                _header(w, TagType.STR1 + len(data) - 1, name, serials)
                w.raw(data)
            else:
                _header(w, TagType.STRING, name, serials)
                w.string(data)
        case HashTag(name, value):
            if len(value) != 16:
                raise ValueError("a hash tag holds 16 bytes")
            _header(w, TagType.HASH16, name, serials)
            w.raw(value)
        case FloatTag(name, value):
            _header(w, TagType.FLOAT32, name, serials)
            w.raw(_FLOAT.pack(value))
        case BoolTag(name, value):
            _header(w, TagType.BOOL, name, serials)
            w.u8(value)
        case BlobTag(name, value):
            _header(w, TagType.BLOB, name, serials)
            w.u32(len(value))
            w.raw(value)
        case AddressTag(name, value):
            if not is_imule_destination(value):
                raise ValueError("an address tag holds a 387-byte destination with a null certificate")
            _header(w, TagType.ADDRESS, name, serials)
            w.raw(value)
        case IntPairTag(name, first, last):
            _header(w, TagType.UINT64UINT64, name, serials)
            _write_int(w, name, first, serials)
            _write_int(w, name, last, serials)
        case _:
            raise TypeError(f"not a tag: {tag!r}")


def write_tag_list(w: Writer, tags: tuple[Tag, ...], serials: TagSerials) -> None:
    if len(tags) > _MAX_TAGS:
        raise ValueError(f"a tag list holds at most {_MAX_TAGS} tags")
    w.u8(len(tags))
    for tag in tags:
        write_tag(w, tag, serials)


def _read_header(r: Reader) -> tuple[int, int]:
    """Type and name. An old-style header (type without 0x80) has a u16-length name: iMule reads the name byte
    only when that length is 1, and otherwise calls the tag 0 and reads on from the length, as we do."""
    tag_type = r.u8()
    if tag_type & 0x80:
        tag_type &= 0x7F
        name = r.u8()
    else:
        name = r.u8() if r.u16() == 1 else 0
    r.skip(4)  # the debug serial
    return tag_type, name


def _read_int_value(r: Reader, tag_type: int) -> int:
    size = _INT_TYPES.get(tag_type)
    if size is None:
        raise MalformedPacket(f"integer tag expected, found type 0x{tag_type:02x}")
    return {1: r.u8, 2: r.u16, 4: r.u32, 8: r.u64}[size]()


def read_int_tag(r: Reader) -> IntTag:
    """One tag that must be an integer (the operand of a numeric search term, a nested UINT64UINT64 half)."""
    tag_type, name = _read_header(r)
    return IntTag(name, _read_int_value(r, tag_type))


def read_tag(r: Reader) -> Tag | None:
    """One tag, or ``None`` for a BOOLARRAY (iMule reads past it and never uses it).

    BSOB (0x0A), STR17..STR22 (0x21..0x26) and unknown types make iMule's reader throw, and so do they here.
    """
    tag_type, name = _read_header(r)
    if tag_type in _INT_TYPES:
        return IntTag(name, _read_int_value(r, tag_type))
    if TagType.STR1 <= tag_type <= TagType.STR16:
        return StringTag(name, decode_text(r.raw(tag_type - TagType.STR1 + 1)))
    match tag_type:
        case TagType.STRING:
            return StringTag(name, decode_text(r.string()))
        case TagType.HASH16:
            return HashTag(name, r.raw(16))
        case TagType.FLOAT32:
            return FloatTag(name, _FLOAT.unpack(r.raw(4))[0])
        case TagType.BOOL:
            return BoolTag(name, r.u8())
        case TagType.BLOB:
            return BlobTag(name, r.raw(r.u32()))
        case TagType.ADDRESS:
            return AddressTag(name, read_dest(r))
        case TagType.UINT64UINT64:
            return IntPairTag(name, read_int_tag(r).value, read_int_tag(r).value)
        case TagType.BOOLARRAY:
            # iMule seeks (n+7)/8 bytes on, past the end if need be: every later read then fails.
            r.skip(min((r.u16() + 7) // 8, r.remaining()))
            return None
    raise MalformedPacket(f"tag type 0x{tag_type:02x} iMule does not read")


def read_tag_list(r: Reader) -> tuple[Tag, ...]:
    """One tag list (u8 count), checked whole before any tag is built."""
    return build_tag_list(Reader(r.skip_tag_list()))


def build_tag_list(r: Reader) -> tuple[Tag, ...]:
    """The tags of a list already checked by ``Reader.skip_tag_list``."""
    tags = [read_tag(r) for _ in range(r.u8())]
    return tuple([tag for tag in tags if tag is not None])
