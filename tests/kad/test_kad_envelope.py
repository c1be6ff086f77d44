"""The datagram envelope as iMule 2.3.3.3 handles it: packing on send, bounded inflate on receive, and the opcode
peek the node charges its flood limits with."""

from __future__ import annotations

import os
import zlib

import pytest
from test_kad_known_answers import CASES, ID_A, ID_B, _hex

from mule._core import Writer
from mule.kad import codec
from mule.kad.envelope import frame, inflate_limit, peek_opcode, unframe
from mule.kad.errors import MalformedPacket
from mule.kad.message import Message
from mule.kad.messages import Pong, PublishNotesReq
from mule.kad.opcodes import Op, Protocol
from mule.kad.tags import StringTag, TagSerials

SAMPLES = [_hex(wire) for wire, _ in CASES]


def _packed_pong(payload_len: int, datagram_len: int) -> bytes:
    """A packed PONG (any payload length is valid) of zero bytes, padded after the stream to ``datagram_len``."""
    body = bytes((Protocol.KAD_PACKED, Op.PONG)) + zlib.compress(bytes(payload_len), 9)
    return body + os.urandom(datagram_len - len(body))


def test_inflate_accepts_exactly_imules_buffer():
    """iMule inflates into datagram_len * 10 + 300 bytes less the header; zlib's uncompress accepts a stream that
    fills it exactly and ignores bytes after the stream's end (ClientUDPSocket.cpp)."""
    datagram_len = 1000
    limit = inflate_limit(datagram_len)
    assert limit == 10_298
    assert codec.decode(_packed_pong(limit, datagram_len)) == Pong()
    with pytest.raises(MalformedPacket):
        codec.decode(_packed_pong(limit + 1, datagram_len))


@pytest.mark.parametrize(
    "body",
    [
        zlib.compress(bytes(300))[:-1],  # truncated: no end of stream
        zlib.compress(bytes(300))[:-4] + b"\x00\x00\x00\x00",  # wrong Adler-32
        zlib.compressobj(zdict=b"abc").compress(bytes(300)) + zlib.compressobj(zdict=b"abc").flush(),  # dictionary
        zlib.compress(bytes(300), wbits=-15),  # raw deflate, no zlib header
        b"",
    ],
)
def test_inflate_failures_are_dropped(body):
    with pytest.raises(MalformedPacket):
        unframe(bytes((Protocol.KAD_PACKED, Op.PONG)) + body)


def test_packing_is_imules_rule_whatever_the_ratio():
    """Over 200 bytes, zlib level 9, kept when strictly smaller (KademliaUDPListener::SendPacket, Packet::PackPacket),
    even when an iMule receiver cannot inflate the result: that packet is lost, as iMule's own would be."""
    message = PublishNotesReq(ID_A, ID_B, (StringTag(0x2D, "a" * 5000),))
    payload = _payload(message)
    datagram = message.encode(TagSerials())
    assert datagram == bytes((Protocol.KAD_PACKED, Op.PUBLISH_NOTES_REQ)) + zlib.compress(payload, 9)
    assert len(payload) > inflate_limit(len(datagram))
    with pytest.raises(MalformedPacket):
        codec.decode(datagram)


def test_packing_threshold_and_strictly_smaller():
    compressible_200 = bytes(200)
    assert frame(Op.PONG, compressible_200) == bytes((Protocol.KAD, Op.PONG)) + compressible_200
    compressible_201 = bytes(201)
    assert frame(Op.PONG, compressible_201) == bytes((Protocol.KAD_PACKED, Op.PONG)) + zlib.compress(
        compressible_201, 9
    )
    incompressible = os.urandom(201)
    assert frame(Op.PONG, incompressible) == bytes((Protocol.KAD, Op.PONG)) + incompressible


def _payload(message: Message) -> bytes:
    w = Writer()
    message.write_payload(w, TagSerials())
    return w.getvalue()


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s[:2].hex())
def test_peek_opcode_on_every_sample_plain_and_packed(sample):
    assert peek_opcode(sample) == sample[1]
    packed = bytes((Protocol.KAD_PACKED, sample[1])) + zlib.compress(sample[2:])
    assert peek_opcode(packed) == sample[1]


def test_peek_opcode_neither_inflates_nor_parses():
    bomb = bytes((Protocol.KAD_PACKED, Op.SEARCH_RES)) + zlib.compress(bytes(8 << 20), 9)
    assert peek_opcode(bomb) == Op.SEARCH_RES
    assert peek_opcode(bytes((Protocol.KAD_PACKED, 0x77)) + b"not zlib") == 0x77
    assert peek_opcode(bytes((Protocol.KAD, 0x1D))) == 0x1D  # well framed, though iMule has no handler


@pytest.mark.parametrize("datagram", [b"", b"\x05", b"\x06", b"\xe4\x21", b"\x04\x01abc", b"\x00\x14"])
def test_peek_opcode_refuses_what_is_not_kad(datagram):
    assert peek_opcode(datagram) is None
