"""What every message shares: the encode path, and (ID, tag list) entries."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar, Self, overload

from mule._core import Reader, Writer
from mule.kad.envelope import frame
from mule.kad.tags import TAG_KINDS, Tag, TagSerials, write_tag_list


class Message:
    """A typed, immutable Kad message. Subclasses are frozen dataclasses with an ``OPCODE``."""

    __slots__ = ()
    OPCODE: ClassVar[int]

    def encode(self, serials: TagSerials | None = None) -> bytes:
        """The datagram iMule would send (packed when that helps).

        The node passes its one long-lived ``serials`` counter, as iMule numbers every tag it writes.
        """
        w = Writer()
        self.write_payload(w, TagSerials() if serials is None else serials)
        return frame(self.OPCODE, w.getvalue())

    def write_payload(self, w: Writer, serials: TagSerials) -> None:
        """Empty payload; messages with fields override this."""

    @classmethod
    def read_payload(cls, r: Reader) -> Self:
        return cls()


@dataclass(frozen=True, slots=True)
class Entry:
    """An ID with its tags: a search result or a published file."""

    kad_id: int
    tags: tuple[Tag, ...] = ()


class ReceivedEntries(Sequence[Entry]):
    """A received entry list: its checked wire bytes (u16 count first), the entries built on first use.

    An inflated datagram holds up to about 14,000 tags, too many to build eagerly for every datagram; the node
    builds them when it uses them. It compares and hashes as the tuple of its entries.
    """

    __slots__ = ("_entries", "wire")

    def __init__(self, wire: bytes) -> None:
        self.wire = wire
        self._entries: tuple[Entry, ...] | None = None

    @property
    def entries(self) -> tuple[Entry, ...]:
        if self._entries is None:
            self._entries = Reader(self.wire).entries(Entry, TAG_KINDS)
        return self._entries

    def __len__(self) -> int:
        return int.from_bytes(self.wire[:2], "little")

    @overload
    def __getitem__(self, index: int) -> Entry: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Entry, ...]: ...
    def __getitem__(self, index: int | slice) -> Entry | tuple[Entry, ...]:
        return self.entries[index]

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ReceivedEntries):
            return self.entries == other.entries
        if isinstance(other, tuple):
            return self.entries == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.entries)

    def __repr__(self) -> str:
        return f"ReceivedEntries({self.entries!r})"


Entries = tuple[Entry, ...] | ReceivedEntries


def write_entries(w: Writer, entries: Entries, serials: TagSerials) -> None:
    w.u16(len(entries))
    for entry in entries:
        w.uint128(entry.kad_id)
        write_tag_list(w, entry.tags, serials)


def read_entries(r: Reader) -> ReceivedEntries:
    """A u16 count of (ID, tag list) entries, checked whole as iMule reads them; built later, on use."""
    return ReceivedEntries(r.skip_entries())
