"""The local index: keywords and sources published to us, sans-IO (every time is an argument).

iMule 2.3.3.3 (``src/kademlia/kademlia/Indexed.cpp``) keeps keywords, sources and notes. Notes never get in:
``AddNotes`` wants a stream destination that neither notes handler sets, so iMule stores none, answers no
notes publish and finds no note. mule keeps no notes store and answers the same (docs/index.md).
"""

from __future__ import annotations

from mule.index.entries import KeywordEntry, SourceEntry
from mule.index.keywords import KeywordStore
from mule.index.limits import CLEAN_INTERVAL, IMULE_LIMITS, IndexLimits
from mule.index.loads import StoreLoads
from mule.index.sources import SourceStore

__all__ = ["IMULE_LIMITS", "IndexLimits", "KeywordEntry", "LocalIndex", "SourceEntry"]


class LocalIndex:
    __slots__ = ("_next_clean", "keywords", "limits", "loads", "sources")

    def __init__(self, now: float, limits: IndexLimits = IMULE_LIMITS) -> None:
        self.limits = limits
        self.keywords = KeywordStore(limits)
        self.sources = SourceStore(limits)
        self.loads = StoreLoads()
        self._next_clean = now + CLEAN_INTERVAL  # iMule's first clean is 30 minutes after start

    @property
    def next_clean(self) -> float:
        return self._next_clean

    def clean(self, now: float) -> bool:
        """``CIndexed::Clean``: drop what expired, at most once every 30 minutes; whether it ran."""
        if now < self._next_clean:
            return False
        self.keywords.clean(now)
        self.sources.clean(now)
        self._next_clean = now + CLEAN_INTERVAL
        return True
