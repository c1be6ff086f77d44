"""The keyword store: ``CIndexed::AddKeyword``, ``SendValidKeywordResult`` and the keyword half of ``Clean``,
with ``CKeyEntry``'s publisher tracking and trust values (iMule 2.3.3.3 ``Indexed.cpp``, ``Entry.cpp``).

Files under a keyword are visited in ascending file ID, as iMule's ``std::map`` does, so that a start
position pages through the same order on every request; the entries of one file (one per published size)
newest first.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator

from mule.index.entries import PUBLISHER_COST, KeywordEntry, common_name
from mule.index.limits import (
    FAST_REFRESH,
    FULL_LOAD,
    KEYWORD_RESULTS,
    MAX_RESULT_TAGS,
    PUBLISHER_MEMORY,
    PUBLISHERS_PER_ENTRY,
    TRUST_POINTS,
    TRUST_REFRESH,
    IndexLimits,
)
from mule.index.match import Matcher
from mule.index.tally import Tally


class _Keyword:
    __slots__ = ("files", "order")

    def __init__(self) -> None:
        self.files: dict[int, list[KeywordEntry]] = {}
        self.order: list[int] = []  # the file IDs, ascending

    def put(self, file_id: int, entries: list[KeywordEntry]) -> None:
        if file_id not in self.files:
            bisect.insort(self.order, file_id)
        self.files[file_id] = entries


class KeywordStore(Tally):
    __slots__ = ("_keywords", "_limits", "_published")

    def __init__(self, limits: IndexLimits) -> None:
        super().__init__()
        self._limits = limits
        self._keywords: dict[int, _Keyword] = {}
        self._published: dict[int, int] = {}  # s_globalPublishIPs: publisher hash -> entries it is tracked on

    @property
    def keyword_count(self) -> int:
        return len(self._keywords)

    def files(self, keyword_id: int) -> int:
        keyword = self._keywords.get(keyword_id)
        return 0 if keyword is None else len(keyword.files)

    # --- storing ---------------------------------------------------------------------------------------------------

    def refusal(
        self, keyword_id: int, size: int, name: str, tags: int, lifetime: float, now: float
    ) -> tuple[bool, int | None] | None:
        """``AddKeyword``'s checks that need no entry, in its order: ``(False, load)`` if an entry of this size,
        common name, tag count (without name and size) and lifetime would be refused; ``None`` if ``add`` would
        look further. A publish reads it before it builds an entry, so a refused one costs no entry at all."""
        if self._count > self._limits.keyword_entries:
            return False, FULL_LOAD
        if not size or not name or lifetime < now:
            return False, None
        if tags + 2 > MAX_RESULT_TAGS:  # mule: an answer iMule would garble (a u8 count past 255)
            return False, None
        keyword = self._keywords.get(keyword_id)
        if keyword is not None and len(keyword.files) > self._limits.files_per_keyword:
            return False, FULL_LOAD  # this keyword takes no more files, whichever they are
        return None

    def add(
        self, keyword_id: int, entry: KeywordEntry, now: float, *, tracked: bool = False
    ) -> tuple[bool, int | None]:
        """``AddKeyword``: whether ``entry`` was stored, and the load iMule reports (``None``: left as it was).

        ``tracked``: the entry comes from key_index.dat with its own tracking (iMule does not merge those).
        """
        refused = self.refusal(keyword_id, entry.size, common_name(entry.names), len(entry.tags), entry.lifetime, now)
        if refused is not None:
            return refused
        keyword = self._keywords.get(keyword_id)
        in_keyword = 0 if keyword is None else len(keyword.files)
        load = 1 if keyword is None else in_keyword * 100 // self._limits.files_per_keyword
        stored = None if keyword is None else keyword.files.get(entry.file_id)
        if stored and in_keyword > self._limits.files_per_keyword - self._limits.refresh_headroom:
            return False, FULL_LOAD  # a hot keyword: refreshing known files would crowd out new ones
        old = next((e for e in stored if e.size == entry.size), None) if stored else None
        if not self._affordable(entry):
            return False, FULL_LOAD
        if keyword is None:
            keyword = self._keywords[keyword_id] = _Keyword()
        entries = [e for e in stored if e is not old] if stored else []
        if not tracked:
            self._merge(entry, old, now)
        elif old is not None:
            self._untrack(old)
        entry.settle()
        entries.insert(0, entry)
        keyword.put(entry.file_id, entries)
        self._gain(entry, old)
        return True, load

    def _affordable(self, entry: KeywordEntry) -> bool:
        """Whether the store stays within its byte budget. A replaced entry's names and publishers move over to
        its successor, which adds at most its own tags, name and one publisher: so the bound holds either way."""
        return self._bytes + entry.weight() + PUBLISHER_COST <= self._limits.keyword_bytes

    def _merge(self, entry: KeywordEntry, old: KeywordEntry | None, now: float) -> None:
        """``CKeyEntry::MergeIPsAndFilenames``: take over the old entry's publishers and names, add this publisher."""
        refresh = False
        if old is not None:
            entry.publishers, old.publishers = old.publishers, []
            fast = False
            for i, (publisher, last) in enumerate(entry.publishers):
                if publisher == entry.publisher:
                    refresh = True
                    fast = now - last < FAST_REFRESH  # back too soon to count as one more vote for its name
                    del entry.publishers[i]
                    entry.publishers.append((publisher, now))
                    break
            entry.trust, entry.trust_at = old.trust, old.trust_at
            current, current_popularity = entry.names[0]
            names, duplicate = [], False
            for name, popularity in old.names:
                if name.lower() == current.lower():
                    duplicate = True
                    popularity += 0 if fast else 1
                names.append((name, popularity))
            if not duplicate:
                names.append((current, current_popularity))
            entry.names = names
        if not refresh:
            entry.publishers.append((entry.publisher, now))
            self._track(entry.publisher, +1)
            if len(entry.publishers) > PUBLISHERS_PER_ENTRY:
                self._track(entry.publishers.pop(0)[0], -1)
            self._rate(entry, now)

    def adopt_tracking(self, entry: KeywordEntry, now: float) -> None:
        """``ReadPublishTrackingDataFromFile``: count a loaded entry's publishers and rate it."""
        for publisher, _ in entry.publishers:
            self._track(publisher, +1)
        self._rate(entry, now)

    def _track(self, publisher: int, change: int) -> None:
        count = self._published.get(publisher, 0) + change
        if count > 0:
            self._published[publisher] = count
        else:
            self._published.pop(publisher, None)

    def drop_tracking(self, entry: KeywordEntry) -> None:
        """What deleting a ``CKeyEntry`` does to the publisher counts."""
        self._untrack(entry)

    def _untrack(self, entry: KeywordEntry) -> None:
        for publisher, _ in entry.publishers:
            self._track(publisher, -1)

    def _rate(self, entry: KeywordEntry, now: float) -> None:
        """``ReCalculateTrustValue``: 10 points per publisher, shared among every entry that publisher is on."""
        entry.trust = sum(TRUST_POINTS / self._published[p] for p, _ in entry.publishers if p in self._published)
        entry.trust_at = now

    def trust(self, entry: KeywordEntry, now: float) -> float:
        """``GetTrustValue``: recomputed when older than 10 minutes."""
        if now - entry.trust_at > TRUST_REFRESH:
            self._rate(entry, now)
        return entry.trust

    # --- searching -------------------------------------------------------------------------------------------------

    def search(
        self, keyword_id: int, term: Matcher | None, start: int, now: float, *, max_scanned: int | None = None
    ) -> list[KeywordEntry]:
        """``SendValidKeywordResult``: matches with a trust of 1 or more first, then the rest; skip ``start``,
        keep 300. ``max_scanned`` bounds how many entries are looked at (mule's per-request work bound)."""
        keyword = self._keywords.get(keyword_id)
        if keyword is None:
            return []
        wanted = start + KEYWORD_RESULTS
        trusted: list[KeywordEntry] = []
        others: list[KeywordEntry] = []
        for scanned, entry in enumerate(self._entries(keyword)):
            if max_scanned is not None and scanned >= max_scanned:
                break
            if self.trust(entry, now) >= 1.0:
                if term is None or term(entry):
                    trusted.append(entry)
                    if len(trusted) >= wanted:
                        break
            elif len(others) < wanted and (term is None or term(entry)):
                others.append(entry)
        return (trusted + others)[start:wanted]

    @staticmethod
    def _entries(keyword: _Keyword) -> Iterator[KeywordEntry]:
        for file_id in keyword.order:
            yield from keyword.files[file_id]

    # --- upkeep ----------------------------------------------------------------------------------------------------

    def clean(self, now: float) -> None:
        """The keyword half of ``CIndexed::Clean``: drop expired entries, forget publishers not heard for 24 h."""
        for keyword_id in list(self._keywords):
            keyword = self._keywords[keyword_id]
            emptied = False
            for file_id in keyword.order:
                kept = []
                for entry in keyword.files[file_id]:
                    if entry.lifetime < now:
                        self._untrack(entry)
                        self._lose(entry)
                        continue
                    self._forget_publishers(entry, now)
                    kept.append(entry)
                keyword.files[file_id] = kept
                emptied = emptied or not kept
            if emptied:
                keyword.order = [file_id for file_id in keyword.order if keyword.files[file_id]]
                keyword.files = {file_id: keyword.files[file_id] for file_id in keyword.order}
            if not keyword.order:
                del self._keywords[keyword_id]

    def _forget_publishers(self, entry: KeywordEntry, now: float) -> None:
        """``CleanUpTrackedPublishers`` (the trust value is left as it is until its next recomputation)."""
        forgotten = 0
        for publisher, last in entry.publishers:
            if now - last <= PUBLISHER_MEMORY:
                break
            self._track(publisher, -1)
            forgotten += 1
        if forgotten:
            del entry.publishers[:forgotten]
            entry.cost -= forgotten * PUBLISHER_COST
            self._bytes -= forgotten * PUBLISHER_COST

    # --- persistence -----------------------------------------------------------------------------------------------

    def stored(self) -> Iterator[tuple[int, int, list[KeywordEntry]]]:
        """(keyword ID, file ID, entries newest first) in iMule's file order: keywords and files ascending."""
        for keyword_id in sorted(self._keywords):
            keyword = self._keywords[keyword_id]
            for file_id in keyword.order:
                yield keyword_id, file_id, keyword.files[file_id]
