"""Known-answer tests written field by field from the fact sheet's layouts (kad-wire.md §1, §3, §4, §5, §6.1).

Each expected datagram is spelled out in hex, one field per fragment, so a codec that is merely
self-consistent (round trip) but wrong on the wire fails here.
"""

from __future__ import annotations

import hashlib
import zlib

import pytest
from kad_twins import codec_on

from mule.kad import codec
from mule.kad.contact import Contact, Kad1Contact
from mule.kad.errors import CodecError, MalformedPacket, UnknownOpcode
from mule.kad.kad1 import (
    Kad1BootstrapReq,
    Kad1BootstrapRes,
    Kad1HelloReq,
    Kad1HelloRes,
    Kad1PublishNotesReq,
    Kad1PublishReq,
    Kad1PublishRes,
    Kad1Req,
    Kad1Res,
    Kad1SearchNotesReq,
    Kad1SearchReq,
    Kad1SearchRes,
)
from mule.kad.keywords import keyword_id, split_words
from mule.kad.message import Entry
from mule.kad.messages import (
    BootstrapReq,
    BootstrapRes,
    HelloReq,
    HelloRes,
    HelloResAck,
    KademliaReq,
    KademliaRes,
    Ping,
    Pong,
    PublishKeyReq,
    PublishNotesReq,
    PublishRes,
    PublishResAck,
    PublishSourceReq,
    SearchKeyReq,
    SearchNotesReq,
    SearchRes,
    SearchSourceReq,
)
from mule.kad.search_expr import Boolean, BoolOp, CompareOp, Keyword, MetaString, Numeric
from mule.kad.tags import (
    AddressTag,
    BlobTag,
    BoolTag,
    FloatTag,
    HashTag,
    IntPairTag,
    IntTag,
    StringTag,
    TagSerials,
    read_tag_list,
    write_tag,
)

# Kad IDs and their wire form: four u32 words, most significant first, each little-endian (§3.1).
ID_A = 0x00112233445566778899AABBCCDDEEFF
WIRE_A = "33221100 77665544 bbaa9988 ffeeddcc"
ID_B = 0x0102030405060708090A0B0C0D0E0F10
WIRE_B = "04030201 08070605 0c0b0a09 100f0e0d"
ID_C = 0xFFEEDDCCBBAA99887766554433221100
WIRE_C = "ccddeeff 8899aabb 44556677 00112233"


def _dest(seed: bytes) -> bytes:
    """A 387-byte DSA-SHA1 destination: 384 incompressible key bytes, then the null certificate 00 00 00."""
    keys = b"".join(hashlib.sha256(seed + bytes([i])).digest() for i in range(12))
    return keys + bytes(3)


D1, D2 = _dest(b"one"), _dest(b"two")
HD1, HD2 = D1.hex(), D2.hex()
K1 = Kad1Contact(ID_A, D1, D2, 3)
HK1 = f"{WIRE_A} {HD1} {HD2} 03"  # Kad1 contact: ID, UDP dest, TCP dest, type (§3.3)


def _le32(value: int) -> str:
    return value.to_bytes(4, "little").hex()


