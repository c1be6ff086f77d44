"""CSPRNG shuffling: the order of released messages and of contacts inside a message.

Fisher–Yates driven by unbiased integer draws from a ChaCha20 keystream. Python's
``random`` is never used: an observer could reconstruct its state from the orders
we produce and predict the next ones.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableSequence
from typing import TypeVar

import numpy as np

from mule._core.keystream import Keystream, substream_seed

T = TypeVar("T")

_WORD_BYTES = 4
_WORD_RANGE = 1 << 32
_BUFFER_WORDS = 1024  # one keystream call per 1,024 draws: the cipher call, not the bytes, is the cost


class Shuffler:
    __slots__ = ("_keystream", "_next", "_words")

    def __init__(self, seed: bytes | None = None) -> None:
        """``seed`` (any length; tests and the simulator only) replays the stream; production leaves it ``None``."""
        self._keystream = Keystream(substream_seed(seed, b"mule-shuffle/"))
        self._words: list[int] = []
        self._next = 0

    def _word(self) -> int:
        if self._next == len(self._words):
            raw = self._keystream.read(_WORD_BYTES * _BUFFER_WORDS)
            self._words = np.frombuffer(raw, dtype="<u4").tolist()
            self._next = 0
        word = self._words[self._next]
        self._next += 1
        return word

    def below(self, n: int) -> int:
        """A uniform integer in [0, n), by rejection: plain ``word % n`` would favour small values."""
        if not 0 < n <= _WORD_RANGE:
            raise ValueError("below() needs 0 < n <= 2**32")
        accept_under = _WORD_RANGE - _WORD_RANGE % n
        while True:
            word = self._word()
            if word < accept_under:
                return word % n

    def shuffle(self, items: MutableSequence[T]) -> None:
        """Shuffle ``items`` in place; every permutation is equally likely."""
        for i in range(len(items) - 1, 0, -1):
            j = self.below(i + 1)
            items[i], items[j] = items[j], items[i]

    def shuffled(self, items: Iterable[T]) -> list[T]:
        """A new list with ``items`` in uniformly random order (e.g. the contacts of a KADEMLIA2_RES)."""
        out = list(items)
        self.shuffle(out)
        return out
