"""Cover lookups: for each kind, a spec a user could have made, drawn afresh, that stores nothing anywhere.

Targets are random, except where a user's would not be: keyword searches and keyword stores use real
words from a bundled list, so their targets are keyword hashes and their trees hold words. Sizes are
drawn log-uniformly between 1 MiB and 4 GiB. Stores are made so that no iMule node keeps them
(``requests.py``: keyword entries of size 0, sources whose destination has hashCode 0, notes of size 0).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib import resources

from mule._core.shuffle import Shuffler
from mule.kad.keywords import keyword_id
from mule.lookup.kinds import LookupKind
from mule.lookup.requests import SharedFile, Spec, keyword_expression

MIN_LOG_SIZE, MAX_LOG_SIZE = 20, 32  # 1 MiB .. 4 GiB
MAX_SEARCH_WORDS = 3
NAME_WORDS = (2, 5)  # a cover file name has 2 to 4 words
EXTENSIONS = (".avi", ".mkv", ".mp3", ".ogg", ".pdf", ".zip", ".iso", ".flac", ".epub", ".mp4")


@cache
def words() -> tuple[str, ...]:
    """The bundled word list (package data ``mule/lookup/data/words.txt``)."""
    text = resources.files("mule.lookup").joinpath("data/words.txt").read_text("utf-8")
    return tuple(line for line in text.split() if line and not line.startswith("#"))


class CoverSpecs:
    __slots__ = ("_draw", "_randbytes")

    def __init__(self, draw: Shuffler, randbytes: Callable[[int], bytes]) -> None:
        self._draw = draw
        self._randbytes = randbytes

    def spec(self, kind: LookupKind) -> Spec:
        if kind is LookupKind.NODE:
            return Spec(kind, self._id(), cover=True)
        if kind is LookupKind.KEYWORD:
            chosen = self._words(1 + self._draw.below(MAX_SEARCH_WORDS))
            return Spec(kind, keyword_id(chosen[0]), words=chosen, expression=keyword_expression(chosen), cover=True)
        if kind in (LookupKind.SOURCES, LookupKind.NOTES):
            return Spec(kind, self._id(), file_size=self._size(), cover=True)
        file = self._file()
        if kind is LookupKind.STORE_KEYWORD:
            return Spec(kind, keyword_id(file.name.split()[0]), files=(file,), cover=True)
        if kind is LookupKind.STORE_SOURCE:
            return Spec(kind, file.file_id, files=(file,), user_hash=self._id(), cover=True)
        return Spec(kind, file.file_id, files=(file,), cover=True)

    def _id(self) -> int:
        return int.from_bytes(self._randbytes(16), "big")

    def _size(self) -> int:
        low = 1 << (MIN_LOG_SIZE + self._draw.below(MAX_LOG_SIZE - MIN_LOG_SIZE))
        return low + self._draw.below(low)

    def _words(self, count: int) -> tuple[str, ...]:
        listed = words()
        return tuple(listed[self._draw.below(len(listed))] for _ in range(count))

    def _file(self) -> SharedFile:
        count = NAME_WORDS[0] + self._draw.below(NAME_WORDS[1] - NAME_WORDS[0])
        name = " ".join(self._words(count)) + EXTENSIONS[self._draw.below(len(EXTENSIONS))]
        return SharedFile(self._id(), name, self._size())
