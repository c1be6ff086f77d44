"""Keywords a busy node pushed back: ``CIndexed::AddLoad`` / ``SendStoreRequest`` and ``Search.cpp``'s rule.

When a keyword store ends with an average load above 20, iMule does not publish that keyword again for
7 days × load / 100 (``CSearch::~CSearch``); ``SearchManager::PrepareLookup`` asks ``SendStoreRequest`` first.
"""

from __future__ import annotations

from collections.abc import Iterator

from mule.index.limits import STORE_LOAD_PAUSE, STORE_LOAD_THRESHOLD


class StoreLoads:
    __slots__ = ("_until",)

    def __init__(self) -> None:
        self._until: dict[int, float] = {}

    def __len__(self) -> int:
        return len(self._until)

    def add(self, keyword_id: int, until: float, now: float) -> bool:
        """``AddLoad``: refused when already past, or when the keyword is already held back."""
        if now > until or keyword_id in self._until:
            return False
        self._until[keyword_id] = until
        return True

    def record(self, keyword_id: int, node_load: int, now: float) -> bool:
        """After a keyword store whose nodes reported ``node_load`` on average (0..100)."""
        if node_load <= STORE_LOAD_THRESHOLD:
            return False
        return self.add(keyword_id, float(int(STORE_LOAD_PAUSE * (node_load / 100.0)) + now), now)

    def may_store(self, keyword_id: int, now: float) -> bool:
        """``SendStoreRequest``: no, while the keyword is held back; the first ask after that forgets it."""
        until = self._until.get(keyword_id)
        if until is None:
            return True
        if until < now:
            del self._until[keyword_id]
            return True
        return False

    def items(self) -> Iterator[tuple[int, float]]:
        return iter(self._until.items())
