"""What every message shares: the encode path, and (ID, tag list) entries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from mule._core import Reader, Writer
from mule.kad.envelope import frame
from mule.kad.errors import MalformedPacket
from mule.kad.tags import Tag, TagSerials, read_tag_list, write_tag_list

_MIN_ENTRY_LEN = 16 + 1  # an ID and an empty tag list


class Message:
    """A typed, immutable Kad message. Subclasses are frozen dataclasses with an ``OPCODE``."""

    __slots__ = ()
    OPCODE: ClassVar[int]
    HAS_TAGS: ClassVar[bool] = False  # tag serials may be present or absent: the decoder tries both

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
    def read_payload(cls, r: Reader, serial: bool) -> Self:
        return cls()


@dataclass(frozen=True, slots=True)
class Entry:
    """An ID with its tags: a search result or a published file."""

    kad_id: int
    tags: tuple[Tag, ...] = ()


def write_entries(w: Writer, entries: tuple[Entry, ...], serials: TagSerials) -> None:
    w.u16(len(entries))
    for entry in entries:
        w.uint128(entry.kad_id)
        write_tag_list(w, entry.tags, serials)


def read_entries(r: Reader, serial: bool) -> tuple[Entry, ...]:
    count = r.u16()
    if count * _MIN_ENTRY_LEN > r.remaining():
        raise MalformedPacket(f"{count} entries do not fit {r.remaining()} bytes")
    return tuple([Entry(r.uint128(), read_tag_list(r, serial)) for _ in range(count)])
