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

from mule.index.entries import KeywordEntry, int_tag
from mule.kad.keywords import DELIMITERS
from mule.kad.opcodes import TagName
from mule.kad.search_expr import Boolean, BoolOp, CompareOp, Expr, Keyword, MetaString
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


Matcher = Callable[[KeywordEntry], bool]


def prepare(expr: Expr) -> Matcher:
    """The tree as iMule holds it after reading (pieces and values lowercased), as one test; built per request."""
    if isinstance(expr, Boolean):
        left, right = prepare(expr.left), prepare(expr.right)
        if expr.op is BoolOp.AND:
            return lambda entry: left(entry) and right(entry)
        if expr.op is BoolOp.OR:
            return lambda entry: left(entry) or right(entry)
        return lambda entry: left(entry) and not right(entry)
    if isinstance(expr, Keyword):
        pieces = tuple([piece for piece in _PIECES.split(expr.text.lower()) if piece])
        if not pieces:
            return lambda entry: False
        if len(pieces) == 1:
            (piece,) = pieces
            return lambda entry: piece in entry.folded
        return lambda entry: all(piece in entry.folded for piece in pieces)
    if isinstance(expr, MetaString):
        value, name = expr.value.lower(), expr.name
        if name == TagName.FILEFORMAT:
            return lambda entry: _format_matches(entry, value)
        return lambda entry: _meta_matches(entry, name, value)
    compare, name, value = _COMPARE[expr.op], expr.name, expr.value
    return lambda entry: _numeric_matches(entry, compare, name, value)


def _format_matches(entry: KeywordEntry, value: str) -> bool:
    # The format is not stored: it is the common name's extension (no dot, no match).
    dot = entry.name.rfind(".")
    return dot >= 0 and entry.name[dot + 1 :].lower() == value


def _meta_matches(entry: KeywordEntry, name: int, value: str) -> bool:
    for tag in entry.tags:
        if isinstance(tag, StringTag) and tag.name == name:
            return tag.value.lower() == value
    return False


def _numeric_matches(entry: KeywordEntry, compare: Callable[[int, int], bool], name: int, value: int) -> bool:
    found = int_tag(entry.tags, name)
    if found is None:
        if name != TagName.FILESIZE:
            return False
        found = entry.size
    return compare(found, value)
