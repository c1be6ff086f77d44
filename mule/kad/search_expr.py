"""Keyword-search expression trees (SEARCH_KEY_REQ after the 0x8000 flag, Kad1 SEARCH_REQ), prefix-encoded."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from mule._core import Reader, Writer
from mule.kad.errors import MalformedPacket
from mule.kad.tags import IntTag, TagSerials, read_int_tag, write_tag
from mule.kad.text import decode_text, encode_text

MAX_DEPTH = 24  # iMule's CreateSearchExpressionTree refuses deeper trees

_BOOLEAN, _KEYWORD, _META, _NUMERIC = 0x00, 0x01, 0x02, 0x03
# iMule's writer puts a u16 1 before a meta term's name; no iMule tag name is 1, so a leading 01 00 is that prefix.
_LENGTH_ONE = b"\x01\x00"


class BoolOp(IntEnum):
    AND = 0
    OR = 1
    NOT = 2  # left AND NOT right


class CompareOp(IntEnum):
    EQUAL = 0
    GREATER = 1
    LESS = 2
    GREATER_EQUAL = 3
    LESS_EQUAL = 4
    NOT_EQUAL = 5


@dataclass(frozen=True, slots=True)
class Boolean:
    op: BoolOp
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Keyword:
    """A string term; the receiver lowercases it and splits it on the keyword delimiters."""

    text: str


@dataclass(frozen=True, slots=True)
class MetaString:
    """A string compared with a tag (for example the file type)."""

    value: str
    name: int


@dataclass(frozen=True, slots=True)
class Numeric:
    """An integer tag compared with ``value``."""

    op: CompareOp
    name: int
    value: int


Expr = Boolean | Keyword | MetaString | Numeric


def depth(expr: Expr) -> int:
    if isinstance(expr, Boolean):
        return 1 + max(depth(expr.left), depth(expr.right))
    return 1


def write_expr(w: Writer, expr: Expr, serials: TagSerials) -> None:
    if depth(expr) > MAX_DEPTH:
        raise ValueError(f"search expression deeper than {MAX_DEPTH}")
    _write(w, expr, serials)


def _write(w: Writer, expr: Expr, serials: TagSerials) -> None:
    match expr:
        case Boolean(op, left, right):
            w.u8(_BOOLEAN)
            w.u8(op)
            _write(w, left, serials)
            _write(w, right, serials)
        case Keyword(text):
            w.u8(_KEYWORD)
            w.string(encode_text(text))
        case MetaString(value, name):
            # Write what iMule's reader expects (value, then the bare u8 name), not what its writer emits.
            if name == _LENGTH_ONE[0]:
                raise ValueError("meta tag name 1 cannot be told apart from iMule's length prefix")
            w.u8(_META)
            w.string(encode_text(value))
            w.u8(name)
        case Numeric(op, name, value):
            w.u8(_NUMERIC)
            w.u8(op)
            write_tag(w, IntTag(name, value), serials)
        case _:
            raise TypeError(f"not a search expression: {expr!r}")


def read_expr(r: Reader, serial: bool, level: int = 0) -> Expr:
    if level >= MAX_DEPTH:
        raise MalformedPacket("search expression too deep")
    kind = r.u8()
    if kind == _BOOLEAN:
        op = r.u8()
        if op > BoolOp.NOT:
            raise MalformedPacket(f"unknown boolean operator {op}")
        left = read_expr(r, serial, level + 1)
        return Boolean(BoolOp(op), left, read_expr(r, serial, level + 1))
    if kind == _KEYWORD:
        return Keyword(decode_text(r.string()))
    if kind == _META:
        value = decode_text(r.string())
        name = r.u8()
        if name == _LENGTH_ONE[0]:
            # iMule's writer form: the bytes 01 00 (a u16 name length of 1), then the name.
            if r.u8() != _LENGTH_ONE[1]:
                raise MalformedPacket("bad meta tag name length")
            name = r.u8()
        return MetaString(value, name)
    if kind == _NUMERIC:
        op = r.u8()
        if op > CompareOp.NOT_EQUAL:
            raise MalformedPacket(f"unknown comparison operator {op}")
        tag = read_int_tag(r, serial)
        return Numeric(CompareOp(op), tag.name, tag.value)
    raise MalformedPacket(f"unknown search term 0x{kind:02x}")
