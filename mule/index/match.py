"""A received search-expression tree evaluated against a keyword entry, as ``CKeyEntry::SearchTermsMatch`` does.

iMule prepares the terms when it reads the tree (``CreateSearchExpressionTree``): a string term is lowercased
and cut at the keyword delimiters (every piece kept, however short); a meta term's value is lowercased.
Matching then looks for every piece of a string term inside the lowercased common file name (a substring
test, not a word test), compares a meta term with the first string tag of that name ignoring case (file
format: with the extension of the common name), and compares a numeric term with the first integer tag of
that name, or with the file size for TAG_FILESIZE, which iMule stores apart from the tags.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from mule.index.entries import KeywordEntry, int_tag
from mule.kad.keywords import DELIMITERS
from mule.kad.opcodes import TagName
from mule.kad.search_expr import Boolean, BoolOp, CompareOp, Expr, Keyword, MetaString, Numeric
from mule.kad.tags import StringTag

_PIECES = re.compile("[" + re.escape(DELIMITERS) + "]+")
_COMPARE: dict[CompareOp, Callable[[int, int], bool]] = {
    CompareOp.EQUAL: operator.eq,
    CompareOp.GREATER: operator.gt,
    CompareOp.LESS: operator.lt,
    CompareOp.GREATER_EQUAL: operator.ge,
    CompareOp.LESS_EQUAL: operator.le,
    CompareOp.NOT_EQUAL: operator.ne,
}


@dataclass(frozen=True, slots=True)
class _Words:
    pieces: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Meta:
    value: str
    name: int


@dataclass(frozen=True, slots=True)
class _Both:
    op: BoolOp
    left: Term
    right: Term


Term = _Both | _Words | _Meta | Numeric


def prepare(expr: Expr) -> Term:
    """The tree as iMule holds it after reading (pieces and values lowercased); built once per request."""
    if isinstance(expr, Boolean):
        return _Both(expr.op, prepare(expr.left), prepare(expr.right))
    if isinstance(expr, Keyword):
        return _Words(tuple([piece for piece in _PIECES.split(expr.text.lower()) if piece]))
    if isinstance(expr, MetaString):
        return _Meta(expr.value.lower(), expr.name)
    return expr


def matches(term: Term, entry: KeywordEntry) -> bool:
    if isinstance(term, _Both):
        if term.op is BoolOp.AND:
            return matches(term.left, entry) and matches(term.right, entry)
        if term.op is BoolOp.OR:
            return matches(term.left, entry) or matches(term.right, entry)
        return matches(term.left, entry) and not matches(term.right, entry)
    if isinstance(term, _Words):
        if not term.pieces:
            return False
        name = entry.name.lower()
        return all(piece in name for piece in term.pieces)
    if isinstance(term, _Meta):
        return _meta_matches(term, entry)
    value = int_tag(entry.tags, term.name)
    if value is None:
        if term.name != TagName.FILESIZE:
            return False
        value = entry.size
    return _COMPARE[term.op](value, term.value)


def _meta_matches(term: _Meta, entry: KeywordEntry) -> bool:
    if term.name == TagName.FILEFORMAT:
        # The format is not stored: it is the common name's extension (no dot, no match).
        dot = entry.name.rfind(".")
        return dot >= 0 and entry.name[dot + 1 :].lower() == term.value
    for tag in entry.tags:
        if isinstance(tag, StringTag) and tag.name == term.name:
            return tag.value.lower() == term.value
    return False
