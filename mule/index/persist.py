"""The index across restarts, in iMule's own files: ``key_index.dat``, ``src_index.dat``, ``load_index.dat``.

The index runs on the node's monotonic timeline; the files hold Unix times (u32), so both calls take the two
clocks' readings at one moment (``now``, ``unix_now``). Saving writes the three files as iMule's ``~CIndexed``
does (same versions, same save times, same order), each atomically. Restoring makes every check iMule's
``CIndexed::ReadFile`` makes (version, a save time still in the future, our own Kad ID for keywords, then
each entry through the same ``AddKeyword`` / ``AddSources`` / ``AddLoad`` as a publish) and never raises for a
file: a missing one is nothing, an unreadable or damaged one is ignored whole with one log line (iMule keeps
what it read before the damage; mule trusts no part of a damaged file).
"""

from __future__ import annotations

import logging
import os
from itertools import groupby
from operator import itemgetter
from pathlib import Path

from mule.index import LocalIndex
from mule.index.entries import KeywordEntry, SourceEntry, common_name
from mule.index.limits import KEYWORD_LIFETIME, SOURCE_LIFETIME
from mule.kad.destination import hash_code
from mule.kad.errors import CorruptFile
from mule.kad.files import key_index, load_index, src_index
from mule.kad.files.key_index import KeyIndex, StoredKeyEntry, StoredKeySource, StoredKeyword, Tracking
from mule.kad.files.src_index import SrcIndex, StoredEntry, StoredFile, StoredSource
from mule.kad.opcodes import TagName
from mule.kad.tags import AddressTag, IntTag, StringTag, Tag

KEY_INDEX = "key_index.dat"
SRC_INDEX = "src_index.dat"
LOAD_INDEX = "load_index.dat"
_U32 = 0xFFFFFFFF

log = logging.getLogger(__name__)


def _unix(moment: float, offset: float) -> int:
    return min(max(int(moment + offset), 0), _U32)


# --- saving ------------------------------------------------------------------------------------------------------


def save(index: LocalIndex, directory: str | os.PathLike[str], kad_id: int, now: float, unix_now: float) -> None:
    """Write the three files as iMule does at shutdown (load, sources, keywords), each replaced atomically."""
    folder, offset = Path(directory), unix_now - now
    loads = tuple([(keyword_id, _unix(until, offset)) for keyword_id, until in index.loads.items()])
    load_index.write_load_index(folder / LOAD_INDEX, loads, _unix(now, offset))
    src_index.write_src_index(folder / SRC_INDEX, source_files(index, offset), _unix(now + SOURCE_LIFETIME, offset))
    key_index.write_key_index(
        folder / KEY_INDEX, keyword_files(index, offset), _unix(now + KEYWORD_LIFETIME, offset), kad_id
    )


def source_files(index: LocalIndex, offset: float) -> tuple[StoredFile, ...]:
    return tuple(
        [
            StoredFile(
                file_id,
                tuple(
                    [StoredSource(e.slot_id, (StoredEntry(_unix(e.lifetime, offset), e.answer.tags),)) for e in slots]
                ),
            )
            for file_id, slots in index.sources.stored()
        ]
    )


def keyword_files(index: LocalIndex, offset: float) -> tuple[StoredKeyword, ...]:
    return tuple(
        [
            StoredKeyword(
                keyword_id,
                tuple(
                    [
                        StoredKeySource(file_id, tuple([_stored_key_entry(e, offset) for e in entries]))
                        for _, file_id, entries in files
                    ]
                ),
            )
            for keyword_id, files in groupby(index.keywords.stored(), key=itemgetter(0))
        ]
    )


def _stored_key_entry(entry: KeywordEntry, offset: float) -> StoredKeyEntry:
    publishers = tuple([(publisher, _unix(last, offset)) for publisher, last in entry.publishers])
    return StoredKeyEntry(_unix(entry.lifetime, offset), entry.answer.tags, Tracking(tuple(entry.names), publishers))


# --- restoring ---------------------------------------------------------------------------------------------------


def restore(
    index: LocalIndex, directory: str | os.PathLike[str], kad_id: int, now: float, unix_now: float
) -> list[str]:
    """Fill ``index`` from the files in ``directory``; one line for each file that was refused or ignored."""
    folder, offset = Path(directory), unix_now - now
    notes: list[str] = []
    loads = _read(folder / LOAD_INDEX, load_index.read_load_index, notes)
    if loads is not None:
        for keyword_id, until in loads.entries:
            index.loads.add(keyword_id, until - offset, now)
    keys = _read(folder / KEY_INDEX, key_index.read_key_index, notes)
    if keys is not None:
        _restore_keywords(index, keys, kad_id, now, offset, notes)
    sources = _read(folder / SRC_INDEX, src_index.read_src_index, notes)
    if sources is not None:
        _restore_sources(index, sources, now, offset, notes)
    for note in notes:
        log.warning("%s", note)
    return notes


