"""The two-byte Kad header and zlib packing, with the size ceiling of one SAM datagram."""

from __future__ import annotations

import zlib

from mule.kad.errors import MalformedPacket, PacketTooLarge
from mule.kad.opcodes import Protocol

MAX_DATAGRAM = 10240  # SAM_DGRAM_PAYLOAD_MAX: iMule discards anything larger
MAX_PAYLOAD = MAX_DATAGRAM - 2  # UDPPacketMaxDataSize
PACK_THRESHOLD = 200  # payloads above this are offered to zlib
_PACK_LEVEL = 9  # Z_BEST_COMPRESSION
_HEADER = 2
_KAD, _KAD_PACKED = int(Protocol.KAD), int(Protocol.KAD_PACKED)  # plain ints: no enum lookups per datagram
_PLAIN = tuple(bytes((_KAD, opcode)) for opcode in range(256))
_PACKED = tuple(bytes((_KAD_PACKED, opcode)) for opcode in range(256))


def frame(opcode: int, payload: bytes) -> bytes:
    """The datagram iMule would send (``KademliaUDPListener::SendPacket``, ``Packet::PackPacket``).

    A payload over 200 bytes is zlib-compressed at level 9 and sent packed when that is strictly smaller,
    whatever the ratio: a payload that shrinks more than about 10:1 goes out packed although an iMule (or
    mule) receiver cannot inflate it into its buffer (``inflate_limit``) and drops it.
    """
    datagram = _PLAIN[opcode] + payload
    if len(payload) > PACK_THRESHOLD:
        packed = zlib.compress(payload, _PACK_LEVEL)
        if len(packed) < len(payload):
            datagram = _PACKED[opcode] + packed
    if len(datagram) > MAX_DATAGRAM:
        raise PacketTooLarge(f"datagram of {len(datagram)} bytes exceeds {MAX_DATAGRAM}")
    return datagram


def inflate_limit(datagram_len: int) -> int:
    """The most payload bytes iMule inflates from a packed datagram: a buffer of length * 10 + 300, less the header."""
    return datagram_len * 10 + 300 - _HEADER


def peek_opcode(datagram: bytes) -> int | None:
    """The Kad opcode of a plain or packed datagram, read from byte 1 without inflating or parsing.

    ``None`` for anything shorter than the header or with another protocol byte. The node charges its
    flood limits with this before it pays for ``decode``.
    """
    if len(datagram) < _HEADER or datagram[0] not in (_KAD, _KAD_PACKED):
        return None
    return datagram[1]


def unframe(datagram: bytes) -> tuple[int, bytes]:
    """The opcode and the (inflated) payload of a plain or packed Kad datagram.

    A packed payload is accepted exactly when zlib's ``uncompress`` succeeds in iMule's buffer: a complete
    stream (bytes after its end are ignored) of at most ``inflate_limit`` bytes (``ClientUDPSocket.cpp``).
    """
    size = len(datagram)
    if size < _HEADER:
        raise MalformedPacket("datagram shorter than its header")
    if size > MAX_DATAGRAM:
        raise MalformedPacket("datagram larger than one SAM datagram")
    protocol, opcode = datagram[0], datagram[1]
    if protocol == _KAD:
        return opcode, bytes(datagram[_HEADER:])
    if protocol != _KAD_PACKED:
        raise MalformedPacket(f"not a Kad datagram (protocol byte 0x{protocol:02x})")
    limit = inflate_limit(len(datagram))
    inflater = zlib.decompressobj()
    try:
        # One byte of room more than iMule's buffer: a stream that fills the buffer exactly still reaches its end.
        payload = inflater.decompress(datagram[_HEADER:], limit + 1)
    except zlib.error:
        raise MalformedPacket("packed payload does not inflate") from None
    if len(payload) > limit:
        raise MalformedPacket("packed payload larger than iMule inflates")
    if not inflater.eof:
        raise MalformedPacket("packed payload truncated")
    return opcode, payload
