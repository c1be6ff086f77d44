"""The source store: ``CIndexed::AddSources``, ``SendValidSourceResult``, the source counts of a PUBLISH_RES and
the source half of ``Clean`` (iMule 2.3.3.3 ``Indexed.cpp``).

Per file, iMule keeps a list of source slots, newest at the front. A publisher already listed (same stream or
same datagram destination, compared by their hashes as ``CI2PAddress::operator==`` does) replaces its entry in
place, and the slot keeps its place and its first ID; a new publisher takes a new slot at the front, or, once
the file has more than 1,000, the oldest slot. mule stores the list oldest first (so the front is the end).
"""

from __future__ import annotations

from collections.abc import Iterator

from mule.index.entries import SourceEntry
from mule.index.limits import FULL_LOAD, MAX_RESULT_TAGS, SOURCE_RESULTS, IndexLimits
from mule.index.tally import Tally


class SourceStore(Tally):
    __slots__ = ("_files", "_limits")

    def __init__(self, limits: IndexLimits) -> None:
        super().__init__()
        self._limits = limits
        self._files: dict[int, list[SourceEntry]] = {}  # file ID -> slots, oldest first

    @property
    def file_count(self) -> int:
        return len(self._files)

    def add(self, file_id: int, entry: SourceEntry, now: float) -> tuple[bool, int | None]:
        """``AddSources``: whether ``entry`` was stored, and the load iMule reports (``None``: left as it was)."""
        if not entry.tcp or not entry.tags or entry.lifetime < now:
            return False, None
        if len(entry.answer.tags) > MAX_RESULT_TAGS:  # mule: an answer iMule would garble (a u8 count past 255)
            return False, None
        slots = self._files.get(file_id)
        if slots is None:
            if not self._affordable(entry, None):
                return False, None
            self._files[file_id] = [entry]
            self._gain(entry, None)
            return True, 1
        size = len(slots)
        for i in range(size - 1, -1, -1):
            current = slots[i]
            if current.tcp == entry.tcp or current.udp == entry.udp:
                if not self._affordable(entry, current):
                    return False, None
                entry.slot_id = current.slot_id
                slots[i] = entry
                self._gain(entry, current)
                return True, size * 100 // self._limits.sources_per_file
        if size > self._limits.sources_per_file:
            oldest = slots[0]
            if not self._affordable(entry, oldest):
                return False, None
            del slots[0]
            slots.append(entry)
            self._gain(entry, oldest)
            return True, FULL_LOAD
        if not self._affordable(entry, None):
            return False, None
        slots.append(entry)
        self._gain(entry, None)
        return True, size * 100 // self._limits.sources_per_file

    def _affordable(self, entry: SourceEntry, replaced: SourceEntry | None) -> bool:
        freed = 0 if replaced is None else replaced.cost
        return self._bytes - freed + entry.cost <= self._limits.source_bytes

    def counts(self, file_id: int) -> tuple[int, int]:
        """``GetSourceCount`` and ``GetCompleteSourceCount``: the file's sources, and those with the complete flag."""
        slots = self._files.get(file_id, ())
        return len(slots), sum(entry.complete for entry in slots)

    def search(self, file_id: int, start: int, file_size: int) -> list[SourceEntry]:
        """``SendValidSourceResult``: skip ``start`` sources (whatever their size), then up to 300 of matching size
        (a size of 0 on either side matches)."""
        found: list[SourceEntry] = []
        slots = self._files.get(file_id, ())
        for entry in reversed(slots[: max(len(slots) - start, 0)]):
            if len(found) >= SOURCE_RESULTS:
                break
            if not file_size or not entry.size or entry.size == file_size:
                found.append(entry)
        return found

    def clean(self, now: float) -> None:
        """The source half of ``CIndexed::Clean``: drop expired sources, then files left without any."""
        for file_id in list(self._files):
            slots = self._files[file_id]
            kept = [entry for entry in slots if entry.lifetime >= now]
            if len(kept) == len(slots):
                continue
            for entry in slots:
                if entry.lifetime < now:
                    self._lose(entry)
            if kept:
                self._files[file_id] = kept
            else:
                del self._files[file_id]

    def stored(self) -> Iterator[tuple[int, list[SourceEntry]]]:
        """(file ID, slots newest first) in iMule's file order: files ascending."""
        for file_id in sorted(self._files):
            yield file_id, self._files[file_id][::-1]
