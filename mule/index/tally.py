"""What a store holds: its entry count (iMule's ``m_totalIndexKeyword`` / ``m_totalIndexSource``) and the bytes
its entries cost against mule's memory budget (docs/index.md)."""

from __future__ import annotations

from typing import Protocol


class Costed(Protocol):
    cost: int
    """Bytes the entry is charged against its store's budget."""


class Tally:
    """A store's count and bytes, kept as entries are stored, replaced and dropped."""

    __slots__ = ("_bytes", "_count")

    def __init__(self) -> None:
        self._count = 0
        self._bytes = 0

    def __len__(self) -> int:
        return self._count

    @property
    def bytes(self) -> int:
        return self._bytes

    def _gain(self, entry: Costed, replaced: Costed | None) -> None:
        """``entry`` stored, in place of ``replaced`` (not counted again) or as a new entry."""
        if replaced is None:
            self._count += 1
        else:
            self._bytes -= replaced.cost
        self._bytes += entry.cost

    def _lose(self, entry: Costed) -> None:
        self._count -= 1
        self._bytes -= entry.cost
