"""Tags and tag lists in iMule's form: a compact header, a 4-byte debug serial, then the value.

iMule (``Tag.cpp``, with ``_DEBUG_TAGS`` always defined) writes a u32 serial after every
tag header, counting every tag the process writes, and its reader always consumes one.
We do the same. A tag list is first checked by the core's ``Reader.skip_tag_list`` (no
objects built), then built here from the bytes that passed.
"""

from __future__ import annotations

from dataclasses import dataclass

from mule._core import Reader, Writer


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

TAG_KINDS = (IntTag, StringTag, HashTag, FloatTag, BoolTag, BlobTag, AddressTag, IntPairTag)
"""The tag classes in the order the core's tag readers and writers take them."""


def write_tag(w: Writer, tag: Tag, serials: TagSerials) -> None:
    """One tag: integers in the narrowest of u8, u16, u32, u64; text as STR1..STR16 when its UTF-8 form is 1 to 16
    bytes, else STRING; a destination only in iMule's form (the core writer, a C loop in the compiled twin)."""
    w.tag(tag, serials, TAG_KINDS)


def write_tag_list(w: Writer, tags: tuple[Tag, ...], serials: TagSerials) -> None:
    """A u8 count (at most 255 tags), then each tag."""
    w.tag_list(tags, serials, TAG_KINDS)


def read_int_tag(r: Reader) -> IntTag:
    """One tag that must be an integer (the operand of a numeric search term, a nested UINT64UINT64 half)."""
    return IntTag(*r.int_tag_value())


def read_tag_list(r: Reader) -> tuple[Tag, ...]:
    """One tag list (u8 count), checked whole before any tag is built; BOOLARRAYs (which iMule reads past and never
    uses) are left out. BSOB (0x0A), STR17..STR22 (0x21..0x26) and unknown types make iMule's reader throw, and so
    do they here."""
    return r.tag_list(TAG_KINDS)


def build_tag_list(r: Reader) -> tuple[Tag, ...]:
    """The tags of a list already checked by ``Reader.skip_tag_list``."""
    return r.build_tag_list(TAG_KINDS)
