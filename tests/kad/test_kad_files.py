"""iMule's persistence files: nodes.dat (every layout iMule reads, v2 as it writes) and preferencesKad.dat."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from mule.kad.contact import Contact
from mule.kad.errors import CorruptFile
from mule.kad.files.atomic import write_atomic
from mule.kad.files.nodes_dat import (
    ENTRY_LEN,
    SEED_NOTE,
    NodeEntry,
    NodesDat,
    build_nodes_dat,
    bundled_seed,
    load_or_seed,
    parse_nodes_dat,
    read_nodes_dat,
    usable_entries,
    write_nodes_dat,
)
from mule.kad.files.preferences_kad import (
    build_preferences_kad,
    parse_preferences_kad,
    read_preferences_kad,
    write_preferences_kad,
)

FIXTURE = Path(__file__).resolve().parents[2] / "mule" / "kad" / "data" / "nodes.initseed.dat"
FIXTURE_SHA256 = "fb9025d7ab1194d9362fb4124ea3051e91dca4050e62098bd0314b2564e70e71"
ID_A = 0x00112233445566778899AABBCCDDEEFF
WIRE_A = bytes.fromhex("33221100 77665544 bbaa9988 ffeeddcc")
DEST = bytes(range(256)) + bytes(range(128)) + bytes(3)


@pytest.fixture(scope="module")
def fixture_bytes() -> bytes:
    data = FIXTURE.read_bytes()
    assert hashlib.sha256(data).hexdigest() == FIXTURE_SHA256
    return data


def test_fixture_is_version_2_with_154_contacts(fixture_bytes):
    nodes = parse_nodes_dat(fixture_bytes)
    assert (nodes.version, len(nodes.entries)) == (2, 154)
    versions = [entry.contact.version for entry in nodes.entries]
    assert (versions.count(8), versions.count(0)) == (136, 18)
    assert sum(entry.verified for entry in nodes.entries) == 133
    assert all(entry.contact.udp_dest.endswith(bytes(3)) for entry in nodes.entries)


def test_read_then_write_gives_the_same_bytes(fixture_bytes, tmp_path):
    target = tmp_path / "nodes.dat"
    write_nodes_dat(target, read_nodes_dat(FIXTURE).entries)
    assert target.read_bytes() == fixture_bytes


def test_bundled_seed_is_the_fixture(fixture_bytes):
    assert bundled_seed() == parse_nodes_dat(fixture_bytes)


def test_v2_layout_field_by_field():
    entry = NodeEntry(Contact(8, ID_A, DEST), udp_key=0x01020304, udp_key_ip=0x0A0B0C0D, verified=True)
    expected = (
        bytes.fromhex("00000000 02000000 01000000")  # u32 0, version 2, count
        + bytes.fromhex("08")
        + WIRE_A
        + DEST  # Kad2 contact
        + bytes.fromhex("04030201 0d0c0b0a 01")  # UDP key, key "IP", verified
    )
    assert len(expected) == 12 + ENTRY_LEN
    assert build_nodes_dat((entry,)) == expected
    assert parse_nodes_dat(expected) == NodesDat(2, (entry,))


def test_every_version_imule_reads():
    tcp = bytes(387)
    v0 = bytes.fromhex("01000000") + WIRE_A + DEST + tcp + b"\x03"
    assert parse_nodes_dat(v0) == NodesDat(0, (NodeEntry(Contact(0, ID_A, DEST)),))
    v1 = bytes.fromhex("00000000 01000000 01000000 05") + WIRE_A + DEST
    assert parse_nodes_dat(v1) == NodesDat(1, (NodeEntry(Contact(5, ID_A, DEST)),))
    bootstrap = bytes.fromhex("00000000 03000000 01000000 01000000 08") + WIRE_A + DEST
    nodes = parse_nodes_dat(bootstrap)
    assert nodes.is_bootstrap and nodes.entries == (NodeEntry(Contact(8, ID_A, DEST)),)
    v3 = bytes.fromhex("00000000 03000000 02000000 01000000 08") + WIRE_A + DEST + bytes(9)
    assert parse_nodes_dat(v3) == NodesDat(3, (NodeEntry(Contact(8, ID_A, DEST)),), edition=2)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "truncated header"),
        (bytes.fromhex("00000000"), "truncated header"),
        (bytes.fromhex("00000000 02000000 05000000") + bytes(ENTRY_LEN), "truncated: header says 5"),
        (bytes.fromhex("00000000 09000000 00000000"), "unknown nodes.dat version 9"),
        (bytes.fromhex("ffffffff") + bytes(100), "truncated: v0 header"),
    ],
)
def test_corrupt_files_give_a_one_line_reason(data, reason):
    with pytest.raises(CorruptFile) as caught:
        parse_nodes_dat(data)
    assert str(caught.value).startswith(reason)
    assert "\n" not in str(caught.value)


def test_every_truncation_of_the_fixture_is_reported(fixture_bytes):
    for end in (0, 3, 11, 12, 13, 12 + ENTRY_LEN - 1, len(fixture_bytes) - 1):
        with pytest.raises(CorruptFile):
            parse_nodes_dat(fixture_bytes[:end])


def test_usable_entries_follow_imule_filter():
    good = NodeEntry(Contact(8, ID_A, DEST))
    bad = (
        NodeEntry(Contact(9, ID_A, DEST)),
        NodeEntry(Contact(8, 0, DEST)),
        NodeEntry(Contact(8, ID_A, DEST[:-1] + b"\x01")),
    )
    # none verified: iMule takes them all as verified
    assert usable_entries(NodesDat(2, (good, *bad))) == (NodeEntry(good.contact, verified=True),)
    verified = NodeEntry(Contact(8, ID_A + 1, DEST), verified=True)
    assert usable_entries(NodesDat(2, (good, verified))) == (good, verified)


def test_load_or_seed(tmp_path, fixture_bytes):
    seed = usable_entries(parse_nodes_dat(fixture_bytes))
    own = tmp_path / "nodes.dat"
    write_nodes_dat(own, (NodeEntry(Contact(8, ID_A, DEST)),))
    entries, note = load_or_seed(own)
    assert len(entries) == 1 and note == str(own)
    for broken in (tmp_path / "missing.dat", tmp_path / "empty.dat", tmp_path / "cut.dat"):
        if broken.name == "empty.dat":
            write_nodes_dat(broken, ())
        elif broken.name == "cut.dat":
            broken.write_bytes(fixture_bytes[:1000])
        entries, note = load_or_seed(broken)
        assert entries == seed
        assert note.startswith(SEED_NOTE) and str(broken) in note and "\n" not in note


def test_preferences_kad_layout(tmp_path):
    expected = bytes.fromhex("0000") + WIRE_A + bytes.fromhex("00")  # u16 0, Kad ID, u8 0: 19 bytes
    assert build_preferences_kad(ID_A) == expected
    assert parse_preferences_kad(expected) == ID_A
    target = tmp_path / "preferencesKad.dat"
    write_preferences_kad(target, ID_A)
    assert target.read_bytes() == expected
    assert read_preferences_kad(target) == ID_A
    with pytest.raises(CorruptFile):
        parse_preferences_kad(expected[:10])


def test_atomic_write_leaves_old_file_or_new_one(tmp_path, monkeypatch):
    target = tmp_path / "nodes.dat"
    target.write_bytes(b"old")
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new"

    def crash(*_args):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        write_atomic(target, b"half")
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nodes.dat"]  # no temporary file left behind
