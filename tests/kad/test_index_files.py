"""key_index.dat, src_index.dat and load_index.dat: the layouts of iMule 2.3.3.3 ``Indexed.cpp`` / ``Entry.cpp``,
byte for byte, and every damaged file refused with ``CorruptFile``."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mule._core import Writer
from mule.kad.errors import CorruptFile
from mule.kad.files.key_index import (
    KeyIndex,
    StoredKeyEntry,
    StoredKeySource,
    StoredKeyword,
    Tracking,
    build_key_index,
    parse_key_index,
    read_key_index,
    write_key_index,
)
from mule.kad.files.load_index import LoadIndex, build_load_index, parse_load_index, read_load_index, write_load_index
from mule.kad.files.src_index import (
    SrcIndex,
    StoredEntry,
    StoredFile,
    StoredSource,
    build_src_index,
    parse_src_index,
    read_src_index,
    write_src_index,
)
from mule.kad.opcodes import TagName
from mule.kad.tags import AddressTag, IntTag, StringTag, TagSerials, write_tag_list

ID_A = 0x00112233445566778899AABBCCDDEEFF
WIRE_A = bytes.fromhex("33221100 77665544 bbaa9988 ffeeddcc")
DEST = bytes(range(256)) + bytes(range(128)) + bytes(3)
TAGS = (IntTag(TagName.SOURCES, 3), StringTag(TagName.FILENAME, "été.avi"), IntTag(TagName.FILESIZE, 70000))
SOURCE_TAGS = (IntTag(TagName.SOURCETYPE, 1), AddressTag(TagName.SOURCEDEST, DEST))


def _tag_list(tags) -> bytes:
    w = Writer()
    write_tag_list(w, tags, TagSerials())
    return w.getvalue()


def u32(*values: int) -> bytes:
    return struct.pack(f"<{len(values)}I", *values)


KEYWORDS = (
    StoredKeyword(
        ID_A,
        (StoredKeySource(2, (StoredKeyEntry(1_700_000_000, TAGS, Tracking((("été.avi", 2), ("x", 0)), ((7, 9),))),)),),
    ),
)
FILES = (StoredFile(ID_A, (StoredSource(3, (StoredEntry(1_700_000_001, SOURCE_TAGS),)),)),)


def test_key_index_v3_layout():
    data = build_key_index(KEYWORDS, 1_700_086_400, ID_A)
    name = "été.avi".encode()
    tracking = u32(2) + struct.pack("<H", len(name)) + name + u32(2) + b"\x01\x00x" + u32(0) + u32(1, 7, 9)
    expected = (
        u32(3, 1_700_086_400) + WIRE_A + u32(1) + WIRE_A + u32(1) + bytes(12) + (2).to_bytes(4, "little") + u32(1)
    )
    expected += u32(1_700_000_000) + tracking + _tag_list(TAGS)
    assert data == expected
    assert parse_key_index(data) == KeyIndex(3, 1_700_086_400, ID_A, KEYWORDS)


def test_key_index_older_layouts_are_read():
    entry = u32(1_700_000_000) + _tag_list(TAGS)
    v2 = u32(2, 5) + WIRE_A + u32(1) + WIRE_A + u32(1) + WIRE_A + u32(1) + entry
    v1 = u32(1, 5) + WIRE_A + u32(1) + WIRE_A + u32(1) + WIRE_A + entry
    for version, data in ((2, v2), (1, v1)):
        parsed = parse_key_index(data)
        assert parsed.version == version
        assert parsed.keywords[0].sources[0].entries == (StoredKeyEntry(1_700_000_000, TAGS),)


def test_src_index_v2_layout_and_v1():
    data = build_src_index(FILES, 1_700_018_000)
    entry = u32(1_700_000_001) + _tag_list(SOURCE_TAGS)
    assert data == u32(2, 1_700_018_000, 1) + WIRE_A + u32(1) + bytes(12) + (3).to_bytes(4, "little") + u32(1) + entry
    assert parse_src_index(data) == SrcIndex(2, 1_700_018_000, FILES)
    v1 = u32(1, 5, 1) + WIRE_A + u32(1) + bytes(12) + (3).to_bytes(4, "little") + entry
    assert parse_src_index(v1) == SrcIndex(1, 5, FILES)


def test_load_index_layout():
    data = build_load_index(((ID_A, 1_700_500_000),), 1_700_000_000)
    assert data == u32(1, 1_700_000_000, 1) + WIRE_A + u32(1_700_500_000)
    assert parse_load_index(data) == LoadIndex(1, 1_700_000_000, ((ID_A, 1_700_500_000),))


@pytest.mark.parametrize(
    ("parse", "data"),
    [
        (parse_key_index, build_key_index(KEYWORDS, 1, ID_A)),
        (parse_src_index, build_src_index(FILES, 1)),
        (parse_load_index, build_load_index(((ID_A, 1), (2, 3)), 1)),
    ],
)
def test_every_truncation_is_refused(parse, data):
    for cut in range(len(data)):
        with pytest.raises(CorruptFile):
            parse(data[:cut])


@pytest.mark.parametrize(
    ("parse", "data"),
    [
        (parse_key_index, u32(4, 1) + WIRE_A + u32(0)),  # iMule reads versions below 4
        (parse_src_index, u32(3, 1, 0)),  # below 3
        (parse_load_index, u32(2, 1, 0)),  # below 2
        (parse_key_index, u32(3, 1) + WIRE_A + u32(0xFFFFFFFF)),  # a count the file cannot hold
        (parse_src_index, u32(2, 1, 1) + WIRE_A + u32(1) + WIRE_A + u32(1) + u32(5) + b"\x01\x7f"),  # bad tag type
    ],
)
def test_versions_imule_does_not_read_and_damage_are_refused(parse, data):
    with pytest.raises(CorruptFile):
        parse(data)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise_anything_but_corrupt_file(data):
    for parse in (parse_key_index, parse_src_index, parse_load_index):
        with contextlib.suppress(CorruptFile):
            parse(data)


_tags = st.lists(
    st.one_of(
        st.builds(IntTag, st.integers(1, 255), st.integers(0, 2**64 - 1)),
        st.builds(StringTag, st.integers(1, 255), st.text(max_size=40)),
    ),
    max_size=6,
).map(tuple)
_u32 = st.integers(0, 2**32 - 1)
_id = st.integers(0, 2**128 - 1)
_tracking = st.builds(
    Tracking,
    st.lists(st.tuples(st.text(max_size=20), _u32), max_size=3).map(tuple),
    st.lists(st.tuples(_u32, _u32), max_size=3).map(tuple),
)
_keywords = st.lists(
    st.builds(
        StoredKeyword,
        _id,
        st.lists(
            st.builds(
                StoredKeySource, _id, st.lists(st.builds(StoredKeyEntry, _u32, _tags, _tracking), max_size=2).map(tuple)
            ),
            max_size=3,
        ).map(tuple),
    ),
    max_size=3,
).map(tuple)
_files = st.lists(
    st.builds(
        StoredFile,
        _id,
        st.lists(
            st.builds(StoredSource, _id, st.lists(st.builds(StoredEntry, _u32, _tags), max_size=2).map(tuple)),
            max_size=3,
        ).map(tuple),
    ),
    max_size=3,
).map(tuple)


@given(_keywords, _u32, _id)
def test_key_index_round_trips_byte_for_byte(keywords, save_time, kad_id):
    data = build_key_index(keywords, save_time, kad_id)
    parsed = parse_key_index(data)
    assert parsed == KeyIndex(3, save_time, kad_id, keywords)
    assert build_key_index(parsed.keywords, parsed.save_time, parsed.kad_id) == data


@given(_files, _u32)
def test_src_index_round_trips_byte_for_byte(files, save_time):
    data = build_src_index(files, save_time)
    parsed = parse_src_index(data)
    assert parsed == SrcIndex(2, save_time, files)
    assert build_src_index(parsed.files, parsed.save_time) == data


@given(st.lists(st.tuples(_id, _u32), max_size=20).map(tuple), _u32)
def test_load_index_round_trips_byte_for_byte(entries, save_time):
    data = build_load_index(entries, save_time)
    assert build_load_index(parse_load_index(data).entries, save_time) == data


def test_files_are_written_and_read_back(tmp_path):
    write_key_index(tmp_path / "key_index.dat", KEYWORDS, 9, ID_A)
    write_src_index(tmp_path / "src_index.dat", FILES, 9)
    write_load_index(tmp_path / "load_index.dat", ((ID_A, 5),), 9)
    assert read_key_index(tmp_path / "key_index.dat").keywords == KEYWORDS
    assert read_src_index(tmp_path / "src_index.dat").files == FILES
    assert read_load_index(tmp_path / "load_index.dat").entries == ((ID_A, 5),)