def _read(path: Path, reader, notes: list[str]):  # type: ignore[no-untyped-def]
    if not path.exists():
        return None
    try:
        return reader(path)
    except (OSError, CorruptFile) as exc:
        reason = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
        notes.append(f"{path.name} ignored: {reason}")
        return None


def _restore_keywords(
    index: LocalIndex, stored: KeyIndex, kad_id: int, now: float, offset: float, notes: list[str]
) -> None:
    if stored.save_time <= now + offset:
        notes.append(f"{KEY_INDEX} ignored: saved for a time now past")
        return
    if stored.kad_id != kad_id:
        notes.append(f"{KEY_INDEX} ignored: written for another Kad ID")
        return
    try:
        loaded = [
            (keyword.keyword_id, _key_entry(source.file_id, entry, stored.version, now, offset))
            for keyword in stored.keywords
            for source in keyword.sources
            for entry in source.entries
        ]
    except CorruptFile as exc:
        notes.append(f"{KEY_INDEX} ignored: {exc}")
        return
    store = index.keywords
    tracked = stored.version >= key_index.TRACKING_VERSION
    for keyword_id, entry in loaded:
        if tracked:
            store.adopt_tracking(entry, now)
        added, _ = store.add(keyword_id, entry, now, tracked=tracked)
        if tracked and not added:
            store.drop_tracking(entry)


def _key_entry(file_id: int, stored: StoredKeyEntry, version: int, now: float, offset: float) -> KeywordEntry:
    """A ``CKeyEntry`` as ``ReadFile`` rebuilds it: name and size out of the tags (v1 leaves them in)."""
    entry = KeywordEntry(file_id, 0, (), stored.lifetime - offset, 0, [])
    if stored.tracking is not None:
        entry.names = list(stored.tracking.names)
        entry.publishers = [(publisher, last - offset) for publisher, last in stored.tracking.publishers]
    kept: list[Tag] = []
    for tag in stored.tags:
        name = tag.name
        if name == TagName.FILENAME:
            text = _string(tag)
            if not common_name(entry.names):
                entry.names = [(text, 1)]
            if version < 2:
                kept.append(tag)
        elif name == TagName.FILESIZE:
            entry.size = _integer(tag)
            if version < 2:
                kept.append(tag)
        else:
            if name == TagName.SOURCEUDEST:
                entry.publisher = hash_code(_address(tag))
            elif name == TagName.SOURCEDEST:
                _address(tag)
            kept.append(tag)
    entry.tags = tuple(kept)
    return entry


def _restore_sources(index: LocalIndex, stored: SrcIndex, now: float, offset: float, notes: list[str]) -> None:
    if stored.save_time <= now + offset:
        notes.append(f"{SRC_INDEX} ignored: saved for a time now past")
        return
    try:
        loaded = [
            (file.file_id, _source_entry(source.source_id, entry, offset))
            for file in stored.files
            for source in file.sources
            for entry in source.entries
        ]
    except CorruptFile as exc:
        notes.append(f"{SRC_INDEX} ignored: {exc}")
        return
    for file_id, entry in loaded:
        index.sources.add(file_id, entry, now)


def _source_entry(source_id: int, stored: StoredEntry, offset: float) -> SourceEntry:
    """A source ``CEntry`` as ``ReadFile`` rebuilds it: every tag kept, no size and no name of its own."""
    tcp = udp = 0
    for tag in stored.tags:
        if tag.name == TagName.SOURCEDEST:
            tcp = hash_code(_address(tag))
        elif tag.name == TagName.SOURCEUDEST:
            udp = hash_code(_address(tag))
    return SourceEntry(source_id, stored.tags, stored.lifetime - offset, tcp, udp)


def _string(tag: Tag) -> str:
    if not isinstance(tag, StringTag):
        raise CorruptFile(f"tag 0x{tag.name:02x} should be a string")
    return tag.value


def _integer(tag: Tag) -> int:
    if not isinstance(tag, IntTag):
        raise CorruptFile(f"tag 0x{tag.name:02x} should be an integer")
    return tag.value


def _address(tag: Tag) -> bytes:
    if not isinstance(tag, AddressTag):
        raise CorruptFile(f"tag 0x{tag.name:02x} should be a destination")
    return tag.value
