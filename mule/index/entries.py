"""What the index keeps per published entry, what an answer carries, and what an entry costs in memory."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from mule._core import Writer
from mule.kad.message import Entry
from mule.kad.opcodes import TagName
from mule.kad.tags import AddressTag, BlobTag, HashTag, IntTag, StringTag, Tag, TagSerials, write_tag_list

# Memory estimates (CPython 3.11, measured with tracemalloc): a slotted tag object and its slot in a tuple
# come to about 64 bytes before its value; an int value ~32, a str or bytes value ~50 plus its length.
TAG_COST = 112
ENTRY_COST = 640  # the entry object, its result Entry, list and dict slots, its IDs
NAME_COST = 160
PUBLISHER_COST = 128
COMPLETE_FILE = 0x01  # TAG_FLAGS_COMPLETEFILE


def tag_cost(tag: Tag) -> int:
    if isinstance(tag, StringTag):
        return TAG_COST + 2 * len(tag.value)  # a str of non-Latin-1 text takes 2 or 4 bytes a character
    if isinstance(tag, (BlobTag, HashTag, AddressTag)):
        return TAG_COST + len(tag.value)
    return TAG_COST


def result_tags(tags: tuple[Tag, ...], name: str, size: int) -> tuple[Tag, ...]:
    """``CEntry::WriteTagList``: the stored tags, then the file name if known and the size if not zero."""
    extra: tuple[Tag, ...] = ()
    if name:
        extra += (StringTag(TagName.FILENAME, name),)
    if size:
        extra += (IntTag(TagName.FILESIZE, size),)
    return tags + extra


def answer_length(entry: Entry) -> int:
    """The bytes an entry takes in a SEARCH_RES (its ID and tag list; serials are fixed-size)."""
    w = Writer()
    write_tag_list(w, entry.tags, TagSerials())
    return 16 + len(w)


def int_tag(tags: tuple[Tag, ...], name: int) -> int | None:
    """``CEntry::GetIntTagValue`` without the virtual size: the first integer tag called ``name``."""
    for tag in tags:
        if tag.name == name and isinstance(tag, IntTag):
            return tag.value
    return None


@dataclass(slots=True, eq=False)
class KeywordEntry:
    """A ``CKeyEntry``: one file (of one size) under one keyword, with iMule's publisher tracking."""

    file_id: int
    size: int
    tags: tuple[Tag, ...]  # without the name and size, which iMule keeps apart
    lifetime: float
    publisher: int  # hash of the publisher's datagram destination (``m_udpdest``)
    names: list[tuple[str, int]]  # every name published for it, with its popularity
    publishers: list[tuple[int, float]] = field(default_factory=list)  # (hash, last publish), oldest first
    trust: float = 0.0
    trust_at: float = -math.inf
    name: str = ""
    folded: str = ""  # the common name lowercased, as string terms search it
    answer: Entry = field(init=False)
    answer_len: int = 0
    cost: int = 0

    def settle(self) -> None:
        """Fix what follows from the names and tags once the entry is stored (the names never change after)."""
        self.name = common_name(self.names)
        self.folded = self.name.lower()
        self.answer = Entry(self.file_id, result_tags(self.tags, self.name, self.size))
        self.answer_len = answer_length(self.answer)
        self.cost = self.weight()

    def weight(self) -> int:
        """What the entry holds in memory, by ``TAG_COST`` and friends."""
        return (
            ENTRY_COST
            + sum(map(tag_cost, self.tags))
            + sum(NAME_COST + 2 * len(name) for name, _ in self.names)
            + 2 * len(self.name)
            + PUBLISHER_COST * len(self.publishers)
        )


def common_name(names: list[tuple[str, int]]) -> str:
    """``CEntry::GetCommonFileName``: the first name of strictly highest popularity (none if all are 0)."""
    best, best_popularity = "", 0
    for name, popularity in names:
        if popularity > best_popularity:
            best, best_popularity = name, popularity
    return best


@dataclass(slots=True, eq=False)
class SourceEntry:
    """A source ``CEntry`` and the ``Source`` slot holding it (``slot_id``: the ID iMule files it under)."""

    source_id: int
    tags: tuple[Tag, ...]
    lifetime: float
    tcp: int  # hash of TAG_SOURCEDEST (``m_tcpdest``); 0: none
    udp: int  # hash of the publisher's datagram destination or its TAG_SOURCEUDEST (``m_udpdest``); 0: none
    size: int = 0
    name: str = ""  # Kad1 sources keep a published name
    slot_id: int | None = None
    complete: bool = False
    answer: Entry = field(init=False)
    answer_len: int = 0
    cost: int = 0

    def __post_init__(self) -> None:
        if self.slot_id is None:
            self.slot_id = self.source_id
        self.complete = bool((int_tag(self.tags, TagName.FLAGS) or 0) & COMPLETE_FILE)
        self.answer = Entry(self.source_id, result_tags(self.tags, self.name, self.size))
        self.answer_len = answer_length(self.answer)
        self.cost = ENTRY_COST + sum(map(tag_cost, self.tags)) + 2 * len(self.name)
