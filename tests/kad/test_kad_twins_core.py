"""Differential tests for the Kad structures the compiled core reads and writes (contacts, tag runs, entries,
message building): both twins give the same values, the same bytes, the same serials, or the same error."""

from __future__ import annotations

import array
import math

from hypothesis import given
from hypothesis import strategies as st

from mule.kad.contact import Contact
from mule.kad.message import Entry
from mule.kad.messages import KademliaReq
from mule.kad.opcodes import KAD_VERSION
from mule.kad.tags import TAG_KINDS, AddressTag, BlobTag, FloatTag, HashTag, IntPairTag, IntTag, StringTag, TagSerials
from tests.kad.kad_strategies import contacts, dests, entry_lists, tag_lists, tags

_ANY_INT = st.integers(-3, (1 << 66))
_ODD_VALUES = st.one_of(_ANY_INT, st.text(max_size=20), st.binary(max_size=400), st.none(), st.floats())
# Tags whose fields iMule's writer would refuse, or that are not tags at all.
odd_tags = st.one_of(
    st.builds(IntTag, _ANY_INT, _ODD_VALUES),
    st.builds(StringTag, st.integers(0, 300), st.one_of(st.text(max_size=70), st.binary(max_size=5))),
    st.builds(HashTag, st.integers(0, 255), st.binary(max_size=20)),
    st.builds(FloatTag, st.integers(0, 255), st.one_of(st.floats(), st.text(max_size=3))),
    st.builds(BlobTag, st.integers(0, 255), st.binary(max_size=30)),
    st.builds(AddressTag, st.integers(0, 255), st.one_of(dests, st.binary(min_size=387, max_size=387))),
    st.builds(IntPairTag, st.integers(0, 255), _ANY_INT, _ANY_INT),
    st.integers(),
)
odd_contacts = st.builds(
    Contact,
    st.integers(-1, 12),
    st.integers(-1, 1 << 129),
    st.one_of(dests, st.binary(min_size=380, max_size=390), st.text(max_size=3)),
)


def _outcome(call):
    try:
        value = call()
    except Exception as exc:  # the point is to compare whatever comes out
        return ("error", type(exc).__name__, str(exc))
    return ("ok", _comparable(value))


def _comparable(value):
    """NaN floats compare by their bits (a float tag may carry one)."""
    if isinstance(value, tuple):
        return tuple(_comparable(v) for v in value)
    if isinstance(value, FloatTag) and math.isnan(value.value):
        return ("nan", value.name, float.hex(value.value))
    return value


def _read(twin, data, method, *args):
    reader = twin.Reader(data)
    return _outcome(lambda: getattr(reader, method)(*args)), reader.offset


def _write(twin, method, *args):
    writer = twin.Writer()
    serials = TagSerials()
    outcome = _outcome(lambda: getattr(writer, method)(*args, serials, TAG_KINDS))
    return outcome, writer.getvalue(), serials.take()


def _written_tag_list(twin, items) -> bytes:
    writer = twin.Writer()
    writer.tag_list(items, TagSerials(), TAG_KINDS)
    return writer.getvalue()


@given(data=st.binary(max_size=1300), count=st.integers(0, 4), max_version=st.integers(0, 9))
def test_contact_readers_agree_on_arbitrary_bytes(both_twins, data, count, max_version):
    compiled, python = both_twins
    args = ("contacts", count, Contact, max_version)
    assert _read(compiled, data, *args) == _read(python, data, *args)


@given(items=st.lists(contacts, max_size=3), flips=st.lists(st.integers(0, 2000), max_size=3))
def test_contact_readers_agree_on_damaged_contacts(both_twins, items, flips):
    compiled, python = both_twins
    writer = python.Writer()
    writer.contacts(items, 1, KAD_VERSION)
    data = bytearray(writer.getvalue())
    for flip in flips:
        if flip < len(data):
            data[flip] ^= 0xFF
    args = ("contacts", data[0], Contact, KAD_VERSION)
    assert _read(compiled, bytes(data[1:]), *args) == _read(python, bytes(data[1:]), *args)


@given(items=st.lists(st.one_of(contacts, odd_contacts), max_size=4), count_size=st.sampled_from([1, 2]))
def test_contact_writers_agree_including_refusals(both_twins, items, count_size):
    compiled, python = both_twins

    def run(twin):
        writer = twin.Writer()
        return _outcome(lambda: writer.contacts(items, count_size, KAD_VERSION)), writer.getvalue()

    assert run(compiled) == run(python)


