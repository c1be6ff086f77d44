"""Keyword-search expression trees (SEARCH_KEY_REQ after the 0x8000 flag, Kad1 SEARCH_REQ), prefix-encoded.

iMule's reader (``KademliaUDPListener.cpp::CreateSearchExpressionTree``) bounds the depth (24 levels) and
nothing else, so an inflated datagram can hold about 40,000 terms. The decoder therefore only checks a
received tree (``Reader.skip_search_tree``, one linear scan) and hands it on as a ``ReceivedExpression``
whose typed tree is built on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from mule._core import Reader, Writer
from mule.kad.errors import MalformedPacket
from mule.kad.tags import IntTag, TagSerials, read_int_tag, write_tag
from mule.kad.text import decode_text, encode_text

MAX_DEPTH = 24  # iMule's CreateSearchExpressionTree refuses deeper trees

_BOOLEAN, _KEYWORD, _META, _NUMERIC = 0x00, 0x01, 0x02, 0x03
_META_NAME_LENGTH = 1  # iMule's writer puts a u16 name length (always 1) before a meta term's name


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


def write_expr(w: Writer, expr: Expr | ReceivedExpression, serials: TagSerials) -> None:
    if isinstance(expr, ReceivedExpression):
        expr = expr.tree  # written anew: iMule numbers every tag it writes
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
            # What iMule's writer emits (SearchList.cpp), though its own reader takes no length here.
            w.u8(_META)
            w.string(encode_text(value))
            w.u16(_META_NAME_LENGTH)
            w.u8(name)
        case Numeric(op, name, value):
            w.u8(_NUMERIC)
            w.u8(op)
            write_tag(w, IntTag(name, value), serials)
        case _:
            raise TypeError(f"not a search expression: {expr!r}")


def read_expr(r: Reader) -> Expr:
    """The typed tree of bytes already checked by ``Reader.skip_search_tree``."""
    kind = r.u8()
    if kind == _BOOLEAN:
        op = BoolOp(r.u8())
        left = read_expr(r)
        return Boolean(op, left, read_expr(r))
    if kind == _KEYWORD:
        return Keyword(decode_text(r.string()))
    if kind == _META:
        # iMule's reader: the value, then a bare u8 name (so its own writer's length prefix is read as name 1).
        value = decode_text(r.string())
        return MetaString(value, r.u8())
    if kind == _NUMERIC:
        op = CompareOp(r.u8())
        tag = read_int_tag(r)
        return Numeric(op, tag.name, tag.value)
    raise MalformedPacket(f"unknown search term 0x{kind:02x}")


def read_search_tree(r: Reader) -> ReceivedExpression:
    """One received tree, checked as iMule reads it; its terms are built later, on use."""
    return ReceivedExpression(r.skip_search_tree(MAX_DEPTH))


class ReceivedExpression:
    """A received search tree: its checked wire bytes, and the typed tree (``tree``) built on first use.

    It compares and hashes as its typed tree, so a decoded message equals one built from ``Expr`` values.
    """

    __slots__ = ("_tree", "wire")

    def __init__(self, wire: bytes) -> None:
        self.wire = wire
        self._tree: Expr | None = None

    @property
    def tree(self) -> Expr:
        if self._tree is None:
            self._tree = read_expr(Reader(self.wire))
        return self._tree

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ReceivedExpression):
            return self.tree == other.tree
        if isinstance(other, (Boolean, Keyword, MetaString, Numeric)):
            return self.tree == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.tree)

    def __repr__(self) -> str:
        return f"ReceivedExpression({self.tree!r})"
