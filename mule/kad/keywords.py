"""Keywords as iMule derives them (``SearchManager::GetWords``, ``KadGetKeywordHash``)."""

from __future__ import annotations

import re

from mule._core import id_from_md4, md4

DELIMITERS = ' ()[]{}<>,._-!?:;\\/"'
MIN_KEYWORD_BYTES = 3  # counted in UTF-8 bytes, not characters
_SPLIT = re.compile("[" + re.escape(DELIMITERS) + "]+")


def split_words(text: str, allow_duplicates: bool = False) -> list[str]:
    """The lowercased words of ``text`` of at least 3 UTF-8 bytes, in order.

    Without duplicates (iMule's default, used when publishing a file name) a repeated
    word moves to the position of its last occurrence; searches keep duplicates.
    """
    words: list[str] = []
    for token in _SPLIT.split(text):
        if len(token.encode("utf-8")) < MIN_KEYWORD_BYTES:
            continue
        word = token.lower()
        if not allow_duplicates and word in words:
            words.remove(word)
        words.append(word)
    return words


def keyword_id(word: str) -> int:
    """The Kad target of a keyword: MD4 of its lowercased UTF-8 bytes, loaded big-endian per word."""
    return id_from_md4(md4(word.lower().encode("utf-8")))