@given(items=tag_lists)
def test_tag_lists_round_trip_identically_on_both_twins(both_twins, items):
    compiled, python = both_twins
    data = _written_tag_list(python, items)
    assert _written_tag_list(compiled, items) == data
    assert _read(compiled, data, "tag_list", TAG_KINDS) == _read(python, data, "tag_list", TAG_KINDS)


@given(items=tag_lists, flips=st.lists(st.tuples(st.integers(0, 600), st.integers(1, 255)), max_size=3))
def test_tag_readers_agree_on_damaged_lists(both_twins, items, flips):
    compiled, python = both_twins
    data = bytearray(_written_tag_list(python, items))
    for at, mask in flips:
        if at < len(data):
            data[at] ^= mask
    for method in ("tag_list", "build_tag_list"):
        assert _read(compiled, bytes(data), method, TAG_KINDS) == _read(python, bytes(data), method, TAG_KINDS)
    assert _read(compiled, bytes(data), "int_tag_value") == _read(python, bytes(data), "int_tag_value")


@given(data=st.binary(max_size=300))
def test_tag_readers_agree_on_arbitrary_bytes(both_twins, data):
    compiled, python = both_twins
    assert _read(compiled, data, "tag_list", TAG_KINDS) == _read(python, data, "tag_list", TAG_KINDS)


@given(item=st.one_of(tags, odd_tags))
def test_tag_writers_agree_including_refusals_and_serials(both_twins, item):
    compiled, python = both_twins
    assert _write(compiled, "tag", item) == _write(python, "tag", item)
    assert _write(compiled, "tag_list", (item, item)) == _write(python, "tag_list", (item, item))


def test_tag_writers_agree_on_a_list_too_long(both_twins):
    compiled, python = both_twins
    items = (IntTag(1, 1),) * 256
    assert _write(compiled, "tag_list", items) == _write(python, "tag_list", items)
    assert _write(python, "tag_list", items)[0][0] == "error"


@given(items=entry_lists)
def test_entry_builders_agree(both_twins, items):
    compiled, python = both_twins
    writer = python.Writer()
    writer.u16(len(items))
    serials = TagSerials()
    for entry in items:
        writer.uint128(entry.kad_id)
        writer.tag_list(entry.tags, serials, TAG_KINDS)
    data = writer.getvalue()
    built = _read(compiled, data, "entries", Entry, TAG_KINDS)
    assert built == _read(python, data, "entries", Entry, TAG_KINDS)
    assert built[0] == ("ok", items)


@given(fields=st.lists(st.integers(0, 1 << 128), min_size=2, max_size=4))
def test_message_builders_agree(both_twins, fields):
    compiled, python = both_twins
    built = _outcome(lambda: compiled.build(KademliaReq, *fields))
    assert built == _outcome(lambda: python.build(KademliaReq, *fields))
    if built[0] == "ok":
        assert built[1] == KademliaReq(*fields) and hash(built[1]) == hash(KademliaReq(*fields))


@given(
    values=st.lists(st.integers(0, 0xFF), max_size=40),
    typecode=st.sampled_from(["B", "H", "I", "d"]),
    method=st.sampled_from(["string", "raw"]),
)
def test_byte_string_writers_agree_on_wide_memoryviews(both_twins, values, typecode, method):
    """A memoryview of wider items is written (and length-prefixed) as its bytes by both twins."""
    compiled, python = both_twins
    data = memoryview(array.array(typecode, values))

    def run(twin):
        writer = twin.Writer()
        return _outcome(lambda: getattr(writer, method)(data)), writer.getvalue()

    assert run(compiled) == run(python)
    written = run(python)[1]
    assert written == (data.nbytes.to_bytes(2, "little") if method == "string" else b"") + data.tobytes()


def test_negative_control_a_twin_that_reads_contacts_otherwise_is_caught(both_twins):
    """The comparison above is not blind: the same reader under another version rule gives another outcome."""
    _compiled, python = both_twins
    writer = python.Writer()
    writer.contacts([Contact(8, 1, bytes(387))], 1, KAD_VERSION)
    data = writer.getvalue()[1:]
    assert _read(python, data, "contacts", 1, Contact, KAD_VERSION) != _read(python, data, "contacts", 1, Contact, 7)