def _hex(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


CASES = [
    ("05 0d", BootstrapReq()),
    # sender ID, version, sender TCP dest, u16 count, Kad2 contacts (version, ID, UDP dest)
    (f"05 0e {WIRE_A} 08 {HD1} 0100 08 {WIRE_B} {HD2}", BootstrapRes(ID_A, 8, D1, (Contact(8, ID_B, D2),))),
    (f"05 0e {WIRE_A} 08 {HD1} 0000", BootstrapRes(ID_A, 8, D1, ())),
    # own Kad2 contact, u8 tag count
    (f"05 0f 08 {WIRE_A} {HD1} 00", HelloReq(Contact(8, ID_A, D1))),
    # TAG_KADMISCOPTIONS (0x58) as UINT8 (0x09 | 0x80), serial 1, value 0x04: "send me HELLO_RES_ACK"
    (f"05 10 08 {WIRE_A} {HD1} 01 89 58 01000000 04", HelloRes(Contact(8, ID_A, D1), (IntTag(0x58, 4),))),
    (f"05 12 {WIRE_A} 00", HelloResAck(ID_A)),
    # type, target, receiver ID, iMule's trailing sender ID (49 bytes) ...
    (f"05 11 0b {WIRE_C} {WIRE_B} {WIRE_A}", KademliaReq(0x0B, ID_C, ID_B, ID_A)),
    # ... or the 33-byte legacy challenge form
    (f"05 11 02 {WIRE_C} {WIRE_B}", KademliaReq(0x02, ID_C, ID_B)),
    # target, u8 count, contacts
    (
        f"05 13 {WIRE_C} 02 08 {WIRE_A} {HD1} 05 {WIRE_B} {HD2}",
        KademliaRes(ID_C, (Contact(8, ID_A, D1), Contact(5, ID_B, D2))),
    ),
    (f"05 13 {WIRE_C} 00", KademliaRes(ID_C, ())),
    # keyword ID, u16 position | 0x8000, then the tree: string term 01, u16 length, bytes
    (f"05 14 {WIRE_A} 0080 01 0300 616263", SearchKeyReq(ID_A, 0, Keyword("abc"))),
    (f"05 14 {WIRE_A} 0500", SearchKeyReq(ID_A, 5)),
    # AND (00 00), string term, numeric term 03 with op >= (03) and a UINT16 (0x88) FILESIZE tag, serial 1
    (
        f"05 14 {WIRE_A} 0080 00 00 01 0300 616263 03 03 88 24 01000000 e803",
        SearchKeyReq(ID_A, 0, Boolean(BoolOp.AND, Keyword("abc"), Numeric(CompareOp.GREATER_EQUAL, 0x24, 1000))),
    ),
    # file ID, u16 start position, u64 size
    (f"05 15 {WIRE_A} 0300 15cd5b0700000000", SearchSourceReq(ID_A, 3, 123456789)),
    # file ID, u64 size (no start position)
    (f"05 16 {WIRE_A} 0100000000000000", SearchNotesReq(ID_A, 1)),
    # responder ID, key, u16 count, (answer ID, tag list): STR8 (0x18 | 0x80) name, UINT32 (0x83) size
    (
        f"05 17 {WIRE_B} {WIRE_A} 0100 {WIRE_C} 02 98 23 01000000 736f6e672e6d7033 83 24 02000000 404b4c00",
        SearchRes(ID_B, ID_A, (Entry(ID_C, (StringTag(0x23, "song.mp3"), IntTag(0x24, 5_000_000))),)),
    ),
    (f"05 17 {WIRE_B} {WIRE_A} 0000", SearchRes(ID_B, ID_A, ())),
    # keyword ID, u16 count, (file ID, tag list)
    (f"05 18 {WIRE_A} 0100 {WIRE_C} 01 89 35 01000000 03", PublishKeyReq(ID_A, (Entry(ID_C, (IntTag(0x35, 3),)),))),
    # file ID, source ID, tag list: SOURCETYPE 1, SOURCEDEST as ADDRESS (0x27 | 0x80)
    (
        f"05 19 {WIRE_A} {WIRE_B} 02 89 54 01000000 01 a7 53 02000000 {HD1}",
        PublishSourceReq(ID_A, ID_B, (IntTag(0x54, 1), AddressTag(0x53, D1))),
    ),
    # file ID, publisher ID, tag list: DESCRIPTION as STR4 (0x14 | 0x80)
    (f"05 1a {WIRE_A} {WIRE_B} 01 94 2d 01000000 6e696365", PublishNotesReq(ID_A, ID_B, (StringTag(0x2D, "nice"),))),
    # key form: key, load
    (f"05 1b {WIRE_A} 07", PublishRes(ID_A, 7)),
    # iMule's source form: key, total u32, complete u32, load, then options (0x01: wants PUBLISH_RES_ACK)
    (f"05 1b {WIRE_A} 0a000000 04000000 07", PublishRes(ID_A, 7, (10, 4))),
    (f"05 1b {WIRE_A} 0a000000 04000000 07 01", PublishRes(ID_A, 7, (10, 4), 1)),
    (f"05 1b {WIRE_A} 07 01", PublishRes(ID_A, 7, None, 1)),
    ("05 1e", Ping()),
    ("05 1f", Pong()),
    # Kad1 (§4.1)
    (f"05 01 {HK1}", Kad1BootstrapReq(K1)),
    (f"05 02 0100 {HK1}", Kad1BootstrapRes((K1,))),
    (f"05 03 {HK1}", Kad1HelloReq(K1)),
    (f"05 04 {HK1}", Kad1HelloRes(K1)),
    (f"05 05 0b {WIRE_C} {WIRE_B} {WIRE_A}", Kad1Req(0x0B, ID_C, ID_B, ID_A)),
    (f"05 06 {WIRE_C} 01 {HK1}", Kad1Res(ID_C, (K1,))),
    (f"05 07 {WIRE_A} 00", Kad1SearchReq(ID_A, 0)),
    (f"05 07 {WIRE_A} 01", Kad1SearchReq(ID_A, 1)),
    (f"05 07 {WIRE_A} 01 01 0300 616263", Kad1SearchReq(ID_A, 1, Keyword("abc"))),
    (f"05 08 {WIRE_A} 0100 {WIRE_C} 01 89 35 01000000 03", Kad1SearchRes(ID_A, (Entry(ID_C, (IntTag(0x35, 3),)),))),
    (f"05 09 {WIRE_A} {WIRE_B}", Kad1SearchNotesReq(ID_A, ID_B)),
    (f"05 0a {WIRE_A} 0100 {WIRE_C} 01 89 35 01000000 03", Kad1PublishReq(ID_A, (Entry(ID_C, (IntTag(0x35, 3),)),))),
    (f"05 0b {WIRE_A} 07", Kad1PublishRes(ID_A, 7)),
    (
        f"05 0c {WIRE_A} {WIRE_B} 01 94 2d 01000000 6e696365",
        Kad1PublishNotesReq(ID_A, ID_B, (StringTag(0x2D, "nice"),)),
    ),
]


@pytest.mark.parametrize(("wire", "message"), CASES, ids=lambda v: type(v).__name__ if not isinstance(v, str) else "")
def test_known_answer(twin, wire, message):
    expected = _hex(wire)
    with codec_on(twin):
        assert message.encode(TagSerials()) == expected
        assert codec.decode(expected) == message


def test_every_message_type_has_a_known_answer():
    assert {type(message) for _, message in CASES} | {PublishResAck} == set(codec.MESSAGE_TYPES)


def test_publish_res_ack_is_sent_but_never_handled():
    assert PublishResAck().encode() == _hex("05 1c")
    with pytest.raises(UnknownOpcode):
        codec.decode(_hex("05 1c"))


@pytest.mark.parametrize("opcode", [0x00, 0x1C, 0x1D, 0x20, 0x21, 0xFF])
def test_opcodes_imule_does_not_handle(opcode):
    with pytest.raises(UnknownOpcode) as caught:
        codec.decode(bytes((0x05, opcode)))
    assert caught.value.opcode == opcode
    assert isinstance(caught.value, CodecError) and not isinstance(caught.value, MalformedPacket)


def test_tolerated_variants():
    # aMule appends its UDP port to PONG; iMule accepts any length.
    assert codec.decode(_hex("05 1f 3412")) == Pong()
    # Data after a non-restrictive Kad1 search byte is ignored (a plain keyword request).
    assert codec.decode(_hex(f"05 07 {WIRE_A} 00 0102")) == Kad1SearchReq(ID_A, 0)
    # An old-style tag header with a 1-byte name: type without 0x80, u16 length 1, name.
    assert codec.decode(_hex(f"05 12 {WIRE_A} 01 09 0100 58 07000000 04")) == HelloResAck(ID_A, (IntTag(0x58, 4),))
    # Any other name length: iMule names the tag 0 and reads on from the length (Tag.cpp): serial 61626301,
    # UINT8 value 00; HELLO_RES_ACK ignores what follows its tag list.
    old_style = _hex(f"05 12 {WIRE_A} 01 09 0300 616263 01000000 04")
    assert codec.decode(old_style) == HelloResAck(ID_A, (IntTag(0, 0),))


def test_meta_terms_are_written_and_read_as_imule_does():
    """iMule's writer puts a u16 name length (1) before a meta term's name; its reader takes a bare u8 name."""
    writer_form = f"05 14 {WIRE_A} 0180 00 02 01 0300 616263 02 0500 617564696f 0100 25"
    message = SearchKeyReq(ID_A, 1, Boolean(BoolOp.NOT, Keyword("abc"), MetaString("audio", 0x25)))
    assert message.encode(TagSerials()) == _hex(writer_form)
    # Read back as iMule reads it: name 1, and the last term's "00 25" left over (ignored).
    assert codec.decode(_hex(writer_form)) == SearchKeyReq(
        ID_A, 1, Boolean(BoolOp.NOT, Keyword("abc"), MetaString("audio", 1))
    )
    reader_form = _hex(f"05 14 {WIRE_A} 0180 00 02 01 0300 616263 02 0500 617564696f 25")
    assert codec.decode(reader_form) == message
    # Anywhere but last, the left-over "00 25" is read as a boolean with operator 0x25: iMule drops the packet.
    with pytest.raises(MalformedPacket):
        codec.decode(_hex(f"05 14 {WIRE_A} 0080 00 00 02 0500 617564696f 0100 25 01 0300 616263"))


TAG_CASES = [
    # integers use the narrowest type: UINT8 0x09, UINT16 0x08, UINT32 0x03, UINT64 0x29 (iMule's value)
    ("89 24 01000000 ff", IntTag(0x24, 0xFF)),
    ("88 24 01000000 0001", IntTag(0x24, 0x100)),
    ("83 24 01000000 00000100", IntTag(0x24, 0x10000)),
    ("a9 24 01000000 0000000001000000", IntTag(0x24, 1 << 32)),
    ("82 23 01000000 0000", StringTag(0x23, "")),
    ("91 23 01000000 61", StringTag(0x23, "a")),
    ("a0 23 01000000 " + "61" * 16, StringTag(0x23, "a" * 16)),
    ("82 23 01000000 1100 " + "61" * 17, StringTag(0x23, "a" * 17)),
    ("92 23 01000000 c3a4", StringTag(0x23, "ä")),
    (
        "81 01 01000000 " + "00112233445566778899aabbccddeeff",
        HashTag(1, bytes.fromhex("00112233445566778899aabbccddeeff")),
    ),
    ("84 30 01000000 0000803f", FloatTag(0x30, 1.0)),
    ("85 30 01000000 01", BoolTag(0x30, 1)),
    ("87 30 01000000 03000000 010203", BlobTag(0x30, b"\x01\x02\x03")),
    (f"a7 53 01000000 {HD1}", AddressTag(0x53, D1)),
    # UINT64UINT64: two complete nested tags, each with its own header and serial
    ("a8 31 01000000 89 31 02000000 05 88 31 03000000 0001", IntPairTag(0x31, 5, 0x100)),
]


@pytest.mark.parametrize(("wire", "tag"), TAG_CASES)
def test_tag_known_answer(twin, wire, tag):
    with codec_on(twin):
        w = twin.Writer()
        write_tag(w, tag, TagSerials())
        assert w.getvalue() == _hex(wire)
        r = twin.Reader(_hex("01 " + wire))
        assert read_tag_list(r) == (tag,)


def test_bool_arrays_are_read_past(twin):
    """iMule seeks ceil(n/8) bytes past a BOOLARRAY (u16 bit count) and keeps nothing of it."""
    with codec_on(twin):
        r = twin.Reader(_hex("02 86 30 01000000 0900 ffff 89 24 02000000 07"))
        assert read_tag_list(r) == (IntTag(0x24, 7),)
        assert r.remaining() == 0
        # Its seek may pass the end of the packet; only a later read fails.
        assert codec.decode(_hex(f"05 12 {WIRE_A} 01 86 30 01000000 ffff 00")) == HelloResAck(ID_A)
        with pytest.raises(MalformedPacket):
            codec.decode(_hex(f"05 12 {WIRE_A} 02 86 30 01000000 ffff 00 89 24 02000000 07"))


@pytest.mark.parametrize(
    "wire",
    [
        f"05 12 {WIRE_A} 01 8b 24 01000000 0000000000000000",  # aMule's UINT64 (0x0B): unknown in iMule
        f"05 12 {WIRE_A} 01 8a 30 01000000 02 abcd",  # BSOB: iMule's reader throws
        f"05 12 {WIRE_A} 01 a1 30 01000000 " + "61" * 17,  # STR17
        f"05 12 {WIRE_A} 01 a6 30 01000000 " + "61" * 22,  # STR22
        f"05 12 {WIRE_A} 01 89 58 04",  # a tag without its debug serial
        f"05 12 {WIRE_A} 02 89 58 04 89 24 07",  # two of them: 8 bytes that would read as one tag plus a short one
        f"05 12 {WIRE_A} 01 a8 31 01000000 89 31 02000000 05 82 31 03000000 0000",  # UINT64UINT64 with a string half
        f"05 12 {WIRE_A} 01 a7 53 01000000 {HD1[:-6]}000100",  # ADDRESS tag with a certificate
        f"05 12 {WIRE_A} 01 87 30 ffffffff ffffffff",  # blob longer than the datagram (read either way)
        f"05 0f 00 {WIRE_A} {HD1} 00",  # Kad2 hello with contact version 0
        f"05 0f 09 {WIRE_A} {HD1} 00",  # contact version above 8
        f"05 0f 08 {'00' * 16} {HD1} 00",  # all-zero Kad ID
        f"05 0f 08 {WIRE_A} {HD1[:-6]}050000 00",  # destination with a certificate
        f"05 0f 08 {WIRE_A} {HD1[:-2]}01 00",  # certificate length byte nonzero
        f"05 13 {WIRE_C} 01 08 {WIRE_A} {HD1[:-6]}010000",  # RES contact with a certificate
        f"05 13 {WIRE_C} 01 09 {WIRE_A} {HD1}",  # RES contact version 9
        f"05 13 {WIRE_C} 01 08 {'00' * 16} {HD1}",  # RES contact with an all-zero ID
        f"05 0e {WIRE_A} 08 {HD1[:-6]}050000 0000",  # BOOTSTRAP_RES sender TCP dest with a certificate
        f"05 0e {WIRE_A} 08 {HD1} 0100 08 {WIRE_B} {HD2[:-6]}050000",  # BOOTSTRAP_RES contact with a certificate
        f"05 03 {WIRE_A} {HD1} {HD2[:-6]}050000 03",  # Kad1 contact: TCP dest with a certificate
        f"05 03 {WIRE_A} {HD1[:-6]}050000 {HD2} 03",  # Kad1 contact: UDP dest with a certificate
        f"05 03 {'00' * 16} {HD1} {HD2} 03",  # Kad1 contact with an all-zero ID
        f"05 02 0200 {HK1} {WIRE_B} {HD2} {HD1[:-6]}050000 03",  # the second Kad1 contact of a list is bad
        f"05 13 {WIRE_C} 02 08 {WIRE_A} {HD1}",  # RES count says 2, holds 1
        f"05 13 {WIRE_C} 01 08 {WIRE_A} {HD1} 00",  # RES longer than count x 404
        f"05 05 0b {WIRE_C} {WIRE_B}",  # Kad1 REQ is exactly 49 bytes
        f"05 06 {WIRE_C} 01 {HK1} 00",  # Kad1 RES longer than count x 791
        f"05 03 {HK1} 00",  # Kad1 HELLO is exactly 791 bytes
        f"05 1b {WIRE_A}",  # PUBLISH_RES without a load byte
        f"05 14 {WIRE_A} 0080 00 03 01 0100 61 01 0100 62",  # unknown boolean operator 3
        f"05 14 {WIRE_A} 0080 03 06 89 24 01000000 01",  # unknown comparison operator 6
        f"05 14 {WIRE_A} 0080 " + "00 00 " * 24 + "01 0100 61" * 25,  # tree deeper than 24 levels
        f"05 07 {WIRE_A} 01 " + "00 01 " * 24 + "01 0000" * 25,  # Kad1 tree deeper than 24 levels
        f"05 14 {WIRE_A} 0080 04",  # unknown term type
        f"05 14 {WIRE_A} 0080 03 00 82 24 01000000 0000",  # numeric term with a string tag
        f"05 14 {WIRE_A} 0080 00 00 01 0100 61",  # boolean missing its right operand
        "05",  # shorter than the header
        "e4 21",  # aMule's Kad protocol byte
        "06 13 78da",  # packed payload that does not inflate
    ],
)
def test_malformed(twin, wire):
    with codec_on(twin), pytest.raises(MalformedPacket):
        codec.decode(_hex(wire))


def test_tree_of_24_levels_is_accepted():
    wire = _hex(f"05 14 {WIRE_A} 0080 " + "00 00 " * 23 + "01 0100 61" * 24)
    assert isinstance(codec.decode(wire), SearchKeyReq)
    kad1 = _hex(f"05 07 {WIRE_A} 01 " + "00 01 " * 23 + "01 0000" * 24)
    assert isinstance(codec.decode(kad1), Kad1SearchReq)


def test_kad1_contact_type_is_written_but_read_as_imule_keeps_it():
    """iMule writes its contact's type but discards the byte it reads, giving the contact type 3 (Contact.cpp)."""
    written = Kad1HelloReq(Kad1Contact(ID_A, D1, D2, 0)).encode()
    assert written == _hex(f"05 03 {WIRE_A} {HD1} {HD2} 00")
    assert codec.decode(written) == Kad1HelloReq(Kad1Contact(ID_A, D1, D2, 3))


def test_packing_follows_imule():
    """Payloads over 200 bytes are zlib-compressed at level 9 (protocol byte 0x06) only when smaller."""
    results = tuple(Entry(ID_C, (StringTag(0x23, "same name"), IntTag(0x24, 1))) for _ in range(20))
    message = SearchRes(ID_B, ID_A, results)
    datagram = message.encode(TagSerials())
    # each result: ID, 2 tags: STR9 (0x19 | 0x80) name, UINT8 size; serials count on from 1
    plain = _hex(f"{WIRE_B} {WIRE_A} 1400") + b"".join(
        _hex(f"{WIRE_C} 02 99 23 {_le32(2 * i + 1)} 73616d65206e616d65 89 24 {_le32(2 * i + 2)} 01") for i in range(20)
    )
    assert datagram[:2] == b"\x06\x17"
    assert datagram[2:] == zlib.compress(plain, 9)
    assert codec.decode(datagram) == message
    # at or under the threshold: never packed, however compressible
    small = PublishNotesReq(ID_A, ID_B, (StringTag(0x2D, "a" * 150),)).encode()
    assert small[0] == 0x05
    # incompressible payloads over the threshold go out plain
    assert KademliaRes(ID_C, (Contact(8, ID_A, D1),)).encode()[0] == 0x05


def test_packed_datagram_inflating_beyond_imule_buffer_is_dropped():
    payload = bytes(5000)
    packed = bytes((0x06, 0x17)) + zlib.compress(payload, 9)
    assert len(packed) * 10 + 298 < len(payload)
    with pytest.raises(MalformedPacket):
        codec.decode(packed)


@pytest.mark.parametrize(
    ("keyword", "md4_hex"),
    [
        # RFC 1320 test vectors; the keyword is lowercased before hashing
        ("abc", "a448017aaf21d8525fc10ae87aa6729d"),
        ("ABC", "a448017aaf21d8525fc10ae87aa6729d"),
        ("message digest", "d9130a8164549fe818874806e1c7014b"),
    ],
)
def test_keyword_target_ids(keyword, md4_hex):
    # loaded big-endian per word, so the ID's value reads as the digest, and its wire form reverses each group
    assert keyword_id(keyword) == int(md4_hex, 16)
    digest = bytes.fromhex(md4_hex)
    wire = b"".join(digest[i : i + 4][::-1] for i in range(0, 16, 4))
    assert SearchNotesReq(keyword_id(keyword)).encode()[2:18] == wire


def test_keyword_splitting():
    assert split_words('The Big_Song (Live) - "ab" x.MP3') == ["the", "big", "song", "live", "mp3"]
    assert split_words("äb") == ["äb"]  # 3 UTF-8 bytes
    assert split_words("go go gone go", allow_duplicates=True) == ["gone"]
    assert split_words("abc def abc") == ["def", "abc"]
    assert split_words("abc def abc", allow_duplicates=True) == ["abc", "def", "abc"]
