"""The little-endian reader/writer: round trips, and one error type on any bad input (both twins)."""

from __future__ import annotations

import struct
from array import array

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mule._core.errors import FramingError

FIELDS = {
    "u8": st.integers(0, 0xFF),
    "u16": st.integers(0, 0xFFFF),
    "u32": st.integers(0, 0xFFFFFFFF),
    "u64": st.integers(0, (1 << 64) - 1),
    "uint128": st.integers(0, (1 << 128) - 1),
    "string": st.binary(max_size=300),
    "raw": st.binary(max_size=300),
}
field_lists = st.lists(st.sampled_from(sorted(FIELDS)).flatmap(lambda n: st.tuples(st.just(n), FIELDS[n])), max_size=30)


def _write(twin, fields):
    writer = twin.Writer()
    for name, value in fields:
        getattr(writer, name)(value)
    return writer.getvalue()


def _read(reader, name, value):
    return reader.raw(len(value)) if name == "raw" else getattr(reader, name)()


@given(fields=field_lists)
def test_round_trip(twin, fields):
    data = _write(twin, fields)
    reader = twin.Reader(data)
    assert [_read(reader, name, value) for name, value in fields] == [value for _, value in fields]
    assert reader.remaining() == 0
    assert reader.offset == len(data)


def test_known_layout(twin):
    writer = twin.Writer()
    writer.u8(0x01)
    writer.u16(0x0203)
    writer.u32(0x04050607)
    writer.u64(0x08090A0B0C0D0E0F)
    writer.string(b"ab")
    assert writer.getvalue() == struct.pack("<BHIQH", 1, 0x0203, 0x04050607, 0x08090A0B0C0D0E0F, 2) + b"ab"
    assert len(writer) == 1 + 2 + 4 + 8 + 2 + 2


@given(fields=field_lists, cut=st.integers(min_value=0))
def test_truncated_input_raises_only_framing_error(twin, fields, cut):
    data = _write(twin, fields)
    if not data:
        return
    # Reading the same fields needs all len(data) bytes, so any cut must fail, and only with FramingError.
    reader = twin.Reader(data[: cut % len(data)])
    with pytest.raises(FramingError):
        for name, value in fields:
            _read(reader, name, value)


@pytest.mark.parametrize(
    "method,value",
    [
        ("u8", 256),
        ("u8", -1),
        ("u16", 1 << 16),
        ("u32", 1 << 32),
        ("u64", 1 << 64),
        ("uint128", 1 << 128),
        ("u32", 1.0),
        ("u64", None),
        ("u8", "1"),
        ("string", bytes(0x10000)),
        ("string", "text"),
        ("raw", 5),
    ],
)
def test_values_that_do_not_fit_raise_framing_error(twin, method, value):
    with pytest.raises(FramingError):
        getattr(twin.Writer(), method)(value)


@pytest.mark.parametrize("data", [b"", b"\x01", b"\xff\xff"])
def test_oversized_lengths_raise_framing_error(twin, data):
    reader = twin.Reader(data)
    with pytest.raises(FramingError):
        reader.string()
    with pytest.raises(FramingError):
        twin.Reader(data).raw(len(data) + 1)
    with pytest.raises(FramingError):
        twin.Reader(data).skip(-1)


def test_reader_rejects_non_bytes_and_bad_offsets(twin):
    for bad in (5, "text", None):
        with pytest.raises(FramingError):
            twin.Reader(bad)
    with pytest.raises(FramingError):
        twin.Reader(b"abc", 4)
    assert twin.Reader(bytearray(b"abc"), 1).rest() == b"bc"
    assert twin.Reader(memoryview(b"abc")).u8() == ord("a")


@pytest.mark.parametrize(
    "data",
    [
        memoryview(array("H", [1, 2, 0xFFFF])),
        memoryview(array("I", [7])),
        memoryview(array("d", [0.5, 1.5])),
        memoryview(b"abcdef")[::2],  # not contiguous
        memoryview(bytearray(b"xyz")),
        bytearray(b"pq"),
    ],
    ids=["u16 items", "u32 items", "doubles", "strided", "bytearray view", "bytearray"],
)
def test_writers_take_bytes_of_any_buffer_identically(both_twins, data):
    """A length prefix counts bytes, not items, and both twins write the same bytes (differential)."""
    outputs = []
    for twin in both_twins:
        writer = twin.Writer()
        writer.string(data)
        writer.raw(data)
        outputs.append(writer.getvalue())
    compiled, pure = outputs
    expected = bytes(data)
    assert compiled == pure == len(expected).to_bytes(2, "little") + expected + expected


STRUCTURES = ["skip_tag_list", "skip_entries", "skip_search_tree"]


def _scan(twin, method: str, data: bytes) -> tuple[bytes, int] | str:
    reader = twin.Reader(data)
    try:
        scanned = reader.skip_search_tree(24) if method == "skip_search_tree" else getattr(reader, method)()
    except FramingError:
        return "refused"
    return scanned, reader.offset


# Bytes biased towards real structure: small counts, tag headers with serials, tree opcodes.
_pieces = st.sampled_from(
    [
        b"\x00",
        b"\x01",
        b"\x02",
        b"\x03",
        b"\x00\x00",
        b"\x01\x00",
        b"\x89\x24\x01\x00\x00\x00",
        b"\x82\x23\x00\x00\x00\x00",
    ]
    + [bytes((0x80 | t, 0x30, 0, 0, 0, 0)) for t in range(0x2B)]
    + [bytes(16), bytes(384) + bytes(3)]
)
structured = st.lists(_pieces | st.binary(max_size=4), max_size=40).map(b"".join)


@pytest.mark.parametrize("method", STRUCTURES)
@given(data=structured | st.binary(max_size=200))
def test_structure_scans_agree_between_twins(both_twins, method, data):
    compiled, pure = both_twins
    assert _scan(compiled, method, data) == _scan(pure, method, data)


# iMule's CTag reader (Tag.cpp) knows these types; BSOB 0x0A, STR17..STR22 and the rest make it throw.
IMULE_TAG_TYPES = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, *range(0x11, 0x21), 0x27, 0x28, 0x29}


@pytest.mark.parametrize("tag_type", range(0x80))
def test_tag_scan_accepts_exactly_imules_types(twin, tag_type):
    # count 1, new-style header, serial, then zeros (enough for any value), or two UINT8 halves for UINT64UINT64
    value = bytes((0x89, 0x30, 0, 0, 0, 0, 0)) * 2 if tag_type == 0x28 else bytes(400)
    data = bytes((1, 0x80 | tag_type, 0x30, 0, 0, 0, 0)) + value
    accepted = _scan(twin, "skip_tag_list", data) != "refused"
    assert accepted == (tag_type in IMULE_TAG_TYPES)
